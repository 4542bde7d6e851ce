import { randomUUID } from 'node:crypto';
import { copyFile, link, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, ByteRange, LocalBlobFile, PutFileOptions } from '../../ports/blob-store.js';
import { reportingStorageFailures } from '../storage-failures.js';
import { fsyncDirectory, fsyncFile } from './fsync.js';

/** One filesystem block: the smallest write that needs free space. */
const pingBytes = Buffer.alloc(4096);

const validKey = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** Blob store in a local directory: one file per key, written atomically (temp file + rename) and fsynced. */
export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  putFile(key: string, sourcePath: string, options: PutFileOptions = {}): Promise<{ created: boolean }> {
    return reportingStorageFailures(() => this.linkOrCopy(key, sourcePath, options.sourceSynced === true));
  }

  private async linkOrCopy(key: string, sourcePath: string, sourceSynced: boolean): Promise<{ created: boolean }> {
    const target = this.pathOf(key);
    if (!sourceSynced) {
      // Only bytes about to be published are worth syncing: look for the blob first.
      if (await exists(target)) return { created: false };
      // The link publishes this very inode: its bytes must be on disk before the entry can be.
      await fsyncFile(sourcePath);
    }
    try {
      // A hard link publishes the staged bytes without copying 100 MB; EEXIST means the blob is
      // there already (or another upload of the same content won the race), which is fine for
      // content-addressed keys. Linking first, not stat-ing first, saves two syscalls per upload.
      await this.inDirectory(target, () => link(sourcePath, target));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return { created: false };
      if (code !== 'EXDEV' && code !== 'EPERM') throw error;
      await this.copyAtomically(sourcePath, target);
    }
    await fsyncDirectory(dirname(target));
    return { created: true };
  }

  put(key: string, body: Buffer): Promise<void> {
    return reportingStorageFailures(async () => {
      const target = this.pathOf(key);
      const temp = `${target}.${randomUUID()}.tmp`;
      try {
        await this.inDirectory(target, () => writeFile(temp, body, { flush: true }));
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      await fsyncDirectory(dirname(target));
    });
  }

  get(key: string): Promise<Buffer | null> {
    return reportingStorageFailures(async () => {
      try {
        return await readFile(this.pathOf(key));
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    });
  }

  createReadStream(key: string, range?: ByteRange): Promise<Readable | null> {
    return reportingStorageFailures(async () => {
      // Opened here, not lazily by the stream: running out of descriptors is then a SERVER_BUSY
      // answer before any header is sent, instead of a response cut off after its 200.
      let handle;
      try {
        handle = await open(this.pathOf(key), 'r');
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    });
  }

  localFile(key: string): Promise<LocalBlobFile | null> {
    return reportingStorageFailures(async () => {
      const path = this.pathOf(key);
      if (!(await exists(path))) return null;
      return { path, release: async () => {} };
    });
  }

  head(key: string): Promise<BlobInfo | null> {
    return reportingStorageFailures(async () => {
      try {
        const info = await stat(this.pathOf(key));
        return { key, size: info.size, modifiedAt: Math.floor(info.mtimeMs) };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    });
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // Walk only the directory the prefix pins down, not the whole store.
    const fixedDirectory = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    for await (const path of walk(join(this.root, ...fixedDirectory.split('/')))) {
      const key = relative(this.root, path).split(sep).join('/');
      if (!key.startsWith(prefix) || !validKey.test(key) || key.endsWith('.tmp')) continue;
      const info = await stat(path).catch(() => null);
      if (info) yield { key, size: info.size, modifiedAt: Math.floor(info.mtimeMs) };
    }
  }

  ping(): Promise<void> {
    return reportingStorageFailures(async () => {
      await mkdir(this.root, { recursive: true });
      const probe = join(this.root, `.ping-${randomUUID()}`);
      try {
        // Some bytes, not an empty file: a full disk still has inodes for empty files.
        await writeFile(probe, pingBytes);
      } finally {
        await rm(probe, { force: true });
      }
    });
  }

  private pathOf(key: string): string {
    // Keys come from our own code, but a traversal here would be a disaster: refuse anything odd.
    if (!validKey.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
      throw new Error(`invalid blob key: ${key}`);
    }
    return join(this.root, ...key.split('/'));
  }

  /**
   * Runs `create`, which makes an entry in the directory of `path`; if that directory is missing
   * (ENOENT), creates it durably and runs `create` again. Trying first costs nothing once the
   * sharded directories exist, which is almost always.
   */
  private async inDirectory<T>(path: string, create: () => Promise<T>): Promise<T> {
    try {
      return await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.ensureDirectory(dirname(path));
      return await create();
    }
  }

  /** Creates missing directories and fsyncs each new one's parent so the path survives a power cut. */
  private async ensureDirectory(dir: string): Promise<void> {
    if (await exists(dir)) return;
    await this.ensureDirectory(dirname(dir));
    await mkdir(dir, { recursive: true });
    await fsyncDirectory(dirname(dir));
  }

  private async copyAtomically(sourcePath: string, target: string): Promise<void> {
    const temp = `${target}.${randomUUID()}.tmp`;
    try {
      await copyFile(sourcePath, temp);
      await fsyncFile(temp);
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: unknown) => {
      if (isMissing(error)) return false;
      throw error;
    },
  );
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function* walk(dir: string): AsyncIterable<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  // Sorted, so the sharded keys come in ascending order (the port's promise) as S3 lists them.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}
