import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type Part,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ERRORS, type KvStore, type Locker, StreamSplitter, type Upload } from '@tus/server';
import { type MetadataValue, S3Store } from '@tus/s3-store';
import type { LocalUploadFile, SealedBytes, UploadFiles } from '../../ports/upload-files.js';
import { digestOf } from '../../core/blobs/stream-digest.js';
import { type S3Connection, s3ClientConfig, translateS3Failure } from '../blob/s3-blob-store.js';
import { streamToNewFile } from '../blob/stream-to-file.js';

/** Ids we turn into keys: @tus/server's are 32 hex characters; refuse anything else. */
const validId = /^[A-Za-z0-9_-]{1,128}$/;
/** The objects s3-store keeps per upload besides the finished one: its info, and a tail shorter than a part. */
const suffixes = ['.info', '.part'] as const;
const mebibyte = 1024 * 1024;

/** Where the upload objects live and how this process buffers the parts it sends. */
export interface TusS3UploadFilesOptions {
  /** The blob store's bucket and connection; uploads go under `<prefix>uploads/`, apart from every blob key. */
  connection: S3Connection;
  /** This process's own directory for part buffers and local copies; emptied when opened. */
  bufferDirectory: string;
  /** The lock @tus/server and `remove` take per upload; it must be shared by every process serving the bucket. */
  locker: Locker;
  /** Uploads are refused bytes this long after creation (the protocol's expiration extension). */
  expiryMs: number;
  /** Bytes per S3 part (at least 5 MiB, S3's minimum); default 8 MiB. */
  partSize?: number;
  /** Parts this process sends to S3 at once; each holds one part-sized file in the buffer directory. Default 4. */
  partsInFlight?: number;
}

/**
 * Upload bytes in the blob store's S3 bucket, laid out by `@tus/s3-store`: a multipart upload per
 * upload (one part per 8 MiB received), `<id>.info` (the protocol's info), `<id>.part` (bytes
 * received beyond the last whole part), and `<id>`, the finished object. Every process answers any
 * HEAD or PATCH, since nothing about an upload stays in one process: the metadata cache is off
 * (another process may have written or removed the upload since) and the lock is shared.
 *
 * Local disk holds only transit copies, in `bufferDirectory`: at most `partsInFlight × partSize`
 * of parts being sent, plus, per PATCH being written, the tail (under 5 MiB) carried over from
 * the previous PATCH, plus the copies `localFile` hands to ingest until released.
 */
export class TusS3UploadFiles implements UploadFiles {
  /** The tus data store to serve `/uploads` from. */
  readonly datastore: SharedS3Store;
  readonly locker: Locker;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly namespace: string;

  private constructor(
    options: TusS3UploadFilesOptions,
    private readonly bufferDirectory: string,
  ) {
    const { connection } = options;
    this.bucket = connection.bucket;
    this.namespace = `${connection.prefix ?? ''}uploads/`;
    this.locker = options.locker;
    this.client = new S3Client(s3ClientConfig(connection));
    translateFailures(this.client);
    this.datastore = new SharedS3Store(
      {
        s3ClientConfig: { ...s3ClientConfig(connection), bucket: connection.bucket },
        partSize: Math.max(options.partSize ?? 8 * mebibyte, 5 * mebibyte),
        maxConcurrentPartUploads: options.partsInFlight ?? 4,
        cache: noCache,
        expirationPeriodInMilliseconds: options.expiryMs,
        // Expiry is our sweep's job (it knows which uploads have rows); tags would only serve
        // bucket lifecycle rules, and not every S3-compatible store implements object tagging.
        useTags: false,
      },
      this.namespace,
      bufferDirectory,
    );
    // Deferred length is not offered: the size limit must be decided when an upload is created.
    this.datastore.extensions = this.datastore.extensions.filter((name) => name !== 'creation-defer-length');
  }

