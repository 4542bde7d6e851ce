/** Turns one database's feed figures into rows of the bench table and its detail tables. */
import { fmt, type ResultRow } from '../stats.js';
import type { PageCost } from './feed-queries.js';
import type { FeedTarget } from './feed-target.js';
import type { ThroughputFigures } from './feed-throughput.js';
import type { PhaseFigures } from './fixed-rate-phases.js';
import type { LoadResult } from './load.js';

const p99TargetMs = 10;
const ratioTarget = 0.5;

/** Everything measured on one database. */
export interface DatabaseFigures {
  target: Pick<FeedTarget, 'name' | 'seededSeconds' | 'copySeconds'>;
  phases: PhaseFigures[];
  throughput: ThroughputFigures;
  pageCosts: PageCost[];
}

const requestLabel = { feed: 'GET /posts', comments: 'POST /posts/{id}/comments' } as const;
const rateLabel = { feed: 1_000, comments: 1_000 } as const;

function describe(phase: PhaseFigures, stream: 'feed' | 'comments'): string {
  const generator = phase.generator === 'autocannon' ? 'autocannon overallRate, 50 conn' : 'paced open loop, 50 conn';
  const rate =
    phase.phase === 'mixed'
      ? stream === 'feed'
        ? '1,000/s, while 30 comments/s'
        : '30/s, while 1,000 reads/s'
      : `${rateLabel[stream].toLocaleString('en')}/s`;
  return `${requestLabel[stream]} at ${rate} (${generator})`;
}

function latencyCell(load: LoadResult): string {
  return `${fmt(load.p50, 1)} / ${fmt(load.p99, 1)} ms @ ${fmt(load.rate, 0)}/s, ${load.errors + load.non2xx} errors`;
}

/** The main-table rows: one per request stream and phase, and the throughput ratio. */
export function resultRows(figures: DatabaseFigures): ResultRow[] {
  const db = figures.target.name;
  const rows: ResultRow[] = [];
  for (const phase of figures.phases) {
    for (const stream of ['feed', 'comments'] as const) {
      const load = phase.load[stream];
      if (!load) continue;
      rows.push({
        scenario: `${db}: ${describe(phase, stream)}`,
        metric: 'p50 / p99 latency @ achieved rate, errors + non-2xx',
        ratio: '–',
        imagegram: latencyCell(load),
        baseline: '–',
        target: `p99 ≤ ${p99TargetMs} ms, 0 errors`,
        met: load.p99 <= p99TargetMs && load.errors + load.non2xx === 0,
      });
    }
  }
  const t = figures.throughput;
  rows.push({
    scenario: `${db}: GET /posts?limit=20 flat out (${fmt(t.bodyBytes / 1024, 1)} KiB page, autocannon 10 conn)`,
    metric: 'req/s',
    ratio: fmt(t.ratio, 2),
    imagegram: `${fmt(t.imagegram, 0)} /s`,
    baseline: `${fmt(t.baseline, 0)} /s (bare Fastify route, same bytes)`,
    target: `ratio ≥ ${ratioTarget}`,
    met: t.ratio >= ratioTarget && t.errors === 0,
  });
  return rows;
}

/** The bare route at 1,000 req/s, as reference rows (no target: it is the floor, not imagegram). */
function calibrationRows(figures: DatabaseFigures): ResultRow[] {
  const { autocannon, paced } = figures.throughput.bareAtRate;
  return (
    [
      ['autocannon overallRate, 50 conn', autocannon],
      ['paced open loop, 50 conn', paced],
    ] as const
  ).map(([generator, load]) => ({
    scenario: `${figures.target.name} run: bare Fastify route (same page bytes) at 1,000/s (${generator}) — the generator's floor`,
    metric: 'p50 / p99 latency @ achieved rate, errors + non-2xx',
    ratio: '–',
    imagegram: '–',
    baseline: latencyCell(load),
    target: '',
    met: null,
  }));
}

/** The main-table rows plus the bare calibration rows. */
export function allRows(figures: DatabaseFigures): ResultRow[] {
  return [...resultRows(figures), ...calibrationRows(figures)];
}

const cores = (share: number): string => fmt(share, 2);

