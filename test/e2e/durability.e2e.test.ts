import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { addComment, createPost, distinctPng, eventually, signUpAndLogIn, uploadImage } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

describe('nothing acknowledged is lost', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.cleanup());

  test('accounts, sessions and images acknowledged with 2xx survive kill -9 right after', async () => {
    const user = await signUpAndLogIn(server.baseUrl);
    const uploads = await Promise.all(
      ['#ff0000', '#00ff00', '#0000ff', '#ffff00'].map(async (background) => {
        const png = await sharp({ create: { width: 320, height: 240, channels: 3, background } })
          .png()
          .toBuffer();
        const response = await uploadImage(server.baseUrl, user, png, 'x.png', 'image/png');
        assert.equal(response.status, 201);
        return (await response.json()) as { id: string; hash: string };
      }),
    );
    await server.kill();
    server = await server.restart();

    for (const { id, hash } of uploads) {
      const metadata = await fetch(`${server.baseUrl}/images/${id}`, { headers: user.headers });
      assert.equal(metadata.status, 200);
      assert.equal(((await metadata.json()) as { hash: string }).hash, hash);
      const jpeg = await fetch(`${server.baseUrl}/images/${id}.jpg`);
      assert.equal(jpeg.status, 200);
      assert.equal((await sharp(Buffer.from(await jpeg.arrayBuffer())).metadata()).width, 600);
    }
    // The session token still works after the crash.
    const logout = await fetch(`${server.baseUrl}/sessions/current`, { method: 'DELETE', headers: user.headers });
    assert.equal(logout.status, 204);
  });

  test('kill -9 under a comment storm loses no acknowledged comment, and commentCount stays exact', async () => {
    const user = await signUpAndLogIn(server.baseUrl);
    const post = (await (await createPost(server.baseUrl, user, await distinctPng(77), 'storm')).json()) as { id: string };
    const acknowledged: string[] = [];
    let stop = false;
    // 16 clients writing back to back until the server dies under them.
    const writers = Array.from({ length: 16 }, async (_, writer) => {
      for (let i = 0; !stop; i += 1) {
        try {
          const response = await addComment(server.baseUrl, user, post.id, `writer ${writer} comment ${i}`);
          if (response.status === 201) acknowledged.push(((await response.json()) as { id: string }).id);
        } catch {
          return; // connection refused or reset: the server is gone
        }
      }
    });
    // Kill once enough are acknowledged (however slow the machine), and at least 1.5 s in.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await eventually(async () => (acknowledged.length > 50 ? true : undefined), { timeoutMs: 30_000, intervalMs: 20, what: 'over 50 acknowledged comments' });
    await server.kill();
    stop = true;
    await Promise.all(writers);
    assert.ok(acknowledged.length > 50, `only ${acknowledged.length} comments were acknowledged before the kill`);

    server = await server.restart();
    const stored = new Set<string>();
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = (await (await fetch(`${server.baseUrl}/posts/${post.id}/comments?limit=100${query}`)).json()) as {
        comments: { id: string }[];
        nextCursor: string | null;
      };
      for (const comment of page.comments) stored.add(comment.id);
      cursor = page.nextCursor;
    } while (cursor);
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged comments were lost`);
    const { commentCount } = (await (await fetch(`${server.baseUrl}/posts/${post.id}`)).json()) as { commentCount: number };
    assert.equal(commentCount, stored.size);
  });
});
