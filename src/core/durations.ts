import { parse } from 'tinyduration';

const shorthand = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A fixed-length duration in ms from an ISO-8601 duration (`PT1H`, `P1D`, `P2W`, `PT0S`) or a
 * shorthand (`0`, `0s`, `90s`, `15m`, `2h`, `7d`); null when it is neither, negative, or uses years
 * or months (whose length depends on the calendar). For grace periods and ages in config and CLI.
 */
export function parseFixedDuration(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const short = shorthand.exec(trimmed);
  if (short) return Math.round(Number(short[1]) * unitMs[short[2] as keyof typeof unitMs]);
  try {
    const duration = parse(trimmed.toUpperCase());
    if (duration.negative || duration.years || duration.months) return null;
    return Math.round(
      (duration.weeks ?? 0) * 7 * unitMs.d +
        (duration.days ?? 0) * unitMs.d +
        (duration.hours ?? 0) * unitMs.h +
        (duration.minutes ?? 0) * unitMs.m +
        (duration.seconds ?? 0) * unitMs.s,
    );
  } catch {
    return null;
  }
}
