import type { Kysely } from 'kysely';
import type { EventType, NewEvent, StoredEvent } from '../../core/events/event.js';
import type { EventLog } from '../../ports/metadata-store.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './row-mapping.js';
import type { Database } from './schema.js';

/** The event log over Kysely: positions from an identity column, read only up to the dialect's horizon. */
export class KyselyEventLog implements EventLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async append(...events: NewEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const at = Date.now();
    const write = async (tx: Kysely<Database>): Promise<StoredEvent[]> => {
      await this.dialect.beforeEventAppend(tx);
      const inserted = await tx
        .insertInto('events')
        .values(events.map((event) => rows.eventToRow(event, at)))
        .returningAll()
        .execute();
      // RETURNING rows come in arbitrary order (https://sqlite.org/lang_returning.html), but
      // positions are assigned in VALUES order, so sorting by position restores the given order.
      return inserted.sort((a, b) => a.position - b.position).map(rows.eventFromRow);
    };
    // The appender's announcement lasts until commit, so an append outside a transaction gets its own.
    return this.db.isTransaction ? write(this.db) : this.db.transaction().execute(write);
  }

  async list(after: number, limit: number, types?: readonly EventType[]): Promise<StoredEvent[]> {
    const horizon = await this.dialect.eventHorizon(this.db);
    if (horizon !== null && horizon <= after) return [];
    let query = this.db.selectFrom('events').selectAll().where('position', '>', after).orderBy('position').limit(limit);
    if (horizon !== null) query = query.where('position', '<=', horizon);
    if (types !== undefined) query = query.where(this.dialect.isIn('type', types));
    return (await query.execute()).map(rows.eventFromRow);
  }

  async lastPosition(): Promise<number> {
    const horizon = await this.dialect.eventHorizon(this.db);
    let query = this.db.selectFrom('events').select((eb) => eb.fn.max('position').as('last'));
    if (horizon !== null) query = query.where('position', '<=', horizon);
    const row = await query.executeTakeFirst();
    return Number(row?.last ?? 0);
  }
}
