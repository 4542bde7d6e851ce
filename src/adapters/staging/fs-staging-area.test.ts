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
    await Promise.all(Array.from({ length: 300 }, async () => {
      const failing = new Readable({
        read() {
          this.destroy(new Error('cut off'));
        },
      });
      await assert.rejects(staging.receive(failing, 1_000), /cut off/);
    }));
    assert.deepEqual(await readdir(join(dir, 'cut')), []);
  });

  test('a body that fails midway leaves no file behind', async () => {
    const staging = new FsStagingArea(join(dir, 'midway'));
    const failing = Readable.from((async function* () {
      yield Buffer.alloc(64 * 1024, 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('connection reset');
    })());
    await assert.rejects(staging.receive(failing, 10_000_000), /connection reset/);
    assert.deepEqual(await readdir(join(dir, 'midway')), []);
  });

  test('a body over the limit is refused and leaves no file behind; one within it is staged with its hash', async () => {
    const staging = new FsStagingArea(join(dir, 'limits'));
    await assert.rejects(staging.receive(Readable.from([Buffer.alloc(2_000, 7)]), 1_000), (error: Error & { code?: string }) => error.code === 'IMAGE_TOO_LARGE');
    assert.deepEqual(await readdir(join(dir, 'limits')), []);
    const staged = await staging.receive(Readable.from([Buffer.from('hello')]), 1_000);
    assert.equal(staged.size, 5);
    assert.equal(staged.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    await staged.discard();
    assert.deepEqual(await readdir(join(dir, 'limits')), []);
  });
});