  /**
   * Opens the store, emptying this process's buffer directory (leftovers of a previous run under
   * the same name) and those of dead processes of this host, so a crash never leaks buffers.
   */
  static async open(options: TusS3UploadFilesOptions): Promise<TusS3UploadFiles> {
    await rm(options.bufferDirectory, { recursive: true, force: true });
    await mkdir(options.bufferDirectory, { recursive: true });
    return new TusS3UploadFiles(options, options.bufferDirectory);
  }

  async received(id: string): Promise<number | null> {
    checkId(id);
    return this.datastore.offsetOf(id);
  }

  async seal(id: string): Promise<SealedBytes> {
    // S3 acknowledges the completed multipart upload only once it is durable: nothing to sync.
    return digestOf(await this.getObject(id));
  }

  async localFile(id: string): Promise<LocalUploadFile> {
    const body = await this.getObject(id);
    const path = join(this.bufferDirectory, `local-${randomUUID()}`);
    await streamToNewFile(path, body);
    return { path, release: () => rm(path, { force: true }) };
  }

  async remove(id: string): Promise<void> {
    checkId(id);
    const lock = this.locker.newLock(id);
    // A PATCH holding the lock (in any process, the locker being shared) is asked to stop first.
    await lock.lock(new AbortController().signal, () => {});
    try {
      await this.datastore.removeEverything(id);
    } finally {
      await lock.unlock();
    }
  }

  async *list(): AsyncIterable<{ id: string; modifiedAt: number }> {
    const latest = new Map<string, number>();
    const note = (key: string | undefined, at: Date | undefined) => {
      if (key === undefined || !key.startsWith(this.namespace)) return;
      let id = key.slice(this.namespace.length);
      for (const suffix of suffixes) if (id.endsWith(suffix)) id = id.slice(0, -suffix.length);
      if (!validId.test(id)) return;
      latest.set(id, Math.max(latest.get(id) ?? 0, at?.getTime() ?? 0));
    };
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.namespace, ContinuationToken: token }));
      for (const object of page.Contents ?? []) note(object.Key, object.LastModified);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // A multipart upload whose info was never written (its server died in between) or already
    // deleted (a removal cut short) is stored bytes too, invisible to the object listing.
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.namespace, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (error) {
        // A store without multipart uploads (s3rver) has none to list; gc still sweeps the rest.
        // (501, so already translated to STORAGE_UNAVAILABLE: the SDK's error is the cause.)
        if ([error, (error as Error).cause].some((failure) => (failure as Error | undefined)?.name === 'NotImplemented')) break;
        throw error;
      }
      for (const upload of page.Uploads ?? []) note(upload.Key, upload.Initiated);
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    for (const [id, modifiedAt] of latest) yield { id, modifiedAt };
  }

  private async getObject(id: string): Promise<Readable> {
    checkId(id);
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.namespace + id }));
    if (!object.Body) throw new Error(`upload ${id} has no finished object`);
    return object.Body as Readable;
  }
}

/**
 * `@tus/s3-store`'s S3Store, adapted to a shared bucket:
 * - every key goes under a namespace (s3-store 2.0.7 has no prefix option): a middleware on its
 *   client prepends it to each request's `Key`;
 * - part buffers go to our directory instead of the OS temp directory it hard-codes;
 * - `remove` (tus termination, and our port's) aborts the multipart upload and deletes every
 *   object, tolerating any of them being gone already;
 * - a crash never loses acknowledged bytes. s3-store deletes the tail (`<id>.part`, the bytes past
 *   the last whole part) as a PATCH starts and only re-sends it inside that PATCH's first part: a
 *   process killed in between loses bytes it had acknowledged. Here the tail is kept until
 *   replaced, and records which part it follows: once that part is no longer the last, the tail is
 *   stale (its bytes are in the part) and ignored. Likewise only parts numbered 1, 2, 3… without a
 *   gap count, as parts of one PATCH are sent concurrently and a crash may leave a later one alone.
 */
