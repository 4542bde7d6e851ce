import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** A real S3-protocol server (s3rver) in this process, on loopback, with one empty bucket. */
export interface RunningS3rver {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  /** s3rver's fixed credentials, for BLOB_STORE_URL users (AWS_* env) and SDK clients alike. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The AWS_* variables a server process needs to sign its requests. */
  env: Record<string, string>;
  /** Stops the server and removes its directory; calling it again does nothing. */
  close(): Promise<void>;
}

/** Starts s3rver on a random port over a fresh temp directory, silent, with bucket `bucket`. */
export async function startS3rver(bucket = 'imagegram-test'): Promise<RunningS3rver> {
  restoreSingleDes();
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials,
    env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    close() {
      closed ??= server.close().then(() => rm(directory, { recursive: true, force: true }));
      return closed;
    },
  };
}

let desRestored = false;

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node >= 17)
 * only has in its legacy provider, so every truncated listing fails with InternalError. Triple DES
 * with three equal keys computes exactly single DES and is still in the default provider: route
 * `des` there (s3rver reads `crypto.createCipheriv` at call time). Nothing else asks for `des`.
 */
function restoreSingleDes(): void {
  if (desRestored) return;
  desRestored = true;
  const tripled = (key: crypto.CipherKey) => Buffer.concat(Array.from({ length: 3 }, () => Buffer.from(key as Uint8Array)));
  const { createCipheriv, createDecipheriv } = crypto;
  const patched = crypto as unknown as Record<
    'createCipheriv' | 'createDecipheriv',
    (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) => unknown
  >;
  patched.createCipheriv = (algorithm, key, iv) =>
    algorithm === 'des' ? createCipheriv('des-ede3-cbc', tripled(key), iv) : createCipheriv(algorithm, key, iv);
  patched.createDecipheriv = (algorithm, key, iv) =>
    algorithm === 'des' ? createDecipheriv('des-ede3-cbc', tripled(key), iv) : createDecipheriv(algorithm, key, iv);
}
