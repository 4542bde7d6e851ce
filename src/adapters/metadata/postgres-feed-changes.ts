import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { LocalFeedChanges } from './feed-change-channel.js';

export interface PostgresFeedChangesOptions {
  /** The LISTEN/NOTIFY channel; every process of a deployment must use the same one. */
  channel?: string;
  /** Pause before reconnecting a lost listening session (default 1 s). */
  reconnectMs?: number;
}

const defaultChannel = 'imagegram_feed_version';

/**
 * FeedChanges for processes sharing one PostgreSQL database. After each of its bumping
 * transactions ends, a process NOTIFYs the channel (naming itself, so it ignores its own notices);
 * every process LISTENs on one dedicated session, opened at the first subscription. `heard()` is
 * true only while that session is listening; when it breaks, subscribers are told (so they stop
 * trusting what they remember) and it reconnects after `reconnectMs`.
 *
 * The NOTIFY is sent after the commit, not inside the transaction: a notifying transaction takes
 * a database-wide lock at commit, which would queue every feed write behind the others. The price
 * is that a process dying between its commit and its NOTIFY is not heard of; the expiry of a
 * remembered version (RememberedFeedVersion) bounds that, as it bounds a session that died
 * without the client noticing yet.
 */
export class PostgresFeedChanges extends LocalFeedChanges {
  readonly #id = randomUUID();
  readonly #channel: string;
  readonly #reconnectMs: number;
  #client: pg.Client | null = null;
  #listening = false;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  /** The NOTIFY in flight, and whether another write ended while it was. */
  #notifying: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    options: PostgresFeedChangesOptions = {},
  ) {
    super();
    this.#channel = options.channel ?? defaultChannel;
    this.#reconnectMs = options.reconnectMs ?? 1_000;
  }

  override heard(): boolean {
    return this.#listening;
  }

  override wrote(): void {
    this.emit();
    this.#notifyOthers();
  }

  override async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    this.#setListening(false);
    await client?.end().catch(() => {});
    // The pool closes right after: let the last NOTIFY go out first.
    while (this.#notifying !== null) await this.#notifying;
  }

  protected override started(): void {
    if (this.#client === null && this.#retry === undefined && !this.#closed) void this.#listen();
  }

  async #listen(): Promise<void> {
    this.#retry = undefined;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000, keepAlive: true });
    this.#client = client;
    client.on('notification', ({ channel, payload }) => {
      if (channel === this.#channel && payload !== this.#id) this.emit();
    });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      // Identifiers cannot be bound; quote it, doubling any quote inside.
      await client.query(`LISTEN "${this.#channel.replaceAll('"', '""')}"`);
    } catch {
      this.#lost(client);
      return;
    }
    // Bumps made before LISTEN took effect were never heard: the change of heard() says so.
    if (this.#client === client) this.#setListening(true);
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    void client.end().catch(() => {});
    this.#setListening(false);
    if (!this.#closed) this.#retry = setTimeout(() => void this.#listen(), this.#reconnectMs).unref();
  }

  #setListening(listening: boolean): void {
    if (this.#listening === listening) return;
    this.#listening = listening;
    this.emit();
  }

  /** One NOTIFY at a time; writes ending meanwhile share the next one (a notice carries no count). */
  #notifyOthers(): void {
    if (this.#notifying !== null) {
      this.#again = true;
      return;
    }
    this.#notifying = this.pool
      .query('SELECT pg_notify($1, $2)', [this.#channel, this.#id])
      .then(
        () => {},
        () => {},
      ) // lost news is what the expiry of remembered versions is for
      .finally(() => {
        this.#notifying = null;
        if (this.#again && !this.#closed) {
          this.#again = false;
          this.#notifyOthers();
        }
      });
  }
}
