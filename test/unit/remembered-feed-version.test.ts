import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { KyselyMetadataStore } from '../../src/adapters/metadata/kysely-metadata-store.js';
import { openPostgresMetadataStore } from '../../src/adapters/metadata/postgres.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { FeedService } from '../../src/core/posts/feed-service.js';
import { OpaqueCursor } from '../../src/core/posts/opaque-cursor.js';
import type { FeedChanges } from '../../src/ports/metadata-store.js';
import { untilHeard } from '../../src/ports/metadata-store.posts.contract.js';
import { eventually } from '../support/client.js';
import { createThrowawayPostgresDatabase, reachablePostgresUrl, type ThrowawayDatabase } from '../support/postgres.js';

const cursors = new OpaqueCursor('remembered-feed-version-test-secret');
const maxAgeMs = 1_000;

/** A clock that moves only when told to. */
function manualClock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** Resolves at the next news `changes` gives (subscribe before causing it). */
function nextNews(changes: FeedChanges): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe = changes.subscribe(() => {
      unsubscribe();
      resolve();
    });
  });
}

/** The store with a count of the statements it runs. */
function counted(open: (onQuery: (sql: string) => void) => KyselyMetadataStore) {
  const counter = { statements: 0 };
  return { store: open(() => counter.statements++), counter };
}

describe('feed version remembered between writes (SQLite, the only writing process)', () => {
  let dir: string;
  let store: KyselyMetadataStore;
  let counter: { statements: number };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-feed-version-'));
    ({ store, counter } = counted((onQuery) => openSqliteMetadataStore(join(dir, 'metadata.sqlite'), { onQuery })));
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a second read runs no SQL; a write of the process is read right after it is acknowledged', async () => {
    const clock = manualClock();
    const feed = new FeedService(store, cursors, { versionMaxAgeMs: maxAgeMs, now: clock.now });
    const start = await feed.version();
    const statements = counter.statements;
    assert.equal(await feed.version(), start);
    assert.equal(counter.statements, statements, 'from memory');
    await store.transaction((tx) => tx.feed.bump());
    assert.equal(await feed.version(), start + 1);
    await store.feed.bump();
    assert.equal(await feed.version(), start + 2);
    const remembered = counter.statements;
    assert.equal(await feed.version(), start + 2);
    assert.equal(counter.statements, remembered);
    feed.close();
  });

  test('a read racing a write is not remembered over it', async () => {
    const feed = new FeedService(store, cursors, { versionMaxAgeMs: maxAgeMs, now: manualClock().now });
    const start = await feed.version();
    await store.transaction((tx) => tx.feed.bump()); // forgets start
    const racing = feed.version();
    const write = store.transaction((tx) => tx.feed.bump());
    await Promise.all([racing, write]);
    assert.equal(await feed.version(), start + 2);
    feed.close();
  });

  test("a write by another connection to the file (the CLI, a second server) is read at once: SQLite's data_version moved", async () => {
    const clock = manualClock();
    const feed = new FeedService(store, cursors, { versionMaxAgeMs: maxAgeMs, now: clock.now });
    const start = await feed.version();
    const statements = counter.statements;
    assert.equal(await feed.version(), start);
    assert.equal(counter.statements, statements, 'from memory');
    const other = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    try {
      await other.transaction((tx) => tx.feed.bump());
    } finally {
      await other.close();
    }
    assert.equal(await feed.version(), start + 1, 'no delay, the clock never moved');
    const reread = counter.statements;
    assert.equal(await feed.version(), start + 1);
    assert.equal(counter.statements, reread, 'remembered again');
    feed.close();
  });

  test('a clock that went backwards proves nothing: the version is read again', async () => {
    const clock = manualClock();
    const feed = new FeedService(store, cursors, { versionMaxAgeMs: maxAgeMs, now: clock.now });
    await feed.version();
    const statements = counter.statements;
    clock.advance(-1);
    await feed.version();
    assert.equal(counter.statements, statements + 1);
    feed.close();
  });

  test('maxAgeMs 0 reads the version every time', async () => {
    const feed = new FeedService(store, cursors, { versionMaxAgeMs: 0 });
    await feed.version();
    const statements = counter.statements;
    await feed.version();
    assert.equal(counter.statements, statements + 1);
  });
});

// Probe once: null means unreachable and not required (TEST_POSTGRES_URL unset), so skip.
const probe = await reachablePostgresUrl();

describe('feed version remembered between writes (PostgreSQL, two processes)', { skip: probe === null && 'PostgreSQL not reachable' }, () => {
  let database: ThrowawayDatabase;
  let writer: KyselyMetadataStore;
  let reader: KyselyMetadataStore;
  let counter: { statements: number };
  let feed: FeedService;
  const clock = manualClock();
  before(async () => {
    const created = await createThrowawayPostgresDatabase();
    if (created === null) throw new Error('PostgreSQL went away during the run');
    database = created;
    // Two stores, two pools and two listening sessions: as two server processes have.
    writer = openPostgresMetadataStore(database.url);
    ({ store: reader, counter } = counted((onQuery) => openPostgresMetadataStore(database.url, { onQuery, feedChanges: { reconnectMs: 10 } })));
    await writer.migrate();
    // The clock never moves: whatever the reader learns, it learns from notices or SQL.
    feed = new FeedService(reader, cursors, { versionMaxAgeMs: maxAgeMs, now: clock.now });
    await feed.version(); // opens the listening session
    await untilHeard(reader.feedChanges);
  });
  after(async () => {
    feed?.close();
    await writer?.close();
    await reader?.close();
    await database?.drop();
  });

  test('a write of the process is read right after it is acknowledged', async () => {
    const start = await feed.version();
    const statements = counter.statements;
    assert.equal(await feed.version(), start);
    assert.equal(counter.statements, statements, 'from memory');
    await reader.transaction((tx) => tx.feed.bump());
    assert.equal(await feed.version(), start + 1);
  });

  test("another process's write is read once its notice arrives", async () => {
    const start = await feed.version();
    assert.equal(await feed.version(), start);
    const told = nextNews(reader.feedChanges);
    await writer.transaction((tx) => tx.feed.bump());
    await told;
    assert.equal(await feed.version(), start + 1);
    const statements = counter.statements;
    assert.equal(await feed.version(), start + 1);
    assert.equal(counter.statements, statements, 'remembered again');
  });

  test('while the listening session is lost every read goes to SQL; it reconnects and remembers again', async () => {
    const start = await feed.version();
    const lost = new Promise<void>((resolve) => {
      const unsubscribe = reader.feedChanges.subscribe(() => {
        if (reader.feedChanges.heard()) return;
        unsubscribe();
        resolve();
      });
    });
    // The server ends the session (as a restart or a network cut would).
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`);
    } finally {
      await admin.end();
    }
    await lost;
    // No notice can reach the reader now; its version must come from SQL.
    await writer.transaction((tx) => tx.feed.bump());
    const statements = counter.statements;
    assert.equal(await feed.version(), start + 1);
    assert.ok(counter.statements > statements, 'read from SQL');
    await untilHeard(reader.feedChanges);
    // If the session came back before the bump's NOTIFY went out, that notice still arrives and
    // rightly makes one more read go to SQL: wait until a read is served from memory again.
    await eventually(
      async () => {
        assert.equal(await feed.version(), start + 1);
        const remembered = counter.statements;
        assert.equal(await feed.version(), start + 1);
        return counter.statements === remembered ? true : undefined;
      },
      { what: 'the version to be remembered again once heard' },
    );
  });
});
