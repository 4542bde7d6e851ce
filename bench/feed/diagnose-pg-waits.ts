/**
 * Diagnostic (not part of run.ts): what PostgreSQL backends wait on while imagegram takes comments
 * at a fixed rate. Samples `pg_stat_activity` every 5 ms on a fresh copy of the seed and prints the
 * average number of the server's backends in each wait state — `Lock:transactionid` is a
 * transaction waiting for another to commit (a row lock: the single feed_state row),
 * `Lock:advisory` the event log's append lock, `Client:ClientRead` a backend idle waiting for
 * Node. Also prints the feed pages rendered (posts_feed scans) per feed version in a mixed run.
 *
 * Usage: node --import tsx bench/feed/diagnose-pg-waits.ts [--rate 1000] [--seconds 5]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startBenchServer } from '../imagegram-server.js';
import { fmt } from '../stats.js';
import { postgresTarget } from './feed-target.js';
import { firstPagePaths } from './fixed-rate-phases.js';
import { pacedAtRate, type LoadResult, type RequestSpec } from './load.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const target = await postgresTarget((message) => process.stderr.write(`${message}\n`));
const server = await startBenchServer(target.serverEnv);
const monitor = new pg.Client({ connectionString: target.serverEnv.DATABASE_URL });
await monitor.connect();
try {
  const paths = await firstPagePaths(server.baseUrl, 5);
  let feedTurn = 0;
  let commentTurn = 0;
  const nextFeed = (): RequestSpec => ({ method: 'GET', path: paths[feedTurn++ % paths.length]! });
  const nextComment = (): RequestSpec => ({
    method: 'POST',
    path: `/posts/${target.postIds[commentTurn++ % target.postIds.length]}/comments`,
    headers: { ...server.user.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ body: `Diagnostic comment ${commentTurn}` }),
  });
  await pacedAtRate(server.baseUrl, nextComment, 100, 1);

  /** Runs `load` while sampling the server's backends; prints the averages. */
  const sampleWaits = async (label: string, load: () => Promise<LoadResult[]>): Promise<void> => {
    const waits = new Map<string, number>();
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await monitor.query<{ wait: string }>(
          `select coalesce(wait_event_type || ':' || wait_event, state) as wait from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
        );
        samples += 1;
        for (const { wait } of rows) waits.set(wait, (waits.get(wait) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const counters = await target.feedCounters();
    const results = await load();
    sampling = false;
    await sampler;
    const after = await target.feedCounters();
    const summary = results.map((r) => `${fmt(r.rate, 0)}/s p50 ${fmt(r.p50, 1)} p99 ${fmt(r.p99, 1)} ms, ${r.errors + r.non2xx} errors`).join(' | ');
    const states = [...waits]
      .sort((a, b) => b[1] - a[1])
      .map(([wait, n]) => `${wait} ${fmt(n / samples, 2)}`)
      .join(', ');
    process.stdout.write(`${label}: ${summary}\n  backends by wait (mean of ${samples} samples): ${states}\n`);
    process.stdout.write(`  feed versions ${after.version - counters.version}, pages rendered ${after.pageRenders - counters.pageRenders}\n`);
  };
  await sampleWaits(`comments at ${values.rate}/s`, async () => [await pacedAtRate(server.baseUrl, nextComment, Number(values.rate), seconds)]);
  await sampleWaits('mixed: 1,000 reads/s + 30 comments/s', () =>
    Promise.all([pacedAtRate(server.baseUrl, nextFeed, 1_000, seconds), pacedAtRate(server.baseUrl, nextComment, 30, seconds, 10)]),
  );
} finally {
  await monitor.end();
  await server.cleanup();
  await target.dispose();
}
