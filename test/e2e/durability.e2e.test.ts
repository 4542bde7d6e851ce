import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { signUpAndLogIn, uploadImage } from '../support/client.js';
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
        const png = await sharp({ create: { width: 320, height: 240, channels: 3, background } }).png().toBuffer();
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
});
