import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { addComment, createPost, distinctPng, eventually, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { multipartOperation, onlyError, type GraphqlBody } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, patchUpload } from '../support/tus.js';

const run = promisify(execFile);

/** A small tmpfs of our own (root only): the one way to fill a disk for real without touching the machine's. */
async function mountSmallTmpfs(): Promise<string | null> {
  const mountPoint = await mkdtemp(join(tmpdir(), 'imagegram-full-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint]);
    return mountPoint;
  } catch (error) {
    await rmdir(mountPoint).catch(() => {});
    process.stderr.write(`\n*** full-disk e2e SKIPPED: cannot mount a tmpfs (needs root): ${(error as Error).message.split('\n')[0]} ***\n\n`);
    return null;
  }
}

/** Writes one file until the filesystem refuses with ENOSPC. */
async function fillDisk(path: string): Promise<void> {
  const sink = createWriteStream(path);
  const chunk = Buffer.alloc(64 * 1024, 1);
  await new Promise<void>((resolve, reject) => {
    sink.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOSPC' ? resolve() : reject(error)));
    const write = () => {
      while (sink.write(chunk));
      sink.once('drain', write);
    };
    write();
  });
  sink.destroy();
}

async function stagingLeftovers(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'staging')).catch(() => [] as string[])).filter((name) => name.endsWith('.staging'));
}

const mountPoint = await mountSmallTmpfs();

describe('a full data disk: 503 STORAGE_FULL with Retry-After, nothing half-written, /readyz 503 until space returns', {
  skip: mountPoint === null ? 'cannot mount a tmpfs (needs root)' : false,
}, () => {
  const dataDir = mountPoint!;
  const filler = join(dataDir, 'filler');
  let server: RunningServer;
  let user: TestUser;
  let postId: string;

  before(async () => {
    server = await startServer({ env: { DATA_DIR: dataDir, RUN_WORKER: 'off' } });
    user = await signUpAndLogIn(server.baseUrl);
    const post = await createPost(server.baseUrl, user, await distinctPng(1), 'before the disk fills');
    assert.equal(post.status, 201);
    postId = ((await post.json()) as { id: string }).id;
  });
  after(async () => {
    await server?.cleanup();
    await run('umount', [dataDir]).catch((error: Error) => process.stderr.write(`umount ${dataDir} failed: ${error.message}\n`));
    await rmdir(dataDir).catch(() => {});
  });

  async function imagesCreated(): Promise<number> {
    const response = await fetch(`${server.baseUrl}/admin/events?limit=1000`, { headers: { 'x-access-token': server.adminToken } });
    const { events } = (await response.json()) as { events: { type: string }[] };
    return events.filter((event) => event.type === 'ImageCreated').length;
  }

  test('uploads are refused with 503 STORAGE_FULL, and readiness fails, while the disk is full', async () => {
    const imagesBefore = await imagesCreated();
    const tusUpload = await createUpload(server.baseUrl, user.headers, 256 * 1024);
    assert.equal(tusUpload.status, 201);
    await fillDisk(filler);

    const refused = await uploadImage(server.baseUrl, user, await distinctPng(2), 'two.png', 'image/png');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '60');
    const problem = await problemOf(refused);
    assert.equal(problem.code, 'STORAGE_FULL');
    assert.ok(!problem.detail.includes(dataDir), problem.detail);

    const post = await createPost(server.baseUrl, user, await distinctPng(3), 'on a full disk');
    assert.equal(post.status, 503);
    assert.equal((await problemOf(post)).code, 'STORAGE_FULL');

    // GraphQL and tus say the same: the server's state, with the same Retry-After, not a bug.
    const operation = multipartOperation('mutation($file: Upload!) { uploadImage(file: $file) { image { id } } }', await distinctPng(5));
    const viaGraphql = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { ...user.headers, 'apollo-require-preflight': 'true', 'content-type': operation.contentType },
      body: operation.body,
    });
    assert.equal(onlyError((await viaGraphql.json()) as GraphqlBody<unknown>).errorCode, 'STORAGE_FULL');
    assert.equal(viaGraphql.headers.get('retry-after'), '60');
    const patched = await patchUpload(new URL(tusUpload.headers.get('location')!, server.baseUrl).href, user.headers, 0, Buffer.alloc(256 * 1024, 7));
    assert.equal(patched.status, 503, await patched.text());

    assert.deepEqual(await stagingLeftovers(dataDir), []);
    assert.equal(await imagesCreated(), imagesBefore, 'no image row for a refused upload');

    // A database write may still fit in pages SQLite already holds; if not, it is the same 503.
    const comment = await addComment(server.baseUrl, user, postId, 'written on a full disk?');
    if (comment.status !== 201) {
      assert.equal(comment.status, 503, server.output.filter((line) => line.includes('request failed')).join('\n'));
      assert.equal((await problemOf(comment)).code, 'STORAGE_FULL');
    }

    const ready = await eventually(
      async () => {
        const response = await fetch(`${server.baseUrl}/readyz`);
        return response.status === 503 ? ((await response.json()) as { checks: Record<string, string> }) : undefined;
      },
      { what: '/readyz to report the full disk' },
    );
    assert.match(ready.checks.dataDir!, /^failed: /);
    assert.ok(!JSON.stringify(ready).includes(dataDir));
  });

  test('once space is freed, readiness and uploads come back without a restart', async () => {
    await rm(filler, { force: true });
    await eventually(async () => ((await fetch(`${server.baseUrl}/readyz`)).status === 200 ? true : undefined), { what: '/readyz to recover' });
    const accepted = await uploadImage(server.baseUrl, user, await distinctPng(4), 'four.png', 'image/png');
    assert.equal(accepted.status, 201);
  });
});
