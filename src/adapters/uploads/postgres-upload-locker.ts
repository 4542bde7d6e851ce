import { createHash } from 'node:crypto';
import type { Lock, RequestRelease } from '@tus/utils';
import pg from 'pg';
import type { UploadLocker } from '../../ports/upload-locker.js';
import { acquireWithin, HeldLock, HeldLocks, type LockerLog, ReleaseNotices, unavailable } from './lock-waiting.js';

export interface PostgresUploadLockerOptions {
  /** Longest `lock()` waits before ERR_LOCK_TIMEOUT (default 30 s, as @tus/server's MemoryLocker). */
  acquireLockTimeoutMs?: number;
  /** The LISTEN/NOTIFY channel; every process of a deployment must use the same one. */
  channel?: string;
  log?: LockerLog;
}

const defaultChannel = 'imagegram_upload_locks';
// Notice payloads: a waiter asks the holder of an upload to let go; a holder that was asked says it did.
const releaseRequest = 'r:';
const released = 'u:';
/** A statement slower than this ends the session (see `query`). */
const queryTimeoutMs = 10_000;

/** The process's one session: it holds every lock the process has and listens for notices. */
interface Session {
  client: pg.Client;
  /** Whether it broke (or was closed): its locks are gone. */
  lost: boolean;
  /** The last statement sent: the next waits for it (one at a time on a connection, in order). */
  queue: Promise<unknown>;
}

/**
 * Upload locks shared by every process on one PostgreSQL database: session-level advisory locks
 * (`pg_try_advisory_lock(int4, int4)` on 64 bits of SHA-256 of the upload id), all held by one
 * connection per process, which also LISTENs for release requests. A process that dies closes it
 * and PostgreSQL frees all its locks at once; nothing has to expire. Within the process one
 * request at a time holds an upload (advisory locks are re-entrant within a session, so the
 * process keeps its own map of holders), and a busy process still needs one connection, not one
 * per upload in flight.
 *
 * Release requests travel over NOTIFY on one channel, naming the upload: a waiter that fails to
 * take the lock NOTIFYs, and whichever process holds the upload calls its holder's
 * `requestRelease` (tus cancels that request, which unlocks). A holder that was asked NOTIFYs when
 * it unlocks, so waiters retry at once instead of at their next short pause.
 *
 * If the session breaks, every lock it held is gone: each holder is asked to release (its request
 * must stop writing), and the next attempt opens a new session.
 */
export class PostgresUploadLocker implements UploadLocker {
  private readonly held = new HeldLocks();
  private readonly notices = new ReleaseNotices();
  /** The local holder of each upload this process holds (or is taking). */
  private readonly holders = new Map<string, object>();
  private session: Promise<Session> | null = null;
  /** What `session` resolved to, to forget it synchronously when it breaks. */
  private opened: Session | null = null;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly channel: string;

  private constructor(
    private readonly url: string,
    options: PostgresUploadLockerOptions,
    private readonly log: LockerLog | undefined,
  ) {
    this.timeoutMs = options.acquireLockTimeoutMs ?? 30_000;
    this.channel = options.channel ?? defaultChannel;
  }

  /** Opens the session (so release requests are heard from the first lock on) and returns the locker. */
  static async open(url: string, options: PostgresUploadLockerOptions = {}): Promise<PostgresUploadLocker> {
    const locker = new PostgresUploadLocker(url, options, options.log);
    await locker.currentSession();
    return locker;
  }

