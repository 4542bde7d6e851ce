import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createResettablePostgresDatabase, type ThrowawayDatabase } from '../../../test/support/postgres.js';
import type { StoredEvent } from '../../core/events/event.js';
import { metadataStoreContract } from '../../ports/metadata-store.contract.js';
import type { MetadataRepositories } from '../../ports/metadata-store.js';
import { aComment, anEvent, anImage, aPost, aUser } from '../../ports/metadata-store.support.contract.js';
import type { KyselyMetadataStore } from './kysely-metadata-store.js';
import { openPostgresMetadataStore } from './postgres.js';

// One migrated database for the whole file, emptied before each test (null: unreachable and not
// required, so skip). Migrating an empty PostgreSQL database, concurrently, is covered in
// kysely-metadata-store.test.ts.
const shared = await createResettablePostgresDatabase(async (url) => {
  const store = openPostgresMetadataStore(url);
  await store.migrate();
  await store.close();
});
after(() => shared?.drop());

metadataStoreContract(
  'PostgreSQL',
  async () => {
    if (shared === null) throw new Error('PostgreSQL went away during the run');
    await shared.reset();
    const queries: string[] = [];
    const store = openPostgresMetadataStore(shared.url, { onQuery: (sql) => queries.push(sql) });
    return { store, cleanup: () => store.close(), queries };
  },
  { skip: shared === null && 'PostgreSQL not reachable' },
);

// Two stores (two pools, as two server processes would have) on one database: writers must not
// queue behind each other's commits, and readers must still see the event log in order.
describe('PostgreSQL: concurrent writers from two pools', { skip: shared === null && 'PostgreSQL not reachable' }, () => {
  let database: ThrowawayDatabase;
  let first: KyselyMetadataStore;
  let second: KyselyMetadataStore;
  before(async () => {
    if (shared === null) throw new Error('PostgreSQL went away during the run');
    await shared.reset();
    database = shared;
    first = openPostgresMetadataStore(database.url);
    second = openPostgresMetadataStore(database.url);
    await first.migrate();
  });
  after(async () => {
    await first?.close();
    await second?.close();
  });

  /** Runs `work` in a transaction of `store` that stays open until the returned `commit` is called. */
  async function heldOpen(store: KyselyMetadataStore, work: (tx: MetadataRepositories) => Promise<void>) {
    let commit!: () => void;
    const gate = new Promise<void>((resolve) => (commit = resolve));
    let ready!: () => void;
    const worked = new Promise<void>((resolve) => (ready = resolve));
    const committed = store.transaction(async (tx) => {
      await work(tx);
      ready();
      await gate;
    });
    await Promise.race([worked, committed]);
    return {
      commit: () => {
        commit();
        return committed;
      },
    };
  }

  test('a later position commits first: readers see neither until the earlier one commits, then both in order', async () => {
    const start = await second.events.lastPosition();
    let early: StoredEvent[] = [];
    const slow = await heldOpen(first, async (tx) => {
      early = await tx.events.append(anEvent('early'));
    });
    // Completes while `slow` is still open: appenders do not wait for each other.
    const [late] = await second.events.append(anEvent('late'));
    assert.ok(late!.position > early[0]!.position);
    assert.deepEqual(await second.events.list(start, 10), []);
    assert.deepEqual(await first.events.list(start, 10), []);
    assert.equal(await second.events.lastPosition(), start);
    await slow.commit();
    assert.deepEqual(
      (await second.events.list(start, 10)).map((e) => e.subjectId),
      ['early', 'late'],
    );
    assert.equal(await second.events.lastPosition(), late!.position);
  });

  test('a rolled-back append leaves no hole readers wait on', async () => {
    const start = await second.events.lastPosition();
    const failed = first.transaction(async (tx) => {
      await tx.events.append(anEvent('rolled back'));
      throw new Error('undo');
    });
    await assert.rejects(failed, /undo/);
    const [kept] = await second.events.append(anEvent('kept'));
    assert.deepEqual(
      (await first.events.list(start, 10)).map((e) => e.subjectId),
      ['kept'],
    );
    assert.equal(await first.events.lastPosition(), kept!.position);
  });

  test('comments.add is one statement; it waits neither for an open writer nor lets readers past its event', async () => {
    const author = aUser();
    const image = anImage(author.id, { status: 'ready' });
    const post = aPost(author.id, image.id);
    await first.transaction(async (tx) => {
      await tx.users.insert(author);
      await tx.images.insertOrGetExisting(image);
      await tx.posts.insert(post);
    });
    const start = await second.events.lastPosition();
    const version = await second.feed.version();
    // An open transaction holding a feed counter and an announced, uncommitted event position.
    const slow = await heldOpen(first, async (tx) => {
      await tx.feed.bump();
      await tx.events.append(anEvent('early'));
    });
    const statements: string[] = [];
    const counted = openPostgresMetadataStore(database.url, { onQuery: (sql) => statements.push(sql) });
    try {
      const comment = aComment(post.id, author.id);
      // Completes while `slow` is open: it picks another counter and does not wait on the appender lock.
      assert.equal(await counted.comments.add(comment, anEvent(comment.id)), true);
      assert.equal(statements.length, 1);
      assert.equal(await second.feed.version(), version + 1);
      assert.deepEqual(await second.events.list(start, 10), []);
      await slow.commit();
      assert.deepEqual(
        (await second.events.list(start, 10)).map((e) => e.subjectId),
        ['early', comment.id],
      );
      assert.equal(await second.feed.version(), version + 2);
    } finally {
      await counted.close();
    }
  });

  test('posts.add waiting on an image being deleted: false once the delete commits, nothing written', async () => {
    const author = aUser();
    const image = anImage(author.id, { status: 'ready' });
    await first.transaction(async (tx) => {
      await tx.users.insert(author);
      await tx.images.insertOrGetExisting(image);
    });
    const version = await second.feed.version();
    const lastEvent = await second.events.lastPosition();
    const deleting = await heldOpen(first, async (tx) => void (await tx.images.delete(image.id)));
    const post = aPost(author.id, image.id);
    let settled = false;
    const adding = second.posts.add(post, anEvent(post.id)).finally(() => (settled = true));
    // Its foreign-key check waits on the deleting transaction's row lock; commit only then (or
    // when it settled without waiting, which the assertions below then report).
    const watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
    try {
      while (!settled) {
        const { rows } = await watcher.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%insert into posts%'`);
        if (rows.length > 0) break;
      }
    } finally {
      await watcher.end();
    }
    await deleting.commit();
    assert.equal(await adding, false);
    assert.equal(await second.posts.findById(post.id), null);
    assert.equal(await second.feed.version(), version);
    assert.equal(await second.events.lastPosition(), lastEvent);
  });

  test('feed bumps do not wait for each other; the version counts exactly the committed ones', async () => {
    const start = await second.feed.version();
    const slow = await heldOpen(first, (tx) => tx.feed.bump());
    // Completes while `slow` holds its counter until commit.
    await second.transaction((tx) => tx.feed.bump());
    assert.equal(await second.feed.version(), start + 1);
    await slow.commit();
    assert.equal(await first.feed.version(), start + 2);
    // Bumping twice in one transaction counts twice (and does not wait on itself).
    await first.transaction(async (tx) => {
      await tx.feed.bump();
      await tx.feed.bump();
    });
    assert.equal(await second.feed.version(), start + 4);
  });
});
