import { createHash } from 'node:crypto';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LedgerEntry, MigrationLedger } from '../../ports/migration-ledger.js';
import { fsyncDirectory } from './fsync.js';

/**
 * Where the ledger of migrating `source` to `target` lives: one file per pair under
 * `<dataDir>/storage-migrations/`, so migrating to another bucket starts afresh.
 */
export function migrationLedgerPath(dataDir: string, source: string, target: string): string {
  const pair = createHash('sha256').update(`${source}\n${target}`).digest('hex').slice(0, 16);
  return join(dataDir, 'storage-migrations', `${pair}.jsonl`);
}

/**
 * A migration ledger in an append-only file of JSON lines, each fsynced before `record` resolves.
 * A crash can at worst leave the last line torn: reading skips it (that object is copied again),
 * and the next append starts on a fresh line.
 */
export class FileMigrationLedger implements MigrationLedger {
  private handle: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;

  /** `header` is written once, as the first line, for a human reading the file. */
  constructor(
    private readonly path: string,
    private readonly header: Record<string, string> = {},
  ) {}

  async load(): Promise<Map<string, LedgerEntry>> {
    const entries = new Map<string, LedgerEntry>();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return entries;
      throw error;
    }
    for (const line of text.split('\n')) {
      const entry = parseEntry(line);
      if (entry) entries.set(entry.key, entry);
    }
    return entries;
  }

  async record(entry: LedgerEntry): Promise<void> {
    const handle = await this.open();
    const { key, size, modifiedAt, sha256 } = entry;
    // One write(2) per line on an O_APPEND descriptor: concurrent records never interleave.
    await handle.write(`${JSON.stringify({ key, size, modifiedAt, sha256 })}\n`);
    await handle.datasync();
  }

  async close(): Promise<void> {
    const handle = this.handle ?? (this.opening ? await this.opening : null);
    this.handle = null;
    this.opening = null;
    await handle?.close();
  }

  private async open(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    this.opening ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const handle = await open(this.path, 'a+');
      const { size } = await handle.stat();
      if (size === 0) {
        await handle.write(`${JSON.stringify({ ledger: 'imagegram storage migration', ...this.header })}\n`);
        await handle.datasync();
        await fsyncDirectory(dirname(this.path));
      } else {
        // A line torn by a crash must not swallow the next entry.
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last.toString() !== '\n') await handle.write('\n');
      }
      this.handle = handle;
      return handle;
    })();
    return this.opening;
  }
}

function parseEntry(line: string): LedgerEntry | null {
  if (line.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const entry = value as Partial<LedgerEntry>;
  if (typeof entry.key !== 'string' || typeof entry.size !== 'number' || typeof entry.modifiedAt !== 'number' || typeof entry.sha256 !== 'string') return null;
  return { key: entry.key, size: entry.size, modifiedAt: entry.modifiedAt, sha256: entry.sha256 };
}
