import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runImagegram } from '../support/cli.js';
import { distinctPng, eventually, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

const stagingFiles = async (dataDir: string) =>
  (await readdir(join(dataDir, 'staging')).catch(() => [] as string[])).filter((name) => name.endsWith('.staging'));

describe('a process owns its data dir: one at a time, and it clears what a killed one left there', () => {
  let server: RunningServer;
  let user: TestUser;
  let socket: Socket | undefined;
  const acknowledged: { id: string; sha256: string }[] = [];

  before(async () => {
    server = await startServer();
    user = await signUpAndLogIn(server.baseUrl, 'owner');
    for (const seed of [1, 2]) {
      const bytes = await distinctPng(9100 + seed);
      const response = await uploadImage(server.baseUrl, user, bytes, 'photo.png', 'image/png');
      assert.equal(response.status, 201, await response.clone().text());
      acknowledged.push({ id: ((await response.json()) as { id: string }).id, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
  });
  after(async () => {
    socket?.destroy();
    await server?.cleanup();
  });

  test('a second serve or worker on the same DATA_DIR refuses to start, saying why and what to do', async () => {
    for (const command of ['serve', 'worker']) {
      const run = await runImagegram({ ...server.env, PORT: '0' }, [command]);
      assert.equal(run.status, 1, `${command}: ${run.stderr}`);
      assert.match(run.stderr, /cannot start: another imagegram process \(serve, pid \d+ on .*\) is using DATA_DIR/);
      assert.match(run.stderr, /needs a data directory of its own: give this one another DATA_DIR/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
    // One-shot commands still run beside the server on its data dir.
    const stats = await runImagegram(server.env, ['stats', '--json']);
    assert.equal(stats.status, 0, stats.stderr);
  });

  test('killed -9 mid-upload: the restarted process on that DATA_DIR removes the staged half, and keeps every acknowledged image', async () => {
    const url = new URL(server.baseUrl);
    const boundary = 'cutoffboundary';
    const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="big.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`);
    const declared = 8 * 1024 * 1024;
    socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket!.once('connect', resolve).once('error', reject));
    socket.on('error', () => {});
    socket.write(
      `POST /images HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: ${user.headers.authorization}\r\n` +
        `content-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${declared}\r\n\r\n`,
    );
    socket.write(head);
    // Half the body: a JPEG's start, then filler.
    socket.write(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(declared / 2, 7)]));
    const staged = await eventually(
      async () => {
        const names = await stagingFiles(server.dataDir);
        if (names.length !== 1) return undefined;
        const { size } = await stat(join(server.dataDir, 'staging', names[0]!));
        return size >= declared / 4 ? names[0] : undefined;
      },
      { what: 'the half-sent upload to be staged', timeoutMs: 30_000 },
    );

    await server.kill();
    socket.destroy();
    assert.deepEqual(await stagingFiles(server.dataDir), [staged], 'kill -9 leaves the staged half behind');

    server = await server.restart();
    assert.deepEqual(await stagingFiles(server.dataDir), [], 'the restarted process cleared it before listening');
    assert.ok(
      server.output.some((line) => line.includes('removed what an earlier process left in this data dir') && line.includes('"stagedFiles":1')),
      server.output.join('\n'),
    );
    for (const image of acknowledged) {
      const meta = await fetch(`${server.baseUrl}/images/${image.id}`, { headers: user.headers });
      assert.equal(meta.status, 200);
      assert.equal(((await meta.json()) as { hash: string }).hash, image.sha256);
      const original = await readFile(join(server.dataDir, 'blobs', 'originals', image.sha256.slice(0, 2), image.sha256.slice(2, 4), image.sha256));
      assert.equal(createHash('sha256').update(original).digest('hex'), image.sha256);
      assert.equal((await fetch(`${server.baseUrl}/images/${image.id}.jpg`, { headers: user.headers })).status, 200);
    }
  });
});
