import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import type { Locker } from '@tus/server';
import type { LocalUploadFile, SealedBytes, UploadFiles } from '../../ports/upload-files.js';
import { fsyncDirectory, fsyncFile } from '../blob/fsync.js';

/**
 * FileStore minus the mkdir its constructor starts and never awaits: `open` has made the directory
 * already, and that stray mkdir, still in flight, failed with an uncaught ENOENT whenever the
 * directory was removed at that moment (a test's clean-up did, on a loaded machine).
 */
class DirectoryMadeFileStore extends FileStore {}
// Set on the prototype, not declared: FileStore's typings make the method private.
Object.defineProperty(DirectoryMadeFileStore.prototype, 'checkOrCreateDirectory', { value() {} });

/** Ids we hand to the file system: @tus/server's are 32 hex characters; refuse anything path-like. */
const validId = /^[A-Za-z0-9_-]{1,128}$/;
const infoSuffix = '.json';

/**
 * Upload bytes in a local directory, laid out by `@tus/file-store`: `<id>` holds the bytes and
 * `<id>.json` the protocol's info. The same `datastore` and `locker` are handed to `@tus/server`,
 * so removing an upload here waits for (and cancels) a PATCH writing it. Keep the directory on the
 * blob store's file system: ingest then links the bytes into place instead of copying them. The
 * locker comes from the caller (see `openUploadLocker`): in memory for one process, shared (in
 * PostgreSQL or Redis) when several processes serve the same upload bytes.
 */
export class TusFileUploadFiles implements UploadFiles {
  /** The tus data store to serve `/uploads` from. */
  readonly datastore: FileStore;
  /** The tus locker, taken by tus around each request and by `remove`. */
  readonly locker: Locker;

  private constructor(
    private readonly directory: string,
    expiryMs: number,
    locker: Locker,
  ) {
    this.datastore = new DirectoryMadeFileStore({ directory, expirationPeriodInMilliseconds: expiryMs });
    // Deferred length is not offered: the size limit must be decided when an upload is created,
    // before a byte is stored (an unknown length could only be refused part-way through).
    this.datastore.extensions = this.datastore.extensions.filter((name) => name !== 'creation-defer-length');
    this.locker = locker;
  }

  /**
   * Opens (creating it if needed) the upload directory. Created here, not left to FileStore, whose
   * constructor starts a mkdir it never awaits and throws its failure from a callback, where
   * nothing can catch it (see DirectoryMadeFileStore).
   */
  static async open(directory: string, options: { expiryMs: number; locker: Locker }): Promise<TusFileUploadFiles> {
    await mkdir(directory, { recursive: true });
    return new TusFileUploadFiles(directory, options.expiryMs, options.locker);
  }

  async received(id: string): Promise<number | null> {
    const info = await stat(this.pathOf(id)).catch(ignoreMissing);
    return info ? info.size : null;
  }

  async seal(id: string): Promise<SealedBytes> {
    const path = this.pathOf(id);
    const hash = createHash('sha256');
    let size = 0;
    await pipeline(
      createReadStream(path),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done();
        },
      }),
    );
    await fsyncFile(path);
    // The file's directory entry was created without a sync too.
    await fsyncDirectory(this.directory);
    return { sha256: hash.digest('hex'), size };
  }

  async localFile(id: string): Promise<LocalUploadFile> {
    const path = this.pathOf(id);
    await stat(path);
    return { path, release: async () => {} };
  }

  async remove(id: string): Promise<void> {
    const path = this.pathOf(id);
    const lock = this.locker.newLock(id);
    // A PATCH holding the lock is asked to stop (tus cancels it after its drain timeout); the
    // lock gives up after 30 s (ERR_LOCK_TIMEOUT) and the caller may try again later.
    await lock.lock(new AbortController().signal, () => {});
    try {
      await rm(path, { force: true });
      await rm(`${path}${infoSuffix}`, { force: true });
    } finally {
      await lock.unlock();
    }
  }

  async *list(): AsyncIterable<{ id: string; modifiedAt: number }> {
    const names = await readdir(this.directory).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
      throw error;
    });
    const ids = new Set(names.map((name) => (name.endsWith(infoSuffix) ? name.slice(0, -infoSuffix.length) : name)));
    for (const id of ids) {
      if (!validId.test(id)) continue;
      const times = await Promise.all([stat(join(this.directory, id)), stat(join(this.directory, `${id}${infoSuffix}`))].map((p) => p.catch(ignoreMissing)));
      const modifiedAt = Math.max(...times.map((info) => info?.mtimeMs ?? 0));
      if (modifiedAt > 0) yield { id, modifiedAt };
    }
  }

  private pathOf(id: string): string {
    if (!validId.test(id)) throw new Error(`invalid upload id: ${JSON.stringify(id)}`);
    return join(this.directory, id);
  }
}

function ignoreMissing(error: unknown): null {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw error;
}