class SharedS3Store extends S3Store {
  constructor(
    options: ConstructorParameters<typeof S3Store>[0],
    private readonly namespace: string,
    private readonly bufferDirectory: string,
  ) {
    super(options);
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string };
        if (typeof input.Key === 'string') {
          return next({ ...args, input: { ...args.input, Key: namespace + input.Key } as typeof args.input });
        }
        return next(args);
      },
      { step: 'initialize', name: 'imagegramUploadNamespace' },
    );
    translateFailures(this.client);
  }

  /** s3-store answers 404 for any failure to read the info; an unreachable store must be a 503, not "gone". */
  override async getUpload(id: string): Promise<Upload> {
    try {
      await this.getMetadata(id);
    } catch (error) {
      if (isNotFound(error)) throw ERRORS.FILE_NOT_FOUND;
      throw error;
    }
    return super.getUpload(id);
  }

  /** Bytes received so far, or null when the upload has no info (never created, or removed). */
  async offsetOf(id: string): Promise<number | null> {
    try {
      await this.getMetadata(id);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    return (await this.getUpload(id)).offset;
  }

  /**
   * Deletes the info first: once it is gone the upload is unknown to every process (404), and a
   * crash past that point leaves only a multipart upload or objects that `list` still finds.
   */
  async removeEverything(id: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${id}.info` }));
    const key = this.namespace + id;
    const { Uploads = [] } = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key }));
    for (const upload of Uploads.filter((candidate) => candidate.Key === key)) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: id, UploadId: upload.UploadId })).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: id }));
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${id}.part` }));
  }

  override async write(src: Readable, id: string, offset: number): Promise<number> {
    const metadata = await this.getMetadata(id);
    const parts = await this.retrieveParts(id);
    const lastPart = parts.at(-1)?.PartNumber ?? 0;
    const tail = await this.downloadIncompletePart(id);
    let body = src;
    if (tail) {
      const tailReader = tail.createReader({ cleanUpOnEnd: true });
      body = Readable.from(
        (async function* () {
          yield* tailReader;
          yield* src;
        })(),
      );
    }
    const { bytes, wroteTail } = await this.sendParts(metadata, body, lastPart + 1, offset - (tail?.size ?? 0));
    const newOffset = offset - (tail?.size ?? 0) + bytes;
    // The old tail went into a whole part: stale now, deleted (a crash first leaves it ignored).
    if (tail && !wroteTail) await this.deleteIncompletePart(id);
    if (metadata.file.size === newOffset) {
      await this.finishMultipartUpload(metadata, await this.retrieveParts(id));
      await this.clearCache(id);
    }
    return newOffset;
  }

  /** Parts 1…n with no gap: a part beyond a missing one holds bytes the offset cannot count yet. */
  protected override async retrieveParts(id: string, partNumberMarker?: string): Promise<Part[]> {
    const parts = await super.retrieveParts(id, partNumberMarker);
    if (partNumberMarker !== undefined) return parts;
    const consecutive = parts.findIndex((part, index) => part.PartNumber !== index + 1);
    return consecutive === -1 ? parts : parts.slice(0, consecutive);
  }

  protected override async getIncompletePartSize(id: string): Promise<number | undefined> {
    return (await this.currentTail(id))?.size;
  }

  protected override async getIncompletePart(id: string): Promise<Readable | undefined> {
    if (!(await this.currentTail(id))) return undefined;
    return super.getIncompletePart(id);
  }

  /** The tail, when it follows the last whole part; undefined when absent or stale. */
  private async currentTail(id: string): Promise<{ size: number } | undefined> {
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: `${id}.part` }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const lastPart = (await this.retrieveParts(id)).at(-1)?.PartNumber ?? 0;
    return Number(head.Metadata?.[followsKey]) === lastPart ? { size: head.ContentLength ?? 0 } : undefined;
  }

  override async remove(id: string): Promise<void> {
    await this.removeEverything(id);
  }

  protected override async uniqueTmpFileName(template: string): Promise<string> {
    return join(this.bufferDirectory, `${template}${randomUUID()}`);
  }

  protected override async uploadParts(metadata: MetadataValue, readStream: Readable, currentPartNumber: number, offset: number): Promise<number> {
    return (await this.sendParts(metadata, readStream, currentPartNumber, offset)).bytes;
  }

  /**
   * s3-store's `uploadParts`, with the buffer directory ours and the tail kept safe: the body is
   * cut into part-sized files, each sent as a part while the next fills; a last piece short of
   * S3's minimum (and not the upload's end) becomes the tail, written only once every part before
   * it is stored. A part file is created only once one of `maxConcurrentPartUploads` permits is
   * free, which bounds the buffers.
   */
  private async sendParts(
    metadata: MetadataValue,
    readStream: Readable,
    currentPartNumber: number,
    offset: number,
  ): Promise<{ bytes: number; wroteTail: boolean }> {
    const size = metadata.file.size;
    const promises: Promise<void>[] = [];
    let pendingChunkFilepath: string | null = null;
    let bytes = 0;
    let wroteTail = false;
    let permit: { release(): Promise<void> } | undefined;
    const splitterStream = new StreamSplitter({ chunkSize: this.calcOptimalPartSize(size), directory: this.bufferDirectory })
      .on('beforeChunkStarted', async () => {
        permit = await this.partUploadSemaphore.acquire();
      })
      .on('chunkStarted', (filepath: string) => {
        pendingChunkFilepath = filepath;
      })
      .on('chunkFinished', ({ path, size: partSize }: { path: string; size: number }) => {
        pendingChunkFilepath = null;
        const acquiredPermit = permit;
        const partNumber = currentPartNumber++;
        offset += partSize;
        const isFinalPart = size === offset;
        const earlier = [...promises];
        const deferred = (async () => {
          try {
            if (partSize >= this.minPartSize || isFinalPart) {
              await this.uploadPart(metadata, createReadStream(path), partNumber);
            } else {
              await Promise.all(earlier);
              await this.client.send(
                new PutObjectCommand({
                  Bucket: this.bucket,
                  Key: `${metadata.file.id}.part`,
                  Body: createReadStream(path),
                  ContentLength: partSize,
                  Metadata: { [followsKey]: String(partNumber - 1) },
                }),
              );
              wroteTail = true;
            }
            bytes += partSize;
          } catch (error) {
            splitterStream.destroy(error as Error);
            throw error;
          } finally {
            await rm(path, { force: true }).catch(() => {});
            await acquiredPermit?.release().catch(() => {});
          }
        })();
        deferred.catch(() => {});
        promises.push(deferred);
      })
      .on('chunkError', () => {
        permit?.release().catch(() => {});
      });
    try {
      await pipeline(readStream, splitterStream);
    } catch (error) {
      if (pendingChunkFilepath !== null) await rm(pendingChunkFilepath, { force: true }).catch(() => {});
      promises.push(Promise.reject(error));
    } finally {
      // No part upload may outlive the request that started it.
      await Promise.allSettled(promises);
    }
    await Promise.all(promises);
    return { bytes, wroteTail };
  }
}

