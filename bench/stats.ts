/** Small statistics and the markdown table every scenario reports into. */

/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The `p`-th percentile (0–100) by the nearest-rank method; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The largest value; NaN when empty. */
export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

/** One measured A/B pair: the bare baseline and imagegram, measured back to back. */
export interface Pair {
  baseline: number;
  imagegram: number;
}

/**
 * Summarises alternating A/B pairs: the median of the per-pair ratios `imagegram / baseline`
 * (robust to this machine's run-to-run swings, which hit both halves of a pair alike), plus the
 * absolute medians of each side for context.
 */
export function summarisePairs(pairs: readonly Pair[]): { ratio: number; baseline: number; imagegram: number; ratios: number[] } {
  const ratios = pairs.map((pair) => pair.imagegram / pair.baseline);
  return {
    ratio: median(ratios),
    baseline: median(pairs.map((pair) => pair.baseline)),
    imagegram: median(pairs.map((pair) => pair.imagegram)),
    ratios,
  };
}

/** One line of the results table. */
export interface ResultRow {
  scenario: string;
  metric: string;
  /** Median of the pair ratios, formatted; '–' for figures with no baseline. */
  ratio: string;
  imagegram: string;
  baseline: string;
  target: string;
  /** true = met, false = missed, null = no target for this line. */
  met: boolean | null;
}

/** Formats `value` with `digits` decimals and an optional unit. */
export function fmt(value: number, digits = 1, unit = ''): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

/** Renders rows as a GitHub markdown table. */
export function formatTable(rows: readonly ResultRow[]): string {
  const header = ['scenario', 'metric', 'ratio (median of pairs)', 'imagegram (median)', 'bare baseline (median)', 'target', 'met'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => {
      const met = row.met === null ? '' : row.met ? 'yes' : '**no**';
      return `| ${[row.scenario, row.metric, row.ratio, row.imagegram, row.baseline, row.target, met].join(' | ')} |`;
    }),
  ];
  return lines.join('\n');
}
