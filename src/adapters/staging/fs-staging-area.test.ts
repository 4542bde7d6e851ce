import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FsStagingArea } from './fs-staging-area.js';

describe('FsStagingArea', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-staging-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a body that fails at once (a cut-off multipart part) leaves no file behind, even before the file has opened', async () => {
    const staging = new FsStagingArea(join(dir, 'cut'));
    // Many at once: with the thread pool busy, a removal can overtake the file's own open.
    await Promise.all(
      Array.from({ length: 300 }, async () => {
        const failing = new Readable({
          read() {
            this.destroy(new Error('cut off'));
          },
        });
        await assert.rejects(staging.receive(failing, 1_000), /cut off/);
      }),
    );
    assert.deepEqual(await readdir(join(dir, 'cut')), []);
  });

  test('a body that fails midway leaves no file behind', async () => {
    const staging = new FsStagingArea(join(dir, 'midway'));
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(64 * 1024, 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error('connection reset');
      })(),
    );
    await assert.rejects(staging.receive(failing, 10_000_000), /connection reset/);
    assert.deepEqual(await readdir(join(dir, 'midway')), []);
  });

  test('a body over the limit is refused and leaves no file behind; one within it is staged with its hash', async () => {
    const staging = new FsStagingArea(join(dir, 'limits'));
    await assert.rejects(
      staging.receive(Readable.from([Buffer.alloc(2_000, 7)]), 1_000),
      (error: Error & { code?: string }) => error.code === 'IMAGE_TOO_LARGE',
    );
    assert.deepEqual(await readdir(join(dir, 'limits')), []);
    const staged = await staging.receive(Readable.from([Buffer.from('hello')]), 1_000);
    assert.equal(staged.size, 5);
    assert.equal(staged.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    await staged.discard();
    assert.deepEqual(await readdir(join(dir, 'limits')), []);
  });

  test('receive resolves with the sync started: durable settles, and a discard right away waits for the sync, then removes the file', async () => {
    const staging = new FsStagingArea(join(dir, 'durable'));
    const kept = await staging.receive(Readable.from([Buffer.from('kept')]), 1_000);
    await kept.durable;
    // Many at once: with the thread pool busy, a removal could overtake the sync's own open.
    await Promise.all(
      Array.from({ length: 200 }, async (_, n) => {
        const staged = await staging.receive(Readable.from([Buffer.from(`upload ${n}`)]), 1_000);
        await staged.discard();
        await staged.durable;
      }),
    );
    assert.deepEqual(await readdir(join(dir, 'durable')), [kept.path.slice(join(dir, 'durable').length + 1)]);
  });

  test('clearLeftovers removes what a serving process staged, new or old, and leaves what a command is staging', async () => {
    const area = join(dir, 'leftovers');
    const server = new FsStagingArea(area);
    const command = new FsStagingArea(area, { forCommand: true });
    const left = await server.receive(Readable.from([Buffer.from('half an upload')]), 1_000);
    const importing = await command.receive(Readable.from([Buffer.from('being imported')]), 1_000);
    assert.deepEqual(await server.clearLeftovers(), { files: 1, bytes: 14 });
    assert.deepEqual(await readdir(area), [importing.path.slice(area.length + 1)]);
    assert.equal(left.path.startsWith(area), true);
    // Both kinds stay visible to garbage collection once stale.
    assert.equal((await server.listStale(Number.POSITIVE_INFINITY)).length, 1);
    assert.deepEqual(await new FsStagingArea(join(dir, 'never-made')).clearLeftovers(), { files: 0, bytes: 0 });
  });
});
