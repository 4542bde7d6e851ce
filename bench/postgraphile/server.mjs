/**
 * `node bench/postgraphile/server.mjs <database url> <port> <pool size>`: PostGraphile 5 (amber
 * preset) over the bench database, for `npm run bench:graphql`, listening on 127.0.0.1:<port>.
 * Production-like: no GraphiQL, no watch mode, no explain, errors masked. Prints "listening" on
 * stdout once it serves.
 */
import './node20-polyfills.mjs';
import { createServer } from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

const [url, port, poolSize] = process.argv.slice(2);
if (!url || !port || !poolSize) throw new Error('usage: server.mjs <database url> <port> <pool size>');

const pool = new pg.Pool({ connectionString: url, max: Number(poolSize) });
/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  grafserv: { graphiql: false, watch: false, graphqlOverGET: true },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server).catch((error) => {
  console.error(error);
  process.exit(1);
});
// The schema is built before the first answer; wait for it so the bench's first request is not timed against the build.
await pgl.getSchemaResult();
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