function phaseRow(
  phase: string,
  generator: string,
  requests: string,
  load: LoadResult,
  extra: { server?: { p50: number; p99: number }; cpu?: PhaseFigures['cpu']; loop?: string; gcMs?: number; benchLoopP99Ms?: number; counters?: string },
): string {
  const cells = [
    phase,
    generator,
    requests,
    `${fmt(load.rate, 0)} (${fmt(load.peakRate, 0)})`,
    `${fmt(load.p50, 1)} / ${fmt(load.p99, 1)} / ${fmt(load.max, 0)}`,
    fmt(load.autocannonP99, 1),
    extra.server ? `${fmt(extra.server.p50, 2)} / ${fmt(extra.server.p99, 1)}` : '–',
    `${load.errors} / ${load.non2xx}`,
    extra.cpu ? `${cores(extra.cpu.server)} / ${cores(extra.cpu.database)} / ${cores(extra.cpu.bench)} / ${cores(extra.cpu.others)}` : '–',
    extra.loop ?? '–',
    extra.gcMs === undefined ? '–' : fmt(extra.gcMs, 0),
    extra.counters ?? '–',
    `${fmt(load.sendLagP99, 1)} / ${extra.benchLoopP99Ms === undefined ? '–' : fmt(extra.benchLoopP99Ms, 1)}`,
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The diagnostic tables: per phase (server side, CPU, loops, GC), throughput CPU, page costs. */
export function detailSection(figures: DatabaseFigures): string {
  const { target, throughput: t } = figures;
  const phaseRows = figures.phases.flatMap((phase) =>
    (['feed', 'comments'] as const).flatMap((stream) => {
      const load = phase.load[stream];
      if (!load) return [];
      const server = phase.server.get(stream === 'feed' ? 'GET /posts' : 'POST /posts/{id}/comments');
      return [
        phaseRow(phase.phase, phase.generator, requestLabel[stream], load, {
          ...(server && { server }),
          cpu: phase.cpu,
          loop: `${fmt(phase.loopP99Ms, 1)} / ${fmt(phase.loopMaxMs, 1)}`,
          gcMs: phase.gcMs,
          benchLoopP99Ms: phase.benchLoopP99Ms,
          counters: `${phase.versions} / ${Number.isNaN(phase.pageRenders) ? 'n/a' : phase.pageRenders}`,
        }),
      ];
    }),
  );
  const bareRows = (['autocannon', 'paced'] as const).map((generator) => phaseRow('bare route', generator, 'GET /posts (bare)', t.bareAtRate[generator], {}));
  return [
    `### ${target.name}`,
    '',
    `Seed: ${target.seededSeconds === null ? 'cached (not re-seeded)' : `seeded now in ${fmt(target.seededSeconds, 1)} s`}; copied for this run in ${fmt(target.copySeconds, 1)} s.`,
    '',
    "| phase | generator | requests | achieved /s (peak /s in any 100 ms) | client p50 / p99 / max ms | autocannon's own p99 ms | server-side p50 / p99 ms (Fastify responseTime) | errors / non-2xx | CPU cores: server / PostgreSQL / load generator / other processes | server event-loop delay p99 / max ms | server GC ms | feed versions (writes) / pages rendered (PostgreSQL: posts_feed scans) | load generator: send lag p99 / own loop delay p99 ms |",
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...phaseRows,
    ...bareRows,
    '',
    `Flat-out GET /posts?limit=20: pair ratios ${t.ratios.map((ratio) => fmt(ratio, 2)).join(', ')}; CPU per request: imagegram ${fmt(t.imagegramCpuUs, 0)} µs, bare route ${fmt(t.baselineCpuUs, 0)} µs, autocannon ${fmt(t.clientCpuUs, 0)} µs; errors + non-2xx ${t.errors}.`,
    '',
    '| feed page (in-process, page cache bypassed) | limit | statements per page | ms per page, median / p90 |',
    '|---|---|---|---|',
    ...figures.pageCosts.map((cost) => `| ${cost.page} | ${cost.limit} | ${cost.queries} | ${fmt(cost.medianMs, 2)} / ${fmt(cost.p90Ms, 2)} |`),
  ].join('\n');
}
