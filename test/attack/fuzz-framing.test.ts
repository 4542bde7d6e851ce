/**
 * HTTP/1.1 framing, fuzzed over a bare socket on the routes that read bodies: Content-Length
 * wrong, repeated or signed; chunked encoding with bad sizes, extensions and trailers; both at
 * once; repeated and oversized headers; request lines with non-UTF-8 bytes, odd methods and
 * versions. Each answer must be a status below 500 within 10 s, or (for a request left incomplete
 * on purpose) the connection closed.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Arena, fuzzRuns, fuzzSeed } from './support/arena.js';
import { rawExchange } from './support/raw-http.js';

interface RawProbe {
  label: string;
  bytes: Buffer;
  /** The request is incomplete by design: the server may wait, and close when we hang up. */
  incomplete: boolean;
}

describe('fuzzing HTTP framing over raw sockets', () => {
  let arena: Arena;
  before(async () => {
    arena = await Arena.open('fuzz-framing');
  });
  after(async () => {
    await arena?.close();
  });

  test('no 5xx, no exit, every answer within 10 s', async (t) => {
    const { world } = arena;
    const alice = `Bearer ${world.alice.token}`;
    const targets = fc.constantFrom<{ method: string; path: string; body: string; type: string; auth: boolean }>(
      { method: 'POST', path: '/users', body: '{"username":"framing1","password":"pw123456"}', type: 'application/json', auth: false },
      { method: 'POST', path: '/sessions', body: `{"username":"${world.alice.username}","password":"x"}`, type: 'application/json', auth: false },
      { method: 'POST', path: `/posts/${world.postIds[1]}/comments`, body: '{"body":"framed"}', type: 'application/json', auth: true },
      { method: 'POST', path: '/posts', body: `{"caption":"c","imageId":"${world.imageIds[2]}"}`, type: 'application/json', auth: true },
      {
        method: 'POST',
        path: '/images',
        body: '--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nnot a png\r\n--b--\r\n',
        type: 'multipart/form-data; boundary=b',
        auth: true,
      },
      { method: 'PATCH', path: `/uploads/${world.openUploadIds[0]}`, body: 'abcdefgh', type: 'application/offset+octet-stream', auth: true },
      { method: 'POST', path: '/graphql', body: '{"query":"{ __typename }"}', type: 'application/json', auth: false },
      { method: 'GET', path: '/posts?limit=2', body: '', type: '', auth: false },
      { method: 'GET', path: `/images/${world.imageIds[0]}.jpg`, body: '', type: '', auth: false },
    );
    const framing = fc.constantFrom(
      'exact',
      'length-short',
      'length-long-padded',
      'length-negative',
      'length-hex',
      'length-huge',
      'length-twice-same',
      'length-twice-different',
      'length-list',
      'length-and-chunked',
      'chunked',
      'chunked-bad-size',
      'chunked-huge-size',
      'chunked-negative',
      'chunked-extension',
      'chunked-trailers',
      'chunked-no-crlf',
      'chunked-unterminated',
      'chunked-gzip',
      'te-identity',
      'te-twice',
      'no-length-with-body',
    );
    const extraHeaders = fc.array(
      fc.constantFrom(
        'Host: a\r\nHost: b',
        '',
        'X-Folded: a\r\n  b',
        'NoColon',
        'Bad Name: x',
        ': empty',
        'X-Nul: a\u0000b',
        'X-Bytes: \u00ff\u00fe\u0080',
        `X-Big: ${'h'.repeat(9_000)}`,
        `X-Huge: ${'h'.repeat(70_000)}`,
        Array.from({ length: 300 }, (_, i) => `X-Many-${i}: v`).join('\r\n'),
        'Authorization: Bearer a\r\nAuthorization: Bearer b',
        'Content-Type: application/json\r\nContent-Type: text/plain',
        'Expect: 100-continue',
        'Expect: nonsense',
        'Connection: close, upgrade\r\nUpgrade: websocket',
        'Idempotency-Key: a\r\nIdempotency-Key: b',
        'Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nUpload-Offset: 5',
      ),
      { maxLength: 2 },
    );
    const requestLine = fc.constantFrom(
      'normal',
      'normal',
      'normal',
      'normal',
      'path-non-utf8',
      'path-overlong-utf8',
      'path-percent-bad',
      'path-absolute',
      'path-long',
      'path-star',
      'path-space',
      'method-lower',
      'method-long',
      'method-weird',
      'version-10',
      'version-2',
      'version-bad',
      'lf-only',
    );

    const probes = fc
      .record({ target: targets, framing, extraHeaders, requestLine })
      .map(({ target, framing: f, extraHeaders: extra, requestLine: line }): RawProbe => {
        const body = Buffer.from(target.body);
        let path = target.path;
        let method = target.method;
        let version = 'HTTP/1.1';
        let eol = '\r\n';
        if (line === 'path-non-utf8') path = Buffer.from([...Buffer.from(`${path}/`), 0xff, 0xfe, 0xc3, 0x28]).toString('latin1');
        if (line === 'path-overlong-utf8') path = `${path}%C0%AF%E0%80%AF`;
        if (line === 'path-percent-bad') path = `${path}%`;
        if (line === 'path-absolute') path = `http://example.com${path}`;
        if (line === 'path-long') path = `${path}?${'q'.repeat(20_000)}`;
        if (line === 'path-star') path = '*';
        if (line === 'path-space') path = `${path} x`;
        if (line === 'method-lower') method = method.toLowerCase();
        if (line === 'method-long') method = 'M'.repeat(5_000);
        if (line === 'method-weird') method = 'PROPFIND';
        if (line === 'version-10') version = 'HTTP/1.0';
        if (line === 'version-2') version = 'HTTP/2.0';
        if (line === 'version-bad') version = 'HTTP/1.1x';
        if (line === 'lf-only') eol = '\n';

        const headers = ['Host: 127.0.0.1', 'Connection: close'];
        if (target.auth) headers.push(`Authorization: ${alice}`, 'Tus-Resumable: 1.0.0', 'Upload-Offset: 0');
        if (target.type) headers.push(`Content-Type: ${target.type}`);
        const chunk = (data: Buffer, size = data.length.toString(16)) => Buffer.concat([Buffer.from(`${size}\r\n`), data, Buffer.from('\r\n')]);
        const lastChunk = Buffer.from('0\r\n\r\n');
        let payload: Buffer = body;
        let incomplete = false;
        switch (f) {
          case 'exact':
            headers.push(`Content-Length: ${body.length}`);
            break;
          case 'length-short':
            // The rest of the body is read as the next request on the connection.
            headers.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
            break;
          case 'length-long-padded':
            headers.push(`Content-Length: ${body.length + 10}`);
            payload = Buffer.concat([body, Buffer.alloc(10, 0x20)]);
            break;
          case 'length-negative':
            headers.push('Content-Length: -1');
            break;
          case 'length-hex':
            headers.push('Content-Length: 0x10');
            break;
          case 'length-huge':
            headers.push('Content-Length: 99999999999999999999999');
            incomplete = true;
            break;
          case 'length-twice-same':
            headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length}`);
            break;
          case 'length-twice-different':
            headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
            break;
          case 'length-list':
            headers.push(`Content-Length: ${body.length}, ${body.length}`);
            break;
          case 'length-and-chunked':
            headers.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
            payload = Buffer.concat([chunk(body), lastChunk]);
            break;
          case 'chunked':
            headers.push('Transfer-Encoding: chunked');
            payload = Buffer.concat([chunk(body.subarray(0, 3)), chunk(body.subarray(3)), lastChunk]);
            break;
          case 'chunked-bad-size':
            headers.push('Transfer-Encoding: chunked');
            payload = Buffer.concat([chunk(body, 'zz'), lastChunk]);
            break;
          case 'chunked-huge-size':
            headers.push('Transfer-Encoding: chunked');
            payload = Buffer.concat([chunk(body, 'ffffffffffffffffffff'), lastChunk]);
            incomplete = true;
            break;
          case 'chunked-negative':
            headers.push('Transfer-Encoding: chunked');
            payload = Buffer.concat([chunk(body, '-5'), lastChunk]);
            break;
          case 'chunked-extension':
            headers.push('Transfer-Encoding: chunked');
            payload = Buffer.concat([chunk(body, `${body.length.toString(16)};name="${'e'.repeat(5_000)}"`), lastChunk]);
            break;
          case 'chunked-trailers':
            headers.push('Transfer-Encoding: chunked', 'Trailer: Content-Length');
            payload = Buffer.concat([chunk(body), Buffer.from('0\r\nContent-Length: 5\r\nX-Trailer: t\r\n\r\n')]);
            break;
          case 'chunked-no-crlf':
            headers.push('Transfer-Encoding: chunked');
            payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, lastChunk]);
            break;
          case 'chunked-unterminated':
            headers.push('Transfer-Encoding: chunked');
            payload = chunk(body);
            incomplete = true;
            break;
          case 'chunked-gzip':
            headers.push('Transfer-Encoding: gzip, chunked');
            payload = Buffer.concat([chunk(body), lastChunk]);
            break;
          case 'te-identity':
            headers.push('Transfer-Encoding: identity', `Content-Length: ${body.length}`);
            break;
          case 'te-twice':
            headers.push('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked');
            payload = Buffer.concat([chunk(body), lastChunk]);
            break;
          case 'no-length-with-body':
            break;
        }
        headers.push(...extra.filter((h) => h !== ''));
        const head = `${method} ${path} ${version}${eol}${headers.join(eol)}${eol}${eol}`;
        return {
          label: `${target.method} ${target.path.replace(/[0-9a-f-]{20,}|[A-Za-z0-9_-]{40,}/g, '{id}')} [${f}, ${line}${extra.length ? `, +${extra.length} header(s)` : ''}]`,
          bytes: Buffer.concat([Buffer.from(head, 'latin1'), payload]),
          incomplete,
        };
      });

    const seed = fuzzSeed(20_260_606);
    const all = fc.sample(probes, { seed, numRuns: fuzzRuns(500) });
    let next = 0;
    const worker = async () => {
      while (next < all.length && arena.alive()) {
        const probe = all[next++]!;
        const outcome = await rawExchange(arena.host, probe.bytes, { endAfterWrite: probe.incomplete });
        // Hanging up on a request that can never complete is the client's doing, not a failure.
        const judged = probe.incomplete && outcome.status === null && outcome.error === 'closed without an answer' ? { ...outcome, status: 0 } : outcome;
        arena.judge(
          probe.label,
          judged,
          () => `printf ${JSON.stringify(probe.bytes.subarray(0, 400).toString('latin1'))} | nc 127.0.0.1 PORT  (${probe.bytes.length} bytes)`,
          probe.bytes.length,
        );
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    await arena.verdict(t, seed);
  });
});
