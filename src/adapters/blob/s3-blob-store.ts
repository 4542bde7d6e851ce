import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  HeadBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { AppError } from '../../core/errors.js';
import type { BlobInfo, BlobStore, ByteRange, LocalBlobFile } from '../../ports/blob-store.js';
import { StartupError } from '../../startup-error.js';
import { streamToNewFile } from './stream-to-file.js';

const validKey = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** Where and how an S3BlobStore reaches its bucket. */
export interface S3BlobStoreOptions {
  /** Bucket holding the objects; it must exist. */
  bucket: string;
  /** Prepended to every key (e.g. `imagegram/`), so several deployments can share a bucket; default none. */
  prefix?: string;
  /** Base URL of an S3-compatible service (MinIO, R2, s3rver…); default AWS S3 for `region`. */
  endpoint?: string;
  /** Signing region; default `us-east-1`. */
  region?: string;
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint`; most non-AWS services need it. */
  forcePathStyle?: boolean;
  /** Explicit keys (tests); by default the SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Directory for the copies `localFile` downloads; default the OS temp directory. */
  tempDirectory?: string;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000); small values let tests exercise paging. */
  listPageSize?: number;
  /** Attempts per request, the first included; default 3. */
  maxAttempts?: number;
  /** Give up connecting after this many ms; default 2000. */
  connectionTimeoutMs?: number;
  /** Give up on a socket idle this long, mid-request or mid-body, in ms; default 30000. */
  socketTimeoutMs?: number;
}

/** How to reach a bucket: the part of the options every S3 client of ours shares. */
export type S3Connection = Pick<
  S3BlobStoreOptions,
  'bucket' | 'prefix' | 'endpoint' | 'region' | 'forcePathStyle' | 'credentials' | 'maxAttempts' | 'connectionTimeoutMs' | 'socketTimeoutMs'
>;

/** The bucket, key prefix, endpoint, region and path style a `BLOB_STORE_URL` of the form `s3://…` names (config.ts validated it). */
export function s3ConnectionFromUrl(url: string): S3Connection {
  const { hostname, pathname, searchParams } = new URL(url);
  const endpoint = searchParams.get('endpoint');
  return {
    bucket: hostname,
    prefix: pathname.slice(1),
    ...(endpoint ? { endpoint } : {}),
    region: searchParams.get('region') ?? 'us-east-1',
    forcePathStyle: searchParams.get('forcePathStyle') === 'true',
  };
}

/** The SDK client settings for a connection: the blob store's and the tus upload store's clients use the same. */
export function s3ClientConfig(options: S3Connection): S3ClientConfig {
  return {
    region: options.region ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Bounded retries and timeouts: an unreachable store must fail in seconds (503), not hang a request.
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 2_000, socketTimeout: options.socketTimeoutMs ?? 30_000 },
    // Newer SDKs send CRC32 trailers by default, which s3rver and several S3-compatible stores
    // reject (STYLE.md; radosgw answers 411); we send Content-MD5 ourselves instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Failures reach the caller as STORAGE_UNAVAILABLE; the SDK's own console warnings would only
    // bypass the structured log.
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
}

/**
 * Blob store in an S3-compatible bucket: one object per key under an optional prefix. A write
 * resolves once S3 has acknowledged it, which S3 does only after storing it durably.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly endpoint: string | undefined;
  private readonly region: string;
  private readonly prefix: string;
  private readonly tempDirectory: string;
  private readonly listPageSize: number;
  private readonly maxAttempts: number;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.endpoint = options.endpoint;
    this.region = options.region ?? 'us-east-1';
    this.prefix = options.prefix ?? '';
    this.tempDirectory = options.tempDirectory ?? tmpdir();
    this.listPageSize = options.listPageSize ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.client = new S3Client(s3ClientConfig(options));
  }

  async putFile(key: string, sourcePath: string): Promise<{ created: boolean }> {
    const objectKey = this.objectKey(key);
    // Content-addressed keys: an object already there holds these very bytes. Two processes racing
    // past this check both upload the same bytes, which is harmless (last write wins, same content).
    if (await this.head(key)) return { created: false };
    const { size } = await stat(sourcePath);
    // One extra sequential read buys an end-to-end check: S3 refuses the PUT (BadDigest) when the
    // bytes it received hash otherwise. s3rver does not check; there the content address is the
    // backstop (`imagegram verify` re-hashes every original).
    const md5 = await md5OfFile(sourcePath);
    // The SDK cannot rewind a stream body, so it never retries this request: retry here, each
    // attempt with a fresh stream from disk (memory stays flat for 100 MB files).
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: createReadStream(sourcePath), ContentLength: size, ContentMD5: md5 }),
        );
        return { created: true };
      } catch (error) {
        const translated = this.translate(error);
        if (attempt >= this.maxAttempts || !isAppErrorUnavailable(translated)) throw translated;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt * Math.random()));
      }
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const objectKey = this.objectKey(key);
    const md5 = createHash('md5').update(body).digest('base64');
    // A PUT replaces the object atomically: readers see the old or the new bytes, never a mix.
    await this.call(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: body, ContentMD5: md5 })));
  }

  async get(key: string): Promise<Buffer | null> {
    const object = await this.getObject(key);
    if (!object?.Body) return null;
    const bytes = await this.call(() => object.Body!.transformToByteArray());
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async createReadStream(key: string, range?: ByteRange): Promise<Readable | null> {
    let object: GetObjectCommandOutput | null;
    try {
      object = await this.getObject(key, range);
    } catch (error) {
      // A range starting past the end: S3 answers 416, a local file simply has no bytes there.
      if (range && isS3Error(error, ['InvalidRange'], 416)) return (await this.head(key)) ? Readable.from([]) : null;
      throw error;
    }
    if (!object?.Body) return null;
    return this.translatingStream(object.Body as Readable);
  }

  async localFile(key: string): Promise<LocalBlobFile | null> {
    const object = await this.getObject(key);
    if (!object?.Body) return null;
    const path = join(this.tempDirectory, `imagegram-blob-${randomUUID()}`);
    try {
      await streamToNewFile(path, object.Body as Readable);
    } catch (error) {
      throw this.translate(error);
    }
    return { path, release: () => rm(path, { force: true }) };
  }

  async head(key: string): Promise<BlobInfo | null> {
    const objectKey = this.objectKey(key);
    try {
      const info = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { key, size: info.ContentLength ?? 0, modifiedAt: info.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isS3Error(error, ['NotFound', 'NoSuchKey'], 404) && !isS3Error(error, ['NoSuchBucket'])) return null;
      throw this.translate(error);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    // S3 answers 204 for an absent key too: deleting is idempotent by itself.
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })));
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    let continuationToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, MaxKeys: this.listPageSize, ContinuationToken: continuationToken }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.prefix.length);
        // Objects we did not write (a ping probe, someone else's file) are not blobs.
        if (key === undefined || !validKey.test(key)) continue;
        yield { key, size: object.Size ?? 0, modifiedAt: object.LastModified?.getTime() ?? 0 };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  /**
   * At a process's start: throws StartupError, naming the fix, when the bucket is missing or the
   * credentials are refused, which no retry would mend. Resolves when it is fine, and also when the
   * store is only unreachable now (with that reason), which may pass: `/readyz` reports it meanwhile.
   */
  async checkAtStartup(): Promise<{ unreachable: string } | null> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return null;
    } catch (error) {
      const where = `bucket "${this.bucket}" (BLOB_STORE_URL) at ${this.endpointName}`;
      if (isS3Error(error, ['NoSuchBucket', 'NotFound'], 404)) {
        throw new StartupError(
          `the ${where} does not exist. Create it once with \`imagegram create-bucket\` (same BLOB_STORE_URL and AWS_* variables), then start again.`,
        );
      }
      if (
        error instanceof Error &&
        (statusOf(error) === 403 ||
          statusOf(error) === 400 ||
          ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'CredentialsProviderError'].includes(error.name))
      ) {
        throw new StartupError(
          `the ${where} refused this process: ${kindOfFailure(error)}. The keys need s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it.`,
        );
      }
      if (isUnavailable(error)) return { unreachable: kindOfFailure(error as Error) };
      throw error;
    }
  }

  /**
   * At a process's start: marks the bucket (under the URL's prefix) as holding the blobs of the
   * database `deploymentId` names, or throws StartupError when it already holds another database's.
   * Two databases over one bucket (SQLite in each of several processes, or a second deployment
   * pointed at the same place) would each see the other's blobs as garbage, and gc deletes garbage.
   */
  async claimForDeployment(deploymentId: string): Promise<void> {
    const Key = `${this.prefix}.imagegram-deployment`;
    let owner: string | null = null;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      owner = (await object.Body!.transformToString()).trim();
    } catch (error) {
      if (!isS3Error(error, ['NoSuchKey', 'NotFound'], 404)) throw this.translate(error);
    }
    if (owner === deploymentId) return;
    if (owner !== null && owner !== '') {
      const where = `bucket "${this.bucket}"${this.prefix ? ` (prefix ${this.prefix})` : ''}`;
      throw new StartupError(
        `the ${where} in BLOB_STORE_URL holds the images of another imagegram database (${owner}; this DATABASE_URL is ${deploymentId}). ` +
          'Every process of one deployment must use the same DATABASE_URL, and with several processes that is PostgreSQL: ' +
          "SQLite is one file per process, so each would keep its own users and images over one bucket, and garbage collection would delete the others' blobs. " +
          'A separate deployment needs a bucket or prefix of its own.',
      );
    }
    await this.call(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: `${deploymentId}\n` })));
  }

  private async bucketExists(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch (error) {
      if (isS3Error(error, ['NoSuchBucket', 'NotFound'], 404)) return false;
      throw error;
    }
  }

  private get endpointName(): string {
    return this.endpoint ?? `AWS (${this.region})`;
  }

  /**
   * Creates the bucket (`imagegram create-bucket`): 'created', or 'existed' when this account owns
   * it already. Throws StartupError naming the fix for what an operator can fix (a name another
   * account owns, an invalid name, refused credentials, an unreachable endpoint).
   */
  async createBucket(): Promise<'created' | 'existed'> {
    // AWS wants the region spelled out anywhere but us-east-1; other S3 services choose their own.
    const location =
      this.endpoint === undefined && this.region !== 'us-east-1'
        ? { CreateBucketConfiguration: { LocationConstraint: this.region as BucketLocationConstraint } }
        : {};
    try {
      // Asked first: AWS in us-east-1 and radosgw answer 200 to creating a bucket one already owns.
      if (await this.bucketExists()) return 'existed';
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket, ...location }));
      return 'created';
    } catch (error) {
      if (isS3Error(error, ['BucketAlreadyOwnedByYou'])) return 'existed';
      const where = `bucket "${this.bucket}" at ${this.endpointName}`;
      if (isS3Error(error, ['BucketAlreadyExists']))
        throw new StartupError(`the ${where} belongs to another account; choose another bucket name in BLOB_STORE_URL`);
      if (isS3Error(error, ['InvalidBucketName']))
        throw new StartupError(`"${this.bucket}" is not a valid bucket name (3–63 characters: lower-case letters, digits, dots and hyphens)`);
      if (error instanceof Error && (isUnavailable(error) || statusOf(error) === 400))
        throw new StartupError(`could not create the ${where}: ${kindOfFailure(error)}`);
      throw error;
    }
  }

  async ping(): Promise<void> {
    // Reachable is not enough: a read-only key or a full quota would still fail every upload.
    const probe = `${this.prefix}.ping-${randomUUID()}`;
    await this.call(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: Buffer.alloc(0) })));
    await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe })));
  }

  /** The object, or null when the key is absent. */
  private async getObject(key: string, range?: ByteRange): Promise<GetObjectCommandOutput | null> {
    const objectKey = this.objectKey(key);
    try {
      return await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
    } catch (error) {
      if (isS3Error(error, ['NoSuchKey', 'NotFound'])) return null;
      throw this.translate(error);
    }
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** The object's bytes as a stream whose mid-body failures (a reset connection) are STORAGE_UNAVAILABLE too. */
  private translatingStream(body: Readable): Readable {
    const out = new PassThrough();
    body.once('error', (error) => out.destroy(this.translate(error) as Error));
    // A reader that stops early must not leave the socket checked out.
    out.once('close', () => body.destroy());
    body.pipe(out);
    return out;
  }

  /**
   * Maps "the store cannot be reached or will not serve us" to STORAGE_UNAVAILABLE; anything else is
   * a bug and passes through. The message reaches API clients (503 problem+json, /readyz), so it
   * names the kind of failure only; the SDK's error, with hosts and keys, is the cause, for the log.
   */
  private translate(error: unknown): unknown {
    return translateS3Failure(error);
  }

  private objectKey(key: string): string {
    // Keys come from our own code; refuse anything odd, as the local store does.
    if (!validKey.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
      throw new Error(`invalid blob key: ${key}`);
    }
    return this.prefix + key;
  }
}

