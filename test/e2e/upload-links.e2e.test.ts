import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { distinctPng, postJson, problemOf, signUpAndLogIn, type TestUser } from '../support/client.js';
import { imagegramEntry } from '../support/entry.js';
import { runOnServerDatabase } from '../support/server-database.js';
import { startServer, type RunningServer } from '../support/server.js';
import { sha256 } from '../support/tus.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

interface CreatedLink {
  id: string;
  ownerId: string;
  relativePath: string;
  expiresOn: string;
  maxImages: number;
  maxBytes: number;
}
interface LinkResult {
  processed: { name: string; id: string; hash: string; size: number; duplicate: boolean }[];
  failed: { name: string; code: string; detail: string }[];
}

/** A multipart body with one file part per entry, the way a kiosk's form would send it. */
function formOf(files: { name: string; bytes: Uint8Array; type?: string }[]): FormData {
  const form = new FormData();
  for (const file of files) form.append('images', new Blob([file.bytes], { type: file.type ?? 'image/png' }), file.name);
  return form;
}

describe('upload links', () => {
  let server: RunningServer;
  let alice: TestUser;
  let admin: Record<string, string>;

  before(async () => {
    server = await startServer();
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
    admin = { 'x-access-token': server.adminToken };
  });
  after(() => server.cleanup());

  async function mint(body: Record<string, unknown>, headers = admin): Promise<CreatedLink> {
    const response = await postJson(server.baseUrl, '/admin/upload-links', body, headers);
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()) as CreatedLink;
  }
  const send = (path: string, form: FormData) => fetch(`${server.baseUrl}${path}`, { method: 'POST', body: form });

  test('an admin mints a link with an unguessable token and its expiry', async () => {
    const before = Date.now();
    const link = await mint({ sinceNow: 'PT1H' });
    const token = link.relativePath.replace(/^\/links\//, '');
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
    const expiresOn = Date.parse(link.expiresOn);
    assert.ok(expiresOn >= before + 3_600_000 && expiresOn <= Date.now() + 3_600_000);
    assert.equal(link.maxImages, 500);
    assert.equal(link.maxBytes, 1024 ** 3);

    // Ten days ahead, written in UTC+01:00.
    const at = Math.floor(Date.now() / 1000) * 1000 + 10 * 86_400_000;
    const withOffset = new Date(at + 3_600_000).toISOString().replace(/\.000Z$/, '+01:00');
    const viaBearer = await mint({ expiresOn: withOffset }, { authorization: `Bearer ${server.adminToken}` });
    assert.equal(viaBearer.expiresOn, new Date(at).toISOString());
    const viaDuration = await mint({ sinceNow: 'P1DT2H', maxImages: 7 });
    assert.ok(Math.abs(Date.parse(viaDuration.expiresOn) - Date.now() - 26 * 3_600_000) < 60_000);
    assert.equal(viaDuration.maxImages, 7);
  });

  test('only an admin may mint links; durations and dates are validated (400)', async () => {
    const anonymous = await postJson(server.baseUrl, '/admin/upload-links', { sinceNow: 'PT1H' });
    assert.equal((await problemOf(anonymous)).code, 'UNAUTHENTICATED');
    const user = await postJson(server.baseUrl, '/admin/upload-links', { sinceNow: 'PT1H' }, alice.headers);
    assert.equal((await problemOf(user)).code, 'ADMIN_ONLY');
    const invalid: Record<string, unknown>[] = [
      {},
      { sinceNow: 'PT' },
      { sinceNow: '1 hour' },
      { sinceNow: 'pt1h' },
      { sinceNow: '-PT1H' },
      { sinceNow: 'PT0S' },
      { sinceNow: 'P0.5M' },
      { sinceNow: 'P400D' },
      { sinceNow: 'PT1H', expiresOn: '2030-01-01T00:00:00Z' },
      { expiresOn: '2001-01-01T00:00:00Z' },
      { expiresOn: '2027-06-01T12:00:00' },
      { expiresOn: 'tomorrow' },
      { sinceNow: 'PT1H', maxImages: 0 },
      { sinceNow: 'PT1H', maxImages: 501 },
      { sinceNow: 'PT1H', colour: 'red' },
    ];
    for (const body of invalid) {
      const response = await postJson(server.baseUrl, '/admin/upload-links', body, admin);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal((await problemOf(response)).code, 'VALIDATION_FAILED', JSON.stringify(body));
    }
  });

  test('several parts in one request: the good ones are kept, a bad one fails alone', async () => {
    const link = await mint({ sinceNow: 'PT1H' });
    const [red, green] = await Promise.all([distinctPng(101), distinctPng(102)]);
    const text = Buffer.from('definitely not an image\n');
    const truncated = (await distinctPng(103)).subarray(0, 60);
    const response = await send(
      link.relativePath,
      formOf([
        { name: 'red.png', bytes: red },
        { name: 'notes.txt', bytes: text, type: 'text/plain' },
        { name: 'green.png', bytes: green },
        { name: 'broken.png', bytes: truncated },
      ]),
    );
    assert.equal(response.status, 200);
    const result = (await response.json()) as LinkResult;
    assert.deepEqual(
      result.processed.map((p) => [p.name, p.hash, p.size, p.duplicate]),
      [
        ['red.png', sha256(red), red.length, false],
        ['green.png', sha256(green), green.length, false],
      ],
    );
    assert.deepEqual(
      result.failed.map((f) => [f.name, f.code]),
      [
        ['notes.txt', 'UNSUPPORTED_FORMAT'],
        ['broken.png', 'CORRUPT_IMAGE'],
      ],
    );

    // The images exist, owned by the link's own system user, and an admin finds them by link.
    for (const processed of result.processed) {
      const image = (await (await fetch(`${server.baseUrl}/images/${processed.id}`)).json()) as { ownerId: string };
      assert.equal(image.ownerId, link.ownerId);
      assert.equal((await fetch(`${server.baseUrl}/images/${processed.id}.jpg`)).status, 200);
    }
    const listed = (await (await fetch(`${server.baseUrl}/admin/upload-links/${link.id}/images`, { headers: admin })).json()) as { images: { id: string }[] };
    assert.deepEqual(listed.images.map((i) => i.id).sort(), result.processed.map((p) => p.id).sort());
    const usage = (await (await fetch(`${server.baseUrl}/admin/upload-links/${link.id}`, { headers: admin })).json()) as {
      usedImages: number;
      usedBytes: number;
    };
    assert.deepEqual(usage, { ...usage, usedImages: 2, usedBytes: red.length + green.length });
    assert.equal((await fetch(`${server.baseUrl}/admin/upload-links/${link.id}`, { headers: alice.headers })).status, 403);

    // The same bytes again through the same link: the existing image, counted but not stored twice.
    const again = (await (await send(link.relativePath, formOf([{ name: 'red-again.png', bytes: red }]))).json()) as LinkResult;
    assert.deepEqual(
      again.processed.map((p) => [p.id, p.duplicate]),
      [[result.processed[0]!.id, true]],
    );
  });

  test('an unknown token is 404, an expired link 410, and a request without images 400', async () => {
    const png = await distinctPng(110);
    const unknown = await send(`/links/${'A'.repeat(43)}`, formOf([{ name: 'a.png', bytes: png }]));
    assert.equal(unknown.status, 404);
    assert.equal((await problemOf(unknown)).code, 'UPLOAD_LINK_NOT_FOUND');

    const shortLived = await mint({ sinceNow: 'PT1H' });
    const empty = await fetch(`${server.baseUrl}${shortLived.relativePath}`, { method: 'POST', body: new FormData() });
    assert.equal(empty.status, 400);
    const json = await postJson(server.baseUrl, shortLived.relativePath, { image: 'no' });
    assert.equal((await problemOf(json)).code, 'IMAGE_MISSING');
    // Its hour runs out, in the database rather than on the wall clock (expiry at the boundary is
    // test/unit/upload-link-service.test.ts's, on an injected clock): waiting out a short link races it.
    assert.equal(await runOnServerDatabase(server, 'UPDATE upload_links SET expires_at = ? WHERE id = ?', [Date.now() - 1_000, shortLived.id]), 1);
    const expired = await send(shortLived.relativePath, formOf([{ name: 'a.png', bytes: png }]));
    assert.equal(expired.status, 410);
    assert.equal((await problemOf(expired)).code, 'UPLOAD_LINK_EXPIRED');
  });

  test('the caps hold: images beyond them fail with UPLOAD_LINK_FULL, also under concurrent requests', async () => {
    const pngs = await Promise.all([1, 2, 3, 4, 5].map((seed) => distinctPng(200 + seed)));
    const byCount = await mint({ sinceNow: 'PT1H', maxImages: 3 });
    const counted = (await (await send(byCount.relativePath, formOf(pngs.map((bytes, i) => ({ name: `${i}.png`, bytes }))))).json()) as LinkResult;
    assert.equal(counted.processed.length, 3);
    assert.deepEqual(
      counted.failed.map((f) => f.code),
      ['UPLOAD_LINK_FULL', 'UPLOAD_LINK_FULL'],
    );

    const byBytes = await mint({ sinceNow: 'PT1H', maxBytes: pngs[0]!.length + pngs[1]!.length });
    const sized = (await (await send(byBytes.relativePath, formOf(pngs.slice(0, 3).map((bytes, i) => ({ name: `${i}.png`, bytes }))))).json()) as LinkResult;
    assert.deepEqual([sized.processed.length, sized.failed.map((f) => f.code)], [2, ['UPLOAD_LINK_FULL']]);

    const raced = await mint({ sinceNow: 'PT1H', maxImages: 4 });
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => distinctPng(300 + i)));
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map(async (r) => {
        const response = await send(raced.relativePath, formOf(many.slice(r * 2, r * 2 + 2).map((bytes, i) => ({ name: `${r}-${i}.png`, bytes }))));
        return (await response.json()) as LinkResult;
      }),
    );
    assert.equal(
      results.reduce((sum, r) => sum + r.processed.length, 0),
      4,
    );
    assert.ok(results.every((r) => r.failed.every((f) => f.code === 'UPLOAD_LINK_FULL')));
  });

  test('npx imagegram create-upload-link --expires PT1H prints a working link', async () => {
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [...imagegramEntry(), 'create-upload-link', ...args], {
        cwd: projectRoot,
        env: { ...process.env, ...server.env, LOG_LEVEL: 'warn' },
      });
    const { stdout } = await cli(['--expires', 'PT1H']);
    const printed = JSON.parse(stdout) as CreatedLink;
    assert.match(printed.relativePath, /^\/links\/[A-Za-z0-9_-]{43}$/);
    assert.ok(Math.abs(Date.parse(printed.expiresOn) - Date.now() - 3_600_000) < 60_000);
    const png = await distinctPng(400);
    const used = (await (await send(printed.relativePath, formOf([{ name: 'cli.png', bytes: png }]))).json()) as LinkResult;
    assert.equal(used.processed[0]?.hash, sha256(png));

    await assert.rejects(cli(['--expires', 'soon']), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /ISO-8601/);
      return true;
    });
  });
});
