import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { ERRORS } from '@tus/utils';
import { createThrowawayPostgresDatabase } from '../../../test/support/postgres.js';
import { connectTestRedis, deleteKeysUnder, keysUnder, testRedisUrl, throwawayKeyPrefix } from '../../../test/support/redis.js';
import { type LockHoldingProcess, uploadLockerContract } from '../../ports/upload-locker.contract.js';
import type { UploadLocker } from '../../ports/upload-locker.js';
import { MemoryUploadLocker } from './memory-upload-locker.js';
import { advisoryKey, PostgresUploadLocker } from './postgres-upload-locker.js';
import { RedisUploadLocker } from './redis-upload-locker.js';
import { openUploadLocker } from './upload-locker.js';
import { spawnTracked } from '../../../test/support/processes.js';

const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));
const never = new AbortController().signal;

/** Runs the lock-holder child (test/support/upload-lock-holder.child.ts) and waits until it holds the lock. */
async function holdInChild(args: string[]): Promise<LockHoldingProcess> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'test/support/upload-lock-holder.child.ts', ...args], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  let askedToRelease = () => {};
  const asked = new Promise<void>((resolve) => (askedToRelease = resolve));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lock holder did not lock within 30 s:\n${output.join('\n')}`)), 30_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        output.push(line);
        if (line === 'locked') {
          clearTimeout(timer);
          resolve();
        }
        if (line === 'asked to release') askedToRelease();
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`lock holder exited before locking:\n${output.join('\n')}`));
      });
    });
  } catch (error) {
    await kill();
    throw error;
  }
  return { askedToRelease: asked, kill };
}

uploadLockerContract('memory', async () => {
  // One process: every "locker" is the same one, except those with their own timeout.
  const shared = new MemoryUploadLocker();
  return {
    open: async (options) => (options ? new MemoryUploadLocker(options) : shared),
    cleanup: async () => {},
  };
});

const database = await createThrowawayPostgresDatabase();
if (database === null) {
  test('UploadLocker contract: PostgreSQL', { skip: 'PostgreSQL not reachable' }, () => {});
} else {
  uploadLockerContract('PostgreSQL', async () => {
    const opened: UploadLocker[] = [];
    return {
      async open(options) {
        const locker = await PostgresUploadLocker.open(database.url, options);
        opened.push(locker);
        return locker;
      },
      holdInAnotherProcess: (id) => holdInChild(['postgres', database.url, id]),
      async cleanup() {
        await Promise.all(opened.map((locker) => locker.close()));
      },
    };
  });
}

const redisUrl = await testRedisUrl();
/** Short enough for the crash test to wait it out, long enough that a loaded machine still renews in time. */
const redisTtlMs = 1_500;
if (redisUrl === null) {
  test('UploadLocker contract: Redis', { skip: 'Redis not reachable' }, () => {});
} else {
  uploadLockerContract('Redis', async () => {
    const keyPrefix = throwawayKeyPrefix();
    const opened: { locker: UploadLocker; redis: Redis }[] = [];
    return {
      async open(options) {
        const redis = await connectTestRedis(redisUrl);
        const locker = await RedisUploadLocker.open(redis, { keyPrefix, ttlMs: redisTtlMs, ...options });
        opened.push({ locker, redis });
        return locker;
      },
      holdInAnotherProcess: (id) => holdInChild(['redis', redisUrl, id, keyPrefix, String(redisTtlMs)]),
      async cleanup() {
        for (const { locker, redis } of opened) {
          await locker.close();
          await deleteKeysUnder(redis, keyPrefix);
          redis.disconnect();
        }
      },
    };
  });
}

describe('PostgresUploadLocker beyond the contract', { skip: database === null && 'PostgreSQL not reachable' }, () => {
  test('holds one session advisory lock per upload, all on one connection, and frees them on unlock and on close', async () => {
    const locker = await PostgresUploadLocker.open(database!.url);
    const observer = new pg.Client({ connectionString: database!.url });
    await observer.connect();
    try {
      const ids = ['a', 'b', 'c'].map((c) => c.repeat(32));
      /** Backends holding each upload's advisory lock. */
      const holders = async (id: string) => {
        const [high, low] = advisoryKey(id);
        const { rows } = await observer.query<{ pid: number }>(
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objid = $2::oid AND objsubid = 2 AND granted",
          [high >>> 0, low >>> 0],
        );
        return rows.map((row) => row.pid);
      };
      const locks = ids.map((id) => locker.newLock(id));
      for (const lock of locks) await lock.lock(never, () => {});
      const pids: number[][] = [];
      for (const id of ids) pids.push(await holders(id));
      assert.deepEqual(
        pids.map((held) => held.length),
        [1, 1, 1],
      );
      assert.equal(new Set(pids.flat()).size, 1, 'one session holds them all');
      await locks[0]!.unlock();
      assert.deepEqual(await holders(ids[0]!), []);
      assert.equal((await holders(ids[1]!)).length, 1);
      await locker.close();
      for (const id of ids) assert.deepEqual(await holders(id), []);
    } finally {
      await observer.end();
    }
  });

  test('a session that breaks asks every holder to release, and the next lock opens a new one', async () => {
    const locker = await PostgresUploadLocker.open(database!.url);
    const observer = new pg.Client({ connectionString: database!.url });
    await observer.connect();
    try {
      let asked = () => {};
      const released = new Promise<void>((resolve) => (asked = resolve));
      const lock = locker.newLock('d'.repeat(32));
      await lock.lock(never, asked);
      const [high, low] = advisoryKey('d'.repeat(32));
      const { rows } = await observer.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objid = $2::oid", [
        high >>> 0,
        low >>> 0,
      ]);
      await observer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await released;
      await lock.unlock();
      const next = locker.newLock('d'.repeat(32));
      await next.lock(never, () => assert.fail('nobody holds it any more'));
      await next.unlock();
    } finally {
      await locker.close();
      await observer.end();
    }
  });

  test('the key is 64 bits of the id: distinct ids, distinct keys', () => {
    assert.notDeepEqual(advisoryKey('a'), advisoryKey('b'));
    assert.deepEqual(advisoryKey('a'), advisoryKey('a'));
  });
});

describe('RedisUploadLocker beyond the contract', { skip: redisUrl === null && 'Redis not reachable' }, () => {
  test('renews a held lock past its TTL, and deletes only its own key', async () => {
    const keyPrefix = throwawayKeyPrefix();
    const redis = await connectTestRedis(redisUrl!);
    const ttlMs = 600;
    const locker = await RedisUploadLocker.open(redis, { keyPrefix, ttlMs, acquireLockTimeoutMs: 4 * ttlMs });
    try {
      const lock = locker.newLock('b'.repeat(32));
      await lock.lock(never, () => {});
      assert.deepEqual(await keysUnder(redis, keyPrefix), [`${keyPrefix}upload-lock:${'b'.repeat(32)}`]);
      // A waiter gives up after four TTLs: only renewal kept the key that long.
      await assert.rejects(
        locker.newLock('b'.repeat(32)).lock(never, () => {}),
        (error) => error === ERRORS.ERR_LOCK_TIMEOUT,
      );
      // Another token's key is not ours to delete.
      await redis.set(`${keyPrefix}upload-lock:${'b'.repeat(32)}`, 'someone-else');
      await lock.unlock();
      assert.equal(await redis.get(`${keyPrefix}upload-lock:${'b'.repeat(32)}`), 'someone-else');
    } finally {
      await locker.close();
      await deleteKeysUnder(redis, keyPrefix);
      redis.disconnect();
    }
  });

  test('a holder whose key is taken from it is asked to release', async () => {
    const keyPrefix = throwawayKeyPrefix();
    const redis = await connectTestRedis(redisUrl!);
    const locker = await RedisUploadLocker.open(redis, { keyPrefix, ttlMs: 300 });
    try {
      let resolveAsked = () => {};
      const asked = new Promise<void>((resolve) => (resolveAsked = resolve));
      const lock = locker.newLock('c'.repeat(32));
      await lock.lock(never, resolveAsked);
      await redis.set(`${keyPrefix}upload-lock:${'c'.repeat(32)}`, 'someone-else');
      await asked;
      await lock.unlock();
    } finally {
      await locker.close();
      await deleteKeysUnder(redis, keyPrefix);
      redis.disconnect();
    }
  });
});

after(async () => {
  await database?.drop();
});

describe('openUploadLocker picks the shared locker the deployment has', () => {
  const log = { warn() {}, info() {} };
  test('SQLite without Redis: in memory', async () => {
    const locker = await openUploadLocker({ databaseUrl: 'sqlite:/tmp/x.db', redis: null, redisKeyPrefix: 'p:', log });
    assert.ok(locker instanceof MemoryUploadLocker);
    await locker.close();
  });

  test('PostgreSQL: advisory locks in that database, even with Redis configured', { skip: database === null && 'PostgreSQL not reachable' }, async () => {
    const redis = redisUrl === null ? null : await connectTestRedis(redisUrl);
    try {
      const locker = await openUploadLocker({ databaseUrl: database!.url, redis, redisKeyPrefix: 'p:', log });
      assert.ok(locker instanceof PostgresUploadLocker);
      await locker.close();
    } finally {
      redis?.disconnect();
    }
  });

  test('SQLite with Redis: Redis keys', { skip: redisUrl === null && 'Redis not reachable' }, async () => {
    const redis = await connectTestRedis(redisUrl!);
    try {
      const locker = await openUploadLocker({ databaseUrl: 'sqlite:/tmp/x.db', redis, redisKeyPrefix: throwawayKeyPrefix(), log });
      assert.ok(locker instanceof RedisUploadLocker);
      await locker.close();
    } finally {
      redis.disconnect();
    }
  });
});
