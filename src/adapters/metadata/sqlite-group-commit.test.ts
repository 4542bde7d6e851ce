import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BetterSqlite3 } from './sqlite-driver.js';
import { type Kysely, sql } from 'kysely';
import { isAppError } from '../../core/errors.js';
import type { MetadataRepositories } from '../../ports/metadata-store.js';
import { aComment, anEvent, aUser } from '../../ports/metadata-store.support.contract.js';
import { openSqliteMetadataStore, type SqliteMetadataStoreOptions } from './sqlite.js';

// Group commit is invisible through the port (the contract suite passes with and without it);
// these tests check what it adds: shared commits, isolation inside a batch, and durability.

describe('SQLite group commit', () => {
  let dir: string;
  let files = 0;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'imagegram-group-commit-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  async function openMigrated(options: SqliteMetadataStoreOptions = {}) {
    const file = join(dir, `store-${++files}.sqlite`);
    const store = openSqliteMetadataStore(file, options);
    await store.migrate();
    // A second connection sees only what is committed (WAL: it never blocks the writer).
    const reader = new BetterSqlite3(file, { readonly: true });
    const committed = (id: string) => reader.prepare('select 1 from users where id = ?').get(id) !== undefined;
    const close = async () => {
      reader.close();
      await store.close();
    };
    return { file, store, committed, close };
  }

  test('200 concurrent transactions all commit and are all there after reopening', async () => {
    const { file, store, close } = await openMigrated();
    const users = Array.from({ length: 200 }, () => aUser());
    await Promise.all(users.map((user) => store.transaction((tx) => tx.users.insert(user))));
    await close();
    const reopened = openSqliteMetadataStore(file);
    assert.equal((await reopened.users.findByIds(users.map((u) => u.id))).length, 200);
    await reopened.close();
  });

  test('promises resolve exactly when another connection can see the data', async () => {
    const { store, committed, close } = await openMigrated();
    const users = Array.from({ length: 100 }, () => aUser());
    let sharedWithEarlierWork = 0;
    await Promise.all(
      users.map((user, i) =>
        store
          .transaction(async (tx) => {
            await tx.users.insert(user);
            assert.equal(committed(user.id), false, 'visible before its batch committed');
            // The previous work's row, seen here but not committed: one transaction, one commit.
            const previous = users[i - 1];
            if (previous && (await tx.users.findById(previous.id)) && !committed(previous.id)) {
              sharedWithEarlierWork++;
            }
          })
          .then(() => assert.equal(committed(user.id), true, 'acknowledged before commit')),
      ),
    );
    assert.ok(sharedWithEarlierWork > 0, 'no two transactions ever shared a commit');
    await close();
  });

  // Generous limits where a test needs its works in one batch, even on a slow, busy machine.
  const oneBatch = { groupCommit: { maxWorks: 64, maxBatchMs: 10_000 } };

  test('a throwing work rolls back alone; the rest of its batch commits', async () => {
    const { store, committed, close } = await openMigrated(oneBatch);
    const [first, doomed, third, fourth] = [aUser(), aUser(), aUser(), aUser()];
    const failure = new Error('work failed');
    // Requested in one tick, so they run in one batch (checked by the last one).
    const outcomes = await Promise.allSettled([
      store.transaction((tx) => tx.users.insert(first)),
      store.transaction(async (tx) => {
        await tx.users.insert(doomed);
        await tx.events.append(anEvent(doomed.id));
        throw failure;
      }),
      store.transaction((tx) => tx.users.insert(third)),
      // A write on the store joins the batch too, and its failure stays its own.
      store.users.insert(aUser({ username: first.username.toUpperCase() })),
      store.transaction(async (tx) => {
        await tx.users.insert(fourth);
        return (await tx.users.findById(first.id)) !== null && !committed(first.id);
      }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((outcomes[1] as PromiseRejectedResult).reason, failure);
    assert.ok(isAppError((outcomes[3] as PromiseRejectedResult).reason, 'USERNAME_TAKEN'));
    assert.equal((outcomes[4] as PromiseFulfilledResult<boolean>).value, true, 'not one batch');
    assert.deepEqual(
      [first, doomed, third, fourth].map((u) => committed(u.id)),
      [true, false, true, true],
    );
    assert.deepEqual(await store.events.list(0, 10), []);
    await close();
  });

  test('when the shared COMMIT fails, every work of the batch rejects', async () => {
    const { store, committed, close } = await openMigrated(oneBatch);
    const [early, late] = [aUser(), aUser()];
    const outcomes = await Promise.allSettled([
      store.transaction((tx) => tx.users.insert(early)),
      store.transaction(async (tx) => {
        // Deferred foreign keys are checked only at COMMIT: this makes the commit itself fail.
        await sql`pragma defer_foreign_keys = on`.execute(executorOf(tx));
        await tx.comments.insert(aComment('no-such-post', early.id));
      }),
      store.transaction((tx) => tx.users.insert(late)),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.deepEqual([committed(early.id), committed(late.id)], [false, false]);
    // The store goes on working after a failed batch.
    await store.transaction((tx) => tx.users.insert(early));
    assert.equal(committed(early.id), true);
    await close();
  });

  test('throughput of 200 concurrent small transactions, with and without (printed)', async (t) => {
    const batched = await openMigrated();
    const alone = await openMigrated({ groupCommit: false });
    const rate = async (store: typeof batched.store) => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 200 }, () =>
          store.transaction(async (tx) => {
            const user = aUser();
            await tx.users.insert(user);
            await tx.events.append(anEvent(user.id));
          }),
        ),
      );
      return 200 / ((performance.now() - started) / 1000);
    };
    // Alternating A/B pairs and the median ratio: this machine's timings swing between runs.
    await rate(batched.store); // warm-up: JIT and the first statements prepared
    await rate(alone.store);
    const pairs: Array<[number, number]> = [];
    for (let round = 0; round < 5; round++) pairs.push([await rate(batched.store), await rate(alone.store)]);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const withGroupCommit = median(pairs.map(([a]) => a));
    const withoutGroupCommit = median(pairs.map(([, b]) => b));
    const ratio = median(pairs.map(([a, b]) => a / b));
    t.diagnostic(
      `200 concurrent transactions, a WAL fsync per commit: ${withGroupCommit.toFixed(0)} tx/s with group ` +
        `commit, ${withoutGroupCommit.toFixed(0)} tx/s without (median ratio ${ratio.toFixed(1)}x)`,
    );
    await Promise.all([batched.close(), alone.close()]);
  });
});

/** The Kysely transaction behind `tx`, for SQL the port has no method for (tests only). */
function executorOf(tx: MetadataRepositories): Kysely<unknown> {
  return (tx.users as unknown as { db: Kysely<unknown> }).db;
}
