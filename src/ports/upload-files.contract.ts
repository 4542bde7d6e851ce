import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { UploadFiles } from './upload-files.js';

/** An empty UploadFiles, a way to store bytes the way the protocol's server would, and cleanup. */
export interface UploadFilesFixture {
  files: UploadFiles;
  /** Creates upload `id` and writes `bytes` as its first bytes (the server's job, not the port's). */
  write(id: string, bytes: Buffer): Promise<void>;
  cleanup(): Promise<void>;
}

const anId = () => randomBytes(16).toString('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The executable contract of `UploadFiles` (see its doc comments); every adapter's runner calls it. */
export function uploadFilesContract(name: string, open: () => Promise<UploadFilesFixture>): void {
  describe(`UploadFiles contract: ${name}`, () => {
    let fixture: UploadFilesFixture;
    beforeEach(async () => {
      fixture = await open();
    });
    afterEach(() => fixture.cleanup());

    test('received counts the stored bytes; null when none are stored', async () => {
      const id = anId();
      assert.equal(await fixture.files.received(id), null);
      await fixture.write(id, randomBytes(1234));
      assert.equal(await fixture.files.received(id), 1234);
    });

    test('seal hashes the bytes as stored; localFile holds exactly them', async () => {
      const id = anId();
      const bytes = randomBytes(300_000);
      await fixture.write(id, bytes);
      assert.deepEqual(await fixture.files.seal(id), { sha256: sha256(bytes), size: bytes.length });
      const local = await fixture.files.localFile(id);
      assert.deepEqual(await readFile(local.path), bytes);
      await local.release();
      await local.release();
    });

    test('seal and localFile reject for an upload without bytes', async () => {
      await assert.rejects(fixture.files.seal(anId()));
      await assert.rejects(fixture.files.localFile(anId()));
    });

    test('remove deletes bytes and bookkeeping, and succeeds when they are gone', async () => {
      const [kept, removed] = [anId(), anId()];
      await fixture.write(kept, randomBytes(10));
      await fixture.write(removed, randomBytes(10));
      await fixture.files.remove(removed);
      await fixture.files.remove(removed);
      await fixture.files.remove(anId());
      assert.equal(await fixture.files.received(removed), null);
      const listed = [];
      for await (const stored of fixture.files.list()) listed.push(stored.id);
      assert.deepEqual(listed, [kept]);
    });

    test('list gives every stored upload once, with a plausible modification time', async () => {
      const before = Date.now() - 5_000;
      const ids = [anId(), anId(), anId()];
      for (const id of ids) await fixture.write(id, randomBytes(5));
      const listed = [];
      for await (const stored of fixture.files.list()) listed.push(stored);
      assert.deepEqual(listed.map((stored) => stored.id).sort(), [...ids].sort());
      for (const stored of listed) assert.ok(stored.modifiedAt >= before && stored.modifiedAt <= Date.now() + 5_000);
    });

    test('ids that could leave the upload directory are refused', async () => {
      for (const id of ['../etc/passwd', 'a/b', '..', '', 'x\0y']) {
        await assert.rejects(fixture.files.remove(id), Error, id);
        await assert.rejects(fixture.files.received(id), Error, id);
      }
    });
  });
}