/** Every failure of `client` that means "S3 cannot serve us now" becomes STORAGE_UNAVAILABLE (503). */
function translateFailures(client: { middlewareStack: S3Client['middlewareStack'] }): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw translateS3Failure(error);
      }
    },
    { step: 'initialize', name: 'imagegramStorageUnavailable', priority: 'high' },
  );
}

/** User metadata on the tail: the number of the whole part it follows. */
const followsKey = 'follows-part';

/** s3-store caches each upload's info per process; another process may change it any time, so nothing is cached. */
const noCache: KvStore<MetadataValue> = {
  get: async () => undefined,
  set: async () => {},
  delete: async () => {},
  list: async () => [],
};

/**
 * This process's buffer directory under `root`: `<host>-<pid>`. Directories there left by dead
 * processes of this host are removed (several processes may share one data directory).
 */
export async function processBufferDirectory(root: string): Promise<string> {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '_');
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const match = /^(.*)-(\d+)$/.exec(name);
    if (!match || match[1] !== host || Number(match[2]) === process.pid) continue;
    if (!isAlive(Number(match[2]))) await rm(join(root, name), { recursive: true, force: true });
  }
  return join(root, `${host}-${process.pid}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function checkId(id: string): void {
  if (!validId.test(id)) throw new Error(`invalid upload id: ${JSON.stringify(id)}`);
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string; Code?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload';
}
