import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { postJson, problemOf, signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, patchUpload, uploadOffset } from '../support/tus.js';
import { rawRequest } from './raw-request.js';

const tus = { 'tus-resumable': '1.0.0' };
const octets = 'application/offset+octet-stream';

async function storedUploads(server: RunningServer): Promise<string[]> {
  const names = await readdir(join(server.dataDir, 'uploads')).catch(() => [] as string[]);
  return names.filter((name) => !name.endsWith('.json')).sort();
}

describe('tus upload ids: the upload acted on is the one whose ownership was checked', () => {
  let server: RunningServer;
  let attacker: TestUser;
  let victim: TestUser;
  let mine: string;
  let theirs: string;

  /** Both uploads as their owners see them: nothing an attack does may change either. */
  async function offsets(): Promise<{ mine: number | null; theirs: number | null }> {
    const [a, b] = await Promise.all([
      uploadOffset(`${server.baseUrl}/uploads/${mine}`, attacker.headers),
      uploadOffset(`${server.baseUrl}/uploads/${theirs}`, victim.headers),
    ]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    return { mine: a.offset, theirs: b.offset };
  }

  before(async () => {
    server = await startServer();
    [attacker, victim] = await Promise.all([signUpAndLogIn(server.baseUrl, 'mallory'), signUpAndLogIn(server.baseUrl, 'victim')]);
    const idOf = async (response: Response) => {
      assert.equal(response.status, 201);
      return response.headers.get('location')!.split('/').pop()!;
    };
    mine = await idOf(await createUpload(server.baseUrl, attacker.headers, 1000));
    theirs = await idOf(await createUpload(server.baseUrl, victim.headers, 1000));
    assert.equal((await patchUpload(`${server.baseUrl}/uploads/${theirs}`, victim.headers, 0, Buffer.alloc(100, 7))).status, 204);
    assert.deepEqual(await offsets(), { mine: 0, theirs: 100 });
  });
  after(() => server?.cleanup());

  test("HEAD and PATCH /uploads/<mine>?/<theirs> are 404 and leave the victim's offset where it was", async () => {
    const url = `${server.baseUrl}/uploads/${mine}?/${theirs}`;
    const head = await fetch(url, { method: 'HEAD', headers: { ...attacker.headers, ...tus } });
    assert.equal(head.status, 404);
    assert.equal(head.headers.get('upload-offset'), null, 'the victim offset leaked');
    const patch = await patchUpload(url, attacker.headers, 100, Buffer.alloc(50, 1));
    assert.equal(patch.status, 404);
    assert.equal((await problemOf(patch)).code, 'UPLOAD_NOT_FOUND');
    assert.deepEqual(await offsets(), { mine: 0, theirs: 100 });
  });

  test('no spelling of a URL reaches another user’s upload, nor turns one request into another', async () => {
    const variants = [
      `/uploads/${mine}?/${theirs}`,
      `/uploads/${mine}?x=/${theirs}`,
      `/uploads/${mine}?%2F${theirs}`,
      `/uploads/${mine}?`,
      `/uploads/${mine}#/${theirs}`,
      `/uploads/${mine}%2F${theirs}`,
      `/uploads/${mine}%2f${theirs}`,
      `/uploads/${mine}%2F..%2F${theirs}`,
      `/uploads/${mine}/../${theirs}`,
      `/uploads/${mine}/..%2F${theirs}`,
      `/uploads/..%2F${theirs}`,
      `/uploads/${mine}/${theirs}`,
      `/uploads/${mine};/${theirs}`,
      `/uploads/${mine};id=${theirs}`,
      `/uploads/${theirs};${mine}`,
      `/uploads/${theirs}/`,
      `/uploads/${mine}/`,
      `/uploads//${theirs}`,
      `//uploads/${theirs}`,
      `/uploads/${theirs.toUpperCase()}`,
      `/uploads/${mine.toUpperCase()}`,
      `/uploads/${mine}%00${theirs}`,
      `/uploads/${mine}%5C..%5C${theirs}`,
      `/uploads/${[...theirs].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`,
      `/UPLOADS/${theirs}`,
    ];
    const patchHeaders = { ...attacker.headers, ...tus, 'upload-offset': '100', 'content-type': octets };
    for (const target of variants) {
      const head = await rawRequest(server.baseUrl, 'HEAD', target, { ...attacker.headers, ...tus });
      assert.equal(head.status, 404, `HEAD ${target}`);
      assert.equal(head.headers['upload-offset'], undefined, `HEAD ${target} told an offset`);
      const patch = await rawRequest(server.baseUrl, 'PATCH', target, patchHeaders, Buffer.alloc(10, 1));
      assert.equal(patch.status, 404, `PATCH ${target}: ${patch.body}`);
      const patchMine = await rawRequest(server.baseUrl, 'PATCH', target, { ...patchHeaders, 'upload-offset': '0' }, Buffer.alloc(10, 1));
      assert.equal(patchMine.status, 404, `PATCH at my offset ${target}: ${patchMine.body}`);
      const terminate = await rawRequest(server.baseUrl, 'DELETE', target, { ...attacker.headers, ...tus });
      assert.equal(terminate.status, 404, `DELETE ${target}`);
    }
    assert.deepEqual(await offsets(), { mine: 0, theirs: 100 });
  });

  test('ids not in our shape are unknown uploads everywhere an upload id is taken', async () => {
    const malformed = ['A'.repeat(32), '0'.repeat(31), '0'.repeat(33), `${mine}x`, '..', 'x'.repeat(128), `${mine.slice(0, 31)}G`];
    for (const id of malformed) {
      const head = await rawRequest(server.baseUrl, 'HEAD', `/uploads/${encodeURIComponent(id)}`, { ...attacker.headers, ...tus });
      // Past 100 characters Fastify refuses the path parameter itself (414).
      assert.equal(head.status, id.length > 100 ? 414 : 404, `HEAD ${id}`);
      const asImage = await postJson(server.baseUrl, '/images', { uploadId: id }, attacker.headers);
      assert.equal((await problemOf(asImage)).code, 'UPLOAD_NOT_FOUND', `POST /images ${id}`);
      const asPost = await postJson(server.baseUrl, '/posts', { caption: 'x', uploadId: id }, attacker.headers);
      assert.equal((await problemOf(asPost)).code, 'UPLOAD_NOT_FOUND', `POST /posts ${id}`);
    }
    // Someone else's well-formed id is exactly as unknown.
    const foreign = await postJson(server.baseUrl, '/images', { uploadId: theirs }, attacker.headers);
    assert.equal((await problemOf(foreign)).code, 'UPLOAD_NOT_FOUND');
    assert.deepEqual(await offsets(), { mine: 0, theirs: 100 });
  });
});

describe('tus headers: every malformed or unsupported one is a 4xx, and nothing is stored', () => {
  let server: RunningServer;
  let alice: TestUser;
  let upload: string;

  before(async () => {
    server = await startServer({ env: { MAX_UPLOAD_BYTES: String(1024 * 1024) } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
    const created = await createUpload(server.baseUrl, alice.headers, 1000);
    upload = `${server.baseUrl}${created.headers.get('location')}`;
    assert.equal((await patchUpload(upload, alice.headers, 0, Buffer.alloc(10, 1))).status, 204);
  });
  after(() => server?.cleanup());

  const creations: [string, Record<string, string>, number?][] = [
    ['Upload-Concat: partial', { 'upload-length': '100', 'upload-concat': 'partial' }, 400],
    ['Upload-Concat: final', { 'upload-concat': 'final;/uploads/0123456789abcdef0123456789abcdef' }, 400],
    ['Upload-Concat: garbage', { 'upload-length': '100', 'upload-concat': '\u00ff' }, 400],
    ['Upload-Length huge', { 'upload-length': '9'.repeat(40) }, 400],
    ['Upload-Length past 2^53', { 'upload-length': '9007199254740993' }, 400],
    ['Upload-Length past the limit', { 'upload-length': '1000000000000000' }, 413],
    ['Upload-Length negative', { 'upload-length': '-1' }, 400],
    ['Upload-Length zero', { 'upload-length': '0' }, 400],
    ['Upload-Length not a number', { 'upload-length': 'abc' }, 400],
    ['Upload-Length exponent', { 'upload-length': '1e3' }, 400],
    ['Upload-Length hex', { 'upload-length': '0x10' }, 400],
    ['Upload-Length fraction', { 'upload-length': '10.5' }, 400],
    ['Upload-Length leading zero', { 'upload-length': '0100' }],
    ['Upload-Length twice', { 'upload-length': '100, 200' }, 400],
    ['Upload-Length empty', { 'upload-length': '' }, 400],
    ['Upload-Defer-Length alone', { 'upload-defer-length': '1' }, 400],
    ['Upload-Defer-Length with a length', { 'upload-length': '100', 'upload-defer-length': '1' }, 400],
    ['Upload-Defer-Length garbage', { 'upload-length': '100', 'upload-defer-length': 'yes' }, 400],
    ['Upload-Metadata malformed', { 'upload-length': '100', 'upload-metadata': 'a b,,' }],
    ['Upload-Metadata not base64', { 'upload-length': '100', 'upload-metadata': 'name !!!' }],
    ['Upload-Metadata duplicate keys', { 'upload-length': '100', 'upload-metadata': 'a YQ==,a Yg==' }],
    ['Tus-Resumable old version', { 'upload-length': '100', 'tus-resumable': '0.2.2' }, 412],
    ['Tus-Resumable list', { 'upload-length': '100', 'tus-resumable': '1.0.0, 0.2.2' }, 412],
    ['Tus-Resumable missing', { 'upload-length': '100', 'tus-resumable': '' }, 412],
    ['X-HTTP-Method-Override PATCH', { 'upload-length': '100', 'x-http-method-override': 'PATCH' }, 400],
    ['X-HTTP-Method-Override DELETE', { 'upload-length': '100', 'x-http-method-override': 'DELETE' }, 400],
  ];

  test('creation (POST /uploads)', async () => {
    const before = await storedUploads(server);
    for (const [name, headers, expected] of creations) {
      const { 'tus-resumable': version = '1.0.0', ...rest } = headers;
      const response = await rawRequest(server.baseUrl, 'POST', '/uploads', { ...alice.headers, ...rest, ...(version ? { 'tus-resumable': version } : {}) });
      assert.ok(response.status >= 400 && response.status < 500, `${name}: ${response.status} ${response.body}`);
      if (expected !== undefined) assert.equal(response.status, expected, `${name}: ${response.body}`);
      if (response.status === 412) assert.equal(response.headers['tus-version'], '1.0.0', name);
    }
    assert.deepEqual(await storedUploads(server), before, 'a refused creation stored something');
  });

  test('Upload-Metadata: large is stored and echoed, past the header limit the request is refused', async () => {
    const large = `name ${Buffer.alloc(9_000, 1).toString('base64')}`;
    const created = await createUpload(server.baseUrl, alice.headers, 100, { 'upload-metadata': large });
    assert.equal(created.status, 201);
    const head = await fetch(`${server.baseUrl}${created.headers.get('location')}`, { method: 'HEAD', headers: { ...alice.headers, ...tus } });
    assert.equal(head.headers.get('upload-metadata'), large);
    // Node answers 431 and closes the connection, possibly before the client has read it.
    const huge = `name ${Buffer.alloc(20_000, 1).toString('base64')}`;
    const refused = await rawRequest(server.baseUrl, 'POST', '/uploads', { ...alice.headers, ...tus, 'upload-length': '100', 'upload-metadata': huge }).catch(
      (error: NodeJS.ErrnoException) => error.code,
    );
    assert.ok(refused === 'ECONNRESET' || (typeof refused === 'object' && refused.status === 431), String(refused));
  });

  const patches: [string, Record<string, string>, number?][] = [
    ['Upload-Offset garbage', { 'upload-offset': 'abc' }, 400],
    ['Upload-Offset negative', { 'upload-offset': '-1' }, 400],
    ['Upload-Offset huge', { 'upload-offset': '9'.repeat(40) }, 400],
    ['Upload-Offset exponent', { 'upload-offset': '1e1' }, 400],
    ['Upload-Offset empty', { 'upload-offset': '' }, 400],
    ['Upload-Offset missing', { 'upload-offset': '' }],
    ['Upload-Offset wrong', { 'upload-offset': '0' }, 409],
    ['Upload-Length on a PATCH', { 'upload-length': '1000' }, 400],
    ['Upload-Concat on a PATCH', { 'upload-concat': 'partial' }, 400],
    ['Upload-Defer-Length on a PATCH', { 'upload-defer-length': '1' }, 400],
    ['Content-Type JSON', { 'content-type': 'application/json' }, 415],
    ['Content-Type text', { 'content-type': 'text/plain' }, 415],
    ['Content-Type multipart', { 'content-type': 'multipart/form-data; boundary=x' }, 415],
    ['Content-Type missing', { 'content-type': '' }, 415],
    ['Content-Type lookalike', { 'content-type': `${octets}-x` }, 415],
    ['Content-Type with a parameter', { 'content-type': `${octets}; charset=utf-8` }],
    ['Tus-Resumable old version', { 'tus-resumable': '0.2.2' }, 412],
    ['Tus-Resumable missing', { 'tus-resumable': '' }, 412],
    ['X-HTTP-Method-Override DELETE', { 'x-http-method-override': 'DELETE' }, 400],
    ['X-HTTP-Method-Override HEAD', { 'x-http-method-override': 'HEAD' }, 400],
  ];

  test('appending (PATCH /uploads/<id>)', async () => {
    const target = new URL(upload).pathname;
    for (const [name, headers, expected] of patches) {
      const all: Record<string, string> = { ...alice.headers, 'tus-resumable': '1.0.0', 'upload-offset': '10', 'content-type': octets, ...headers };
      // An empty value stands for "header left out".
      for (const [key, value] of Object.entries(headers)) if (value === '' && !name.includes('empty')) delete all[key];
      const response = await rawRequest(server.baseUrl, 'PATCH', target, all, Buffer.alloc(5, 2)).catch((error: Error) =>
        assert.fail(`${name}: ${error.message}`),
      );
      assert.ok(response.status >= 400 && response.status < 500, `${name}: ${response.status} ${response.body}`);
      if (expected !== undefined) assert.equal(response.status, expected, `${name}: ${response.body}`);
    }
    assert.deepEqual(await uploadOffset(upload, alice.headers), { status: 200, offset: 10 });
  });

  test('HEAD and DELETE with a wrong version or a method override change nothing', async () => {
    const target = new URL(upload).pathname;
    for (const method of ['HEAD', 'DELETE']) {
      assert.equal((await rawRequest(server.baseUrl, method, target, { ...alice.headers, 'tus-resumable': '2.0.0' })).status, 412, method);
      assert.equal((await rawRequest(server.baseUrl, method, target, { ...alice.headers, ...tus, 'x-http-method-override': 'PATCH' })).status, 400, method);
      assert.equal((await rawRequest(server.baseUrl, method, target, { ...alice.headers, ...tus, 'upload-concat': 'partial' })).status, 400, method);
    }
    assert.deepEqual(await uploadOffset(upload, alice.headers), { status: 200, offset: 10 });
    // The honest path still works after all that.
    assert.equal((await patchUpload(upload, alice.headers, 10, Buffer.alloc(990, 3))).status, 204);
    assert.deepEqual(await uploadOffset(upload, alice.headers), { status: 200, offset: 1000 });
  });
});
