/**
 * `node --import tsx bench/feed/store-commit-stalls.ts [--roots dirA,dirB] [--pairs 3] [--comments 3000]`:
 * what SQLite comments cost the event loop, in process, without HTTP: `comments.add` on the store
 * (group commit, each commit durable before it resolves) at a paced 1,000/s, measuring the loop's busy time per comment
 * (`performance.eventLoopUtilization`: this thread only, so work on a writer thread does not
 * count) and its delay p99/max (1 ms resolution). Each round runs every checkout in `--roots`
 * (default: this one) in its own child process, alternating their order. Less sensitive to a
 * loaded machine than latency: busy time counts only what the loop itself ran.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt, median } from '../stats.js';

const { values } = parseArgs({
  options: {
    roots: { type: 'string', default: fileURLToPath(new URL('../..', import.meta.url)) },
    pairs: { type: 'string', default: '3' },
    comments: { type: 'string', default: '3000' },
    child: { type: 'string' },
  },
});

if (values.child !== undefined) {
  await measureIn(values.child, Number(values.comments));
} else {
  const roots = values.roots.split(',').map((root) => resolve(root));
  const results = new Map<string, Array<{ busyUs: number; p99: number; max: number; load: number; seconds: number }>>(roots.map((root) => [root, []]));
  for (let round = 0; round < Number(values.pairs); round++) {
    for (const root of round % 2 === 0 ? roots : [...roots].reverse()) {
      const load = loadavg()[0]!;
      const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', root, '--comments', values.comments], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (child.status !== 0) throw new Error(`child for ${root} failed`);
      const figures = JSON.parse(child.stdout) as { busyUs: number; p99: number; max: number; seconds: number };
      process.stderr.write(`round ${round + 1} ${root}: ${JSON.stringify(figures)} (load ${fmt(load, 1)})\n`);
      results.get(root)!.push({ ...figures, load });
    }
  }
  const lines = [
    '| checkout | loop busy per comment (µs) | loop delay p99 (ms) | loop delay max (ms) | seconds for all | load (1 min) |',
    '|---|---|---|---|---|---|',
  ];
  for (const [root, runs] of results) {
    const list = (pick: (run: (typeof runs)[number]) => number, digits = 0) =>
      `${fmt(median(runs.map(pick)), digits)} (${runs.map((run) => fmt(pick(run), digits)).join(', ')})`;
    lines.push(
      `| ${root} | ${list((r) => r.busyUs)} | ${list((r) => r.p99, 1)} | ${list((r) => r.max, 1)} | ${list((r) => r.seconds, 1)} | ${list((r) => r.load, 1)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function measureIn(root: string, comments: number): Promise<void> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { monitorEventLoopDelay, performance } = await import('node:perf_hooks');
  const { openSqliteMetadataStore } = (await import(join(root, 'src/adapters/metadata/sqlite.ts'))) as typeof import('../../src/adapters/metadata/sqlite.js');
  const support = (await import(
    join(root, 'src/ports/metadata-store.support.contract.ts')
  )) as typeof import('../../src/ports/metadata-store.support.contract.js');
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-commit-stalls-'));
  try {
    const store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    const author = support.aUser();
    await store.users.insert(author);
    const image = support.anImage(author.id);
    await store.images.insertOrGetExisting(image);
    const posts = Array.from({ length: 50 }, () => support.aPost(author.id, image.id));
    for (const post of posts) await store.posts.insert(post);
    const add = (i: number) => {
      const comment = support.aComment(posts[i % posts.length]!.id, author.id);
      return store.comments.add(comment, support.anEvent(comment.id));
    };
    for (let i = 0; i < 200; i++) await add(i); // warm-up: JIT, statements prepared
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const elu = performance.eventLoopUtilization();
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    // Paced: 1 comment per ms on average, sent in 10 ms ticks.
    for (let sent = 0; sent < comments; ) {
      const due = Math.min(comments, Math.floor(performance.now() - started) + 1);
      for (; sent < due; sent++) pending.push(add(sent));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(pending);
    const seconds = (performance.now() - started) / 1000;
    const used = performance.eventLoopUtilization(elu);
    delay.disable();
    await store.close();
    process.stdout.write(JSON.stringify({ busyUs: (used.active * 1000) / comments, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, seconds }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
