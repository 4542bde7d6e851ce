/**
 * Resumable uploads served by two processes at once (PostgreSQL database, upload bytes in a real
 * S3 bucket on a RADOS Gateway): the shared upload lock is what keeps two PATCHes of one upload,
 * sent to different processes, from both writing. Each race sends two different bodies at the same
 * offset, one to each process: exactly one may be acknowledged, and the stored upload must be the
 * acknowledged bodies, byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { eventually, signUpAndLogIn, type TestUser } from '../support/client.js';
import { createThrowawayPostgresDatabase, type ThrowawayDatabase } from '../support/postgres.js';
import { type TestBucket, testBucket } from '../support/radosgw.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, patchUpload, sha256, uploadOffset } from '../support/tus.js';

// Probe once each: null means unreachable and not required (TEST_POSTGRES_URL / TEST_S3_URL unset).
const database: ThrowawayDatabase | null = await createThrowawayPostgresDatabase();
const bucket: TestBucket | null = await testBucket();

// 96 races: each is a fresh chance for both PATCHes to write; on a RADOS Gateway a race costs about
// a second of the suite's time, so more of them would mostly make `npm test` slower.
const runs = 8;
const racesPerRun = 12;
const chunkBytes = 1024;
/** Runs at once: contention across uploads too, without flooding a machine other suites share. */
const runsAtOnce = 8;

/**
 * A PATCH whose client sends `sent` of `bytes` and then goes silent with the connection open (a
 * phone that lost its signal, a half-open TCP connection). `abandon()` drops it.
 */
function stalledPatch(url: string, headers: Record<string, string>, offset: number, bytes: Buffer, sent: number) {
  const request = httpRequest(url, {
    method: 'PATCH',
    headers: {
      ...headers,
      'tus-resumable': '1.0.0',
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      'content-length': String(bytes.length),
    },
  });
  const answered = new Promise<{ status: number; offset: string | undefined } | null>((resolve) => {
    request.on('response', (response) => {
      response.resume();
      const offset = response.headers['upload-offset'];
      resolve({ status: response.statusCode!, offset: typeof offset === 'string' ? offset : undefined });
    });
    request.on('error', () => resolve(null));
    request.on('close', () => resolve(null));
  });
  request.write(bytes.subarray(0, sent));
  return { answered, abandon: () => request.destroy() };
}

