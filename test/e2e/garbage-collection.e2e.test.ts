/**
 * Garbage collection end to end: the real server over HTTP, the real `imagegram gc` CLI
 * beside it on the same data dir and database. The data dir is only touched to set up or check
 * physical facts: a blob file exists, vanished, or was put back; a staging file is old.
 */
import assert from 'node:assert/strict';
import { access, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addComment, createPost, distinctPng, eventually, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { runImagegram } from '../support/cli.js';
import { expireUpload } from '../support/expire-upload.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, patchUpload, sha256 } from '../support/tus.js';

interface KindReport {
  kind: string;
  found: number;
  removed: number;
  bytesFreed: number;
  details: Record<string, number>;
  note?: string;
}
interface GcJson {
  dryRun: boolean;
  graceMs: number;
  kinds: KindReport[];
  bytesFreed: number;
}

/** `imagegram gc --json <args>`, asserting exit 0; the parsed report and a lookup by kind. */
async function gc(server: RunningServer, ...args: string[]): Promise<GcJson & { kind(name: string): KindReport }> {
  const result = await runImagegram(server.env, ['gc', '--json', ...args]);
  assert.equal(result.status, 0, `gc ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  const report = JSON.parse(result.stdout) as GcJson;
  return {
    ...report,
    kind(name) {
      const found = report.kinds.find((kind) => kind.kind === name);
      assert.ok(found, `no "${name}" in the gc report`);
      return found;
    },
  };
}

const shard = (hash: string) => [hash.slice(0, 2), hash.slice(2, 4)];
const originalPath = (server: RunningServer, hash: string) => join(server.dataDir, 'blobs', 'originals', ...shard(hash), hash);
const derivativePath = (server: RunningServer, hash: string) => join(server.dataDir, 'blobs', 'derivatives', '600-v1', ...shard(hash), `${hash}.jpg`);

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function fileSize(path: string): Promise<number> {
  return (await readFile(path)).length;
}

interface LoggedEvent {
  position: number;
  type: string;
  actorId: string | null;
  subjectId: string;
  payload: Record<string, unknown>;
}

/** Every event after `after`, paging through GET /admin/events. */
async function eventsAfter(server: RunningServer, after = 0): Promise<LoggedEvent[]> {
  const events: LoggedEvent[] = [];
  for (let cursor = after; ; ) {
    const response = await fetch(`${server.baseUrl}/admin/events?after=${cursor}&limit=1000`, { headers: { 'x-access-token': server.adminToken } });
    assert.equal(response.status, 200);
    const page = (await response.json()) as { events: LoggedEvent[]; nextAfter: number };
    events.push(...page.events);
    if (page.events.length === 0) return events;
    cursor = page.nextAfter;
  }
}

/** The position of the newest event, to look only at what comes after it. */
async function lastPosition(server: RunningServer): Promise<number> {
  const events = await eventsAfter(server);
  return events.at(-1)?.position ?? 0;
}

interface Uploaded {
  id: string;
  hash: string;
  duplicate: boolean;
}

async function upload(server: RunningServer, user: TestUser, bytes: Buffer): Promise<Uploaded> {
  const response = await uploadImage(server.baseUrl, user, bytes, 'photo.png', 'image/png');
  assert.ok(response.status === 201 || response.status === 200, `upload: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as Uploaded;
}

async function deleteImage(server: RunningServer, user: TestUser, id: string): Promise<void> {
  const response = await fetch(`${server.baseUrl}/images/${id}`, { method: 'DELETE', headers: user.headers });
  assert.equal(response.status, 204, await response.text());
}

async function status(server: RunningServer, path: string): Promise<number> {
  const response = await fetch(`${server.baseUrl}${path}`);
  await response.arrayBuffer();
  return response.status;
}

/** Every post id in the feed, paging through GET /posts. */
async function feedPostIds(server: RunningServer): Promise<string[]> {
  const ids: string[] = [];
  for (let cursor: string | null = null; ; ) {
    const response = await fetch(`${server.baseUrl}/posts?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(response.status, 200);
    const page = (await response.json()) as { posts: { id: string }[]; nextCursor: string | null };
    ids.push(...page.posts.map((post) => post.id));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
}

describe('gc: unreferenced blobs, vanished blobs, lost JPEGs, staging files, bad input', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    // No periodic collection: every collection here is one the test runs.
    server = await startServer({ env: { GC_INTERVAL_SECONDS: '0' } });
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
  });
  after(() => server.cleanup());

  test('an unreferenced blob: a dry run only reports it, a grace not yet passed keeps it, gc --grace 0s removes it', async () => {
    const bytes = await distinctPng(1);
    const image = await upload(server, alice, bytes);
    assert.equal(image.hash, sha256(bytes));
    const original = originalPath(server, image.hash);
    const derivative = derivativePath(server, image.hash);
    assert.ok(await exists(original), 'original stored');
    assert.ok(await exists(derivative), 'derivative stored');
    const stored = (await fileSize(original)) + (await fileSize(derivative));
    await deleteImage(server, alice, image.id);
    // DELETE keeps the bytes: only garbage collection removes blobs.
    assert.ok(await exists(original));

    const beforeDryRun = await lastPosition(server);
    const dry = await gc(server, '--dry-run', '--grace', '0s');
    assert.equal(dry.dryRun, true);
    assert.equal(dry.graceMs, 0);
    assert.deepEqual(
      dry.kinds.map((kind) => kind.kind),
      ['incomplete-images', 'missing-blobs', 'unreferenced-blobs', 'staging-files', 'expired-uploads'],
    );
    const wouldRemove = dry.kind('unreferenced-blobs');
    assert.equal(wouldRemove.found, 1);
    assert.equal(wouldRemove.removed, 1);
    assert.equal(wouldRemove.bytesFreed, stored);
    assert.ok(await exists(original), 'a dry run removed the original');
    assert.ok(await exists(derivative), 'a dry run removed the derivative');
    assert.deepEqual(await eventsAfter(server, beforeDryRun), [], 'a dry run logged events');

    const early = await gc(server, '--grace', 'PT1H');
    assert.equal(early.kind('unreferenced-blobs').found, 0);
    assert.equal(early.kind('unreferenced-blobs').removed, 0);
    assert.ok(await exists(original), 'removed before its grace passed');
    assert.ok(await exists(derivative));

    const mark = await lastPosition(server);
    const run = await runImagegram(server.env, ['gc', '--grace', '0s']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(await exists(original), false, 'original still there');
    assert.equal(await exists(derivative), false, 'derivative still there');
    // The summary: a row per kind with found and removed, the bytes freed.
    assert.match(run.stdout, /^Garbage collection, grace 0 s/);
    assert.match(run.stdout, /^kind\s+found\s+removed\s+bytes\s+details$/m);
    for (const kind of ['incomplete-images', 'missing-blobs', 'staging-files', 'expired-uploads']) {
      assert.match(run.stdout, new RegExp(`^${kind}\\s+0\\s+0\\s+0 B`, 'm'), `${kind} row`);
    }
    assert.match(run.stdout, /^unreferenced-blobs\s+1\s+1\s+\d+(\.\d)? (B|KiB)/m);
    assert.match(run.stdout, /^Freed \d+(\.\d)? (B|KiB)\.$/m);
    assert.doesNotMatch(run.stdout, /^Freed 0 B/m);

    const deleted = (await eventsAfter(server, mark)).filter((event) => event.type === 'BlobDeleted');
    assert.equal(deleted.length, 1);
    assert.equal(deleted[0]!.subjectId, image.hash);
    assert.deepEqual(deleted[0]!.payload, { bytes: stored, reason: 'unreferenced' });

    // Nothing left to do: a second run finds nothing.
    assert.equal((await gc(server, '--grace', '0s')).kind('unreferenced-blobs').found, 0);
  });

  test("another user's image of the same bytes keeps the blob alive", async () => {
    const bytes = await distinctPng(2);
    const first = await upload(server, alice, bytes);
    const second = await upload(server, bob, bytes);
    // A new image over the same blob, without telling bob that alice had the file.
    assert.notEqual(second.id, first.id);
    assert.equal(second.duplicate, false);
    assert.equal(second.hash, first.hash);
    await deleteImage(server, alice, first.id);

    const report = await gc(server, '--grace', '0s');
    assert.equal(report.kind('unreferenced-blobs').removed, 0);
    assert.ok(await exists(originalPath(server, first.hash)));
    assert.ok(await exists(derivativePath(server, first.hash)));
    assert.equal(await status(server, `/images/${second.id}.jpg`), 200);
    assert.equal(await status(server, `/images/${first.id}`), 404);
  });

  test('a vanished original is marked, then its image and post are retired; one put back in between is restored', async () => {
    const lostBytes = await distinctPng(3);
    const backBytes = await distinctPng(4);
    const lostPost = (await (await createPost(server.baseUrl, alice, lostBytes, 'about to lose its bytes')).json()) as { id: string; image: { id: string } };
    const backPost = (await (await createPost(server.baseUrl, alice, backBytes, 'bytes come back')).json()) as { id: string; image: { id: string } };
    for (const post of [lostPost, backPost]) {
      assert.equal((await addComment(server.baseUrl, bob, post.id, 'nice')).status, 201);
      assert.equal((await addComment(server.baseUrl, alice, post.id, 'thanks')).status, 201);
    }
    const lost = sha256(lostBytes);
    const back = sha256(backBytes);
    await rm(originalPath(server, lost));
    await rm(originalPath(server, back));

    // Run 1: found missing, marked (BlobMissing), nothing retired yet.
    let mark = await lastPosition(server);
    const first = await gc(server, '--grace', '0s');
    const missing1 = first.kind('missing-blobs');
    assert.equal(missing1.found, 2);
    assert.equal(missing1.details.marked, 2);
    assert.equal(missing1.removed, 0);
    const events1 = await eventsAfter(server, mark);
    const blobMissing = events1.filter((event) => event.type === 'BlobMissing');
    assert.deepEqual(blobMissing.map((event) => event.subjectId).sort(), [lost, back].sort());
    assert.deepEqual(blobMissing.find((event) => event.subjectId === lost)!.payload.imageIds, [lostPost.image.id]);
    assert.deepEqual(blobMissing.find((event) => event.subjectId === back)!.payload.imageIds, [backPost.image.id]);
    assert.equal(events1.filter((event) => event.type === 'ImageDeleted' || event.type === 'PostDeleted').length, 0);
    assert.equal(await status(server, `/posts/${lostPost.id}`), 200);
    assert.equal(await status(server, `/images/${lostPost.image.id}`), 200);

    // One original comes back (a remounted disk, a restore from backup) before the re-check.
    await writeFile(originalPath(server, back), backBytes);

    // Run 2, after the grace: the one still missing is retired with its post; the other unmarked.
    mark = await lastPosition(server);
    const second = await gc(server, '--grace', '0s');
    const missing2 = second.kind('missing-blobs');
    assert.equal(missing2.found, 1);
    assert.equal(missing2.removed, 1, 'image rows retired');
    assert.equal(missing2.details.restored, 1);
    const events2 = await eventsAfter(server, mark);
    const imageDeleted = events2.filter((event) => event.type === 'ImageDeleted');
    assert.equal(imageDeleted.length, 1);
    assert.equal(imageDeleted[0]!.subjectId, lostPost.image.id);
    assert.equal(imageDeleted[0]!.payload.reason, 'blob-missing');
    const postDeleted = events2.filter((event) => event.type === 'PostDeleted');
    assert.equal(postDeleted.length, 1);
    assert.equal(postDeleted[0]!.subjectId, lostPost.id);
    assert.equal(postDeleted[0]!.payload.commentCount, 2);
    const restored = events2.filter((event) => event.type === 'BlobRestored');
    assert.deepEqual(
      restored.map((event) => event.subjectId),
      [back],
    );
    assert.equal(
      events2.some((event) => event.subjectId === backPost.id || event.subjectId === backPost.image.id),
      false,
      'the restored one was touched',
    );

    assert.equal(await status(server, `/posts/${lostPost.id}`), 404);
    assert.equal(await status(server, `/posts/${lostPost.id}/comments`), 404);
    assert.equal(await status(server, `/images/${lostPost.image.id}`), 404);
    assert.equal(await status(server, `/images/${lostPost.image.id}.jpg`), 404);
    const feed = await feedPostIds(server);
    assert.equal(feed.includes(lostPost.id), false, 'retired post still in the feed');
    assert.ok(feed.includes(backPost.id));
    assert.equal(await status(server, `/posts/${backPost.id}`), 200);
    assert.equal(await status(server, `/images/${backPost.image.id}.jpg`), 200);
    // The retired blob's record and leftover derivative go with it.
    assert.equal(await exists(derivativePath(server, lost)), false);
    assert.ok(await exists(derivativePath(server, back)));

    // Run 3: nothing is missing any more.
    const third = await gc(server, '--grace', '0s');
    assert.equal(third.kind('missing-blobs').found, 0);
  });

  test("a lost JPEG (original intact) is queued for rendering and the server's worker renders it again", async () => {
    const image = await upload(server, alice, await distinctPng(5));
    const derivative = derivativePath(server, image.hash);
    const before = await readFile(derivative);
    await rm(derivative);
    assert.notEqual(await status(server, `/images/${image.id}.jpg`), 200);

    const report = await gc(server, '--grace', '0s');
    const missing = report.kind('missing-blobs');
    assert.equal(missing.found, 0, 'the original is there: nothing is missing');
    assert.equal(missing.details.derivativesQueued, 1);
    assert.equal(missing.removed, 0);

    await eventually(async () => ((await status(server, `/images/${image.id}.jpg`)) === 200 ? true : undefined), { what: 'the JPEG rendered again' });
    assert.ok((await readFile(derivative)).equals(before), 'the same recipe renders the same JPEG');
    // The JPEG lands before the worker records the job as done: wait for that too.
    await eventually(
      async () => {
        const response = await fetch(`${server.baseUrl}/admin/jobs?name=blob.render-derivative`, { headers: { 'x-access-token': server.adminToken } });
        const { jobs } = (await response.json()) as { jobs: { state: string; payload: { sha256: string } }[] };
        return jobs.some((job) => job.payload.sha256 === image.hash && job.state === 'done') ? true : undefined;
      },
      { what: 'the render job recorded as done' },
    );
  });

  test('a stale staging file (2 h old) is removed; one younger than 1 h is kept whatever the grace', async () => {
    const staging = join(server.dataDir, 'staging');
    await mkdir(staging, { recursive: true });
    const stale = join(staging, 'gc-test-stale.staging');
    const fresh = join(staging, 'gc-test-fresh.staging');
    await writeFile(stale, Buffer.alloc(1234, 1));
    await writeFile(fresh, Buffer.alloc(10, 2));
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    // Older than any grace given here, younger than the hour an upload may hold its staging file.
    const halfAnHourAgo = new Date(Date.now() - 1_800_000);
    await utimes(fresh, halfAnHourAgo, halfAnHourAgo);

    const report = await gc(server, '--grace', '0s');
    const files = report.kind('staging-files');
    assert.equal(files.found, 1);
    assert.equal(files.removed, 1);
    assert.equal(files.bytesFreed, 1234);
    assert.equal(await exists(stale), false, 'stale staging file kept');
    assert.ok(await exists(fresh), 'a staging file younger than 1 h was removed');
    await rm(fresh);
  });

  test('gc --grace banana exits 1 with a clear message and no stack trace', async () => {
    const result = await runImagegram(server.env, ['gc', '--grace', 'banana']);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^imagegram gc: --grace must be an ISO-8601 duration such as PT1H or P1D, or 0s; got "banana"$/m);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'stack trace printed');
    assert.equal(result.stdout, '');
  });
});

describe('gc: the safety valve against mass-missing blobs', () => {
  let server: RunningServer;
  let alice: TestUser;

  before(async () => {
    server = await startServer({ env: { GC_INTERVAL_SECONDS: '0' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  test('with more than 10 blobs and over 20 % of them missing, nothing is retired without --force', async () => {
    const images: Uploaded[] = [];
    for (let seed = 100; seed < 114; seed++) images.push(await upload(server, alice, await distinctPng(seed)));
    // 11 of 14 vanish: an unmounted disk, not lost files.
    const vanished = images.slice(0, 11);
    for (const image of vanished) await rm(originalPath(server, image.hash));

    const first = await gc(server, '--grace', '0s');
    assert.equal(first.kind('missing-blobs').found, 11);
    assert.equal(first.kind('missing-blobs').details.marked, 11);

    const second = await gc(server, '--grace', '0s');
    const missing = second.kind('missing-blobs');
    assert.equal(missing.found, 11);
    assert.equal(missing.removed, 0);
    assert.match(missing.note ?? '', /11 of 14 blobs are missing.*--force/);
    for (const image of images) assert.equal(await status(server, `/images/${image.id}`), 200, `${image.id} retired without --force`);

    const forced = await gc(server, '--grace', '0s', '--force');
    assert.equal(forced.kind('missing-blobs').removed, 11);
    assert.equal(forced.kind('missing-blobs').note, undefined);
    for (const image of vanished) assert.equal(await status(server, `/images/${image.id}`), 404);
    for (const image of images.slice(11)) assert.equal(await status(server, `/images/${image.id}.jpg`), 200);
  });
});

describe('gc: expired resumable uploads', () => {
  let server: RunningServer;
  let alice: TestUser;

  before(async () => {
    // The server's own sweep is off, so what removes the upload is the collection under test.
    server = await startServer({ env: { GC_INTERVAL_SECONDS: '0', UPLOAD_SWEEP_INTERVAL_SECONDS: '0' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  test('an unfinished tus upload past its expiry is removed with its bytes', async () => {
    const created = await createUpload(server.baseUrl, alice.headers, 1000);
    assert.equal(created.status, 201, await created.text());
    const url = new URL(created.headers.get('location')!, server.baseUrl).toString();
    const id = url.slice(url.lastIndexOf('/') + 1);
    assert.equal((await patchUpload(url, alice.headers, 0, Buffer.alloc(100, 7))).status, 204);
    const uploads = join(server.dataDir, 'uploads');
    assert.ok(
      (await readdir(uploads)).some((name) => name.startsWith(id)),
      'upload bytes stored',
    );
    await expireUpload(server, id);

    const report = await gc(server, '--grace', '0s');
    const expired = report.kind('expired-uploads');
    assert.ok(expired.removed >= 1, JSON.stringify(expired));
    assert.ok(expired.bytesFreed >= 100, JSON.stringify(expired));
    assert.equal(
      (await readdir(uploads)).some((name) => name.startsWith(id)),
      false,
      'upload bytes left behind',
    );
    const head = await fetch(url, { method: 'HEAD', headers: { ...alice.headers, 'tus-resumable': '1.0.0' } });
    assert.ok(head.status === 404 || head.status === 410, `HEAD after expiry: ${head.status}`);
  });
});

describe('gc under load: never deletes bytes an acknowledged upload needs', () => {
  let server: RunningServer;
  let users: TestUser[];

  before(async () => {
    // Besides the CLI runs, the server's own worker collects every second with no grace: a
    // collection in the same process as the uploads interleaves with them at every await, which
    // makes a race far likelier to show than with the CLI runs alone (one every ~2 s each).
    server = await startServer({ env: { GC_INTERVAL_SECONDS: '1', GC_GRACE: '0s' } });
    // Six loops keep several ingests in flight at any moment (each a window a collection could hit).
    users = await Promise.all([0, 1, 2, 3, 4, 5].map(() => signUpAndLogIn(server.baseUrl, 'load')));
  });
  after(() => server.cleanup());

  test('uploads, deletes and re-uploads of the same bytes race repeated gc --grace 0s runs', async (t) => {
    // At least 10 s; then on until the dangerous case (a collected blob uploaded again) has
    // happened, up to 40 s, so a slow machine still exercises it.
    const minimumMs = 10_000;
    const maximumMs = 40_000;
    let running = true;
    // Bytes that get uploaded, deleted and uploaded again all the time: two images shared by every
    // user (a blob with several owners) and three of each user's own (whose delete drops the last
    // reference, leaving the blob collectable until the same bytes come back).
    const shared = await Promise.all([0, 1].map((i) => distinctPng(500 + i)));
    const pools = await Promise.all(
      users.map(async (_, owner) => [...shared, ...(await Promise.all([0, 1, 2].map((i) => distinctPng(600 + owner * 10 + i))))]),
    );
    let nextDistinct = 1_000;
    const live = new Map<string, { hash: string; owner: number }>();
    const failures: string[] = [];
    let uploads = 0;
    let reuploadsAfterDelete = 0;

    const uploadOrFail = async (user: TestUser, bytes: Buffer, what: string): Promise<Uploaded | null> => {
      const response = await uploadImage(server.baseUrl, user, bytes, 'photo.png', 'image/png');
      uploads += 1;
      if (response.status !== 201 && response.status !== 200) {
        failures.push(`${what}: ${response.status} ${await response.text()}`);
        return null;
      }
      return (await response.json()) as Uploaded;
    };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    // One sequential loop per user, so each loop's view of its own images is exact.
    const client = async (owner: number) => {
      const user = users[owner]!;
      const pool = pools[owner]!;
      // This user's image of each pool entry, if it has one now.
      const mine = new Map<number, string>();
      // mulberry32: a small seeded generator, so a failing run can be replayed.
      let state = 12_345 + owner * 7_919;
      const next = (n: number) => {
        state = (state + 0x6d2b79f5) | 0;
        let x = Math.imul(state ^ (state >>> 15), 1 | state);
        x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
        return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4_294_967_296) * n);
      };
      while (running) {
        if (next(4) === 0) {
          const image = await uploadOrFail(user, await distinctPng(nextDistinct++), 'distinct upload');
          if (image) live.set(image.id, { hash: image.hash, owner });
          continue;
        }
        const entry = next(pool.length);
        const held = mine.get(entry);
        if (held === undefined) {
          const image = await uploadOrFail(user, pool[entry]!, 'repeated upload');
          if (image) {
            live.set(image.id, { hash: image.hash, owner });
            mine.set(entry, image.id);
          }
          continue;
        }
        const deleted = await fetch(`${server.baseUrl}/images/${held}`, { method: 'DELETE', headers: user.headers });
        if (deleted.status !== 204) {
          failures.push(`delete: ${deleted.status} ${await deleted.text()}`);
          continue;
        }
        live.delete(held);
        mine.delete(entry);
        if (next(2) === 0) {
          // The same bytes again right away (or nearly): often just as a collection wants the blob.
          await pause(next(3) * 20);
          const again = await uploadOrFail(user, pool[entry]!, 're-upload after delete');
          reuploadsAfterDelete += 1;
          if (again) {
            live.set(again.id, { hash: again.hash, owner });
            mine.set(entry, again.id);
          }
        }
        await pause(next(50));
      }
    };

    const gcReports: GcJson[] = [];
    const collector = async () => {
      while (running) {
        const result = await runImagegram(server.env, ['gc', '--json', '--grace', '0s']);
        if (result.status !== 0) failures.push(`gc exited ${result.status}: ${result.stderr}`);
        else gcReports.push(JSON.parse(result.stdout) as GcJson);
      }
    };

    /** Blobs collected, and how many times a collected blob's bytes were uploaded again since. */
    const collections = async () => {
      const collectedAt = new Set<string>();
      let uploadedAgain = 0;
      let blobsDeleted = 0;
      for (const event of await eventsAfter(server)) {
        if (event.type === 'BlobDeleted') {
          blobsDeleted += 1;
          collectedAt.add(event.subjectId);
        }
        if (event.type === 'ImageCreated' && collectedAt.delete(event.payload.sha256 as string)) uploadedAgain += 1;
      }
      return { blobsDeleted, uploadedAgain };
    };
    const controller = async () => {
      const started = Date.now();
      await pause(minimumMs);
      while (Date.now() - started < maximumMs && (await collections()).uploadedAgain === 0) await pause(500);
      running = false;
    };

    await Promise.all([...users.map((_, owner) => client(owner)), collector(), collector(), controller()]);
    const unreferenced = gcReports.map((report) => report.kinds.find((kind) => kind.kind === 'unreferenced-blobs')!);
    const removed = unreferenced.reduce((sum, kind) => sum + kind.removed, 0);
    const keptInUse = unreferenced.reduce((sum, kind) => sum + (kind.details.keptInUse ?? 0), 0);
    const periodic = (await (
      await fetch(`${server.baseUrl}/admin/jobs?name=gc.collect&state=done&limit=200`, { headers: { 'x-access-token': server.adminToken } })
    ).json()) as { jobs: unknown[] };
    t.diagnostic(
      `${uploads} uploads (${reuploadsAfterDelete} right after a delete); ${gcReports.length} gc CLI runs removed ${removed} blobs, ` +
        `${keptInUse} kept in use at the last moment; ${periodic.jobs.length} periodic collections in the server`,
    );
    assert.deepEqual(failures, []);
    assert.ok(gcReports.length >= 2, `only ${gcReports.length} collections ran`);

    // Blobs that were collected and then uploaded again: the dangerous case happened.
    const { blobsDeleted, uploadedAgain } = await collections();
    t.diagnostic(`${blobsDeleted} blobs collected in all, ${uploadedAgain} times a collected blob's bytes were uploaded again`);
    assert.ok(blobsDeleted > 0, 'no collection ever removed a blob: the race was not exercised');
    assert.ok(uploadedAgain > 0, 'no collected blob was ever uploaded again: the dangerous case was not exercised');

    // One more collection with nothing else going on must not find anything live to remove either.
    await gc(server, '--grace', '0s');
    for (const [id, { hash }] of live) {
      assert.ok(await exists(originalPath(server, hash)), `original of acknowledged image ${id} gone`);
      assert.ok(await exists(derivativePath(server, hash)), `derivative of acknowledged image ${id} gone`);
      assert.equal(await status(server, `/images/${id}.jpg`), 200, `GET /images/${id}.jpg`);
    }
    const verify = await runImagegram(server.env, ['verify']);
    assert.equal(verify.status, 0, `${verify.stdout}\n${verify.stderr}`);
  });
});

describe('gc as a periodic job (GC_INTERVAL_SECONDS, GC_GRACE)', () => {
  let server: RunningServer;
  let alice: TestUser;

  before(async () => {
    server = await startServer({ env: { GC_INTERVAL_SECONDS: '1', GC_GRACE: '0s' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  /** The newest gc.collect jobs, as an operator sees them. */
  async function gcJobs(): Promise<{ name: string; state: string; createdAt: string }[]> {
    const response = await fetch(`${server.baseUrl}/admin/jobs?name=gc.collect`, { headers: { 'x-access-token': server.adminToken } });
    assert.equal(response.status, 200);
    const { jobs } = (await response.json()) as { jobs: { name: string; state: string; createdAt: string }[] };
    assert.ok(jobs.length > 0 && jobs.every((job) => job.name === 'gc.collect'), JSON.stringify(jobs));
    return jobs;
  }

  test("the server's worker collects an unreferenced blob by itself", async () => {
    const image = await upload(server, alice, await distinctPng(7));
    const original = originalPath(server, image.hash);
    const derivative = derivativePath(server, image.hash);
    assert.ok(await exists(original));
    await deleteImage(server, alice, image.id);

    await eventually(async () => ((await exists(original)) || (await exists(derivative)) ? undefined : true), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'the periodic gc to remove the blob',
    });
    // The blob goes before the worker records the run as done: wait for that too.
    await eventually(async () => ((await gcJobs()).some((job) => job.state === 'done') ? true : undefined), {
      what: 'a gc.collect job recorded as done',
    });
    const deleted = (await eventsAfter(server)).filter((event) => event.type === 'BlobDeleted');
    assert.deepEqual(
      deleted.map((event) => event.subjectId),
      [image.hash],
    );
    // And it never touches what is referenced: once a collection that started after the upload
    // was acknowledged has finished, the image is still whole.
    const kept = await upload(server, alice, await distinctPng(8));
    const uploadedAt = Date.now();
    await eventually(async () => ((await gcJobs()).some((job) => job.state === 'done' && Date.parse(job.createdAt) > uploadedAt) ? true : undefined), {
      what: 'a gc.collect run begun after the upload, recorded as done',
    });
    assert.equal(await status(server, `/images/${kept.id}.jpg`), 200);
    assert.ok(await exists(originalPath(server, kept.hash)));
  });
});
