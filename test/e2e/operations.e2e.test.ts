import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { problemOf } from '../support/client.js';
import { imagegramEntry } from '../support/entry.js';
import { startServer, type RunningServer } from '../support/server.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('operations: health, readiness, metrics, OpenAPI, admin token, config', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ generateAdminToken: true });
  });
  after(() => server.cleanup());

  test('GET /healthz and /readyz report ok, with a request id header', async () => {
    const health = await fetch(`${server.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(health.headers.get('x-request-id'));
    const ready = await fetch(`${server.baseUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', blobStore: 'ok', dataDir: 'ok' } });
  });

  test('GET /metrics is Prometheus text with the HTTP latency histogram', async () => {
    await fetch(`${server.baseUrl}/healthz`);
    const response = await fetch(`${server.baseUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(text, /imagegram_http_request_duration_seconds_bucket\{[^}]*route="\/healthz"/);
    assert.match(text, /# TYPE imagegram_uploads_total counter/);
    assert.match(text, /imagegram_process_resident_memory_bytes/);
  });

  test('GET /openapi.json documents the routes; /docs serves the browser', async () => {
    const spec = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.match(spec.openapi, /^3\./);
    for (const path of ['/users', '/sessions', '/images', '/images/{id}', '/healthz']) assert.ok(spec.paths[path], `${path} missing`);
    const docs = await fetch(`${server.baseUrl}/docs`, { redirect: 'follow' });
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  test('unknown routes are a 404 problem', async () => {
    const response = await fetch(`${server.baseUrl}/nope`);
    assert.equal(response.status, 404);
    assert.equal((await problemOf(response)).code, 'ROUTE_NOT_FOUND');
  });

  test('without ADMIN_TOKEN a token is generated once, stored in the data dir and printed once', async () => {
    const token = (await readFile(join(server.dataDir, 'admin-token'), 'utf8')).trim();
    assert.ok(token.length >= 32);
    assert.equal(server.output.filter((line) => line.includes(token)).length, 1);
    await server.stop();
    server = await server.restart();
    assert.equal((await readFile(join(server.dataDir, 'admin-token'), 'utf8')).trim(), token);
    assert.equal(
      server.output.some((line) => line.includes(token)),
      false,
      'printed again on restart',
    );
  });

  test('`imagegram migrate` applies the migrations to a fresh data dir and exits 0', async () => {
    const { mkdtemp, rm, stat } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-migrate-'));
    try {
      const result = spawnSync(process.execPath, ['bin/imagegram.js', 'migrate'], {
        cwd: projectRoot,
        env: { ...process.env, DATA_DIR: dataDir, ADMIN_TOKEN: 'migrate-test-token-0123456789' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /migrations applied/);
      assert.ok((await stat(join(dataDir, 'imagegram.sqlite'))).size > 0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('invalid configuration exits 1 with a clear message', () => {
    const result = spawnSync(process.execPath, [...imagegramEntry(), 'serve'], {
      cwd: projectRoot,
      env: { ...process.env, PORT: 'eighty', DATA_DIR: server.dataDir },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /PORT must be an integer/);
  });
});