/**
 * "The store cannot be reached or will not serve us" as STORAGE_UNAVAILABLE (503, retried by
 * clients); any other error is returned as it is. The SDK's error, naming hosts and keys, is the cause.
 */
export function translateS3Failure(error: unknown): unknown {
  if (error instanceof AppError || !isUnavailable(error)) return error;
  const unavailable = new AppError('STORAGE_UNAVAILABLE', `The blob store is unavailable: ${kindOfFailure(error as Error)}`);
  unavailable.cause = error;
  return unavailable;
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
// Answers that mean "not now" or "not with these credentials / this bucket": operators fix them, callers retry.
const unavailableNames = [
  'TimeoutError',
  'RequestTimeout',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'CredentialsProviderError',
];

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && networkCodes.has(code)) return true;
  // Node 20 tries each address of a host in turn and reports them together.
  if (error instanceof AggregateError && error.errors.some(isUnavailable)) return true;
  const status = statusOf(error);
  return (status !== undefined && (status >= 500 || status === 403)) || unavailableNames.includes(error.name);
}

function isAppErrorUnavailable(error: unknown): boolean {
  return error instanceof AppError && error.code === 'STORAGE_UNAVAILABLE';
}

function isS3Error(error: unknown, names: string[], status?: number): boolean {
  if (!(error instanceof Error)) return false;
  return names.includes(error.name) || (status !== undefined && statusOf(error) === status);
}

function statusOf(error: Error): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function kindOfFailure(error: Error): string {
  const code =
    (error as NodeJS.ErrnoException).code ?? (error instanceof AggregateError ? (error.errors[0] as NodeJS.ErrnoException | undefined)?.code : undefined);
  if (code !== undefined && networkCodes.has(code)) return `S3 endpoint not reachable (${code})`;
  if (error.name === 'NoSuchBucket') return 'the bucket does not exist';
  if (statusOf(error) === 403 || ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken'].includes(error.name))
    return 'access denied (check the AWS_* credentials and the bucket policy)';
  if (error.name === 'CredentialsProviderError') return 'no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)';
  if (error.name === 'TimeoutError') return 'S3 did not answer in time';
  return `S3 answered ${statusOf(error) ?? 'with an error'} (${error.name})`;
}

/** Base64 MD5 of a file, read as a stream. */
async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}