describe('uploads across processes: two servers on one PostgreSQL database and one S3 bucket', {
  skip: (database === null && 'PostgreSQL not reachable') || (bucket === null && 'RADOS Gateway not reachable'),
}, () => {
  let a: RunningServer;
  let b: RunningServer;
  let user: TestUser;
  let observer: pg.Client;

  /** How many upload locks PostgreSQL has granted: a physical fact, read apart from both servers. */
  async function uploadLocksHeld(): Promise<number> {
    const { rows } = await observer.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    return rows[0]!.n;
  }

  /** Creates an upload of `bytes` on A, has A's PATCH hold it with a stalled client; resolves once A holds the lock. */
  async function holdOnA(bytes: Buffer) {
    const created = await createUpload(a.baseUrl, user.headers, bytes.length);
    assert.equal(created.status, 201);
    const path = created.headers.get('location')!;
    const stalled = stalledPatch(`${a.baseUrl}${path}`, user.headers, 0, bytes, bytes.length / 2);
    await eventually(async () => ((await uploadLocksHeld()) > 0 ? true : undefined), { what: "A's PATCH to take the upload's lock" });
    return { path, id: path.split('/').pop()!, stalled };
  }

  /** Finishes the upload at B from the offset B reports (returned); the stored bytes must be `bytes`. */
  async function finishOnB(path: string, id: string, bytes: Buffer): Promise<number> {
    const head = await uploadOffset(`${b.baseUrl}${path}`, user.headers);
    assert.equal(head.status, 200, `HEAD at B: ${head.status}`);
    const offset = head.offset!;
    assert.ok(offset >= 0 && offset <= bytes.length / 2, `offset ${offset}`);
    const rest = await patchUpload(`${b.baseUrl}${path}`, user.headers, offset, bytes.subarray(offset));
    assert.equal(rest.status, 204, `PATCH at B: ${rest.status} ${await rest.text()}`);
    const object = await bucket!.client().send(new GetObjectCommand({ Bucket: bucket!.bucket, Key: `uploads/${id}` }));
    assert.equal(sha256(Buffer.from(await object.Body!.transformToByteArray())), sha256(bytes));
    return offset;
  }

  before(async () => {
    // Both on one database and one bucket; each has its own data dir (its part buffers only).
    const env = { DATABASE_URL: database!.url, BLOB_STORE_URL: bucket!.blobStoreUrl(), ...bucket!.env };
    a = await startServer({ env });
    b = await startServer({ env: { ...env, RUN_WORKER: 'off' } });
    user = await signUpAndLogIn(a.baseUrl, 'racer');
    observer = new pg.Client({ connectionString: database!.url });
    await observer.connect();
  });
  after(async () => {
    await observer?.end();
    await b?.cleanup();
    await a?.cleanup();
    await bucket?.close();
    await database?.drop();
  });

  /** One upload of `racesPerRun` chunks, each chunk raced by a PATCH to A and another to B. */
  async function run(index: number): Promise<{ statuses: Record<string, number>; winners: Record<'a' | 'b', number> }> {
    const length = racesPerRun * chunkBytes;
    const created = await createUpload(a.baseUrl, user.headers, length);
    assert.equal(created.status, 201, `run ${index}: create: ${created.status} ${await created.text()}`);
    const path = created.headers.get('location')!;
    const id = path.split('/').pop()!;
    const statuses: Record<string, number> = {};
    const winners = { a: 0, b: 0 };
    const accepted: Buffer[] = [];
    for (let race = 0; race < racesPerRun; race += 1) {
      const offset = race * chunkBytes;
      const bodies = { a: randomBytes(chunkBytes), b: randomBytes(chunkBytes) };
      const [fromA, fromB] = await Promise.all([
        patchUpload(`${a.baseUrl}${path}`, user.headers, offset, bodies.a),
        patchUpload(`${b.baseUrl}${path}`, user.headers, offset, bodies.b),
      ]);
      const outcome = { a: fromA.status, b: fromB.status };
      const detail = `run ${index}, race ${race} at ${offset}: A ${fromA.status} ${await fromA.text()} / B ${fromB.status} ${await fromB.text()}`;
      for (const status of [fromA.status, fromB.status]) statuses[status] = (statuses[status] ?? 0) + 1;
      const won = (['a', 'b'] as const).filter((side) => outcome[side] === 204);
      assert.equal(won.length, 1, `exactly one PATCH acknowledged: ${detail}`);
      const winner = won[0]!;
      const loser = winner === 'a' ? 'b' : 'a';
      // tus's refusals: the offset moved on (409), or the lock stayed held past tus's wait (423).
      assert.ok(outcome[loser] === 409 || outcome[loser] === 423, `the other refused by the protocol: ${detail}`);
      assert.equal((winner === 'a' ? fromA : fromB).headers.get('upload-offset'), String(offset + chunkBytes), detail);
      winners[winner] += 1;
      accepted.push(bodies[winner]);
    }
    // Both processes see the whole upload, and the stored bytes are exactly the acknowledged bodies.
    for (const server of [a, b]) {
      assert.deepEqual(await uploadOffset(`${server.baseUrl}${path}`, user.headers), { status: 200, offset: length });
    }
    const object = await bucket!.client().send(new GetObjectCommand({ Bucket: bucket!.bucket, Key: `uploads/${id}` }));
    const stored = Buffer.from(await object.Body!.transformToByteArray());
    const expected = Buffer.concat(accepted);
    assert.equal(stored.length, expected.length, `run ${index}: stored size`);
    assert.equal(sha256(stored), sha256(expected), `run ${index}: stored bytes differ from the acknowledged bodies`);
    return { statuses, winners };
  }

  test(`${runs} uploads of ${racesPerRun} same-offset races: one 204 per race, the other 409/423, bytes exact`, async (t) => {
    const results: Awaited<ReturnType<typeof run>>[] = [];
    for (let first = 0; first < runs; first += runsAtOnce) {
      const batch = Array.from({ length: Math.min(runsAtOnce, runs - first) }, (_, i) => run(first + i));
      results.push(...(await Promise.all(batch)));
    }
    const statuses: Record<string, number> = {};
    const winners = { a: 0, b: 0 };
    for (const result of results) {
      for (const [status, count] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
      winners.a += result.winners.a;
      winners.b += result.winners.b;
    }
    t.diagnostic(`statuses over ${runs * racesPerRun} races: ${JSON.stringify(statuses)}; won by A ${winners.a}, by B ${winners.b}`);
    assert.equal(statuses['204'], runs * racesPerRun);
  });
  test("a client stalled mid-PATCH on A: B's request asks A to let go, and gets the upload (not 423)", async (t) => {
    const bytes = randomBytes(64 * 1024);
    const { path, id, stalled } = await holdOnA(bytes);
    try {
      // B's HEAD asks A, over PostgreSQL, to release; tus on A cancels the stalled PATCH after its
      // 3 s drain, which unlocks. Without the request it would wait 30 s and answer 423.
      const offset = await finishOnB(path, id, bytes);
      t.diagnostic(`B resumed at ${offset} of the ${bytes.length / 2} bytes the stalled client sent`);
      // tus ends a cancelled PATCH gracefully: it stores what arrived and says how much (204 with
      // that offset), which is where B resumed.
      const answer = await stalled.answered;
      if (answer?.status === 204) assert.equal(answer.offset, String(offset));
      else assert.ok(answer === null || answer.status >= 400, `stalled PATCH: ${JSON.stringify(answer)}`);
    } finally {
      stalled.abandon();
    }
  });

  test('a server killed (SIGKILL) while its PATCH holds the upload: B gets the upload at once', async () => {
    const bytes = randomBytes(64 * 1024);
    const { path, id, stalled } = await holdOnA(bytes);
    try {
      await a.kill();
      // A's lock went with its connection.
      await eventually(async () => ((await uploadLocksHeld()) === 0 ? true : undefined), { what: "A's locks to be freed" });
      await finishOnB(path, id, bytes);
    } finally {
      stalled.abandon();
    }
  });
});
