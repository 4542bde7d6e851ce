import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
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