  newLock(id: string): Lock {
    const [high, low] = advisoryKey(id);
    const me = {};
    let holding: { session: Session; lock: HeldLock } | null = null;
    return {
      lock: async (signal: AbortSignal, requestRelease: RequestRelease) => {
        await acquireWithin(id, signal, this.timeoutMs, this.notices, {
          tryAcquire: async () => {
            // Another request of this process holds it: the session would grant it again.
            if (this.holders.has(id)) return false;
            this.holders.set(id, me);
            try {
              const session = await this.currentSession();
              const result = await this.query<{ locked: boolean }>(session, 'SELECT pg_try_advisory_lock($1, $2) AS locked', [high, low]);
              if (result.rows[0]?.locked !== true) {
                this.holders.delete(id);
                return false;
              }
              const lock = new HeldLock(requestRelease);
              holding = { session, lock };
              this.held.add(id, lock);
              return true;
            } catch (error) {
              this.holders.delete(id);
              throw error;
            }
          },
          requestRelease: async () => {
            await this.query(await this.currentSession(), 'SELECT pg_notify($1, $2)', [this.channel, releaseRequest + id]);
          },
        });
      },
      unlock: async () => {
        if (!holding) return;
        const { session, lock } = holding;
        holding = null;
        this.held.delete(id, lock);
        try {
          // A lost session freed the lock already; a new one never held it.
          if (!session.lost) await this.query(session, 'SELECT pg_advisory_unlock($1, $2)', [high, low]);
        } catch {
          // query() ended the session, which frees the lock just as well.
        } finally {
          if (this.holders.get(id) === me) this.holders.delete(id);
        }
        if (lock.wanted && !session.lost) await this.query(session, 'SELECT pg_notify($1, $2)', [this.channel, released + id]).catch(() => {});
      },
    };
  }

  /** Ends the session, which frees every lock it holds; requests still holding one are told to stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const session = await this.session?.catch(() => null);
    if (!session) return;
    this.lose(session);
    await session.client.end().catch(() => {});
  }

  /** The open session, connecting (and listening) when there is none or it broke. */
  private currentSession(): Promise<Session> {
    if (this.closed) return Promise.reject(unavailable(new Error('the upload locker is closed')));
    this.session ??= this.connect().then(
      (session) => (this.opened = session),
      (error: unknown) => {
        this.session = null;
        throw unavailable(error);
      },
    );
    return this.session;
  }

  private async connect(): Promise<Session> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
    const session: Session = { client, lost: false, queue: Promise.resolve() };
    client.on('notification', ({ channel, payload }) => {
      if (channel !== this.channel || payload === undefined) return;
      if (payload.startsWith(releaseRequest)) this.held.requestRelease(payload.slice(releaseRequest.length));
      else if (payload.startsWith(released)) this.notices.released(payload.slice(released.length));
    });
    const broken = (error?: Error) => {
      if (session.lost || this.closed) return;
      this.log?.warn({ err: error }, 'upload lock session lost: its locks are freed and their requests stopped');
      this.lose(session);
    };
    client.on('error', broken);
    client.on('end', () => broken());
    try {
      await client.connect();
      // Identifiers cannot be bound; quote it, doubling any quote inside.
      await client.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
    } catch (error) {
      session.lost = true;
      await client.end().catch(() => {});
      throw error;
    }
    return session;
  }

  /** Forgets a session whose locks are gone, asking every request that held one to stop. */
  private lose(session: Session): void {
    if (session.lost) return;
    session.lost = true;
    void session.client.end().catch(() => {});
    if (this.opened === session) {
      this.opened = null;
      this.session = null;
    }
    // Every held lock was this session's: there is one at a time, and a new one opens only now.
    for (const lock of this.held.all()) lock.askedToRelease();
  }

  /**
   * Runs a statement on the session. Any failure ends the session: a statement that timed out
   * here may still have taken a lock there, and only closing the session frees it for sure.
   */
  private async query<R extends pg.QueryResultRow>(session: Session, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (session.lost) throw unavailable(new Error('the upload lock session was lost'));
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = session.queue.then(() => session.client.query<R>(text, values));
      session.queue = result.catch(() => {});
      return await Promise.race([
        result,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`upload lock statement took over ${queryTimeoutMs} ms`)), queryTimeoutMs);
        }),
      ]);
    } catch (error) {
      this.lose(session);
      throw unavailable(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Two int4 keys for the two-key advisory lock space (apart from single-bigint locks such as migrations'). */
export function advisoryKey(id: string): [number, number] {
  const digest = createHash('sha256').update(`upload:${id}`).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}
