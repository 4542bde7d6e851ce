import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPost, distinctPng, problemOf, signUpAndLogIn } from '../support/client.js';
import { runImagegram } from '../support/cli.js';
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
    for (const caption of ['first', 'second'])
      assert.equal((await createPost(server.baseUrl, ada, await distinctPng(caption.length * 40), caption)).status, 201);
    const first = (await (await page('?limit=1')).json()) as FeedPage;
    assert.ok(first.nextCursor);
    cursor = first.nextCursor;
    const whole = (await (await page('?limit=2')).json()) as FeedPage;
    secondPostId = whole.posts[1]!.id;
  });
  after(async () => {
    await server.cleanup();
  });

  test('without CURSOR_SECRET one is generated on first start and kept in the database, not the data dir, and never logged', async () => {
    await assert.rejects(stat(join(server.dataDir, 'cursor-secret')), { code: 'ENOENT' });
    assert.ok(server.output.some((line) => line.includes('Generated a cursor secret and stored it in the database')));
  });

  test('rotating ADMIN_TOKEN (deliberately: rotate-admin-token, then restart) keeps a cursor valid', async () => {
    const rotated = 'a-rotated-admin-token-9876543210';
    const rotation = await runImagegram({ ...server.env, ADMIN_TOKEN: rotated }, ['rotate-admin-token']);
    assert.equal(rotation.status, 0, rotation.stderr);
    await restartWith({ ADMIN_TOKEN: rotated });
    const response = await page(`?limit=1&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(
      ((await response.json()) as FeedPage).posts.map((post) => post.id),
      [secondPostId],
    );
  });

  test('another cursor secret refuses it: 400 INVALID_CURSOR, not a 5xx', async () => {
    await restartWith({ CURSOR_SECRET: 'another-cursor-secret-0123456789' });
    const response = await page(`?limit=1&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(response.status, 400);
    assert.equal((await problemOf(response)).code, 'INVALID_CURSOR');
  });

  test('the same CURSOR_SECRET everywhere: cursors from one process are accepted by the next', async () => {
    const issued = ((await (await page('?limit=1')).json()) as FeedPage).nextCursor!;
    await restartWith({});
    const response = await page(`?limit=1&cursor=${encodeURIComponent(issued)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(
      ((await response.json()) as FeedPage).posts.map((post) => post.id),
      [secondPostId],
    );
  });
});
