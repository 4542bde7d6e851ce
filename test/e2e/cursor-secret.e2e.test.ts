import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPost, distinctPng, problemOf, signUpAndLogIn } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

interface FeedPage {
  posts: { id: string }[];
  nextCursor: string | null;
}

describe('page cursors are signed with a cursor secret of their own, not the admin token', () => {
  let server: RunningServer;
  let cursor: string;
  let secondPostId: string;

  const page = async (query: string) => fetch(`${server.baseUrl}/posts${query}`);
  /** Restarts the server (same data dir and database) with `env` changed; restart() reuses `server.env`. */
  const restartWith = async (env: Record<string, string | undefined>) => {
    await server.stop();
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete server.env[name];
      else server.env[name] = value;
    }
    server = await server.restart();
  };

  before(async () => {
    server = await startServer();
    const ada = await signUpAndLogIn(server.baseUrl, 'ada');
    for (const caption of ['first', 'second']) assert.equal((await createPost(server.baseUrl, ada, await distinctPng(caption.length * 40), caption)).status, 201);
    const first = (await (await page('?limit=1')).json()) as FeedPage;
    assert.ok(first.nextCursor);
    cursor = first.nextCursor;
    const whole = (await (await page('?limit=2')).json()) as FeedPage;
    secondPostId = whole.posts[1]!.id;
  });
  after(async () => {
    await server.cleanup();
  });

  test('without CURSOR_SECRET one is generated on first start and kept in the data dir (0600), never logged', async () => {
    const path = join(server.dataDir, 'cursor-secret');
    const secret = (await readFile(path, 'utf8')).trim();
    assert.ok(secret.length >= 32);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(server.output.some((line) => line.includes(secret)), false);
  });

  test('rotating ADMIN_TOKEN keeps a cursor valid', async () => {
    await restartWith({ ADMIN_TOKEN: 'a-rotated-admin-token-9876543210' });
    const response = await page(`?limit=1&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as FeedPage).posts.map((post) => post.id), [secondPostId]);
  });

  test('another cursor secret refuses it: 400 INVALID_CURSOR, not a 5xx', async () => {
    await restartWith({ CURSOR_SECRET: 'another-cursor-secret-0123456789' });
    const response = await page(`?limit=1&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(response.status, 400);
    assert.equal((await problemOf(response)).code, 'INVALID_CURSOR');
  });

  test('the same CURSOR_SECRET everywhere: cursors from one process are accepted by the next', async () => {
    const issued = ((await (await page('?limit=1')).json()) as FeedPage).nextCursor!;
    await restartWith({ ADMIN_TOKEN: 'yet-another-admin-token-0123456789' });
    const response = await page(`?limit=1&cursor=${encodeURIComponent(issued)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as FeedPage).posts.map((post) => post.id), [secondPostId]);
  });
});
