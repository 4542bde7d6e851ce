import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Upload } from '@tus/server';
import { uploadFilesContract } from '../../ports/upload-files.contract.js';
import { MemoryUploadLocker } from './memory-upload-locker.js';
import { TusFileUploadFiles } from './tus-file-upload-files.js';

uploadFilesContract('tus file store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-uploads-'));
  const files = await TusFileUploadFiles.open(join(dir, 'uploads'), { expiryMs: 60_000, locker: new MemoryUploadLocker() });
  return {
    files,
    async write(id, bytes) {
      await files.datastore.create(new Upload({ id, size: bytes.length, offset: 0 }));
      await files.datastore.write(Readable.from([bytes]), id, 0);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

test('opening starts no mkdir of its own that could outlive it: a directory removed right after stays removed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-uploads-'));
  await TusFileUploadFiles.open(join(dir, 'uploads'), { expiryMs: 60_000, locker: new MemoryUploadLocker() });
  rmSync(dir, { recursive: true, force: true });
  // Let anything already queued on the thread pool run (FIFO) before looking.
  for (let round = 0; round < 8; round++) await stat(tmpdir());
  assert.equal(existsSync(dir), false, "FileStore's own mkdir -p would have made it again");
});
