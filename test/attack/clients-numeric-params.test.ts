import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { buildHttpServer } from '../../src/transports/http.js';

const adminToken = 'test-admin-token-0123456789abcdef';
/** Spellings that once slipped past `{type: 'integer', minimum, maximum}` (Ajv coerces them to ±Infinity) or are plainly out of range. */
const hostile = [
  'Infinity',
  '-Infinity',
  '+Infinity',
  'NaN',
  '1e309',
  '-1e309',
  '-1',
  '0',
  '2.5',
  '1e20',
  '99999999999999999999999',
  '0x10',
  ' ',
  'null',
  '[]',
];

type OpenApi = { paths: Record<string, Record<string, { parameters?: { in: string; name: string; schema?: { type?: string } }[] }>> };

describe('every numeric query or path parameter refuses hostile numbers with a 4xx, never a 5xx', () => {
  let dataDir: string;
  let app: App;
  let http: Awaited<ReturnType<typeof buildHttpServer>>;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'imagegram-numeric-'));
    app = await createApp(loadConfig([], { DATA_DIR: dataDir, ADMIN_TOKEN: adminToken, RUN_WORKER: 'off', LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
    http = await buildHttpServer(app);
    await http.ready();
  });
  after(async () => {
    await http?.close();
    await app?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('found through the OpenAPI document, each tried with every hostile spelling', async () => {
    const doc = http.swagger() as unknown as OpenApi;
    const numeric: { method: string; path: string; name: string; where: string }[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const parameter of operation.parameters ?? []) {
          if (['integer', 'number'].includes(parameter.schema?.type ?? '') && ['query', 'path'].includes(parameter.in)) {
            numeric.push({ method: method.toUpperCase(), path, name: parameter.name, where: parameter.in });
          }
        }
      }
    }
    // The list must not silently shrink to nothing (a renamed schema, a changed generator).
    const names = numeric.map((p) => `${p.method} ${p.path} ${p.name}`);
    for (const expected of [
      'GET /posts limit',
      'GET /admin/events after',
      'GET /admin/events limit',
      'GET /admin/jobs limit',
      'GET /admin/upload-links/{id}/images limit',
    ]) {
      assert.ok(names.includes(expected), `${expected} is among ${names.join(', ')}`);
    }
    const failures: string[] = [];
    for (const parameter of numeric) {
      for (const value of hostile) {
        let url = parameter.path.replace(/\{[^}]+\}/g, 'some-id');
        if (parameter.where === 'path') url = parameter.path.replace(`{${parameter.name}}`, encodeURIComponent(value)).replace(/\{[^}]+\}/g, 'some-id');
        else url += `?${parameter.name}=${encodeURIComponent(value)}`;
        const response = await http.inject({ method: parameter.method as 'GET', url, headers: { 'x-access-token': adminToken } });
        if (response.statusCode >= 500) failures.push(`${parameter.method} ${url} → ${response.statusCode}`);
        if (['Infinity', '-Infinity', '+Infinity', 'NaN', '1e309', '-1e309'].includes(value) && response.statusCode !== 400) {
          failures.push(`${parameter.method} ${url} → ${response.statusCode}, expected 400`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  test("?limit=Infinity on an upload link's images is a 400 naming the parameter", async () => {
    const created = await http.inject({ method: 'POST', url: '/admin/upload-links', headers: { 'x-access-token': adminToken }, payload: { sinceNow: 'PT1H' } });
    assert.equal(created.statusCode, 201);
    const { id } = created.json() as { id: string };
    const response = await http.inject({ method: 'GET', url: `/admin/upload-links/${id}/images?limit=Infinity`, headers: { 'x-access-token': adminToken } });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().code, 'VALIDATION_FAILED');
    assert.match(response.json().detail, /limit must be a finite number/);
    const fine = await http.inject({ method: 'GET', url: `/admin/upload-links/${id}/images?limit=100`, headers: { 'x-access-token': adminToken } });
    assert.equal(fine.statusCode, 200);
  });

  test('a JSON body cannot smuggle Infinity in as a string either', async () => {
    for (const maxBytes of ['Infinity', '1e309', '-Infinity']) {
      const response = await http.inject({
        method: 'POST',
        url: '/admin/upload-links',
        headers: { 'x-access-token': adminToken },
        payload: { sinceNow: 'PT1H', maxBytes },
      });
      assert.equal(response.statusCode, 400, `maxBytes ${maxBytes}`);
    }
  });
});
