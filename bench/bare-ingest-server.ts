/**
 * The bare baselines for uploads, run as their own process: a plain `node:http` server that streams
 * each request body to a file while hashing it (SHA-256), fsyncs the file and answers 201 — the
 * least any durable upload endpoint must do. With `--derivative` it also renders the 600×600 JPEG
 * from the file (bare sharp) before answering: the least an upload → derivative endpoint must do.
 * It parses nothing: the multipart framing is hashed and stored with the image.
 *
 * Usage: node --import tsx bench/bare-ingest-server.ts <dir> [--derivative]  → prints `listening <port>`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bareDerivative } from './bare-derivative.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: bare-ingest-server.ts <dir> [--derivative]');
const renderDerivative = process.argv.includes('--derivative');

/** Hashes bytes as they pass, like imagegram's staging does. */
class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }
}

const server = createServer((request, response) => {
  const path = join(dir, `${randomUUID()}.upload`);
  const hasher = new Hasher();
  pipeline(request, hasher, createWriteStream(path, { flags: 'wx' }))
    .then(async () => {
      const file = await open(path, 'r');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      // Derivative mode is sent the image itself as the body (postRawImage), not a multipart form.
      if (renderDerivative) await bareDerivative(path);
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ sha256: hasher.hash.digest('hex'), size: hasher.bytes }));
    })
    .catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
