import cliProgress from 'cli-progress';

/** A plain-text table: a header row, then one row per item, columns padded to fit. */
export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (typeof rows[0]?.[column] === 'number' && row !== cells[0] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A progress bar on stderr; without a terminal, a line every few seconds instead (logs, CI). */
export interface Progress {
  /** Sets the bar to `done` of `total` (total null: a counter without a bar), labelled `phase`. */
  update(phase: string, done: number, total: number | null): void;
  stop(): void;
}

export function progressBar(): Progress {
  if (!process.stderr.isTTY) return lineProgress();
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{phase} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(phase, done, total) {
      const payload = { phase: phase.padEnd(20) };
      if (!started) {
        bar.start(total ?? done, done, payload);
        started = true;
      }
      bar.setTotal(total ?? Math.max(done, 1));
      bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Without a terminal (logs, CI): one line every 5 s of a long run, nothing for a short one. */
function lineProgress(): Progress {
  const startedAt = Date.now();
  let lastLine = startedAt;
  return {
    update(phase, done, total) {
      const now = Date.now();
      if (now - lastLine < 5_000) return;
      lastLine = now;
      process.stderr.write(`${phase}: ${done}${total === null ? '' : `/${total}`} (${Math.round((now - startedAt) / 1000)} s)\n`);
    },
    stop() {},
  };
}
