/**
 * `node --import tsx bench/feed/graphql-vs-rest.ts [--seconds 10]` (issue 5): the feed as one
 * GraphQL query — 20 posts with image, author and last comments, sent as an anonymous GET — against
 * the REST feed `GET /posts?limit=20`, on the seeded 100k-post SQLite database: both at the same
 * paced 1,000 req/s, then each flat out. Prints a markdown table.
 */
import { parseArgs } from 'node:util';
import { startBenchServer } from '../imagegram-server.js';
import { fmt } from '../stats.js';
import { sqliteTarget } from './feed-target.js';
import { autocannonFlatOut, pacedAtRate, type LoadResult } from './load.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rate: { type: 'string', default: '1000' } } });
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const log = (message: string): void => void process.stderr.write(`${message}\n`);

const feedQuery = `{ posts(first: 20) { edges { node { id caption commentCount createdAt author { id username }
  image { id url width height } lastComments { id body createdAt author { id username } } } cursor }
  pageInfo { hasNextPage endCursor } } }`;

const target = await sqliteTarget(log);
const server = await startBenchServer(target.serverEnv);
try {
  const restPath = '/posts?limit=20';
  const graphqlPath = `/graphql?query=${encodeURIComponent(feedQuery)}`;
  // Both must answer before we time them.
  for (const path of [restPath, graphqlPath]) {
    const response = await fetch(`${server.baseUrl}${path}`);
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    const body = await response.text();
    if (body.includes('"errors"')) throw new Error(`${path}: ${body.slice(0, 300)}`);
  }
  const rows: [string, LoadResult, number][] = [];
  for (const [name, path] of [['REST GET /posts?limit=20', restPath], ['GraphQL GET posts(first: 20)', graphqlPath]] as const) {
    log(`  ${name}: paced ${rate}/s for ${seconds} s …`);
    const paced = await pacedAtRate(server.baseUrl, () => ({ method: 'GET', path }), rate, seconds);
    log(`  ${name}: flat out …`);
    const flat = await autocannonFlatOut(server.baseUrl, path, 5);
    rows.push([name, paced, flat.rate]);
  }
  const lines = [
    `| feed, 100k posts (SQLite) | paced ${rate}/s: achieved /s | p50 / p99 ms | errors + non-2xx | flat out req/s (autocannon, 10 conn, 5 s) |`,
    '|---|---|---|---|---|',
    ...rows.map(([name, paced, flat]) => `| ${name} | ${fmt(paced.rate)} | ${fmt(paced.p50)} / ${fmt(paced.p99)} | ${paced.errors + paced.non2xx} | ${fmt(flat)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.cleanup();
  await target.dispose();
}
