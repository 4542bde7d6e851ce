/**
 * `node --import tsx bench/feed/comment-stall-timeline.ts [--rate 1000] [--seconds 8] [--slow-ms 10]
 * [--catch-up-frames N] [--checkpoint-every N] [--show 12]`: where a slow comment's time goes,
 * in process, without HTTP. `comments.add` on a copy of the 100k-post feed seed (the embedded
 * store, group commit, every commit durable) at a paced rate, the store's WAL syncs, checkpoints
 * and catch-ups observed (`WalCommitsOptions.observe`). Prints the comments' latency percentiles
 * (from the moment each was due), the time the WAL work took in all, and for the first `--show`
 * comments slower than `--slow-ms` (at most one per 30 ms) the WAL work that overlapped them.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { BetterSqlite3 } from '../../src/adapters/metadata/sqlite-driver.js';
import type { WalEvent } from '../../src/adapters/metadata/sqlite-wal-commits.js';
import { newId } from '../../src/core/ids.js';
import { fmt, max, percentile } from '../stats.js';
import { copySqliteSeed, samplePostIds, sqliteSeed } from './seed-sqlite.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '8' },
    'slow-ms': { type: 'string', default: '10' },
    // Unset: the store's defaults.
    'catch-up-frames': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    show: { type: 'string', default: '12' },
  },
});
const rate = Number(values.rate);
const total = rate * Number(values.seconds);
const log = (message: string): void => void process.stderr.write(`${message}\n`);

const seed = await sqliteSeed(log);
const postIds = samplePostIds(seed.file, 5_000);
const copy = await copySqliteSeed(seed);
const file = join(copy.dataDir, 'imagegram.sqlite');
const events: WalEvent[] = [];
const store = openSqliteMetadataStore(file, {
  walCommits: {
    ...(values['catch-up-frames'] === undefined ? {} : { catchUpFrames: Number(values['catch-up-frames']) }),
    ...(values['checkpoint-every'] === undefined ? {} : { checkpointEveryCommits: Number(values['checkpoint-every']) }),
    observe: (event) => events.push(event),
  },
});
try {
  await store.migrate();
  const seedReader = new BetterSqlite3(file, { readonly: true });
  const authorId = seedReader.prepare('select id from users limit 1').pluck().get() as string;
  seedReader.close();

  const add = (n: number): Promise<boolean> => {
    const postId = postIds[n % postIds.length] as string;
    const id = newId();
    const comment = { id, postId, authorId, body: 'a paced comment', createdAt: Date.now() };
    return store.comments.add(comment, { type: 'CommentAdded', actorId: authorId, subjectId: id, payload: { postId } });
  };
  // Warm-up (JIT, statements prepared), left out of the figures.
  for (let n = 0; n < 200; n++) await add(n);
  events.length = 0;

  /** Each comment: when it was due and when its add resolved (performance.now()). */
  const spans: Array<{ due: number; done: number }> = [];
  const started = performance.now();
  const adds: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / rate;
    // Paced on the event loop itself: a stalled loop shows as late comments, as it would over HTTP.
    while (performance.now() < due) await new Promise((resolve) => setImmediate(resolve));
    adds.push(add(n).then(() => void spans.push({ due, done: performance.now() })));
  }
  await Promise.all(adds);
  const elapsed = (performance.now() - started) / 1000;

  const latencies = spans.map((span) => span.done - span.due);
  console.log(
    `${total} comments at ${fmt(total / elapsed, 0)}/s: latency p50 ${fmt(percentile(latencies, 50), 2)} ms, p90 ${fmt(percentile(latencies, 90), 2)}, p99 ${fmt(percentile(latencies, 99), 2)}, max ${fmt(max(latencies), 2)}`,
  );
  for (const kind of ['sync', 'checkpoint', 'catch-up'] as const) {
    const of = events.filter((event) => event.kind === kind);
    const ms = of.map((event) => event.ms);
    console.log(
      `${kind}: ${of.length} in all, ${fmt(
        ms.reduce((sum, each) => sum + each, 0),
        0,
      )} ms, p99 ${fmt(percentile(ms, 99), 2)} ms, max ${fmt(max(ms), 2)} ms`,
    );
  }
  const slowMs = Number(values['slow-ms']);
  let lastShown = Number.NEGATIVE_INFINITY;
  let shown = 0;
  for (const { due, done } of [...spans].sort((a, b) => a.due - b.due)) {
    if (done - due <= slowMs || due - lastShown < 30 || shown >= Number(values.show)) continue;
    lastShown = due;
    shown++;
    const overlapping = events
      .filter((event) => event.startedAt + event.ms > due - 5 && event.startedAt < done)
      .map((event) => `${event.kind} ${fmt(event.startedAt - due, 1)}+${fmt(event.ms, 1)}${event.frames === undefined ? '' : ` (${event.frames} frames)`}`);
    console.log(`at ${fmt(due - started, 0)} ms, ${fmt(done - due, 1)} ms: ${overlapping.join(', ')}`);
  }
} finally {
  await store.close();
  await copy.remove();
}
