import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobStoreContract } from '../../ports/blob-store.contract.js';
import { FsBlobStore } from './fs-blob-store.js';

blobStoreContract('local directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fs-blob-store-'));
  return { store: new FsBlobStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});
