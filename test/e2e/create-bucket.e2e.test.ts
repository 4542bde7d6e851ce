import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runImagegram } from '../support/cli.js';
import { testBucket, type TestBucket } from '../support/radosgw.js';

const s3 = await testBucket();

describe('imagegram create-bucket, on a real S3 (RADOS Gateway)', { skip: s3 === null && 'RADOS Gateway not reachable' }, () => {
  const gateway = s3 as TestBucket;
  // A name of our own: the suite's bucket only lends its endpoint and credentials.
  const bucket = `imagegram-create-${randomBytes(5).toString('hex')}`;
  const urlOf = (name: string) => `s3://${name}?endpoint=${encodeURIComponent(gateway.endpoint)}&forcePathStyle=true`;
  let dataDir: string;
  let env: Record<string, string>;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'imagegram-create-bucket-'));
    env = { ...gateway.env, DATA_DIR: dataDir, BLOB_STORE_URL: urlOf(bucket), LOG_LEVEL: 'warn' };
  });
  after(async () => {
    const client = gateway.client();
    await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
    client.destroy();
    await gateway.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('--help says what it does and where the bucket and keys come from', async () => {
    const run = await runImagegram(env, ['create-bucket', '--help']);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /create-bucket\n\s+create the S3 bucket BLOB_STORE_URL names \(keys from AWS_ACCESS_KEY_ID/);
  });

  test('serve refuses to start on a bucket that does not exist, and names the command that creates it', async () => {
    const run = await runImagegram({ ...env, HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN: 'create-bucket-admin-token-0123' }, ['serve']);
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `cannot start: the bucket "${bucket}" \\(BLOB_STORE_URL\\) at http://127\\.0\\.0\\.1:\\d+ does not exist\\. Create it once with \`imagegram create-bucket\``,
      ),
    );
  });

  test('creates the bucket, then a second run finds it and changes nothing (exit 0 both times)', async () => {
    const first = await runImagegram(env, ['create-bucket']);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, `created bucket ${bucket}\n`);
    const client = gateway.client();
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    const second = await runImagegram(env, ['create-bucket']);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout, `bucket ${bucket} already exists; nothing to do\n`);
  });

  test('refused keys, an unreachable endpoint, an invalid name and a directory URL exit 1 with the cause', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { AWS_SECRET_ACCESS_KEY: 'not-the-secret' },
        /could not create the bucket ".*" at http:\/\/127\.0\.0\.1:\d+: access denied \(check the AWS_\* credentials/,
      ],
      [
        { BLOB_STORE_URL: 's3://imagegram-nowhere?endpoint=http%3A%2F%2F127.0.0.1%3A9&forcePathStyle=true' },
        /could not create the bucket "imagegram-nowhere" at http:\/\/127\.0\.0\.1:9: S3 endpoint not reachable \(ECONNREFUSED\)/,
      ],
      [{ BLOB_STORE_URL: urlOf('Not_A_Bucket') }, /BLOB_STORE_URL has no valid bucket name/],
      [{ BLOB_STORE_URL: `file:${dataDir}/blobs` }, /BLOB_STORE_URL is a directory \(file:.*\), not a bucket: set BLOB_STORE_URL=s3:\/\/<bucket>/],
    ];
    for (const [overrides, message] of cases) {
      const run = await runImagegram({ ...env, ...overrides }, ['create-bucket']);
      assert.equal(run.status, 1, `${JSON.stringify(overrides)}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
