/**
 * `imagegram verify` end to end: re-hash every stored original against its content
 * address, beside a running server on the same data dir and database. The data dir is touched only
 * to damage it (bytes appended to an original, an original deleted).
 */
import assert from 'node:assert/strict';
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { distinctPng, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { runImagegram } from '../support/cli.js';
import { startServer, type RunningServer } from '../support/server.js';
import { sha256 } from '../support/tus.js';

interface VerifyJson {
  checked: number;
  bytes: number;
  corrupt: { key: string; expected: string; actual: string; size: number }[];
  missing: string[];
}

async function verifyJson(server: RunningServer): Promise<{ code: number; report: VerifyJson }> {
  const result = await runImagegram(server.env, ['verify', '--json']);
  assert.ok(result.status === 0 || result.status === 1, `verify --json exited ${result.status}:\n${result.stderr}`);
  return { code: result.status, report: JSON.parse(result.stdout) as VerifyJson };
}

const originalKey = (hash: string) => `originals/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
const originalPath = (server: RunningServer, hash: string) => join(server.dataDir, 'blobs', originalKey(hash));

async function status(server: RunningServer, path: string): Promise<number> {
  const response = await fetch(`${server.baseUrl}${path}`);
  await response.arrayBuffer();
  return response.status;
}

describe('imagegram verify', () => {
  let server: RunningServer;
  let alice: TestUser;
  const images: { id: string; hash: string; bytes: Buffer }[] = [];

  before(async () => {
    server = await startServer({ env: { GC_INTERVAL_SECONDS: '0' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
    const bob = await signUpAndLogIn(server.baseUrl, 'bob');
    for (let seed = 1; seed <= 3; seed++) {
      const bytes = await distinctPng(seed);
      const response = await uploadImage(server.baseUrl, alice, bytes, 'photo.png', 'image/png');
      assert.equal(response.status, 201);
      const { id, hash } = (await response.json()) as { id: string; hash: string };
      assert.equal(hash, sha256(bytes));
      images.push({ id, hash, bytes });
    }
    // A second owner of the same bytes: still one blob, checked once.
    assert.equal((await uploadImage(server.baseUrl, bob, images[0]!.bytes, 'photo.png', 'image/png')).status, 201);
  });
  after(() => server.cleanup());

  test('exits 0 on an intact store and says so', async () => {
    const text = await runImagegram(server.env, ['verify']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^Checked 3 originals \(\d+(\.\d)? (B|KiB)\)\.$/m);
    assert.match(text.stdout, /^All intact\.$/m);

    const { code, report } = await verifyJson(server);
    assert.equal(code, 0);
    assert.equal(report.checked, 3);
    assert.equal(
      report.bytes,
      images.reduce((sum, image) => sum + image.bytes.length, 0),
    );
    assert.deepEqual(report.corrupt, []);
    assert.deepEqual(report.missing, []);
  });

  test('bytes appended to an original: exit 1, the key named, listed in `corrupt`; nothing is changed', async () => {
    const damaged = images[1]!;
    const path = originalPath(server, damaged.hash);
    await appendFile(path, Buffer.from('bit rot'));
    const now = await readFile(path);
    assert.equal(now.length, damaged.bytes.length + 7);

    const text = await runImagegram(server.env, ['verify']);
    assert.equal(text.status, 1, text.stdout);
    assert.match(text.stdout, /^1 no longer match their address:$/m);
    assert.ok(text.stdout.includes(originalKey(damaged.hash)), `key not named:\n${text.stdout}`);
    assert.ok(text.stdout.includes(sha256(now)), 'the hash of the bytes now is not shown');
    assert.doesNotMatch(text.stdout, /All intact/);
    assert.doesNotMatch(text.stderr, /\n\s+at /, 'a stack trace for a finding');

    const { code, report } = await verifyJson(server);
    assert.equal(code, 1);
    assert.equal(report.checked, 3);
    assert.deepEqual(report.corrupt, [{ key: originalKey(damaged.hash), expected: damaged.hash, actual: sha256(now), size: now.length }]);
    assert.deepEqual(report.missing, []);

    // verify only reports: the damaged file is as it was, the image still there.
    assert.ok((await readFile(path)).equals(now));
    assert.equal(await status(server, `/images/${damaged.id}`), 200);
  });

  test('a deleted original that an image references: exit 1, listed in `missing`', async () => {
    const gone = images[2]!;
    await rm(originalPath(server, gone.hash));

    const { code, report } = await verifyJson(server);
    assert.equal(code, 1);
    assert.equal(report.checked, 2);
    assert.deepEqual(report.missing, [gone.hash]);
    assert.deepEqual(
      report.corrupt.map((blob) => blob.expected),
      [images[1]!.hash],
    );

    const text = await runImagegram(server.env, ['verify']);
    assert.equal(text.status, 1);
    assert.match(text.stdout, /^1 referenced originals are missing:$/m);
    assert.match(text.stdout, new RegExp(`^  ${gone.hash}$`, 'm'));
  });

  test('an unknown flag exits 1 with a message, no stack trace', async () => {
    const result = await runImagegram(server.env, ['verify', '--bogus-flag']);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^imagegram verify: /m);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});
