import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { type JobContext, type JobHandlers, LeaseLostError, retryDelayMs } from '../../src/core/jobs/job-handlers.js';
import { type Job, type JobName, jobNames, type NewJob } from '../../src/core/jobs/job.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { type JobObserver, JobWorker, type JobWorkerOptions } from '../../src/transports/worker/job-worker.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type AnyHandler = (payload: any, context: JobContext) => Promise<void>;

/** A handlers map where every name not given throws (a test that runs one of those fails loudly). */
function handlers(given: Partial<Record<JobName, AnyHandler>>): JobHandlers {
  const all = Object.fromEntries(
    jobNames.map((name) => [
      name,
      given[name] ??
        (async () => {
          throw new Error(`unexpected job ${name} in this test`);
        }),
    ]),
  );
  return all as unknown as JobHandlers;
}

/** A promise the test resolves by hand, for a handler that blocks until told. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

async function until<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A worker's clock in tests about time: it moves only when the test moves it. */
class TestClock {
  constructor(private at = Date.now()) {}
  readonly now = (): number => this.at;
  advance(ms: number): void {
    this.at += ms;
  }
}

/** `store` with its job table's `hasDue` counted: each call is a worker looking for due jobs. */
function countingLooks(store: MetadataStore): { store: MetadataStore; looks: () => number } {
  let looks = 0;
  const jobs = withMethod(store.jobs, 'hasDue', (now: number) => {
    looks += 1;
    return store.jobs.hasDue(now);
  });
  return { store: withMethod(store, 'jobs', jobs), looks: () => looks };
}

/**
 * `target` with `name` replaced by `value`; every other method still runs on `target` itself (a
 * prototype-based wrapper would call them on the wrapper, where private fields are missing).
 */
function withMethod<T extends object>(target: T, name: PropertyKey, value: unknown): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === name) return value;
      const found = Reflect.get(object, property, object);
      return typeof found === 'function' ? found.bind(object) : found;
    },
  });
}

/** Resolves once the worker has looked for due jobs `times` more times from now: what it would do meanwhile, it has done. */
function lookedAgain(looks: () => number, times = 3): Promise<true> {
  const from = looks();
  return until(async () => looks() >= from + times, `the worker to look for due jobs ${times} more times`);
}

const baseOptions: JobWorkerOptions = { concurrency: 2, leaseMs: 30_000, pollMs: 10, retryBaseMs: 20, retryMaxMs: 1_000, drainMs: 200 };
const metadataJob = (imageId: string, extra: Partial<NewJob> = {}): NewJob => ({ name: 'image.extract-metadata', payload: { imageId }, ...extra }) as NewJob;

