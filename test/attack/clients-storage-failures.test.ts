import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { asStorageFailure } from '../../src/adapters/storage-failures.js';
import { isAppError } from '../../src/core/errors.js';
import { toProblem } from '../../src/transports/problem.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

test('a real ENOSPC (writing to /dev/full) becomes STORAGE_FULL, a 503, not a 500', async () => {
  let enospc: unknown;
  try {
    await pipeline(Readable.from([Buffer.alloc(64 * 1024)]), createWriteStream('/dev/full'));
  } catch (error) {
    enospc = error;
  }
  assert.equal((enospc as NodeJS.ErrnoException).code, 'ENOSPC');
  const translated = asStorageFailure(enospc);
  assert.ok(isAppError(translated, 'STORAGE_FULL'));
  assert.equal(translated.cause, enospc, 'the errno stays attached for the log');
  // Even untranslated (a library writing on its own), the transport answers 503, not 500.
  const problem = toProblem(enospc);
  assert.equal(problem.status, 503);
  assert.equal(problem.code, 'STORAGE_FULL');
  assert.doesNotMatch(problem.detail, /dev\/full/);
});

test('with every descriptor in use, staging and the fs blob store answer 503 SERVER_BUSY and leave no staging file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-emfile-'));
  try {
    // A low soft limit for the child alone, so the exhaustion is real (EMFILE from the kernel), quick and contained.
    const child = await promisify(execFile)('/bin/sh', ['-c', `ulimit -n 128 && exec "${process.execPath}" --import tsx test/support/descriptor-exhaustion.child.ts "${dir}"`], { cwd: projectRoot, timeout: 60_000 });
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { heldDescriptors: number; results: Record<string, string>; leftovers: string[] };
    assert.ok(report.heldDescriptors > 0);
    assert.deepEqual(report.results, {
      stagingReceive: '503 SERVER_BUSY',
      stagingPing: '503 SERVER_BUSY',
      blobPut: '503 SERVER_BUSY',
      blobRead: '503 SERVER_BUSY',
      blobPutFile: '503 SERVER_BUSY',
    });
    assert.deepEqual(report.leftovers, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
