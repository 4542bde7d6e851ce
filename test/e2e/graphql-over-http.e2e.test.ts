import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AuditResult, serverAudits } from 'graphql-http';
import { startServer, type RunningServer } from '../support/server.js';

/**
 * The GraphQL-over-HTTP conformance audits of graphql-http, run against the real server with
 * introspection on (several audits ask for `__type`). Every MUST and SHOULD has to pass; a MAY
 * we deliberately do not follow is listed below with the reason.
 */
const answerWithinMs = 5000;

/** MAY audits we do not follow, by id, and why. */
const declinedMays: Record<string, string> = {};

describe('GraphQL over HTTP: the graphql-http server audits', () => {
  let server: RunningServer | undefined;
  // Built before the server starts (node:test needs the tests up front); the URL is read per call.
  const audits = serverAudits({
    url: () => `${server!.baseUrl}/graphql`,
    fetchFn: (input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, { ...init, signal: AbortSignal.timeout(answerWithinMs) }),
  });

  before(async () => {
    server = await startServer({ env: { GRAPHQL_INTROSPECTION: 'true' } });
  });
  after(() => server?.cleanup());

  for (const audit of audits) {
    const declined = declinedMays[audit.id];
    it(`${audit.id} ${audit.name}`, { todo: declined }, async () => {
      const result = await audit.fn();
      assert.equal(result.status, 'ok', await explain(result));
    });
  }
});

async function explain(result: AuditResult): Promise<string> {
  if (result.status === 'ok') return 'ok';
  const body = await result.response.text().catch(() => '<unreadable>');
  return `${result.reason}\n${result.response.status} ${result.response.headers.get('content-type')}\n${body.slice(0, 500)}`;
}
