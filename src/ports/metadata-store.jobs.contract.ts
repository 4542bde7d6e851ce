import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { LeasedJob, NewJob } from '../core/jobs/job.js';
import type { ContractScope } from './metadata-store.support.contract.js';

const now = 1_700_000_500_000;
const leaseMs = 30_000;

function aJob(overrides: Partial<NewJob> = {}): NewJob {
  return { name: 'image.extract-metadata', payload: { imageId: randomUUID() }, ...overrides } as NewJob;
}

/** The contract of `jobs` (see JobQueue in job-queue.ts). */
export function jobsContract(scope: ContractScope): void {
  const jobs = () => scope.store.jobs;
  const lease = (at: number, limit = 10, workerId = 'host:1:1') => jobs().lease({ workerId, limit, now: at, leaseMs });
  /** Enqueues one job and leases it (the queue holding only that one). */
  const leasedJob = async (overrides: Partial<NewJob> = {}): Promise<LeasedJob> => {
    await jobs().enqueue(aJob(overrides), now);
    const [job] = await lease(now, 1);
    assert.ok(job);
    return job;
  };

  describe('enqueue and keys', () => {
    test('a job is stored queued, due at runAt (default now), with its payload as given', async () => {
      const payload = { imageId: 'abc', nested: { list: [1, 'two', null] } };
      const { id, enqueued } = await jobs().enqueue(aJob({ payload } as Partial<NewJob>), now);
      assert.equal(enqueued, true);
      const { maxAttempts, ...stored } = (await jobs().findById(id))!;
      assert.deepEqual(stored, {
        id,
        name: 'image.extract-metadata',
        payload,
        key: null,
        state: 'queued',
        attempts: 0,
        runAt: now,
        leasedBy: null,
        lastError: null,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
      });
      assert.ok(maxAttempts >= 1, 'the queue has a default');
      const keyed = await jobs().enqueue(aJob({ key: 'k', runAt: now + 5_000, maxAttempts: 2 }), now);
      const later = await jobs().findById(keyed.id);
      assert.deepEqual([later?.key, later?.runAt, later?.maxAttempts], ['k', now + 5_000, 2]);
      assert.equal(await jobs().findById(randomUUID()), null);
    });

    test('a key dedupes while its job is queued or running, and frees on complete or park', async () => {
      const first = await jobs().enqueue(aJob({ key: 'sweep' }), now);
      assert.deepEqual(await jobs().enqueue(aJob({ key: 'sweep' }), now + 1), { id: first.id, enqueued: false });
      const [running] = await lease(now);
      assert.deepEqual(await jobs().enqueue(aJob({ key: 'sweep' }), now + 2), { id: first.id, enqueued: false });
      // Retried, it is queued again and still holds the key.
      await jobs().retryLater(first.id, running!.leaseToken, 'boom', now + 10, now + 3);
      assert.deepEqual(await jobs().enqueue(aJob({ key: 'sweep' }), now + 4), { id: first.id, enqueued: false });
      const [again] = await lease(now + 10);
      assert.equal(await jobs().complete(first.id, again!.leaseToken, now + 11), true);
      const second = await jobs().enqueue(aJob({ key: 'sweep' }), now + 12);
      assert.equal(second.enqueued, true);
      assert.notEqual(second.id, first.id);
      const [third] = await lease(now + 12);
      await jobs().park(second.id, third!.leaseToken, 'gave up', now + 13);
      assert.equal((await jobs().enqueue(aJob({ key: 'sweep' }), now + 14)).enqueued, true);
      // Without a key nothing is deduped; other keys are independent.
      assert.equal((await jobs().enqueue(aJob(), now)).enqueued, true);
      assert.equal((await jobs().enqueue(aJob(), now)).enqueued, true);
      assert.equal((await jobs().enqueue(aJob({ key: 'other' }), now)).enqueued, true);
    });

    test('a job enqueued in a transaction that rolls back is not there', async () => {
      let id = '';
      await assert.rejects(
        scope.store.transaction(async (tx) => {
          id = (await tx.jobs.enqueue(aJob({ key: 'k' }), now)).id;
          throw new Error('rolled back');
        }),
      );
      assert.equal(await jobs().findById(id), null);
      assert.equal((await jobs().enqueue(aJob({ key: 'k' }), now)).enqueued, true);
    });

    test('a job whose name this version does not know is still read, listed and leased', async () => {
      const future = { name: 'thumbnails.regenerate', payload: { v: 2 } } as unknown as NewJob;
      const { id } = await jobs().enqueue(future, now);
      assert.equal((await jobs().findById(id))?.name, 'thumbnails.regenerate');
      assert.deepEqual(
        (await jobs().list({ limit: 10 })).map((job) => job.name),
        ['thumbnails.regenerate'],
      );
      assert.deepEqual(
        (await lease(now)).map((job) => [job.id, job.payload]),
        [[id, { v: 2 }]],
      );
    });
  });

  describe('leasing', () => {
    test('lease takes only due jobs, oldest due first, up to limit, and marks them running', async () => {
      // Created in an order different from their due order.
      const middle = await jobs().enqueue(aJob({ runAt: now - 2_000 }), now - 5_000);
      const oldest = await jobs().enqueue(aJob({ runAt: now - 3_000 }), now - 5_000);
      const newest = await jobs().enqueue(aJob({ runAt: now }), now - 5_000);
      const future = await jobs().enqueue(aJob({ runAt: now + 1 }), now - 5_000);
      assert.equal(await jobs().hasDue(now - 3_001), false);
      assert.equal(await jobs().hasDue(now - 3_000), true);
      const leased = await lease(now, 2, 'host:7:1');
      assert.deepEqual(
        leased.map((job) => job.id),
        [oldest.id, middle.id],
      );
      for (const job of leased) {
        const { leaseToken, ...stored } = job;
        assert.ok(leaseToken.length > 0);
        assert.deepEqual(
          { state: job.state, attempts: job.attempts, runAt: job.runAt, leasedBy: job.leasedBy, updatedAt: job.updatedAt },
          { state: 'running', attempts: 1, runAt: now + leaseMs, leasedBy: 'host:7:1', updatedAt: now },
        );
        assert.deepEqual(await jobs().findById(job.id), stored);
      }
      assert.deepEqual(
        (await lease(now)).map((job) => job.id),
        [newest.id],
      );
      assert.deepEqual(await lease(now), []);
      assert.equal(await jobs().hasDue(now), false);
      assert.deepEqual(
        (await lease(now + 1)).map((job) => job.id),
        [future.id],
      );
    });

    test('a running job whose lease ended is leased again, with a new token and one more attempt', async () => {
      const first = await leasedJob();
      assert.deepEqual(await lease(now + leaseMs - 1), []);
      assert.equal(await jobs().hasDue(now + leaseMs - 1), false);
      assert.equal(await jobs().hasDue(now + leaseMs), true);
      const [second] = await lease(now + leaseMs, 10, 'host:2:1');
      assert.equal(second?.id, first.id);
      assert.notEqual(second.leaseToken, first.leaseToken);
      assert.deepEqual([second.attempts, second.runAt, second.leasedBy], [2, now + 2 * leaseMs, 'host:2:1']);
      // The first worker's token is stale: it can change nothing any more.
      assert.equal(await jobs().complete(first.id, first.leaseToken, now + leaseMs + 1), false);
      assert.equal((await jobs().findById(first.id))?.state, 'running');
    });

    test('a lease that ends with its attempts used up parks the job and frees its key', async () => {
      const job = await leasedJob({ key: 'once', maxAttempts: 1 });
      assert.deepEqual(await lease(now + leaseMs), []);
      const parked = await jobs().findById(job.id);
      assert.equal(parked?.state, 'parked');
      assert.equal(parked?.attempts, 1);
      assert.equal(parked?.finishedAt, now + leaseMs);
      assert.notEqual(parked?.lastError, null);
      assert.equal(await jobs().complete(job.id, job.leaseToken, now + leaseMs), false);
      assert.equal((await jobs().enqueue(aJob({ key: 'once' }), now + leaseMs)).enqueued, true);
    });

    test('of 6 concurrent leases none gets a job another got, and together they take all', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 24; i++) ids.add((await jobs().enqueue(aJob(), now - 1_000 + i)).id);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => lease(now, 4, `host:${i}:1`)));
      const leased = results.flat().map((job) => job.id);
      for (const result of results) assert.ok(result.length <= 4);
      assert.equal(new Set(leased).size, leased.length, 'a job was leased twice');
      assert.deepEqual(new Set(leased), ids);
    });
  });

  describe('lease-fenced changes', () => {
    test('complete marks it done and finished; a second complete is refused', async () => {
      const job = await leasedJob({ key: 'k' });
      assert.equal(await jobs().complete(job.id, job.leaseToken, now + 100), true);
      const done = await jobs().findById(job.id);
      assert.deepEqual([done?.state, done?.finishedAt, done?.updatedAt], ['done', now + 100, now + 100]);
      assert.equal(await jobs().complete(job.id, job.leaseToken, now + 200), false);
      assert.deepEqual(await jobs().findById(job.id), done);
      assert.deepEqual(await lease(now + 10 * leaseMs), []);
    });

    test('retryLater queues it for runAt with the error, keeping the attempts made', async () => {
      const job = await leasedJob();
      assert.equal(await jobs().retryLater(job.id, job.leaseToken, 'ECONNRESET', now + 5_000, now + 100), true);
      const queued = await jobs().findById(job.id);
      assert.deepEqual([queued?.state, queued?.runAt, queued?.lastError, queued?.attempts, queued?.finishedAt], ['queued', now + 5_000, 'ECONNRESET', 1, null]);
      assert.deepEqual(await lease(now + 4_999), []);
      const [again] = await lease(now + 5_000);
      assert.deepEqual([again?.id, again?.attempts], [job.id, 2]);
    });

    test('park stops it with the error: never leased again', async () => {
      const job = await leasedJob();
      assert.equal(await jobs().park(job.id, job.leaseToken, 'bad payload', now + 100), true);
      const parked = await jobs().findById(job.id);
      assert.deepEqual([parked?.state, parked?.lastError, parked?.finishedAt], ['parked', 'bad payload', now + 100]);
      assert.deepEqual(await lease(now + 10 * leaseMs), []);
    });

    test('release queues it due now without counting the attempt', async () => {
      const job = await leasedJob({ key: 'k' });
      assert.equal(await jobs().release(job.id, job.leaseToken, now + 100), true);
      const released = await jobs().findById(job.id);
      assert.deepEqual([released?.state, released?.runAt, released?.attempts], ['queued', now + 100, 0]);
      assert.equal((await jobs().enqueue(aJob({ key: 'k' }), now + 100)).enqueued, false);
      const [again] = await lease(now + 100);
      assert.deepEqual([again?.id, again?.attempts], [job.id, 1]);
      assert.equal(await jobs().release(job.id, job.leaseToken, now + 100), false);
    });

    test('extendLease moves the end of the lease, so nobody takes it over before', async () => {
      const job = await leasedJob();
      assert.equal(await jobs().extendLease(job.id, job.leaseToken, now + 3 * leaseMs), true);
      assert.equal((await jobs().findById(job.id))?.runAt, now + 3 * leaseMs);
      assert.deepEqual(await lease(now + 3 * leaseMs - 1), []);
      assert.equal((await lease(now + 3 * leaseMs))[0]?.id, job.id);
    });

    test('every change with a wrong or stale token, or to an unknown job, is refused and changes nothing', async () => {
      const job = await leasedJob({ key: 'k' });
      const before = await jobs().findById(job.id);
      for (const token of [randomUUID(), '']) {
        assert.equal(await jobs().complete(job.id, token, now + 1), false);
        assert.equal(await jobs().retryLater(job.id, token, 'x', now + 1, now + 1), false);
        assert.equal(await jobs().park(job.id, token, 'x', now + 1), false);
        assert.equal(await jobs().release(job.id, token, now + 1), false);
        assert.equal(await jobs().extendLease(job.id, token, now + 99_999), false);
      }
      assert.equal(await jobs().complete(randomUUID(), job.leaseToken, now + 1), false);
      assert.deepEqual(await jobs().findById(job.id), before);
      // The lease passes to another worker: every change by the first is refused.
      const [taken] = await lease(now + leaseMs);
      const retaken = await jobs().findById(job.id);
      assert.equal(await jobs().extendLease(job.id, job.leaseToken, now + 99_999), false);
      assert.equal(await jobs().retryLater(job.id, job.leaseToken, 'x', now, now + leaseMs), false);
      assert.equal(await jobs().park(job.id, job.leaseToken, 'x', now + leaseMs), false);
      assert.equal(await jobs().release(job.id, job.leaseToken, now + leaseMs), false);
      assert.deepEqual(await jobs().findById(job.id), retaken);
      assert.equal(await jobs().complete(job.id, taken!.leaseToken, now + leaseMs + 1), true);
    });
  });

  describe('admin and housekeeping', () => {
    test('list pages newest first and filters by state and name; countByState counts every state', async () => {
      assert.deepEqual(await jobs().countByState(), { queued: 0, running: 0, done: 0, parked: 0 });
      const a = await jobs().enqueue(aJob({ runAt: now - 3 }), now);
      const b = await jobs().enqueue({ name: 'gc.collect', payload: {}, runAt: now - 2 }, now);
      const c = await jobs().enqueue(aJob({ runAt: now - 1 }), now);
      const d = await jobs().enqueue(aJob({ runAt: now + 1 }), now);
      const [leasedA] = await lease(now, 1);
      await jobs().complete(leasedA!.id, leasedA!.leaseToken, now);
      await lease(now, 1);
      assert.deepEqual(await jobs().countByState(), { queued: 2, running: 1, done: 1, parked: 0 });
      const ids = (jobs: { id: string }[]) => jobs.map((job) => job.id);
      assert.deepEqual(ids(await jobs().list({ limit: 10 })), [d.id, c.id, b.id, a.id]);
      assert.deepEqual(ids(await jobs().list({ limit: 2 })), [d.id, c.id]);
      assert.deepEqual(ids(await jobs().list({ limit: 2, before: c.id })), [b.id, a.id]);
      assert.deepEqual(ids(await jobs().list({ limit: 10, before: a.id })), []);
      assert.deepEqual(ids(await jobs().list({ limit: 10, state: 'queued' })), [d.id, c.id]);
      assert.deepEqual(ids(await jobs().list({ limit: 10, name: 'image.extract-metadata', before: d.id })), [c.id, a.id]);
      assert.deepEqual(ids(await jobs().list({ limit: 10, state: 'done', name: 'gc.collect' })), []);
    });

    test('requeue gives a parked job fresh attempts without re-taking its key; nothing else is requeued', async () => {
      const job = await leasedJob({ key: 'k' });
      await jobs().park(job.id, job.leaseToken, 'broken', now + 1);
      assert.equal(await jobs().requeue(job.id, now + 50), true);
      const requeued = await jobs().findById(job.id);
      assert.deepEqual([requeued?.state, requeued?.attempts, requeued?.runAt, requeued?.finishedAt], ['queued', 0, now + 50, null]);
      assert.equal((await jobs().enqueue(aJob({ key: 'k' }), now + 50)).enqueued, true);
      assert.equal(await jobs().requeue(job.id, now + 60), false);
      const [again] = await lease(now + 60, 1);
      assert.equal(await jobs().requeue(again!.id, now + 60), false);
      await jobs().complete(again!.id, again!.leaseToken, now + 61);
      assert.equal(await jobs().requeue(again!.id, now + 62), false);
      assert.equal(await jobs().requeue(randomUUID(), now), false);
    });

    test('deleteFinished deletes up to limit done jobs finished before the cutoff, nothing else', async () => {
      const finish = async (at: number) => {
        const job = await leasedJob();
        await jobs().complete(job.id, job.leaseToken, at);
        return job.id;
      };
      const old = [await finish(now + 1), await finish(now + 2), await finish(now + 3)];
      const recent = await finish(now + 10);
      const parked = await leasedJob();
      await jobs().park(parked.id, parked.leaseToken, 'x', now + 1);
      const queued = await jobs().enqueue(aJob({ runAt: now + 99_999 }), now);
      assert.equal(await jobs().deleteFinished(now + 10, 2), 2);
      assert.equal(await jobs().deleteFinished(now + 10, 2), 1);
      assert.equal(await jobs().deleteFinished(now + 10, 2), 0);
      for (const id of old) assert.equal(await jobs().findById(id), null);
      for (const id of [recent, parked.id, queued.id]) assert.notEqual(await jobs().findById(id), null);
    });
  });

  describe('schedules', () => {
    const hour = 3_600_000;

    test('the first claim records the schedule; then it is due once per interval', async () => {
      assert.equal(await jobs().claimSchedule('sweep', now, hour), false);
      assert.equal(await jobs().claimSchedule('sweep', now + hour - 1, hour), false);
      assert.equal(await jobs().claimSchedule('sweep', now + hour, hour), true);
      assert.equal(await jobs().claimSchedule('sweep', now + hour, hour), false);
      assert.equal(await jobs().claimSchedule('sweep', now + 2 * hour - 1, hour), false);
      // Late by more than an interval: due once, not once per interval missed.
      assert.equal(await jobs().claimSchedule('sweep', now + 5 * hour, hour), true);
      assert.equal(await jobs().claimSchedule('sweep', now + 5 * hour + 1, hour), false);
      assert.equal(await jobs().claimSchedule('other', now + 5 * hour, hour), false);
    });

    test('of 8 concurrent claimers of a due schedule exactly one wins; of first claims none', async () => {
      const claimAll = (at: number) => Promise.all(Array.from({ length: 8 }, () => jobs().claimSchedule('gc', at, hour)));
      assert.deepEqual((await claimAll(now)).filter(Boolean), []);
      assert.equal((await claimAll(now + hour)).filter(Boolean).length, 1);
      assert.equal((await claimAll(now + hour + 1)).filter(Boolean).length, 0);
    });

    test('a claimer whose clock read a moment before the first claim does not take it for a shortened interval', async () => {
      // Two workers starting together: B reads its clock, A reads its and records the schedule, then B claims.
      assert.equal(await jobs().claimSchedule('stats', now, hour), false);
      assert.equal(await jobs().claimSchedule('stats', now - 5, hour), false);
      assert.equal(await jobs().claimSchedule('stats', now + hour, hour), true);
    });

    test('a shortened interval is due at once, then on the new interval', async () => {
      const minute = 60_000;
      await jobs().claimSchedule('stats', now, 24 * hour);
      assert.equal(await jobs().claimSchedule('stats', now + 1, minute), true);
      assert.equal(await jobs().claimSchedule('stats', now + 2, minute), false);
      assert.equal(await jobs().claimSchedule('stats', now + 1 + minute, minute), true);
    });
  });
}
