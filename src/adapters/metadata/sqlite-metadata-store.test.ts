import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metadataStoreContract } from '../../ports/metadata-store.contract.js';
import { openSqliteMetadataStore } from './sqlite.js';

metadataStoreContract('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-metadata-'));
  // A nested path: opening must create the missing directory.
  const store = openSqliteMetadataStore(join(dir, 'data', 'metadata.sqlite'));
  const cleanup = async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { store, cleanup };
});