describe('JobWorker over a real SQLite job table', () => {
  let dir: string;
  let store: MetadataStore;
  let workers: JobWorker[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-job-worker-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    workers = [];
  });
  afterEach(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function worker(
    given: Partial<Record<JobName, AnyHandler>>,
    options: Partial<JobWorkerOptions> = {},
    observe?: JobObserver,
    on: MetadataStore = store,
  ): JobWorker {
    const created = new JobWorker({ store: on, handlers: handlers(given), logger, ...(observe ? { observe } : {}) }, { ...baseOptions, ...options });
    workers.push(created);
    return created;
  }

  const job = async (id: string): Promise<Job> => (await store.jobs.findById(id))!;
  const inState = (id: string, state: Job['state']) =>
    until(async () => {
      const found = await job(id);
      return found.state === state ? found : undefined;
    }, `job ${id} to be ${state}`);

  test('a queued job runs once with its payload and ends done, attempts 1, leased by the worker', async () => {
    const seen: unknown[] = [];
    const { id } = await store.jobs.enqueue(metadataJob('img-1'), Date.now());
    const running = worker({
      'image.extract-metadata': async (payload, context) => {
        seen.push(payload, context.job.id, context.signal.aborted);
      },
    }).start();
    const done = await inState(id, 'done');
    assert.deepEqual(seen, [{ imageId: 'img-1' }, id, false]);
    assert.equal(done.attempts, 1);
    assert.equal(done.leasedBy, running.id);
    assert.equal(done.lastError, null);
    assert.ok(done.finishedAt !== null);
    // The row reads done as soon as its commit lands, which can be a moment before the worker
    // resumes after that commit and frees the slot.
    await until(async () => (running.busy === 0 ? true : undefined), 'the worker to free its slot');
  });

  test('a job due later is not run before its runAt', async () => {
    const clock = new TestClock();
    const counted = countingLooks(store);
    const runs: number[] = [];
    const runAt = clock.now() + 300;
    const { id } = await store.jobs.enqueue(metadataJob('later', { runAt }), clock.now());
    worker(
      {
        'image.extract-metadata': async () => {
          runs.push(clock.now());
        },
      },
      { now: clock.now },
      undefined,
      counted.store,
    ).start();
    clock.advance(299);
    await lookedAgain(counted.looks);
    assert.equal((await job(id)).state, 'queued');
    clock.advance(1);
    await inState(id, 'done');
    assert.deepEqual(runs, [runAt]);
  });

  test('a failing handler is retried with exponential backoff, then parked after maxAttempts with the last error', async () => {
    const clock = new TestClock();
    const counted = countingLooks(store);
    const attempts: { at: number; attempt: number }[] = [];
    const outcomes: string[] = [];
    const retryBaseMs = 40;
    const { id } = await store.jobs.enqueue(metadataJob('broken', { maxAttempts: 4 }), clock.now());
    worker(
      {
        'image.extract-metadata': async (_payload, context) => {
          attempts.push({ at: clock.now(), attempt: context.job.attempts });
          throw new Error(`boom ${attempts.length}`);
        },
      },
      { retryBaseMs, now: clock.now },
      (_name, outcome) => outcomes.push(outcome),
      counted.store,
    ).start();
    // The n-th retry is due base·2^(n-1) later, jittered down to half; not a moment before.
    for (let n = 1; n < 4; n++) {
      const waiting = await until(async () => {
        const found = await job(id);
        return found.state === 'queued' && found.attempts === n ? found : undefined;
      }, `retry ${n} to be scheduled`);
      const delay = waiting.runAt - clock.now();
      const ceiling = retryBaseMs * 2 ** (n - 1);
      assert.ok(delay >= ceiling / 2 && delay <= ceiling, `retry ${n} is due in ${delay} ms, not within [${ceiling / 2}, ${ceiling}]`);
      clock.advance(delay - 1);
      await lookedAgain(counted.looks);
      assert.equal(attempts.length, n, `retry ${n} ran before it was due`);
      clock.advance(1);
    }
    const parked = await inState(id, 'parked');
    assert.deepEqual(
      attempts.map((a) => a.attempt),
      [1, 2, 3, 4],
    );
    assert.equal(parked.attempts, 4);
    assert.equal(parked.lastError, 'Error: boom 4');
    assert.ok(parked.finishedAt !== null);
    assert.deepEqual(outcomes, ['retry', 'retry', 'retry', 'parked']);
    // Parked means never leased again, however late it gets.
    clock.advance(24 * 3_600_000);
    await lookedAgain(counted.looks);
    assert.equal(attempts.length, 4);
  });

  test('the default maxAttempts is 5', async () => {
    let calls = 0;
    const { id } = await store.jobs.enqueue(metadataJob('default-attempts'), Date.now());
    worker(
      {
        'image.extract-metadata': async () => {
          calls += 1;
          throw new Error('nope');
        },
      },
      { retryBaseMs: 1 },
    ).start();
    const parked = await inState(id, 'parked');
    assert.equal(calls, 5);
    assert.equal(parked.attempts, 5);
    assert.equal(parked.maxAttempts, 5);
  });

  test('a job that fails once and then succeeds ends done with attempts 2 and the first error kept', async () => {
    let calls = 0;
    const { id } = await store.jobs.enqueue(metadataJob('flaky'), Date.now());
    worker({
      'image.extract-metadata': async () => {
        calls += 1;
        if (calls === 1) throw new TypeError('transient');
      },
    }).start();
    const done = await inState(id, 'done');
    assert.equal(done.attempts, 2);
    assert.equal(done.lastError, 'TypeError: transient');
  });

  test('retryDelayMs doubles per attempt, is capped, and jitters down to half', () => {
    assert.equal(
      retryDelayMs(1, 100, 10_000, () => 1),
      100,
    );
    assert.equal(
      retryDelayMs(2, 100, 10_000, () => 1),
      200,
    );
    assert.equal(
      retryDelayMs(4, 100, 10_000, () => 1),
      800,
    );
    assert.equal(
      retryDelayMs(4, 100, 10_000, () => 0),
      400,
    );
    assert.equal(
      retryDelayMs(20, 100, 10_000, () => 1),
      10_000,
    );
    assert.equal(
      retryDelayMs(0, 100, 10_000, () => 1),
      100,
    );
  });

  test('completeIn(tx): the effect and the completion commit together', async () => {
    const { id } = await store.jobs.enqueue(metadataJob('tx-ok'), Date.now());
    worker({
      'image.extract-metadata': async (payload, context) => {
        await store.transaction(async (tx) => {
          await tx.events.append({ type: 'ImageMetadataExtracted', actorId: null, subjectId: payload.imageId, payload: {} });
          await context.completeIn(tx);
        });
      },
    }).start();
    const done = await inState(id, 'done');
    assert.equal(done.attempts, 1);
    const events = (await store.events.list(0, 100)).filter((event) => event.subjectId === 'tx-ok');
    assert.equal(events.length, 1);
  });

  test('completeIn(tx): a failure after it in the same transaction rolls both back, and the job is retried', async () => {
    let calls = 0;
    const { id } = await store.jobs.enqueue(metadataJob('tx-rollback'), Date.now());
    worker({
      'image.extract-metadata': async (payload, context) => {
        calls += 1;
        await store.transaction(async (tx) => {
          await tx.events.append({ type: 'ImageMetadataExtracted', actorId: null, subjectId: payload.imageId, payload: { call: calls } });
          await context.completeIn(tx);
          if (calls === 1) throw new Error('failed after completeIn');
        });
      },
    }).start();
    const done = await inState(id, 'done');
    assert.equal(done.attempts, 2);
    assert.equal(done.lastError, 'Error: failed after completeIn');
    const events = (await store.events.list(0, 100)).filter((event) => event.subjectId === 'tx-rollback');
    assert.deepEqual(
      events.map((event) => event.payload),
      [{ call: 2 }],
    );
  });

  test("a lease taken over by another worker: the first worker's completeIn throws LeaseLostError, its effect rolls back, the job is untouched", async () => {
    const blocked = gate();
    const started = gate();
    let thrown: unknown;
    const outcomes: string[] = [];
    const { id } = await store.jobs.enqueue(metadataJob('taken-over'), Date.now());
    worker(
      {
        'image.extract-metadata': async (payload, context) => {
          started.open();
          await blocked.promise;
          try {
            await store.transaction(async (tx) => {
              await tx.events.append({ type: 'ImageMetadataExtracted', actorId: null, subjectId: payload.imageId, payload: {} });
              await context.completeIn(tx);
            });
          } catch (error) {
            thrown = error;
            throw error;
          }
        },
      },
      { leaseMs: 60_000 },
      (_name, outcome) => outcomes.push(outcome),
    ).start();
    await started.promise;
    // Another worker whose clock is past the end of the lease takes the job over.
    const [stolen] = await store.jobs.lease({ workerId: 'other:1:1', limit: 10, now: Date.now() + 120_000, leaseMs: 60_000 });
    assert.equal(stolen?.id, id);
    blocked.open();
    await until(async () => outcomes.length === 1, 'the first worker to give up');
    assert.ok(thrown instanceof LeaseLostError, `threw ${String(thrown)}`);
    assert.deepEqual(outcomes, ['lost']);
    const after = await job(id);
    assert.deepEqual([after.state, after.attempts, after.leasedBy, after.lastError], ['running', 2, 'other:1:1', null]);
    assert.equal((await store.events.list(0, 100)).filter((event) => event.subjectId === 'taken-over').length, 0);
    // The new holder's completion works.
    assert.equal(await store.jobs.complete(id, stolen!.leaseToken, Date.now()), true);
  });

  test("a lease taken over after it ran out (tiny leaseMs): the first worker's completion after return is a no-op", async () => {
    const blocked = gate();
    const started = gate();
    const outcomes: string[] = [];
    const clock = new TestClock();
    const { id } = await store.jobs.enqueue(metadataJob('expired'), clock.now());
    worker(
      {
        'image.extract-metadata': async () => {
          started.open();
          await blocked.promise;
        },
      },
      { leaseMs: 30, concurrency: 1, now: clock.now },
      (_name, outcome) => outcomes.push(outcome),
    ).start();
    await started.promise;
    // The other worker's clock is past the 30 ms lease (the first worker's stays put, so its
    // heartbeat cannot move the lease beyond it either).
    const [stolen] = await store.jobs.lease({ workerId: 'other:2:1', limit: 10, now: clock.now() + 60, leaseMs: 60_000 });
    assert.equal(stolen?.id, id, 'the lease had run out');
    blocked.open();
    await until(async () => outcomes.length === 1, 'the first worker to finish');
    assert.deepEqual(outcomes, ['lost']);
    const after = await job(id);
    assert.deepEqual([after.state, after.attempts, after.leasedBy], ['running', 2, 'other:2:1']);
  });

  test("the heartbeat notices a lost lease and aborts the handler's signal with LeaseLostError", async () => {
    const started = gate();
    let reason: unknown;
    const outcomes: string[] = [];
    const { id } = await store.jobs.enqueue(metadataJob('heartbeat'), Date.now());
    worker(
      {
        'image.extract-metadata': async (_payload, context) => {
          started.open();
          await new Promise<void>((_resolve, reject) =>
            context.signal.addEventListener('abort', () => {
              reason = context.signal.reason;
              reject(context.signal.reason);
            }),
          );
        },
      },
      { leaseMs: 3_000 },
      (_name, outcome) => outcomes.push(outcome),
    ).start();
    await started.promise;
    await store.jobs.lease({ workerId: 'other:3:1', limit: 10, now: Date.now() + 10_000, leaseMs: 60_000 });
    // The heartbeat runs every max(1 s, leaseMs / 3).
    await until(async () => outcomes.length === 1, 'the heartbeat to abort the handler', 3_000);
    assert.ok(reason instanceof LeaseLostError);
    assert.deepEqual(outcomes, ['lost']);
    assert.equal((await job(id)).leasedBy, 'other:3:1');
  });

  test('the heartbeat extends a held lease, so a job running longer than leaseMs is not taken over', async () => {
    const blocked = gate();
    const started = gate();
    const { id } = await store.jobs.enqueue(metadataJob('long'), Date.now());
    worker(
      {
        'image.extract-metadata': async () => {
          started.open();
          await blocked.promise;
        },
      },
      { leaseMs: 3_000 },
    ).start();
    await started.promise;
    const leasedUntil = (await job(id)).runAt;
    await until(async () => (await job(id)).runAt > leasedUntil, 'the lease to be extended', 2_500);
    blocked.open();
    const done = await inState(id, 'done');
    assert.equal(done.attempts, 1);
  });

  test('stop() waits up to drainMs for a blocked handler, then gives the lease back: queued, due now, attempts as before', async () => {
    const blocked = gate();
    const started = gate();
    let sawAbort = false;
    const completions: boolean[] = [];
    const recording = withMethod(
      store,
      'jobs',
      withMethod(store.jobs, 'complete', async (...args: Parameters<MetadataStore['jobs']['complete']>) => {
        const held = await store.jobs.complete(...args);
        completions.push(held);
        return held;
      }),
    );
    const { id } = await store.jobs.enqueue(metadataJob('blocked'), Date.now());
    const running = worker(
      {
        'image.extract-metadata': async (_payload, context) => {
          context.signal.addEventListener('abort', () => (sawAbort = true));
          started.open();
          await blocked.promise; // ignores the signal: the worker must not wait for it forever
        },
      },
      { drainMs: 150 },
      undefined,
      recording,
    ).start();
    await started.promise;
    assert.deepEqual([(await job(id)).state, (await job(id)).attempts], ['running', 1]);
    const stopAt = performance.now();
    await running.stop();
    const took = performance.now() - stopAt;
    // Timers never fire early, so this lower bound holds on any machine; an upper bound would not.
    assert.ok(took >= 140, `stop() returned after ${took.toFixed(0)} ms, before drainMs`);
    assert.equal(sawAbort, true);
    const released = await job(id);
    assert.equal(released.state, 'queued');
    assert.equal(released.attempts, 0);
    assert.ok(released.runAt <= Date.now());
    assert.equal(released.finishedAt, null);
    // The handler finishing late changes nothing: its lease is gone.
    blocked.open();
    await until(async () => completions.length > 0, 'the late completion to be tried');
    assert.deepEqual(completions, [false]);
    assert.equal((await job(id)).state, 'queued');
    // Another worker takes it at once, as a first attempt again.
    worker({ 'image.extract-metadata': async () => {} }).start();
    const done = await inState(id, 'done');
    assert.equal(done.attempts, 1);
  });

  // A drain of a minute against the test's 30 s timeout: stop() waiting out the drain instead of
  // returning when the handler ends fails the test, whatever the machine's speed.
  test('stop() lets a handler that finishes within drainMs complete normally, and returns when it does', { timeout: 30_000 }, async () => {
    const started = gate();
    const finish = gate();
    const { id } = await store.jobs.enqueue(metadataJob('quick'), Date.now());
    const running = worker(
      {
        'image.extract-metadata': async () => {
          started.open();
          await finish.promise;
        },
      },
      { drainMs: 60_000 },
    ).start();
    await started.promise;
    const stopping = running.stop();
    finish.open();
    await stopping;
    const done = await job(id);
    assert.deepEqual([done.state, done.attempts], ['done', 1]);
  });

  test('stop() during a lease in flight still drains (or releases) the jobs that lease returns', async () => {
    let leasing = false;
    const leaseAnswers = gate();
    const handlerRuns = gate();
    const finish = gate();
    // The same store, with a lease() held until told: stop() lands while the worker waits for it.
    const slowJobs = Object.create(store.jobs, {
      lease: {
        value: async (request: Parameters<MetadataStore['jobs']['lease']>[0]) => {
          leasing = true;
          await leaseAnswers.promise;
          return store.jobs.lease(request);
        },
      },
    }) as MetadataStore['jobs'];
    const slowStore = Object.create(store, { jobs: { value: slowJobs } }) as MetadataStore;
    const finished: string[] = [];
    const running = new JobWorker(
      {
        store: slowStore,
        handlers: handlers({
          'image.extract-metadata': async (payload) => {
            handlerRuns.open();
            await finish.promise;
            finished.push(payload.imageId);
          },
        }),
        logger,
      },
      { ...baseOptions, concurrency: 1, drainMs: 2_000 },
    ).start();
    workers.push(running);
    const { id } = await store.jobs.enqueue(metadataJob('in-flight'), Date.now());
    await until(async () => leasing, 'the worker to lease');
    const stopping = running.stop();
    leaseAnswers.open();
    // The job that lease returns runs although stop() came first, and stop() waits for it.
    await handlerRuns.promise;
    finish.open();
    await stopping;
    assert.equal(running.busy, 0, 'stop() returned with a job still running');
    assert.deepEqual(finished, ['in-flight']);
    assert.deepEqual([(await job(id)).state, (await job(id)).attempts], ['done', 1]);
  });

  test('a stopped worker leases nothing more', async () => {
    let calls = 0;
    const counted = countingLooks(store);
    const running = worker(
      {
        'image.extract-metadata': async () => {
          calls += 1;
        },
      },
      {},
      undefined,
      counted.store,
    ).start();
    await running.stop();
    const looksAtStop = counted.looks();
    const { id } = await store.jobs.enqueue(metadataJob('after-stop'), Date.now());
    // Another worker takes the job: all the while it sat queued, the stopped one never looked.
    const other = worker({ 'image.extract-metadata': async () => {} }).start();
    const done = await inState(id, 'done');
    assert.equal(done.leasedBy, other.id);
    assert.equal(calls, 0);
    assert.equal(counted.looks(), looksAtStop);
  });

  test('concurrency bounds how many jobs run at once; all of them run', async () => {
    let active = 0;
    let peak = 0;
    const full = gate();
    const ids = await Promise.all(Array.from({ length: 7 }, (_, i) => store.jobs.enqueue(metadataJob(`c${i}`), Date.now()).then((r) => r.id)));
    worker(
      {
        'image.extract-metadata': async () => {
          active += 1;
          peak = Math.max(peak, active);
          // Each waits until three run at once: the bound is reached, whatever the machine's speed.
          if (active === 3) full.open();
          await full.promise;
          active -= 1;
        },
      },
      { concurrency: 3 },
    ).start();
    for (const id of ids) await inState(id, 'done');
    assert.equal(peak, 3);
  });

  test('two workers with the same schedule enqueue its job once per interval', async () => {
    let clock = 1_800_000_000_000;
    const now = () => clock;
    const intervalMs = 60_000;
    const ran: string[] = [];
    const schedules = [{ name: 'test.every-minute', intervalMs, job: { name: 'stats.project', payload: {} } as NewJob }];
    const options = { schedules, now, pollMs: 10 };
    const countedA = countingLooks(store);
    const countedB = countingLooks(store);
    const a = worker(
      {
        'stats.project': async (_payload, context) => {
          ran.push(`a:${context.job.id}`);
        },
      },
      options,
      undefined,
      countedA.store,
    ).start();
    const b = worker(
      {
        'stats.project': async (_payload, context) => {
          ran.push(`b:${context.job.id}`);
        },
      },
      options,
      undefined,
      countedB.store,
    ).start();
    assert.notEqual(a.id, b.id);
    const scheduled = async () => store.jobs.list({ name: 'stats.project', limit: 100 });
    // Both workers went round their loop again (schedules first, then the due jobs) since the clock moved.
    const settle = () => Promise.all([lookedAgain(countedA.looks), lookedAgain(countedB.looks)]);
    await settle();
    assert.equal((await scheduled()).length, 0, 'the first claim only records the schedule');
    for (let interval = 1; interval <= 3; interval++) {
      clock += intervalMs / 2;
      await settle();
      assert.equal((await scheduled()).length, interval - 1, 'not due before its interval');
      clock += intervalMs / 2;
      await until(async () => (await scheduled()).length === interval, `schedule run ${interval}`);
      await settle();
      assert.equal((await scheduled()).length, interval, `enqueued more than once in interval ${interval}`);
    }
    await until(async () => (await scheduled()).every((j) => j.state === 'done'), 'the scheduled jobs to run');
    assert.equal(ran.length, 3);
    assert.equal(new Set(ran.map((entry) => entry.slice(2))).size, 3);
  });

  test('the constructor refuses a handlers map missing a job name', () => {
    const incomplete = handlers({}) as unknown as Record<string, unknown>;
    delete incomplete['gc.collect'];
    delete incomplete['uploads.sweep'];
    assert.throws(
      () => new JobWorker({ store, handlers: incomplete as unknown as JobHandlers, logger }, baseOptions),
      /no handler for job\(s\): gc\.collect, uploads\.sweep/,
    );
    const notAFunction = { ...handlers({}), 'stats.project': 'nope' } as unknown as JobHandlers;
    assert.throws(() => new JobWorker({ store, handlers: notAFunction, logger }, baseOptions), /stats\.project/);
  });

  test('a job whose name this version does not know is parked, not retried, and the others still run', async () => {
    const outcomes: string[] = [];
    const unknown = await store.jobs.enqueue({ name: 'video.transcode', payload: { id: 'v' } } as unknown as NewJob, Date.now());
    const known = await store.jobs.enqueue(metadataJob('known'), Date.now());
    worker({ 'image.extract-metadata': async () => {} }, {}, (name, outcome) => outcomes.push(`${name}:${outcome}`)).start();
    const parked = await inState(unknown.id, 'parked');
    assert.equal(parked.attempts, 1);
    assert.match(parked.lastError ?? '', /no handler for job "video\.transcode"/);
    await inState(known.id, 'done');
    assert.deepEqual(outcomes.sort(), ['image.extract-metadata:done', 'video.transcode:parked']);
  });
});
