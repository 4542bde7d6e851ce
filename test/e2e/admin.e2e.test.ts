import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { addComment, createPost, distinctPng, eventually, postJson, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { cameraExif } from '../support/fixtures.js';
import { runImagegram } from '../support/cli.js';
import { graphql } from '../support/graphql.js';
import { spawnTracked } from '../support/processes.js';
import { startServer, type RunningServer } from '../support/server.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

interface AdminEvent {
  position: number;
  type: string;
  actorId: string | null;
  subjectId: string;
  at: string;
  payload: Record<string, unknown>;
}
interface Stats {
  popularFormat: { format: string; uploads: number } | null;
  top10CameraModels: { model: string; uploads: number }[];
  uploadFrequency30Days: { date: string; uploads: number }[];
}
interface AdminJob {
  id: string;
  name: string;
  payload: Record<string, unknown>;
  state: string;
  attempts: number;
}

/** A JPEG of its own colour (so never a duplicate), with an EXIF camera when given. */
function jpeg(seed: number, camera?: { Make: string; Model: string }): Promise<Buffer> {
  const image = sharp({ create: { width: 40, height: 30, channels: 3, background: { r: seed, g: 255 - seed, b: (seed * 13) % 256 } } }).jpeg();
  return (camera ? image.withExif({ IFD0: camera }) : image).toBuffer();
}

describe('admin: event log, jobs, stats (REST and CLI)', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let adminHeaders: Record<string, string>;

  const admin = (path: string, headers: Record<string, string> = adminHeaders) => fetch(`${server.baseUrl}${path}`, { headers });
  const adminJson = async <T>(path: string): Promise<T> => {
    const response = await admin(path);
    assert.equal(response.status, 200, `${path}: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as T;
  };
  const stats = () => adminJson<Stats>('/admin/stats');
  /** The whole log, read in one page (the suite writes far fewer than 1,000 events). */
  const allEvents = async () => (await adminJson<{ events: AdminEvent[] }>('/admin/events?after=0&limit=1000')).events;
  const lastPosition = async () => (await allEvents()).at(-1)?.position ?? 0;
  // Asynchronous, not spawnSync: while the event loop is blocked, fetch cannot retire its idle
  // keep-alive connections ahead of the server's timeout (it does so 1-2 s early); the first request
  // after a CLI run could then go out on a connection the server was closing ("other side closed").
  const cli = (...args: string[]) => runImagegram(server.env, args);
  const upload = async (user: TestUser, bytes: Buffer, type = 'image/jpeg') => {
    const response = await uploadImage(server.baseUrl, user, bytes, 'photo', type);
    assert.ok(response.status === 201 || response.status === 200, `upload: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as { id: string; duplicate: boolean; format: string };
  };
  const metadataExtracted = (id: string) =>
    eventually(
      async () => {
        const image = (await (await fetch(`${server.baseUrl}/images/${id}`)).json()) as { metadataExtractedAt: string | null };
        return image.metadataExtractedAt ? image : undefined;
      },
      { what: `metadata extraction of ${id}` },
    );
  const deleteImage = async (user: TestUser, id: string) => {
    const response = await fetch(`${server.baseUrl}/images/${id}`, { method: 'DELETE', headers: user.headers });
    assert.equal(response.status, 204);
  };

  before(async () => {
    server = await startServer();
    adminHeaders = { 'x-access-token': server.adminToken };
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
  });
  after(() => server.cleanup());

  // First, while the server has no images: the expected counts are then exact.
  test('stats count images by format, EXIF camera model and day; duplicates once, other users again, deletes back out', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const empty = await stats();
    assert.equal(empty.popularFormat, null);
    assert.deepEqual(empty.top10CameraModels, []);
    assert.equal(empty.uploadFrequency30Days.length, 30);
    assert.ok(empty.uploadFrequency30Days.every((day) => day.uploads === 0));

    const canon = { Make: 'Canon', Model: 'EOS 5D' };
    const [canon1, canon2, canon3, plainJpeg] = await Promise.all([jpeg(10, canon), jpeg(20, canon), jpeg(30, canon), jpeg(40)]);
    const nikonPng = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#884422' } })
      .withExif(cameraExif)
      .png()
      .toBuffer();
    const plainPng = await distinctPng(1);

    const ids: Record<string, string> = {};
    for (const [name, bytes, type] of [
      ['canon1', canon1, 'image/jpeg'],
      ['canon2', canon2, 'image/jpeg'],
      ['canon3', canon3, 'image/jpeg'],
      ['plainJpeg', plainJpeg, 'image/jpeg'],
      ['nikonPng', nikonPng, 'image/png'],
      ['plainPng', plainPng, 'image/png'],
    ] as const) {
      const body = await upload(alice, bytes, type);
      assert.equal(body.duplicate, false, name);
      ids[name] = body.id;
    }
    // The same user's same bytes: the existing image, not counted again.
    const again = await upload(alice, canon1);
    assert.deepEqual([again.id, again.duplicate], [ids.canon1, true]);
    // Another user's same bytes: a new image over the same blob, counted (images, not blobs).
    const bobs = await upload(bob, canon1);
    assert.equal(bobs.duplicate, false);
    assert.notEqual(bobs.id, ids.canon1);
    ids.bobsCanon = bobs.id;

    const extracted = await Promise.all(Object.values(ids).map(metadataExtracted));
    assert.equal(extracted.length, 7);

    const counted = await stats();
    assert.deepEqual(counted.popularFormat, { format: 'jpeg', uploads: 5 });
    assert.deepEqual(counted.top10CameraModels, [
      { model: 'EOS 5D', uploads: 4 },
      { model: 'Z 6', uploads: 1 },
    ]);
    const days = counted.uploadFrequency30Days;
    assert.equal(days.length, 30);
    assert.deepEqual(days[0], { date: today, uploads: 7 });
    for (let index = 1; index < 30; index += 1) {
      const expected = new Date(Date.parse(`${today}T00:00:00Z`) - index * 86_400_000).toISOString().slice(0, 10);
      assert.deepEqual(days[index], { date: expected, uploads: 0 }, `day ${index}`);
    }

    // Deleting images takes their format, model and day back out; a model at zero is no longer listed.
    await deleteImage(alice, ids.canon2!);
    await deleteImage(alice, ids.nikonPng!);
    await deleteImage(alice, ids.plainPng!);
    const afterDeletes = await stats();
    assert.deepEqual(afterDeletes.popularFormat, { format: 'jpeg', uploads: 4 });
    assert.deepEqual(afterDeletes.top10CameraModels, [{ model: 'EOS 5D', uploads: 3 }]);
    assert.deepEqual(afterDeletes.uploadFrequency30Days[0], { date: today, uploads: 4 });

    // The CLI reads the same projection.
    const json = await cli('stats', '--json');
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), await stats());
    const table = await cli('stats');
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /jpeg/);
    assert.match(table.stdout, /EOS 5D/);
    assert.match(table.stdout, new RegExp(today));
  });

  test('admin endpoints: 401 anonymous, 403 ADMIN_ONLY for a user token, both admin header styles work', async () => {
    for (const path of ['/admin/events', '/admin/jobs', '/admin/stats']) {
      const anonymous = await admin(path, {});
      assert.equal(anonymous.status, 401, path);
      assert.equal((await problemOf(anonymous)).code, 'UNAUTHENTICATED');
      for (const headers of [alice.headers, { 'x-access-token': alice.token }, { authorization: 'Bearer not-the-admin-token' }] as Record<string, string>[]) {
        const forbidden = await admin(path, headers);
        assert.equal(forbidden.status, 403, `${path} ${JSON.stringify(headers)}`);
        assert.equal((await problemOf(forbidden)).code, 'ADMIN_ONLY');
      }
      for (const headers of [{ 'x-access-token': server.adminToken }, { authorization: `Bearer ${server.adminToken}` }] as Record<string, string>[]) {
        const allowed = await admin(path, headers);
        assert.equal(allowed.status, 200, `${path} ${Object.keys(headers)[0]}`);
        await allowed.arrayBuffer();
      }
    }
  });

  test('every write appends its event, in order, with actor and subject, and no secret in any payload', async () => {
    const start = await lastPosition();
    const carol = await signUpAndLogIn(server.baseUrl, 'carol');
    const imageBytes = await distinctPng(2);
    const image = await upload(carol, imageBytes, 'image/png');
    await metadataExtracted(image.id);
    // The same bytes as a post: the existing image, so the only new event is the post's.
    const postResponse = await createPost(server.baseUrl, carol, imageBytes, 'sunset');
    assert.equal(postResponse.status, 201);
    const post = (await postResponse.json()) as { id: string; image: { id: string } };
    assert.equal(post.image.id, image.id);
    const commentResponse = await addComment(server.baseUrl, bob, post.id, 'nice');
    assert.equal(commentResponse.status, 201);
    const comment = (await commentResponse.json()) as { id: string };
    assert.equal((await fetch(`${server.baseUrl}/posts/${post.id}/comments/${comment.id}`, { method: 'DELETE', headers: bob.headers })).status, 204);
    assert.equal((await fetch(`${server.baseUrl}/posts/${post.id}`, { method: 'DELETE', headers: carol.headers })).status, 204);
    await deleteImage(carol, image.id);
    const created = await graphql<{ createCollection: { id: string } }>(server.baseUrl, 'mutation { createCollection(name: "audit") { id } }', {}, carol);
    const collectionId = created.body.data?.createCollection.id;
    assert.ok(collectionId, JSON.stringify(created.body));
    const linkResponse = await postJson(server.baseUrl, '/admin/upload-links', { sinceNow: 'PT1H' }, adminHeaders);
    assert.equal(linkResponse.status, 201);
    const link = (await linkResponse.json()) as { id: string; relativePath: string };

    const events = (await allEvents()).filter((event) => event.position > start);
    const positions = events.map((event) => event.position);
    assert.ok(
      positions.every((position, index) => index === 0 || position > positions[index - 1]!),
      `positions not increasing: ${positions}`,
    );
    for (const event of events) assert.ok(!Number.isNaN(Date.parse(event.at)), event.at);
    // Background work (EXIF, renderings) logs too; the writes' own events are these, in this order.
    const background = new Set(['ImageMetadataExtracted', 'DerivativeRendered']);
    assert.deepEqual(
      events.filter((event) => !background.has(event.type)).map(({ type, actorId, subjectId }) => ({ type, actorId, subjectId })),
      [
        { type: 'UserRegistered', actorId: carol.id, subjectId: carol.id },
        { type: 'ImageCreated', actorId: carol.id, subjectId: image.id },
        { type: 'UploadCompleted', actorId: carol.id, subjectId: image.id },
        { type: 'PostCreated', actorId: carol.id, subjectId: post.id },
        { type: 'CommentAdded', actorId: bob.id, subjectId: comment.id },
        { type: 'CommentDeleted', actorId: bob.id, subjectId: comment.id },
        { type: 'PostDeleted', actorId: carol.id, subjectId: post.id },
        { type: 'ImageDeleted', actorId: carol.id, subjectId: image.id },
        { type: 'CollectionChanged', actorId: carol.id, subjectId: collectionId },
        { type: 'UploadLinkCreated', actorId: null, subjectId: link.id },
      ],
    );
    const byType = (type: string) => events.find((event) => event.type === type)!.payload;
    assert.equal(byType('ImageCreated').format, 'png');
    assert.equal(byType('PostCreated').imageId, image.id);
    assert.equal(byType('CommentAdded').postId, post.id);
    assert.equal(byType('ImageDeleted').reason, 'deleted-by-owner');
    assert.equal(byType('CollectionChanged').change, 'created');

    // No password, session token, admin token or link token anywhere in the log, nor a field for one.
    const log = JSON.stringify(await allEvents());
    const linkToken = link.relativePath.split('/').pop()!;
    for (const secret of [carol.password, carol.token, alice.token, bob.token, server.adminToken, linkToken])
      assert.equal(log.includes(secret), false, 'a secret is in the event log');
    const keys = (value: unknown): string[] =>
      value && typeof value === 'object' ? Object.entries(value).flatMap(([key, inner]) => [key, ...keys(inner)]) : [];
    for (const event of await allEvents()) {
      for (const key of keys(event.payload)) assert.doesNotMatch(key, /password|token|secret/i, `${event.type} payload has ${key}`);
    }
  });

  test('paging with after/limit/nextAfter walks the whole log with no gap or repeat; bad paging is a 400', async () => {
    const whole = await allEvents();
    assert.ok(whole.length > 20);
    const walked: AdminEvent[] = [];
    let after = 0;
    for (let pages = 0; ; pages += 1) {
      assert.ok(pages < 100, 'paging does not end');
      const page = await adminJson<{ events: AdminEvent[]; nextAfter: number }>(`/admin/events?after=${after}&limit=7`);
      assert.ok(page.events.length <= 7);
      if (page.events.length === 0) {
        assert.equal(page.nextAfter, after, 'an empty page keeps the position');
        break;
      }
      assert.equal(page.nextAfter, page.events.at(-1)!.position);
      walked.push(...page.events);
      after = page.nextAfter;
    }
    assert.deepEqual(walked, whole);
    const one = await adminJson<{ events: AdminEvent[]; nextAfter: number }>(`/admin/events?after=${whole[3]!.position}&limit=1`);
    assert.deepEqual(one.events, [whole[4]]);
    const first = await adminJson<{ events: AdminEvent[] }>('/admin/events');
    assert.deepEqual(first.events, whole.slice(0, 100), 'defaults: from the start');

    for (const query of ['limit=0', 'limit=1001', 'after=-1', 'after=abc', 'limit=abc', 'after=1.5', 'after=99999999999999999999']) {
      const response = await admin(`/admin/events?${query}`);
      assert.equal(response.status, 400, query);
      const problem = await problemOf(response);
      assert.equal(problem.status, 400);
      assert.ok(problem.code, query);
    }
  });

  test('`imagegram events --after N --limit M` prints exactly those events as JSON lines', async () => {
    const whole = await allEvents();
    const after = whole[5]!.position;
    const result = await cli('events', '--after', String(after), '--limit', '4');
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AdminEvent);
    assert.deepEqual(lines, whole.slice(6, 10));

    const bad = await cli('events', '--limit', '0');
    assert.notEqual(bad.status, 0);
  });

  test('`imagegram events --follow` prints events committed after it started, until SIGTERM', async () => {
    const end = await lastPosition();
    const child = spawnTracked(process.execPath, ['bin/imagegram.js', 'events', '--follow', '--after', String(end - 1)], {
      cwd: projectRoot,
      env: { ...process.env, ...server.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const printed: AdminEvent[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => printed.push(JSON.parse(line) as AdminEvent));
    try {
      // The last event before it started: the tail is running.
      await eventually(async () => (printed.length > 0 ? true : undefined), { timeoutMs: 20_000, what: `the tail to start (${stderr})` });
      assert.equal(printed[0]!.position, end);
      const dave = await signUpAndLogIn(server.baseUrl, 'dave');
      const registered = await eventually(async () => printed.find((event) => event.type === 'UserRegistered' && event.subjectId === dave.id), {
        timeoutMs: 10_000,
        what: 'the tail to print the new sign-up',
      });
      assert.ok(registered.position > end);
      const positions = printed.map((event) => event.position);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      assert.equal(new Set(positions).size, positions.length);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });

  test('jobs: the metadata job of an upload is done after one attempt; bad state 400, unknown id 404, retrying a done job 409', async () => {
    const image = await upload(alice, await jpeg(77, { Make: 'Fujifilm', Model: 'X-T4' }));
    const job = await eventually(
      async () => {
        const { jobs } = await adminJson<{ jobs: AdminJob[] }>('/admin/jobs?name=image.extract-metadata&limit=200');
        const mine = jobs.find((candidate) => candidate.payload.imageId === image.id);
        return mine?.state === 'done' ? mine : undefined;
      },
      { what: 'the metadata job to finish' },
    );
    assert.equal(job.attempts, 1);
    assert.equal(job.name, 'image.extract-metadata');

    const listed = await adminJson<{ jobs: AdminJob[]; counts: Record<string, number>; nextBefore: string | null }>(
      '/admin/jobs?state=done&name=image.extract-metadata',
    );
    assert.ok(listed.jobs.length >= 8);
    assert.ok(listed.jobs.every((candidate) => candidate.state === 'done' && candidate.name === 'image.extract-metadata'));
    for (const state of ['queued', 'running', 'done', 'parked']) assert.equal(typeof listed.counts[state], 'number', state);
    assert.ok(listed.counts.done! >= listed.jobs.length);
    assert.equal(listed.counts.parked, 0);

    // Paging newest first: nextBefore continues after the last job of a full page.
    const page1 = await adminJson<{ jobs: AdminJob[]; nextBefore: string | null }>('/admin/jobs?name=image.extract-metadata&limit=2');
    assert.equal(page1.jobs.length, 2);
    assert.equal(page1.nextBefore, page1.jobs[1]!.id);
    const page2 = await adminJson<{ jobs: AdminJob[] }>(`/admin/jobs?name=image.extract-metadata&limit=2&before=${page1.nextBefore}`);
    const everyOne = await adminJson<{ jobs: AdminJob[] }>('/admin/jobs?name=image.extract-metadata&limit=200');
    assert.deepEqual(
      [...page1.jobs, ...page2.jobs].map((candidate) => candidate.id),
      everyOne.jobs.slice(0, 4).map((candidate) => candidate.id),
    );

    const one = await adminJson<AdminJob>(`/admin/jobs/${job.id}`);
    assert.deepEqual(one, job);

    const bogus = await admin('/admin/jobs?state=bogus');
    assert.equal(bogus.status, 400);
    await problemOf(bogus);
    const unknown = await admin('/admin/jobs/no-such-job');
    assert.equal(unknown.status, 404);
    await problemOf(unknown);
    const retry = await fetch(`${server.baseUrl}/admin/jobs/${job.id}/retry`, { method: 'POST', headers: adminHeaders });
    assert.equal(retry.status, 409);
    assert.equal((await problemOf(retry)).code, 'JOB_NOT_PARKED');
    const retryUnknown = await fetch(`${server.baseUrl}/admin/jobs/no-such-job/retry`, { method: 'POST', headers: adminHeaders });
    assert.equal(retryUnknown.status, 404);
    const retryAsUser = await fetch(`${server.baseUrl}/admin/jobs/${job.id}/retry`, { method: 'POST', headers: alice.headers });
    assert.equal(retryAsUser.status, 403);
  });
});
