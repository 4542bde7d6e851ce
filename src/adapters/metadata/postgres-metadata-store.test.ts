import { createThrowawayPostgresDatabase } from '../../../test/support/postgres.js';
import { metadataStoreContract } from '../../ports/metadata-store.contract.js';
import { openPostgresMetadataStore } from './postgres.js';

// Probe once: null means unreachable and not required (TEST_POSTGRES_URL unset), so skip.
const probe = await createThrowawayPostgresDatabase();
await probe?.drop();

metadataStoreContract(
  'PostgreSQL',
  async () => {
    const database = await createThrowawayPostgresDatabase();
    if (database === null) throw new Error('PostgreSQL went away during the run');
    const queries: string[] = [];
    const store = openPostgresMetadataStore(database.url, { onQuery: (sql) => queries.push(sql) });
    const cleanup = async () => {
      await store.close();
      await database.drop();
    };
    return { store, cleanup, queries };
  },
  { skip: probe === null && 'PostgreSQL not reachable' },
);
