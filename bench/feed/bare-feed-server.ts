/**
 * The bare baseline for `GET /posts`: a Fastify app with one route that sends a captured feed page
 * (the exact bytes and content type imagegram sent) — the least any Fastify feed endpoint costs.
 * Fastify's defaults otherwise (no logger, no hooks), in its own process like the server.
 *
 * Usage: node --import tsx bench/feed/bare-feed-server.ts <body file> <content type>  → prints `listening <port>`.
 */
import { readFile } from 'node:fs/promises';
import Fastify from 'fastify';

const [bodyFile, contentType] = process.argv.slice(2);
if (!bodyFile || !contentType) throw new Error('usage: bare-feed-server.ts <body file> <content type>');
const body = await readFile(bodyFile, 'utf8');

const app = Fastify();
app.get('/posts', async (_request, reply) => reply.type(contentType).send(body));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
process.stdout.write(`listening ${address.port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
