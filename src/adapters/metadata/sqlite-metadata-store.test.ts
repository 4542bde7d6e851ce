import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metadataStoreContract } from '../../ports/metadata-store.contract.js';
import { openSqliteMetadataStore } from './sqlite.js';

for (const groupCommit of [true, false]) {
  const name = groupCommit ? 'SQLite' : 'SQLite without group commit';
  metadataStoreContract(name, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagegram-metadata-'));
    const queries: string[] = [];
    // A nested path: opening must create the missing directory.
    const store = openSqliteMetadataStore(join(dir, 'data', 'metadata.sqlite'), {
      onQuery: (sql) => queries.push(sql),
      groupCommit,
    });
    const cleanup = async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    };
    return { store, cleanup, queries };
  });
}
