import { openS3BlobStore } from '../../app.js';
import { StartupError } from '../../startup-error.js';
import { fail, parseCommand } from './command-args.js';

export const createBucketUsage = `  create-bucket
            create the S3 bucket BLOB_STORE_URL names (keys from AWS_ACCESS_KEY_ID /
            AWS_SECRET_ACCESS_KEY or the SDK's other sources), then check this process can
            write to it; does nothing to a bucket this account already has`;

/** `imagegram create-bucket`: exit 0 when the bucket exists (made now or before) and takes writes, 1 otherwise. */
export async function createBucketCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, {});
  if (!parsed.ok) return fail('create-bucket', parsed.message);
  if (parsed.positionals.length > 0) return fail('create-bucket', `unexpected argument "${parsed.positionals[0]}": the bucket comes from BLOB_STORE_URL`);
  const url = parsed.config.blobStoreUrl;
  if (!url.startsWith('s3:')) {
    return fail('create-bucket', `BLOB_STORE_URL is a directory (${url}), not a bucket: set BLOB_STORE_URL=s3://<bucket>?endpoint=… (see imagegram --help)`);
  }
  const bucket = new URL(url).hostname;
  const store = await openS3BlobStore(url);
  try {
    const outcome = await store.createBucket();
    // What every process will do: write and delete an object (under the URL's prefix, if any).
    await store.ping();
    process.stdout.write(outcome === 'created' ? `created bucket ${bucket}\n` : `bucket ${bucket} already exists; nothing to do\n`);
    return 0;
  } catch (error) {
    if (error instanceof StartupError) return fail('create-bucket', error.message);
    if (error instanceof Error && (error as { code?: string }).code === 'STORAGE_UNAVAILABLE') {
      return fail('create-bucket', `bucket ${bucket} exists, but writing to it failed: ${error.message}`);
    }
    throw error;
  }
}
