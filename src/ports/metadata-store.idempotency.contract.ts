import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { User } from '../core/users/user.js';
import type { IdempotencyRecord } from '../core/idempotency/idempotency-record.js';
import { anIdempotencyRecord, aUser, type ContractScope } from './metadata-store.support.contract.js';

/** The contract of `idempotency` (see IdempotencyRepository in metadata-store.ts). */
export function idempotencyContract(scope: ContractScope): void {
  let user: User;
  beforeEach(async () => {
    user = aUser();
    await scope.store.users.insert(user);
  });
  const now = 1_700_000_030_000;
  const claim = (record: IdempotencyRecord, at: number) => scope.store.idempotency.claim(record, at);
  const taken = { claimed: true };
  const heldBy = (existing: IdempotencyRecord) => ({ claimed: false, existing });

  test('an unknown key is claimed; a second claim gets the in-flight record untouched', async () => {
    const first = anIdempotencyRecord(user.id);
    assert.deepEqual(await claim(first, now), taken);
    const retry = { ...first, fingerprint: 'another request', leaseUntil: now + 99_000 };
    assert.deepEqual(await claim(retry, now), heldBy(first));
  });

  test('keys are scoped to their user', async () => {
    const { store } = scope;
    const other = aUser();
    await store.users.insert(other);
    const mine = anIdempotencyRecord(user.id, { key: 'same-key' });
    const theirs = anIdempotencyRecord(other.id, { key: 'same-key' });
    assert.deepEqual(await claim(mine, now), taken);
    assert.deepEqual(await claim(theirs, now), taken);
  });

  test('of 10 concurrent claims of one key exactly one wins; the others see it', async () => {
    const claims = Array.from({ length: 10 }, () => anIdempotencyRecord(user.id, { key: 'raced' }));
    const outcomes = await Promise.all(claims.map((record) => claim(record, now)));
    const winners = outcomes.flatMap((outcome, i) => (outcome.claimed ? [claims[i]!] : []));
    assert.equal(winners.length, 1);
    for (const outcome of outcomes) {
      if (!outcome.claimed) assert.deepEqual(outcome.existing, winners[0]);
    }
  });

  test('an in-flight claim whose lease ended before now is taken over, not before', async () => {
    const abandoned = anIdempotencyRecord(user.id, { leaseUntil: now });
    await claim(abandoned, now - 60_000);
    const retry = { ...abandoned, fingerprint: 'retry', createdAt: now, leaseUntil: now + 60_000 };
    assert.deepEqual(await claim(retry, now), heldBy(abandoned));
    assert.deepEqual(await claim(retry, now + 1), taken);
    const later = { ...retry, fingerprint: 'later' };
    assert.deepEqual(await claim(later, now + 2), heldBy(retry));
  });

  test('of 10 concurrent takeovers of an abandoned claim exactly one wins', async () => {
    await claim(anIdempotencyRecord(user.id, { key: 'stale', leaseUntil: now - 1 }), now - 60_000);
    const takeovers = Array.from({ length: 10 }, () => anIdempotencyRecord(user.id, { key: 'stale', leaseUntil: now + 60_000 }));
    const outcomes = await Promise.all(takeovers.map((record) => claim(record, now)));
    assert.equal(outcomes.filter((outcome) => outcome.claimed).length, 1);
  });

  test('a completed key replays its result until it expires, then is claimed afresh', async () => {
    const { store } = scope;
    const first = anIdempotencyRecord(user.id, { leaseUntil: now, expiresAt: now + 1_000 });
    await claim(first, now - 1);
    await store.transaction((tx) => tx.idempotency.complete(user.id, first.key, '{"id":"p1"}'));
    const completed = { ...first, result: '{"id":"p1"}' };
    const retry = anIdempotencyRecord(user.id, { key: first.key, createdAt: now + 999 });
    // Lease long over, but a completed key is never "abandoned".
    assert.deepEqual(await claim(retry, now + 999), heldBy(completed));
    assert.deepEqual(await claim(retry, now + 1_000), taken);
    assert.deepEqual(await claim({ ...retry, fingerprint: 'x' }, now + 1_001), heldBy(retry));
  });

  test('complete in a transaction that rolls back leaves the claim in flight', async () => {
    const { store } = scope;
    const inFlight = anIdempotencyRecord(user.id);
    await claim(inFlight, now);
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.idempotency.complete(user.id, inFlight.key, '{"id":"lost"}');
        throw new Error('the write failed');
      }),
      /the write failed/,
    );
    assert.deepEqual(await claim({ ...inFlight, fingerprint: 'x' }, now), heldBy(inFlight));
  });

  test('release forgets an in-flight claim but never a completed one', async () => {
    const { store } = scope;
    const failed = anIdempotencyRecord(user.id);
    const done = anIdempotencyRecord(user.id);
    await claim(failed, now);
    await claim(done, now);
    await store.idempotency.complete(user.id, done.key, '"ok"');
    await store.idempotency.release(user.id, failed.key);
    await store.idempotency.release(user.id, done.key);
    assert.deepEqual(await claim({ ...failed, fingerprint: 'retry' }, now), taken);
    const retryOfDone = anIdempotencyRecord(user.id, { key: done.key });
    assert.deepEqual(await claim(retryOfDone, now), heldBy({ ...done, result: '"ok"' }));
  });

  test('deleteExpired removes exactly the records expired at now and counts them', async () => {
    const { store } = scope;
    const expiries = [now - 1, now, now + 1];
    const records = expiries.map((expiresAt) => anIdempotencyRecord(user.id, { expiresAt }));
    for (const record of records) await claim(record, now - 10);
    assert.equal(await store.idempotency.deleteExpired(now), 2);
    assert.equal(await store.idempotency.deleteExpired(now), 0);
    // The survivor is still there: a new claim of its key sees it.
    const survivor = records[2]!;
    assert.deepEqual(await claim({ ...survivor, fingerprint: 'x' }, now), heldBy(survivor));
  });
}
