import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteFeedChanges } from './feed-change-channel.js';
import { BetterSqlite3, type SqliteDatabase } from './sqlite-driver.js';

/** The next turn of the event loop (after this turn's immediates). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SqliteFeedChanges: another connection’s commits, heard once per turn of the event loop', () => {
  let dir: string;
  let mine: SqliteDatabase;
  let other: SqliteDatabase;
  let readings = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-feed-changes-'));
    mine = new BetterSqlite3(join(dir, 'feed.sqlite'));
    mine.pragma('journal_mode = WAL');
    mine.exec('create table bumps (n integer)');
    other = new BetterSqlite3(join(dir, 'feed.sqlite'));
  });
  after(async () => {
    mine.close();
    other.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** SqliteFeedChanges on `mine`, counting its PRAGMA data_version readings. */
  function watching(): { changes: SqliteFeedChanges; told: () => number } {
    const changes = new SqliteFeedChanges();
    changes.bind({
      prepare(sql) {
        const statement = mine.prepare(sql).pluck();
        return {
          pluck: () => ({
            get: () => {
              readings++;
              return statement.get();
            },
          }),
        };
      },
    });
    let told = 0;
    changes.subscribe(() => told++);
    return { changes, told: () => told };
  }

  test('many calls in one turn take one reading; the next turn takes another', async () => {
    await nextTurn();
    const { changes } = watching();
    readings = 0;
    for (let call = 0; call < 5; call++) assert.equal(changes.heard(), true);
    assert.equal(readings, 1);
    await nextTurn();
    assert.equal(changes.heard(), true);
    assert.equal(readings, 2);
  });

  test('a commit by another connection is heard at the first call of the next turn: false once, listeners told, then true', async () => {
    await nextTurn();
    const { changes, told } = watching();
    assert.equal(changes.heard(), true);
    other.prepare('insert into bumps values (1)').run();
    // Same turn: whatever asks now arrived before this turn began, before the commit.
    assert.equal(changes.heard(), true);
    assert.equal(told(), 0);
    await nextTurn();
    assert.equal(changes.heard(), false, 'the version may have moved: read it again');
    assert.equal(told(), 1);
    assert.equal(changes.heard(), true);
    await nextTurn();
    assert.equal(changes.heard(), true, 'nothing new');
    assert.equal(told(), 1);
  });

  test('a commit before the turn’s first call is heard by that call', async () => {
    await nextTurn();
    const { changes, told } = watching();
    assert.equal(changes.heard(), true);
    await nextTurn();
    other.prepare('insert into bumps values (2)').run();
    assert.equal(changes.heard(), false);
    assert.equal(told(), 1);
  });
});
