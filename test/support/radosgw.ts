import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { redactUrl } from './redact-url.js';

/** `scripts/radosgw.sh start` prints this URL; the credentials are the ones it creates. */
const defaultUrl = 'http://imagegram:imagegram-secret@127.0.0.1:17480';
let warnedUnreachable = false;

/** A fresh, empty bucket on a real S3 implementation (Ceph RADOS Gateway) for one test or suite. */
export interface TestBucket {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The AWS_* variables a server process needs to sign its requests. */
  env: Record<string, string>;
  /** `BLOB_STORE_URL` for a server process on this bucket, optionally under a key prefix. */
  blobStoreUrl(prefix?: string): string;
  /** An SDK client for the test's own checks, configured as the product's. */
  client(): S3Client;
  /** Removes every object and unfinished multipart upload, then the bucket; calling it again does nothing. */
  close(): Promise<void>;
}

/**
 * A new bucket on the RADOS Gateway named by `TEST_S3_URL` (`http://<key>:<secret>@host:port`), or
 * on the local one `scripts/radosgw.sh start` runs by default. Returns null, after one loud line on
 * stderr, when the default gateway is unreachable. With `TEST_S3_URL` set an unreachable gateway
 * throws instead: CI must never silently skip.
 */
export async function testBucket(): Promise<TestBucket | null> {
  const requiredUrl = process.env.TEST_S3_URL || undefined;
  const url = new URL(requiredUrl ?? defaultUrl);
  const endpoint = `${url.protocol}//${url.host}`;
  const credentials = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) };
  const newClient = () =>
    new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials,
      // radosgw 16 answers 411 to the SDK's default aws-chunked bodies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 2_000, socketTimeout: 30_000 },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
  const client = newClient();
  const bucket = `imagegram-test-${randomBytes(6).toString('hex')}`;
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    client.destroy();
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (requiredUrl !== undefined) throw new Error(`TEST_S3_URL (${redactUrl(url.href)}) is not usable: ${reason}`, { cause: error });
    if (!warnedUnreachable) {
      warnedUnreachable = true;
      process.stderr.write(
        `!!! No RADOS Gateway at ${redactUrl(url.href)} (${reason}): skipping the runs on real S3 ` +
          `(start one with scripts/radosgw.sh start; set TEST_S3_URL to require them)\n`,
      );
    }
    return null;
  }
  let closed: Promise<void> | undefined;
  return {
    endpoint,
    bucket,
    credentials,
    env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    blobStoreUrl: (prefix = '') => `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true`,
    client: newClient,
    close() {
      closed ??= emptyAndDelete(client, bucket).finally(() => client.destroy());
      return closed;
    },
  };
}

async function emptyAndDelete(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const { Uploads = [] } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    if (Uploads.length === 0) break;
    await Promise.all(Uploads.map((upload) => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }))));
  }
  for (;;) {
    const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    if (Contents.length === 0) break;
    await Promise.all(Contents.map((object) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }))));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
