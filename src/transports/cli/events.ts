import { createApp } from '../../app.js';
import { fail, integerFlag, parseCommand } from './command-args.js';
import { cliLogger } from './cli-logger.js';

export const eventsUsage = `  events [--after <position>] [--limit N] [--follow]
            print the event log as JSON lines, in order; --follow keeps printing new events`;

const flags = { after: { type: 'string' }, limit: { type: 'string' }, follow: { type: 'boolean' } } as const;

/** `imagegram events`: a page of the event log, or (`--follow`) a tail of it until ^C. */
export async function eventsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('events', parsed.message);
  const after = integerFlag(parsed.flags.after, 0);
  const limit = integerFlag(parsed.flags.limit, 100);
  if (after === null) return fail('events', '--after must be an event position (a non-negative integer)');
  if (limit === null || limit < 1) return fail('events', '--limit must be a positive integer');
  const app = await createApp(parsed.config, cliLogger(parsed.config));
  const print = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
  try {
    if (!parsed.flags.follow) {
      const page = await app.services.events.page(after, limit);
      for (const event of page.events) print({ ...event, at: new Date(event.at).toISOString() });
      return 0;
    }
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // A closed pipe (`| head`) ends the tail too.
    process.stdout.once('error', stop);
    for await (const event of app.services.events.follow(after, { pollMs: 500, signal: abort.signal })) {
      print({ ...event, at: new Date(event.at).toISOString() });
    }
    return 0;
  } finally {
    await app.close();
  }
}
