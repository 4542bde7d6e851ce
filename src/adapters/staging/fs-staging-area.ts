import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { AppError } from '../../core/errors.js';
import type { StagedFile, StagingArea } from '../../ports/staging-area.js';
import { fsyncFile } from '../blob/fsync.js';
import { streamToNewFile } from '../blob/stream-to-file.js';
import { asStorageFailure } from '../storage-failures.js';

const suffix = '.staging';
/** Names of what one-shot commands (`import`) stage, which a serving process's start-up leaves alone. */
const commandPrefix = 'cmd-';

/** One filesystem block: the smallest write that needs free space (an empty file needs only an inode). */
const probeBytes = Buffer.alloc(4096);

export interface FsStagingAreaOptions {
  /** How long a ping's outcome is reused, in ms (readiness probes may come several times a second). */
  pingCacheMs?: number;
  /** Epoch ms; injected by tests. */
  now?: () => number;
  /**
   * Staging for a one-shot command (`import`…), which may run beside the server on its data dir:
   * its files are named apart, so the server's start-up clean-up never removes one in use.
   */
  forCommand?: boolean;
}

/** Staging in a local directory; keep it on the same filesystem as the fs blob store so promotion is a link, not a copy. */
export class FsStagingArea implements StagingArea {
  private readonly pingCacheMs: number;
  private readonly now: () => number;
  private lastPing: { at: number; outcome: Promise<void> } | null = null;
  private readonly namePrefix: string;

  constructor(
    private readonly dir: string,
    options: FsStagingAreaOptions = {},
  ) {
    this.pingCacheMs = options.pingCacheMs ?? 1_500;
    this.now = options.now ?? Date.now;
    this.namePrefix = options.forCommand ? commandPrefix : '';
  }

  async receive(source: Readable, maxBytes: number): Promise<StagedFile> {
    const path = join(this.dir, `${this.namePrefix}${randomUUID()}${suffix}`);
    const meter = new HashingMeter(maxBytes);
    try {
      await mkdir(this.dir, { recursive: true });
      await streamToNewFile(path, source, [meter]);
      if (meter.overLimit) throw new AppError('IMAGE_TOO_LARGE', `The image is larger than ${maxBytes} bytes`, { limit: maxBytes });
    } catch (error) {
      await rm(path, { force: true });
      // A full disk or no descriptors left is the server's state, not the client's fault.
      throw asStorageFailure(error);
    }
    // Synced while the caller probes and renders the bytes; publishing them waits for it.
    const durable = fsyncFile(path).catch((error: unknown) => {
      throw asStorageFailure(error);
    });
    durable.catch(() => {});
    return {
      path,
      durable,
      sha256: meter.digest(),
      size: meter.bytes,
      // The sync opens the file by name: removing it first would fail the sync, not skip it.
      discard: () => durable.catch(() => {}).then(() => removeFile(path)),
    };
  }

  ping(): Promise<void> {
    const now = this.now();
    if (this.lastPing && now - this.lastPing.at < this.pingCacheMs) return this.lastPing.outcome;
    const outcome = this.probeWrite();
    // Handled here too, so a cached failure nobody awaits again is not an unhandled rejection.
    outcome.catch(() => {});
    this.lastPing = { at: now, outcome };
    return outcome;
  }

  private async probeWrite(): Promise<void> {
    // Named like a staging file, so a crash between write and removal leaves garbage gc sweeps.
    const path = join(this.dir, `ping-${randomUUID()}${suffix}`);
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(path, probeBytes);
    } catch (error) {
      throw asStorageFailure(error);
    } finally {
      await rm(path, { force: true });
    }
  }

  async listStale(olderThan: number): Promise<{ path: string; size: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const stale: { path: string; size: number }[] = [];
    for (const name of names.filter((n) => n.endsWith(suffix))) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (info && info.mtimeMs < olderThan) stale.push({ path, size: info.size });
    }
    return stale;
  }

  async clearLeftovers(): Promise<{ files: number; bytes: number }> {
    const leftovers = (await this.listStale(Number.POSITIVE_INFINITY)).filter(({ path }) => !basename(path).startsWith(commandPrefix));
    for (const { path } of leftovers) await rm(path, { force: true });
    return { files: leftovers.length, bytes: leftovers.reduce((sum, { size }) => sum + size, 0) };
  }

  async remove(path: string): Promise<void> {
    if (!path.startsWith(this.dir) || !path.endsWith(suffix)) throw new Error(`not a staging file: ${path}`);
    await rm(path, { force: true });
  }
}

/** Removes a staged file, already gone or not: `unlink`, where `rm` would `lstat` first (a syscall per upload). */
async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Hashes and counts bytes as they pass. Past `maxBytes` it stops writing but keeps reading to the
 * end, so a multipart parser feeding it can finish the request and the client gets its 413.
 */
class HashingMeter extends Transform {
  bytes = 0;
  overLimit = false;
  private readonly hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.overLimit || this.bytes > this.maxBytes) {
      this.overLimit = true;
      done();
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
