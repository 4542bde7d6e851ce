import type { Repositories } from '../../ports/store-slice.js';
import type { StoredEvent } from './event.js';

/** Paging through the event log for audit (`GET /admin/events`, `imagegram events`). */
export class EventLogReader {
  constructor(private readonly store: Repositories<'events'>) {}

  /** Up to `limit` events after position `after`, in order, and the position to continue from. */
  async page(after: number, limit: number): Promise<{ events: StoredEvent[]; nextAfter: number }> {
    const events = await this.store.events.list(after, limit);
    return { events, nextAfter: events.length > 0 ? events[events.length - 1]!.position : after };
  }

  /**
   * Every event after `after`, then each new one as it is committed (polling every `pollMs`),
   * until `signal` aborts. Positions become visible in order, so none is ever skipped.
   */
  async *follow(after: number, options: { pollMs: number; signal: AbortSignal; batch?: number }): AsyncGenerator<StoredEvent> {
    let position = after;
    while (!options.signal.aborted) {
      const { events, nextAfter } = await this.page(position, options.batch ?? 500);
      yield* events;
      position = nextAfter;
      if (events.length === 0) await sleep(options.pollMs, options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
