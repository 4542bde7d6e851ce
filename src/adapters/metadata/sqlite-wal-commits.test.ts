import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAppError } from '../../core/errors.js';
import { aUser } from '../../ports/metadata-store.support.contract.js';
import { BetterSqlite3 } from './sqlite-driver.js';
import { openSqliteMetadataStore } from './sqlite.js';

/** A datasync that waits to be let through, counting calls: what the store does while the disk works. */
function gatedDatasync() {
  const waiting: Array<() => void> = [];
  let calls = 0;
  let failWith: Error | null = null;
  return {
    datasync: async (wal: FileHandle) => {
      calls += 1;
      if (failWith) throw failWith;
      await new Promise<void>((resolve) => waiting.push(resolve));
      await wal.datasync();
    },
    get calls() {
      return calls;
    },
    get waiting() {
      return waiting.length;
    },
    releaseAll() {
      for (const resolve of waiting.splice(0)) resolve();
    },
    failNext(error: Error) {
      failWith = error;
    },
  };
}

/** Migrates `store`, letting every fdatasync of the migrations through. */
async function migrateThrough(gate: ReturnType<typeof gatedDatasync>, store: { migrate(): Promise<unknown> }): Promise<void> {
  let done = false;
  const migrating = store.migrate().finally(() => (done = true));
  while (!done) {
    gate.releaseAll();
    await turns(1);
  }
  await migrating;
}

/** The descriptors this process holds open on `file` (Linux's /proc). */
async function openDescriptorsOf(file: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === file) count += 1;
  }
  return count;
}

/** Lets pending I/O callbacks and timers run: enough for a query that is not held back to finish. */
const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('SQLite commits made durable off the event loop (WalCommits)', { timeout: 60_000 }, () => {
  let dir: string;
  let files = 0;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'imagegram-wal-commits-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  test("a write resolves only after the WAL's fdatasync returned, and no query runs on the connection meanwhile", async () => {
    const gate = gatedDatasync();
    const file = join(dir, `store-${++files}.sqlite`);
    const store = openSqliteMetadataStore(file, { walCommits: { datasync: gate.datasync } });
    await migrateThrough(gate, store);

    const user = aUser();
    let written = false;
    const write = store.users.insert(user).then(() => (written = true));
    while (gate.waiting === 0) await turns(1);
    let read = false;
    const reading = store.users.findById(user.id).then((found) => {
      read = true;
      return found;
    });
    await turns();
    assert.equal(written, false, 'acknowledged before the WAL was synced');
    assert.equal(read, false, 'a read ran on data a power cut could still lose');
    gate.releaseAll();
    await write;
    assert.equal((await reading)?.id, user.id);
    await store.close();
  });

  test('reads cost no fdatasync', async () => {
    const gate = gatedDatasync();
    const store = openSqliteMetadataStore(join(dir, `store-${++files}.sqlite`), { walCommits: { datasync: gate.datasync } });
    await migrateThrough(gate, store);
    const before = gate.calls;
    await store.users.findById('nobody');
    await store.users.findByIds(['a', 'b']);
    await store.ping();
    assert.equal(gate.calls, before);
    await store.close();
  });

  test('a failed fdatasync fails the write as STORAGE_UNAVAILABLE, and the store goes on', async () => {
    const gate = gatedDatasync();
    const store = openSqliteMetadataStore(join(dir, `store-${++files}.sqlite`), { walCommits: { datasync: gate.datasync } });
    await migrateThrough(gate, store);
    gate.failNext(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await assert.rejects(store.users.insert(aUser()), (error) => isAppError(error, 'STORAGE_UNAVAILABLE'));
    gate.failNext(null as unknown as Error);
    const later = aUser();
    const inserting = store.users.insert(later);
    while (gate.waiting === 0) await turns(1);
    gate.releaseAll();
    await inserting;
    assert.equal((await store.users.findById(later.id))?.id, later.id);
    await store.close();
  });

  test('checkpoints run on their own thread and keep the WAL from growing; everything is there after reopening', async () => {
    const file = join(dir, `store-${++files}.sqlite`);
    const store = openSqliteMetadataStore(file, { walCommits: { catchUpFrames: 64, checkpointEveryCommits: 1 } });
    await store.migrate();
    const users = Array.from({ length: 600 }, () => aUser());
    // One at a time: each its own commit, the way a trickle of requests writes.
    for (const user of users) await store.users.insert(user);
    const walBytes = (await stat(`${file}-wal`)).size;
    await store.close();
    // Each insert adds a few pages (the row, its indexes): ~600 × 3 × 4 KiB without checkpoints.
    assert.ok(walBytes < 2 * 1024 * 1024, `the WAL grew to ${walBytes} bytes`);
    const check = new BetterSqlite3(file, { readonly: true });
    try {
      assert.equal((check.prepare('select count(*) as n from users').get() as { n: number }).n, users.length);
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      check.close();
    }
  });

  test('the writer is held for a catch-up only after background passes brought the WAL close, never twice in a row', async () => {
    const file = join(dir, `store-${++files}.sqlite`);
    const kinds: string[] = [];
    const store = openSqliteMetadataStore(file, {
      walCommits: { catchUpFrames: 64, checkpointEveryCommits: 1, observe: (event) => void (event.kind !== 'sync' && kinds.push(event.kind)) },
    });
    try {
      await store.migrate();
      for (let i = 0; i < 600; i++) await store.users.insert(aUser());
    } finally {
      await store.close();
    }
    // A held catch-up is reported as its checkpoint, then `catch-up`; every other checkpoint ran
    // with the connection free. Count the free ones before each held one.
    const freeBefore: number[] = [];
    let free = 0;
    for (const [index, kind] of kinds.entries()) {
      if (kind === 'catch-up') {
        freeBefore.push(free);
        free = 0;
      } else if (kinds[index + 1] !== 'catch-up') free += 1;
    }
    // At least two: the pass that found the WAL long, then one that had little left to copy. (How
    // many catch-ups there are depends on timing: a free pass that took in the whole WAL before
    // the next commit lets the WAL start over with no catch-up at all.)
    // 600 commits at 64 frames a WAL: in practice ~16–25 catch-ups, so none at all means none was measured.
    assert.ok(freeBefore.length > 0, `no catch-up in ${kinds.length} checkpoint events`);
    assert.ok(
      freeBefore.every((count) => count >= 2),
      `background passes before each catch-up: ${freeBefore.join(', ')}`,
    );
  });

  test("closing the store ends the checkpoint thread with its connection and the database file's descriptor", {
    skip: process.platform !== 'linux' && 'reads /proc/self/fd',
  }, async () => {
    const file = join(dir, `store-${++files}.sqlite`);
    let checkpoints = 0;
    const store = openSqliteMetadataStore(file, {
      walCommits: { checkpointEveryCommits: 1, observe: (event) => void (checkpoints += Number(event.kind === 'checkpoint')) },
    });
    try {
      await store.migrate();
      await store.users.insert(aUser());
      while (checkpoints === 0) await store.users.insert(aUser());
      // The thread has run a checkpoint: its connection and its descriptor for syncing are open.
      assert.ok((await openDescriptorsOf(file)) >= 2);
    } finally {
      await store.close();
    }
    assert.equal(await openDescriptorsOf(file), 0);
  });
});
