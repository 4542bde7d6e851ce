/**
 * Run by clients-storage-failures.test.ts under a low `ulimit -n`: uses up every file descriptor
 * the process may open, then drives the local-disk adapters and prints, as one JSON line, what
 * each threw and which staging files were left behind.
 */
import { openSync, closeSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { FsStagingArea } from '../../src/adapters/staging/fs-staging-area.js';
import { toProblem } from '../../src/transports/problem.js';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: descriptor-exhaustion.child.ts <dir>');
const staging = new FsStagingArea(join(dir, 'staging'), { pingCacheMs: 0 });
const blobs = new FsBlobStore(join(dir, 'blobs'));
await mkdir(join(dir, 'staging'), { recursive: true });
await blobs.put('originals/aa/present', Buffer.from('bytes'));
await writeFile(join(dir, 'source'), 'x');

const held: number[] = [];
// Called before every operation: a descriptor the runtime closes late (a module file, a failed
// operation's own) would otherwise let the next operation through.
const exhaust = () => {
  try {
    for (;;) held.push(openSync('/dev/null', 'r'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EMFILE') throw error;
  }
};

const outcome = async (run: () => Promise<unknown>) => {
  exhaust();
  try {
    await run();
    return 'resolved';
  } catch (error) {
    const problem = toProblem(error);
    return `${problem.status} ${problem.code}`;
  }
};
const results = {
  stagingReceive: await outcome(() => staging.receive(Readable.from([Buffer.from('image bytes')]), 1024)),
  stagingPing: await outcome(() => staging.ping()),
  blobPut: await outcome(() => blobs.put('originals/bb/new', Buffer.from('new'))),
  blobRead: await outcome(() => blobs.createReadStream('originals/aa/present')),
  blobPutFile: await outcome(() => blobs.putFile('originals/cc/file', join(dir, 'source'))),
};
for (const fd of held) closeSync(fd);
const leftovers = readdirSync(join(dir, 'staging'));
process.stdout.write(`${JSON.stringify({ heldDescriptors: held.length, results, leftovers })}\n`);
