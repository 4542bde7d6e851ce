import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteMetadataStore } from './sqlite.js';
import { spawnTracked } from '../../../test/support/processes.js';

const sqliteModule = fileURLToPath(new URL('./sqlite.ts', import.meta.url));

// A writer acknowledges each id on stdout the moment its promise resolves. Linux writes to a
// pipe synchronously, so an id printed before SIGKILL reaches us even though the child never
// exits cleanly. Group commit must not resolve a promise before its batch's COMMIT: then every
// printed id is in the file. (kill -9 is not a power cut; synchronous=FULL covers that case.)
const writerScript = (file: string) => `
  import { randomUUID } from 'node:crypto';
  import { openSqliteMetadataStore } from ${JSON.stringify(sqliteModule)};
  const store = openSqliteMetadataStore(${JSON.stringify(file)});
  await store.migrate();
  process.stdout.write('ready\\n');
  async function writeForever(writer) {
    for (;;) {
      const id = randomUUID();
      const user = { id, username: 'u' + id, passwordHash: 'x', createdAt: Date.now() };
      if (writer % 4 === 0) {
        await store.users.insert(user); // a single write on the store joins the batches too
      } else {
        await store.transaction(async (tx) => {
          await tx.users.insert(user);
          await tx.events.append({ type: 'ImageCreated', actorId: id, subjectId: id, payload: {} });
        });
      }
      process.stdout.write(id + '\\n');
    }
  }
  for (let writer = 0; writer < 32; writer++) void writeForever(writer);
`;

test('kill -9 under concurrent load loses no acknowledged transaction', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-kill-9-'));
  try {
    const file = join(dir, 'metadata.sqlite');
    const child = spawnTracked(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', writerScript(file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const closed = once(child, 'close');
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (output += chunk));
    await until(() => output.startsWith('ready\n') || child.exitCode !== null, 30_000);
    assert.ok(output.startsWith('ready\n'), 'the writer did not start');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    child.kill('SIGKILL');
    await closed;
    assert.equal(child.signalCode, 'SIGKILL');

    // The last line may be cut mid-write: only complete lines were acknowledged.
    const acknowledged = output.split('\n').slice(1, -1);
    assert.ok(acknowledged.length > 100, `only ${acknowledged.length} writes acknowledged`);
    const store = openSqliteMetadataStore(file);
    const found = await store.users.findByIds(acknowledged);
    await store.close();
    const missing = acknowledged.filter((id) => !found.some((user) => user.id === id));
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged writes lost`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
