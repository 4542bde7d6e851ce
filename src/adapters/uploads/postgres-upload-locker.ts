import { createHash } from 'node:crypto';
import type { Lock, RequestRelease } from '@tus/utils';
import pg from 'pg';
import type { UploadLocker } from '../../ports/upload-locker.js';
import { acquireWithin, HeldLock, HeldLocks, type LockerLog, ReleaseNotices, unavailable, unavailableOnFailure } from './lock-waiting.js';

export interface PostgresUploadLockerOptions {
  /** Longest `lock()` waits before ERR_LOCK_TIMEOUT (default 30 s, as @tus/server's MemoryLocker). */
  acquireLockTimeoutMs?: number;
  /** Most connections held at once: one per upload request in flight, plus waiters' attempts (default 20). */
  maxConnections?: number;
  /** The LISTEN/NOTIFY channel; every process of a deployment must use the same one. */
  channel?: string;
  log?: LockerLog;
}

const defaultChannel = 'imagegram_upload_locks';
// Notice payloads: a waiter asks the holder of an upload to let go; a holder that was asked says it did.
const releaseRequest = 'r:';
const released = 'u:';

/**
 * Upload locks shared by every process on one PostgreSQL database: a session-level advisory lock
 * (`pg_try_advisory_lock(int4, int4)`, 64 bits of SHA-256 of the upload id) taken on a pooled
 * connection that is held, out of the pool, for as long as the lock is. A process that dies
 * closes its connections and PostgreSQL frees its locks at once; nothing has to expire.
 *
 * Release requests travel over LISTEN/NOTIFY on one channel, naming the upload: a waiter that
 * fails to take the lock NOTIFYs, and whichever process holds the upload calls its holder's
 * `requestRelease` (tus cancels that request, which unlocks). The holder NOTIFYs again when it
 * unlocks, so waiters retry at once instead of at their next short pause.
 */
export class PostgresUploadLocker implements UploadLocker {
  private readonly held = new HeldLocks();
  private readonly notices = new ReleaseNotices();
  /** Connections holding a lock, so close() can give them up. */
  private readonly holding = new Set<pg.PoolClient>();
  private listener: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;
  private readonly channel: string;

  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    options: PostgresUploadLockerOptions,
    private readonly log: LockerLog | undefined,
  ) {
    this.timeoutMs = options.acquireLockTimeoutMs ?? 30_000;
    this.channel = options.channel ?? defaultChannel;
  }

  /** Connects the notice listener (so release requests are heard from the first lock on) and returns the locker. */
  static async open(url: string, options: PostgresUploadLockerOptions = {}): Promise<PostgresUploadLocker> {
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 20, connectionTimeoutMillis: 5_000 });
    // An idle connection whose server went away errors on the pool; the next attempt gets a new one.
    pool.on('error', () => {});
    const locker = new PostgresUploadLocker(url, pool, options, options.log);
    try {
      await locker.listen();
    } catch (error) {
      await pool.end();
      throw unavailable(error);
    }
    return locker;
  }

  newLock(id: string): Lock {
    const [high, low] = advisoryKey(id);
    let client: pg.PoolClient | null = null;
    let holder: HeldLock | null = null;
    let lost = false;
    const onLost = () => {
      // The connection broke: PostgreSQL has freed the lock, so the request must stop writing.
      lost = true;
      holder?.askedToRelease();
    };
    return {
      lock: async (signal: AbortSignal, requestRelease: RequestRelease) => {
        await acquireWithin(id, signal, this.timeoutMs, this.notices, {
          tryAcquire: async () => {
            const connection = await unavailableOnFailure(() => this.pool.connect());
            let acquired = false;
            try {
              const result = await connection.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [high, low]);
              acquired = result.rows[0]?.locked === true;
            } catch (error) {
              connection.release(true);
              throw unavailable(error);
            }
            if (!acquired) {
              connection.release();
              return false;
            }
            client = connection;
            holder = new HeldLock(requestRelease);
            this.held.add(id, holder);
            this.holding.add(connection);
            connection.on('error', onLost);
            return true;
          },
          requestRelease: () => this.notify(releaseRequest, id),
        });
      },
      unlock: async () => {
        const connection = client;
        const lock = holder;
        if (!connection || !lock) return;
        client = null;
        holder = null;
        this.held.delete(id, lock);
        this.holding.delete(connection);
        connection.off('error', onLost);
        if (lost) {
          connection.release(true);
          return;
        }
        try {
          await connection.query('SELECT pg_advisory_unlock($1, $2)', [high, low]);
          if (lock.wanted) await connection.query('SELECT pg_notify($1, $2)', [this.channel, released + id]);
          connection.release();
        } catch {
          // Closing the session frees the lock just as well.
          connection.release(true);
        }
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    // Destroying a holding connection frees its lock; a request still writing was told to stop.
    for (const lock of this.held.all()) lock.askedToRelease();
    for (const connection of this.holding) connection.release(true);
    this.holding.clear();
    await this.listener?.end().catch(() => {});
    this.listener = null;
    await this.pool.end();
  }

  /** NOTIFYs the channel: every process's listener (this one's too) hears it. */
  private async notify(kind: string, id: string): Promise<void> {
    await unavailableOnFailure(() => this.pool.query('SELECT pg_notify($1, $2)', [this.channel, kind + id]));
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
    client.on('notification', ({ channel, payload }) => {
      if (channel !== this.channel || payload === undefined) return;
      if (payload.startsWith(releaseRequest)) this.held.requestRelease(payload.slice(releaseRequest.length));
      else if (payload.startsWith(released)) this.notices.released(payload.slice(released.length));
    });
    let failed = false;
    const onFailure = (error?: Error) => {
      if (failed) return;
      failed = true;
      client.end().catch(() => {});
      // A connection that never listened is the caller's failure to report.
      if (this.closed || this.listener !== client) return;
      this.listener = null;
      // Until it is back, holders are not asked to let go: waiters wait for them to finish, or time out.
      this.log?.warn({ err: error }, 'upload lock notices lost; reconnecting');
      this.reconnectTimer = setTimeout(() => void this.reconnect(), 1_000).unref();
    };
    client.on('error', onFailure);
    client.on('end', () => onFailure());
    try {
      await client.connect();
      // Identifiers cannot be bound; quote it, doubling any quote inside.
      await client.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
    } catch (error) {
      failed = true;
      await client.end().catch(() => {});
      throw error;
    }
    this.listener = client;
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    try {
      await this.listen();
      this.log?.info('upload lock notices restored');
    } catch {
      if (!this.closed) this.reconnectTimer = setTimeout(() => void this.reconnect(), 2_000).unref();
    }
  }
}

/** Two int4 keys for the two-key advisory lock space (apart from single-bigint locks such as migrations'). */
export function advisoryKey(id: string): [number, number] {
  const digest = createHash('sha256').update(`upload:${id}`).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}
