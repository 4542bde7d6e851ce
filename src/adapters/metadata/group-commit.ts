import { type Kysely, sql } from 'kysely';
import type { MetadataRepositories } from '../../ports/metadata-store.js';
import type { Database } from './schema.js';

/** How large one shared commit may grow, so the latency a batch adds stays bounded. */
export interface GroupCommitLimits {
  /** The most works that share one commit. */
  readonly maxWorks: number;
  /** Once a batch has run works for this long, it commits; the rest wait for the next batch. */
  readonly maxBatchMs: number;
}

type Work<T> = (tx: MetadataRepositories) => Promise<T>;

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What the owner of a GroupCommit hears as its batches run; both are optional. */
export interface GroupCommitHooks {
  /** One work ended inside the batch: its savepoint was released (`kept`) or rolled back. */
  afterWork?(kept: boolean): void;
  /** A batch's transaction has ended, `committed` or not, before any of its works settles. */
  afterBatch?(committed: boolean): void;
}

interface Pending {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  outcome?: Outcome;
}

/**
 * Group commit for a database with one writer connection and an fsync per commit (SQLite with
 * synchronous=FULL): transactions requested while a commit is in progress are queued, then run
 * one after another inside ONE transaction and made durable by ONE commit, as PostgreSQL and
 * InnoDB let concurrent commits share a WAL fsync. Each work runs in its own SAVEPOINT,
 * so a failing work rolls back only its own writes and rejects only its own promise. Every promise
 * settles only after the shared COMMIT returned: nothing is acknowledged before it is durable, and
 * if the COMMIT fails every work of the batch rejects.
 */
export class GroupCommit {
  readonly #queue: Pending[] = [];
  /** The running flush loop, or null when idle. */
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repositoriesFor: (tx: Kysely<Database>) => MetadataRepositories,
    private readonly limits: GroupCommitLimits,
    private readonly hooks: GroupCommitHooks = {},
  ) {}

  /** Runs `work` in the next batch; resolves with its result once the batch has committed. */
  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** Resolves once every queued work has settled (call before closing the connection). */
  async drained(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  async #flush(): Promise<void> {
    do {
      // better-sqlite3 runs queries synchronously, so a batch never yields to I/O: requests
      // that arrived meanwhile are still unread. Yielding one macrotask lets them queue up and
      // join this batch instead of each paying an fsync of its own.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await this.#commitBatch();
    } while (this.#queue.length > 0);
    this.#flushing = null;
  }

  /** Runs and commits one batch; never throws (every outcome goes to the works' promises). */
  async #commitBatch(): Promise<void> {
    const batch = this.#queue.splice(0, this.limits.maxWorks);
    try {
      await this.db.transaction().execute(async (trx) => {
        const tx = this.repositoriesFor(trx);
        const started = performance.now();
        for (const [index, pending] of batch.entries()) {
          if (index > 0 && performance.now() - started > this.limits.maxBatchMs) {
            // Over budget: the works not yet run go first into the next batch, untouched.
            this.#queue.unshift(...batch.splice(index));
            break;
          }
          await runIsolated(trx, tx, pending);
          this.hooks.afterWork?.(pending.outcome?.ok === true);
        }
      });
    } catch (error) {
      this.hooks.afterBatch?.(false);
      // BEGIN, a savepoint command or COMMIT failed: nothing of this batch is durable.
      for (const pending of batch) {
        pending.reject(pending.outcome?.ok === false ? pending.outcome.error : error);
      }
      return;
    }
    this.hooks.afterBatch?.(true);
    for (const pending of batch) {
      const outcome = pending.outcome as Outcome;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    }
  }
}

/**
 * Runs one work inside a savepoint of the batch's transaction: on failure its writes are undone
 * (ROLLBACK TO keeps the savepoint open, RELEASE then closes it:
 * https://sqlite.org/lang_savepoint.html) and the batch goes on. A failing savepoint command
 * itself throws, and fails the whole batch.
 */
async function runIsolated(trx: Kysely<Database>, tx: MetadataRepositories, pending: Pending): Promise<void> {
  await sql`savepoint group_commit_work`.execute(trx);
  try {
    pending.outcome = { ok: true, value: await pending.work(tx) };
  } catch (error) {
    pending.outcome = { ok: false, error };
    await sql`rollback to group_commit_work`.execute(trx);
  }
  await sql`release group_commit_work`.execute(trx);
}
