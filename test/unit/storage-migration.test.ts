/**
 * The storage migration over a real blob directory and a real bucket (Ceph RADOS Gateway): every
 * object copied and proven by SHA-256, resumable after an abort and after `kill -9`, damage
 * detected and reported, a dry run that writes nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileMigrationLedger, migrationLedgerPath } from '../../src/adapters/blob/file-migration-ledger.js';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { S3BlobStore } from '../../src/adapters/blob/s3-blob-store.js';
import { blobStoreUrl } from '../../src/config-values.js';
import { derivativeKey, originalKey } from '../../src/core/images/blob-keys.js';
import { StorageMigration, type MigrationOptions } from '../../src/core/blobs/storage-migration.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import { runImagegram } from '../support/cli.js';
import { eventually } from '../support/client.js';
import { testBucket, type TestBucket } from '../support/radosgw.js';
import { spawnTracked } from '../support/processes.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const probe = await testBucket();
const skip = probe ? false : 'no RADOS Gateway (scripts/radosgw.sh start, or TEST_S3_URL)';
await probe?.close();

/** One world per test: a blob directory with originals and JPEGs, an empty bucket, a ledger. */
interface World {
  dir: string;
  source: FsBlobStore;
  bucket: TestBucket;
  target: S3BlobStore;
  ledgerPath: string;
  /** Every object written to the source: key → SHA-256. */
  written: Map<string, string>;
  addImage(): Promise<string>;
  migrate(options?: MigrationOptions & { target?: BlobStore }): ReturnType<StorageMigration['run']>;
  /** key → SHA-256 of every object in the bucket. */
  bucketContents(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

async function world(images: number): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-migration-'));
  const bucket = (await testBucket())!;
  const source = new FsBlobStore(join(dir, 'blobs'));
  const target = new S3BlobStore({ bucket: bucket.bucket, endpoint: bucket.endpoint, forcePathStyle: true, credentials: bucket.credentials, listPageSize: 50 });
  const ledgerPath = join(dir, 'ledger.jsonl');
  const written = new Map<string, string>();
  const put = async (key: string, bytes: Buffer) => {
    await source.put(key, bytes);
    written.set(key, sha256(bytes));
  };
  const w: World = {
    dir,
    source,
    bucket,
    target,
    ledgerPath,
    written,
    async addImage() {
      const original = randomBytes(2000 + Math.floor(Math.random() * 3000));
      const hash = sha256(original);
      await put(originalKey(hash), original);
      await put(derivativeKey(hash), randomBytes(500));
      return hash;
    },
    async migrate(options = {}) {
      const ledger = new FileMigrationLedger(ledgerPath);
      try {
        return await new StorageMigration({ source, target: options.target ?? target, ledger }).run(options);
      } finally {
        await ledger.close();
      }
    },
    async bucketContents() {
      const found = new Map<string, string>();
      for await (const info of target.list('')) found.set(info.key, sha256((await target.get(info.key))!));
      return found;
    },
    async close() {
      await bucket.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < images; i++) await w.addImage();
  // A JPEG of an older recipe: gc still needs to find it, so it moves too.
  await put('derivatives/600-v0/aa/bb/old.jpg', randomBytes(300));
  return w;
}

/** A target that stores other bytes than it is given on its first `damaged` writes of each key. */
function damagingTarget(target: BlobStore, damaged: number): BlobStore & { damages: number } {
  const writes = new Map<string, number>();
  const wrapper = Object.create(target) as BlobStore & { damages: number };
  wrapper.damages = 0;
  wrapper.putFile = async (key, path) => {
    const count = (writes.get(key) ?? 0) + 1;
    writes.set(key, count);
    if (count > damaged) return target.putFile(key, path);
    wrapper.damages += 1;
    const bytes = await readFile(path);
    bytes[0] = bytes[0]! ^ 0xff;
    await target.put(key, bytes);
    return { created: true };
  };
  return wrapper;
}

describe('storage migration, disk → S3 (RADOS Gateway)', { skip }, () => {
  const worlds: World[] = [];
  const make = async (images: number) => {
    const w = await world(images);
    worlds.push(w);
    return w;
  };
  after(async () => {
    // One at a time: emptying every bucket at once can stall a loaded gateway.
    for (const w of worlds) await w.close();
  });

  test('copies every original and JPEG, old recipes included, each verified; a second run copies nothing', async () => {
    const w = await make(12);
    const report = await w.migrate();
    assert.equal(report.listed, 25);
    assert.equal(report.copied, 25);
    assert.deepEqual(Object.keys(report.byNamespace).sort(), ['derivatives', 'originals']);
    assert.deepEqual({ failed: report.failed, left: report.left, retried: report.retried }, { failed: [], left: 0, retried: 0 });
    assert.deepEqual(await w.bucketContents(), w.written);
    const again = await w.migrate();
    assert.deepEqual(
      { listed: again.listed, alreadyCopied: again.alreadyCopied, copied: again.copied, left: again.left },
      { listed: 25, alreadyCopied: 25, copied: 0, left: 0 },
    );

    // The ledger is trusted; --recheck is not: it reads every object back and restores a lost one.
    const [lost] = w.written.keys();
    await w.target.delete(lost!);
    assert.equal((await w.migrate()).copied, 0);
    const rechecked = await w.migrate({ recheck: true });
    assert.deepEqual({ copied: rechecked.copied, retried: rechecked.retried, failed: rechecked.failed }, { copied: 25, retried: 0, failed: [] });
    assert.deepEqual(await w.bucketContents(), w.written);
  });

  test('a dry run lists what it would copy and writes nothing, neither to the bucket nor to the ledger', async () => {
    const w = await make(5);
    const report = await w.migrate({ dryRun: true });
    assert.equal(report.copied, 11);
    assert.deepEqual(new Set(report.pending), new Set(w.written.keys()));
    assert.equal((await w.bucketContents()).size, 0);
    await assert.rejects(access(w.ledgerPath), { code: 'ENOENT' });
  });

  test('an aborted run resumes: the next run copies only the rest', async () => {
    const w = await make(30);
    const abort = new AbortController();
    await assert.rejects(
      w.migrate({ concurrency: 2, signal: abort.signal, onProgress: ({ done }) => done >= 10 && abort.abort() }),
      (error: Error) => error.name === 'AbortError',
    );
    const firstCopied = (await new FileMigrationLedger(w.ledgerPath).load()).size;
    assert.ok(firstCopied >= 10 && firstCopied < 61, `${firstCopied} recorded before the abort`);
    const report = await w.migrate();
    assert.equal(report.alreadyCopied, firstCopied);
    assert.equal(report.copied, 61 - firstCopied);
    assert.equal(report.left, 0);
    assert.deepEqual(await w.bucketContents(), w.written);
  });

  test('bytes damaged on the way are detected by the read-back SHA-256: copied again, or reported and left out', async () => {
    const w = await make(3);
    const once = damagingTarget(w.target, 1);
    const recovered = await w.migrate({ target: once });
    assert.equal(once.damages, 7);
    assert.equal(recovered.retried, 7);
    assert.deepEqual(recovered.failed, []);
    assert.deepEqual(await w.bucketContents(), w.written);

    const v = await make(2);
    const always = damagingTarget(v.target, Infinity);
    const broken = await v.migrate({ target: always, maxAttempts: 3 });
    assert.equal(broken.copied, 0);
    assert.equal(broken.failed.length, 5);
    assert.match(
      broken.failed[0]!.reason,
      /SHA-256 mismatch after 3 attempts: read back from the target it hashes to [0-9a-f]{64}, the source to [0-9a-f]{64}/,
    );
    assert.equal((await v.bucketContents()).size, 0, 'no damaged object is left in the bucket');
    assert.equal((await new FileMigrationLedger(v.ledgerPath).load()).size, 0, 'nothing unverified is recorded');
    // Once the damage stops, a rerun copies them all.
    const fixed = await v.migrate();
    assert.equal(fixed.copied, 5);
    assert.deepEqual(await v.bucketContents(), v.written);
  });

  test('an original whose bytes no longer match its address is reported, not copied', async () => {
    const w = await make(2);
    const [key] = [...w.written.keys()].filter((k) => k.startsWith('originals/'));
    await writeFile(join(w.dir, 'blobs', ...key!.split('/')), 'bit rot');
    const report = await w.migrate();
    assert.deepEqual(
      report.failed.map((failure) => failure.key),
      [key],
    );
    assert.match(report.failed[0]!.reason, /not to their address/);
    assert.equal(await w.target.head(key!), null);
  });

  test('objects written during a run are copied by its next listing; a rewritten JPEG is copied again by the next run', async () => {
    const w = await make(4);
    let added = false;
    const report = await w.migrate({
      onProgress: ({ round, done }) => {
        if (round === 1 && done === 3 && !added) {
          added = true;
          // Synchronously, so both files are there before the run lists again.
          const original = randomBytes(1000);
          const hash = sha256(original);
          for (const [key, bytes] of [
            [originalKey(hash), original],
            [derivativeKey(hash), randomBytes(100)],
          ] as const) {
            const path = join(w.dir, 'blobs', ...key.split('/'));
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, bytes);
            w.written.set(key, sha256(bytes));
          }
        }
      },
    });
    assert.ok(added);
    assert.equal(report.rounds, 2);
    assert.equal(report.left, 0);
    assert.deepEqual(await w.bucketContents(), w.written);

    const jpeg = [...w.written.keys()].find((k) => k.startsWith('derivatives/600-v1/'))!;
    const rendered = randomBytes(400);
    await w.source.put(jpeg, rendered);
    await utimes(join(w.dir, 'blobs', ...jpeg.split('/')), new Date(), new Date(Date.now() + 5_000));
    const next = await w.migrate();
    assert.equal(next.copied, 1);
    assert.equal(sha256((await w.target.get(jpeg))!), sha256(rendered));
  });

  test('imagegram migrate-storage killed with SIGKILL mid-copy: a rerun completes and verifies everything', { timeout: 180_000 }, async () => {
    const w = await make(100);
    const to = w.bucket.blobStoreUrl();
    const env = { DATA_DIR: w.dir, ...w.bucket.env, LOG_LEVEL: 'warn' };
    const ledger = migrationLedgerPath(w.dir, `file:${join(w.dir, 'blobs')}`, blobStoreUrl(to));
    const child = spawnTracked(process.execPath, ['bin/imagegram.js', 'migrate-storage', '--to', to], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
    try {
      await eventually(async () => ((await readFile(ledger, 'utf8').catch(() => '')).split('\n').length > 40 ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 10,
        what: '40 copies recorded',
      });
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL');
    const recorded = (await new FileMigrationLedger(ledger).load()).size;
    assert.ok(recorded < 201, `killed mid-copy (${recorded} of 201 recorded)`);

    const rerun = await runImagegram(env, ['migrate-storage', '--to', to], { timeoutMs: 150_000 });
    assert.equal(rerun.status, 0, rerun.stderr);
    assert.match(rerun.stdout, /Nothing left: every object in the source is in the target, verified by SHA-256/);
    const copiedBefore = Number(/\n\s*201\s+(\d+)\s+(\d+)/.exec(rerun.stdout)?.[1]);
    assert.ok(copiedBefore >= recorded, rerun.stdout);
    assert.deepEqual(await w.bucketContents(), w.written);
  });
});
