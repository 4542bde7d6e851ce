/**
 * The durable peer for uploads, run as its own process: what a competent team would write with the
 * same libraries and no product around it. Fastify 5 + @fastify/multipart + sharp: `POST /images`
 * streams the "image" file part to a file while hashing it (SHA-256), fsyncs it, renders the 600×600
 * derivative from that file with imagegram's exact recipe and options, writes the JPEG to a temp
 * file, fsyncs it, renames it into place and fsyncs the directory, then answers 201. Nothing is
 * acknowledged before the original and the derivative are on disk. No auth, no database, no logs.
 *
 * Usage: node --import tsx bench/fastify-peer-server.ts <dir>  → prints `listening <port>`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import sharp from 'sharp';

const dir = process.argv[2];
if (!dir) throw new Error('usage: fastify-peer-server.ts <dir>');
const originals = join(dir, 'originals');
const derivatives = join(dir, 'derivatives');
await mkdir(originals, { recursive: true });
await mkdir(derivatives, { recursive: true });
// As imagegram's processor: every upload is new bytes, the libvips operation cache never hits.
sharp.cache(false);

/** Hashes bytes as they pass. */
class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** imagegram's derivative recipe and decoder options (src/adapters/image/*), restated with bare sharp. */
function derivative(path: string): Promise<Buffer> {
  return sharp(path, { limitInputPixels: 100_000_000, failOn: 'truncated', sequentialRead: true, pages: 1 })
    .rotate()
    .resize(600, 600, { fit: 'cover', position: 'centre' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .jpeg({ quality: 82, mozjpeg: false, progressive: false })
    .toBuffer();
}

const app = Fastify({ logger: false, bodyLimit: 200_000_000 });
await app.register(multipart, { limits: { fileSize: 200_000_000, files: 1 } });

app.post('/images', async (request, reply) => {
  const part = await request.file();
  if (part?.fieldname !== 'image') return reply.code(400).send({ error: 'no image part' });
  const path = join(originals, `${randomUUID()}.upload`);
  const hasher = new Hasher();
  await pipeline(part.file, hasher, createWriteStream(path, { flags: 'wx' }));
  await fsync(path);
  const sha256 = hasher.hash.digest('hex');
  const jpeg = await derivative(path);
  const target = join(derivatives, `${sha256}.jpg`);
  const temp = `${target}.${randomUUID()}.tmp`;
  await writeFile(temp, jpeg, { flush: true });
  await rename(temp, target);
  await fsync(derivatives);
  return reply.code(201).send({ sha256, size: hasher.bytes });
});

const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${new URL(address).port}\n`);
process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
