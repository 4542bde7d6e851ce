/**
 * `node --import tsx bench/feed/graphql-vs-rest.ts [--pairs 5] [--seconds 5] [--rate 1000]`:
 * the feed as one GraphQL query — 20 posts with image, author and last comments, sent as an
 * anonymous GET — against the REST feed `GET /posts?limit=20`, on the seeded 100k-post SQLite
 * database. Four ways, one server: REST; GraphQL from the page cache, by query text and by
 * persisted-query hash (a shorter URL); GraphQL executed (the same GET with a Cookie header, which
 * is never answered from the cache). First REST and cached GraphQL at a paced rate, then all flat
 * out in interleaved rounds (the order rotating each round), each round's ratios to REST summarised
 * by their median. About 2.5 minutes with the defaults once seeded. Prints markdown tables.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startBenchServer } from '../imagegram-server.js';
import { fmt, median } from '../stats.js';
import { sqliteTarget } from './feed-target.js';
import { autocannonFlatOut, pacedAtRate, type LoadResult } from './load.js';

const { values } = parseArgs({
  options: { pairs: { type: 'string', default: '5' }, seconds: { type: 'string', default: '5' }, rate: { type: 'string', default: '1000' } },
});
const pairs = Number(values.pairs);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const log = (message: string): void => void process.stderr.write(`${message}\n`);

const feedQuery = `{ posts(first: 20) { edges { node { id caption commentCount createdAt author { id username }
  image { id url width height } lastComments { id body createdAt author { id username } } } cursor }
  pageInfo { hasNextPage endCursor } } }`;

interface Variant {
  name: string;
  path: string;
  headers?: Record<string, string>;
}

const rest: Variant = { name: 'REST GET /posts?limit=20', path: '/posts?limit=20' };
const graphqlPath = `/graphql?query=${encodeURIComponent(feedQuery)}`;
const cached: Variant = { name: 'GraphQL GET posts(first: 20), page cache', path: graphqlPath };
const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(feedQuery).digest('hex') };
const persisted: Variant = {
  name: 'GraphQL GET by persisted-query hash, page cache',
  path: `/graphql?extensions=${encodeURIComponent(JSON.stringify({ persistedQuery }))}`,
};
const uncached: Variant = { name: 'GraphQL GET posts(first: 20), executed', path: graphqlPath, headers: { cookie: 'bench=uncached' } };
const variants = [rest, cached, persisted, uncached];

const target = await sqliteTarget(log);
const server = await startBenchServer(target.serverEnv);
try {
  // Registers the persisted query (Mercurius keeps it in memory).
  await fetch(`${server.baseUrl}${graphqlPath}&extensions=${encodeURIComponent(JSON.stringify({ persistedQuery }))}`);
  // All must answer before we time them, and every GraphQL way with the same bytes.
  const bodies = new Map<Variant, string>();
  for (const variant of variants) {
    const response = await fetch(`${server.baseUrl}${variant.path}`, { headers: variant.headers });
    const body = await response.text();
    if (response.status !== 200 || body.includes('"errors"')) throw new Error(`${variant.name}: ${response.status} ${body.slice(0, 300)}`);
    bodies.set(variant, body);
  }
  if (bodies.get(cached) !== bodies.get(uncached) || bodies.get(persisted) !== bodies.get(uncached))
    throw new Error('a cached GraphQL answer differs from the executed one');

  const paced: [Variant, LoadResult][] = [];
  for (const variant of [rest, cached]) {
    log(`  ${variant.name}: paced ${rate}/s for ${seconds} s …`);
    paced.push([variant, await pacedAtRate(server.baseUrl, () => ({ method: 'GET', path: variant.path, headers: variant.headers }), rate, seconds)]);
  }

  const flat = new Map<Variant, number[]>(variants.map((variant) => [variant, []]));
  for (let round = 0; round < pairs; round++) {
    // Rotating the order spreads warm-up and neighbours' noise over every variant alike.
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length]!;
      log(`  round ${round + 1}/${pairs}: ${variant.name} flat out for ${seconds} s …`);
      const result = await autocannonFlatOut(server.baseUrl, variant.path, seconds, 10, variant.headers);
      if (result.errors + result.non2xx > 0) throw new Error(`${variant.name}: ${result.errors} errors, ${result.non2xx} non-2xx`);
      flat.get(variant)!.push(result.rate);
    }
  }
  const ratiosTo = (variant: Variant) => flat.get(variant)!.map((value, round) => value / flat.get(rest)![round]!);

  const lines = [
    `| feed, 100k posts (SQLite) | paced ${rate}/s: achieved /s | p50 / p99 ms | errors + non-2xx |`,
    '|---|---|---|---|',
    ...paced.map(
      ([variant, result]) => `| ${variant.name} | ${fmt(result.rate)} | ${fmt(result.p50)} / ${fmt(result.p99)} | ${result.errors + result.non2xx} |`,
    ),
    '',
    `| flat out (autocannon, 10 conn, ${seconds} s × ${pairs} interleaved rounds) | req/s per round | median req/s | ratio to REST: median of rounds (ratio of medians) |`,
    '|---|---|---|---|',
    ...variants.map((variant) => {
      const rates = flat.get(variant)!;
      const ratio = variant === rest ? '1' : `**${fmt(median(ratiosTo(variant)), 2)}** (${fmt(median(rates) / median(flat.get(rest)!), 2)})`;
      return `| ${variant.name} | ${rates.map((value) => fmt(value, 0)).join(', ')} | ${fmt(median(rates), 0)} | ${ratio} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.cleanup();
  await target.dispose();
}
