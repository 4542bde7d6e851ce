import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { distinctPng, eventually, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { multipartOperation } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';

const boundary = 'slowclientboundary';

/** A raw connection, so a test can stop sending mid-request (fetch cannot). */
async function openSocket(baseUrl: string): Promise<Socket> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on('error', () => {}); // a server cutting the connection is what some tests expect
  // Read (and drop) whatever comes back: a paused socket never sees the server's FIN, so never 'close'.
  socket.resume();
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

function closed(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Starts a multipart POST /images that declares `declared` bytes and sends only `sent` of the file. */
async function startUpload(baseUrl: string, user: TestUser, declared = 1_000_000, sent = 2048): Promise<Socket> {
  const socket = await openSocket(baseUrl);
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="slow.png"\r\nContent-Type: image/png\r\n\r\n`;
  socket.write(
    `POST /images HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${user.headers.authorization}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${declared}\r\n\r\n${head}`,
  );
  socket.write(Buffer.alloc(sent, 7));
  return socket;
}

async function stagingFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'staging')).catch(() => [] as string[])).filter((name) => name.endsWith('.staging'));
}

// Every wait below is for a condition; the timeouts only turn a regression into a failure, not a hang.
describe('stuck clients: a silent body is cut and its staging file removed; slowloris headers are closed', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let user: TestUser;
  const sockets: Socket[] = [];

  before(async () => {
    server = await startServer({ env: { BODY_IDLE_TIMEOUT_SECONDS: '2', HEADERS_TIMEOUT_SECONDS: '2' } });
    user = await signUpAndLogIn(server.baseUrl);
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await server.cleanup();
  });

  test('an upload whose body stops arriving is cut after BODY_IDLE_TIMEOUT_SECONDS and leaves no staging file', async () => {
    const socket = await startUpload(server.baseUrl, user);
    sockets.push(socket);
    // The upload really is being staged…
    await eventually(async () => ((await stagingFiles(server.dataDir)).length === 1 ? true : undefined), { what: 'the staging file' });
    // …then the client falls silent: the server closes the connection, not the client.
    await closed(socket);
    await eventually(async () => ((await stagingFiles(server.dataDir)).length === 0 ? true : undefined), { what: 'the staging file to be removed' });
    assert.ok(
      server.output.some((line) => line.includes('request body idle too long')),
      'the cut is logged',
    );
  });

  test('a slow body that keeps delivering bytes is not cut (idle is silence, not slowness)', async () => {
    const png = await distinctPng(11);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="slow.png"\r\nContent-Type: image/png\r\n\r\n`),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const socket = await openSocket(server.baseUrl);
    sockets.push(socket);
    let response = '';
    socket.on('data', (chunk) => (response += chunk.toString('latin1')));
    socket.write(
      `POST /images HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${user.headers.authorization}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    // Eight slices, each well inside the 2 s idle limit; the whole takes longer than one limit.
    const slices = 8;
    for (let i = 0; i < slices; i++) {
      socket.write(body.subarray(Math.floor((i * body.length) / slices), Math.floor(((i + 1) * body.length) / slices)));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await closed(socket);
    assert.match(response, /^HTTP\/1\.1 201 /);
  });

  test('a resumable upload cut while idle resumes from the bytes the server kept', async () => {
    const bytes = await distinctPng(12);
    const created = await fetch(`${server.baseUrl}/uploads`, {
      method: 'POST',
      headers: { ...user.headers, 'tus-resumable': '1.0.0', 'upload-length': String(bytes.length) },
    });
    assert.equal(created.status, 201);
    const location = new URL(created.headers.get('location')!, server.baseUrl);
    const half = Math.floor(bytes.length / 2);
    const socket = await openSocket(server.baseUrl);
    sockets.push(socket);
    socket.write(
      `PATCH ${location.pathname} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${user.headers.authorization}\r\nTus-Resumable: 1.0.0\r\n` +
        `Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: ${bytes.length}\r\n\r\n`,
    );
    socket.write(bytes.subarray(0, half));
    await closed(socket);
    const offset = await eventually(
      async () => {
        const head = await fetch(location, { method: 'HEAD', headers: { ...user.headers, 'tus-resumable': '1.0.0' } });
        return head.status === 200 ? Number(head.headers.get('upload-offset')) : undefined;
      },
      { what: 'the upload offset' },
    );
    assert.ok(offset <= half);
    const rest = await fetch(location, {
      method: 'PATCH',
      headers: { ...user.headers, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(offset),
    });
    assert.equal(rest.status, 204);
    assert.equal(rest.headers.get('upload-offset'), String(bytes.length));
  });

  test('connections that never finish their headers are closed after HEADERS_TIMEOUT_SECONDS', async () => {
    const slowloris = await Promise.all(Array.from({ length: 50 }, () => openSocket(server.baseUrl)));
    sockets.push(...slowloris);
    for (const socket of slowloris) socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    await Promise.all(slowloris.map(closed));
  });
});

describe('many idle connections and greedy uploaders', { timeout: 60_000 }, () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  const held: Socket[] = [];

  before(async () => {
    server = await startServer({ env: { MAX_CONCURRENT_UPLOADS_PER_USER: '2', MAX_CONCURRENT_UPLOADS_PER_IP: '3' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
    bob = await signUpAndLogIn(server.baseUrl, 'bob');
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await server.cleanup();
  });

  test('200 slowloris connections do not keep a normal request from being served', async () => {
    const slowloris = await Promise.all(Array.from({ length: 200 }, () => openSocket(server.baseUrl)));
    held.push(...slowloris);
    for (const socket of slowloris) socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const response = await fetch(`${server.baseUrl}/healthz`);
    assert.equal(response.status, 200);
    const upload = await uploadImage(server.baseUrl, alice, await distinctPng(21), 'ok.png', 'image/png');
    assert.equal(upload.status, 201);
    assert.equal(slowloris.filter((socket) => !socket.closed).length > 0, true, 'the slowloris connections were still open meanwhile');
    for (const socket of slowloris) socket.destroy();
  });

  test('over the per-user cap an upload is 429 TOO_MANY_UPLOADS with Retry-After; another user still uploads', async () => {
    held.push(await startUpload(server.baseUrl, alice), await startUpload(server.baseUrl, alice));
    await eventually(async () => ((await stagingFiles(server.dataDir)).length === 2 ? true : undefined), { what: 'two uploads in progress' });

    const refused = await uploadImage(server.baseUrl, alice, await distinctPng(22), 'third.png', 'image/png');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '5');
    const problem = (await problemOf(refused)) as { code: string; scope?: string; limit?: number };
    assert.equal(problem.code, 'TOO_MANY_UPLOADS');
    assert.equal(problem.scope, 'user');
    assert.equal(problem.limit, 2);

    const other = await uploadImage(server.baseUrl, bob, await distinctPng(23), 'bob.png', 'image/png');
    assert.equal(other.status, 201);
  });

  test('over the per-IP cap every upload transport is refused: REST, tus PATCH, GraphQL multipart', async () => {
    held.push(await startUpload(server.baseUrl, bob));
    await eventually(async () => ((await stagingFiles(server.dataDir)).length === 3 ? true : undefined), { what: 'three uploads in progress' });
    const carol = await signUpAndLogIn(server.baseUrl, 'carol');

    const rest = await uploadImage(server.baseUrl, carol, await distinctPng(24), 'carol.png', 'image/png');
    assert.equal(rest.status, 429);
    assert.equal(((await problemOf(rest)) as { scope?: string }).scope, 'ip');

    // Creating a tus upload sends no bytes and is not counted; its PATCH is.
    const created = await fetch(`${server.baseUrl}/uploads`, {
      method: 'POST',
      headers: { ...carol.headers, 'tus-resumable': '1.0.0', 'upload-length': '10' },
    });
    assert.equal(created.status, 201);
    const patch = await fetch(new URL(created.headers.get('location')!, server.baseUrl), {
      method: 'PATCH',
      headers: { ...carol.headers, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: Buffer.alloc(10),
    });
    assert.equal(patch.status, 429);
    assert.ok(patch.headers.get('retry-after'));

    const { body, contentType } = multipartOperation('mutation ($file: Upload!) { uploadImage(file: $file) { id } }', await distinctPng(25));
    const graphql = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { ...carol.headers, 'content-type': contentType, 'x-graphql-csrf': '1' },
      body,
    });
    assert.equal(graphql.status, 429);

    // Reads and JSON writes are never counted.
    assert.equal((await fetch(`${server.baseUrl}/posts`)).status, 200);
  });

  test('slots come back when held uploads end (here: the clients vanish), and nothing is left in staging', async () => {
    for (const socket of held.splice(0)) socket.destroy();
    await eventually(async () => ((await stagingFiles(server.dataDir)).length === 0 ? true : undefined), { what: 'staging to be emptied' });
    const accepted = await eventually(
      async () => {
        const response = await uploadImage(server.baseUrl, alice, await distinctPng(26), 'again.png', 'image/png');
        return response.status === 429 ? undefined : response;
      },
      { what: 'a slot to be free again' },
    );
    assert.equal(accepted.status, 201);
  });
});
