/**
 * The bare baseline for `GET /posts`: a Fastify app with one route that sends a captured feed page
 * (the exact bytes and content type imagegram sent) — the least any Fastify feed endpoint costs.
 * Fastify's defaults otherwise (no logger, no hooks), in its own process like the server.
 * Beside it, the bare baseline for a durable write, `POST /posts/:id/comments`: it writes the bytes
 * one comment's commit adds to SQLite's WAL (11 pages of 4 KiB) in place into a preallocated file,
 * as the WAL is written once it has started over, and fdatasyncs before the reply: the disk's own
 * floor for a route that acknowledges only what is on disk.
 *
 * Usage: node --import tsx bench/feed/bare-feed-server.ts <body file> <content type>  → prints `listening <port>`.
 */
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import Fastify from 'fastify';

const [bodyFile, contentType] = process.argv.slice(2);
if (!bodyFile || !contentType) throw new Error('usage: bare-feed-server.ts <body file> <content type>');
const body = await readFile(bodyFile, 'utf8');

const app = Fastify();
app.get('/posts', async (_request, reply) => reply.type(contentType).send(body));

const commitBytes = 11 * 4096;
const slots = 100;
const frames = Buffer.alloc(commitBytes, 1);
const durable = await open(join(dirname(bodyFile), 'durable-writes.bin'), 'w+');
// Preallocated and synced first: the writes measured then change no file size (no journal commit).
for (let slot = 0; slot < slots; slot++) await durable.write(frames, 0, commitBytes, slot * commitBytes);
await durable.sync();
let written = 0;
app.post('/posts/:id/comments', async (_request, reply) => {
  const slot = written++ % slots;
  await durable.write(frames, 0, commitBytes, slot * commitBytes);
  await durable.datasync();
  return reply.code(201).send({ written });
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
process.stdout.write(`listening ${address.port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
