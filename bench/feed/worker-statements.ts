/**
 * `node --import tsx bench/feed/worker-statements.ts [--comments 3000] [--rounds 2]`: what moving the
 * embedded store's connection onto a worker thread would cost and save on the main thread. One
 * comment's transaction as the store runs it (BEGIN IMMEDIATE, a savepoint, the four writes of
 * `comments.add`, the feed place read back, RELEASE, COMMIT: the same SQL) on a copy of the feed
 * seed, back to back, either in place on the main thread (as the store does) or statement by
 * statement on a worker thread that owns the connection, each statement one message there and
 * back (as a Kysely driver over a worker would). `synchronous=OFF`: the fsync is on the libuv
 * pool either way and is left out. Prints the main thread's CPU (schedstat) and the wall time per
 * comment for each, alternating.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { betterSqlite3Path, BetterSqlite3 } from '../../src/adapters/metadata/sqlite-driver.js';
import { newId } from '../../src/core/ids.js';
import { readThreadSchedule } from '../process-stats.js';
import { fmt } from '../stats.js';
import { copySqliteSeed, samplePostIds, sqliteSeed } from './seed-sqlite.js';

const { values } = parseArgs({ options: { comments: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '2' } } });
const count = Number(values.comments);
const log = (message: string): void => void process.stderr.write(`${message}\n`);

/** One comment's statements, with whether each returns rows. */
function commentStatements(postId: string, authorId: string, turn: number): Array<{ sql: string; parameters: unknown[]; reader: boolean }> {
  const at = Date.now();
  return [
    { sql: 'begin immediate', parameters: [], reader: false },
    { sql: 'savepoint group_commit_work', parameters: [], reader: false },
    { sql: 'update posts set comment_count = comment_count + 1 where id = ?', parameters: [postId], reader: false },
    {
      sql: 'insert into comments (id, post_id, author_id, body, created_at) values (?, ?, ?, ?, ?)',
      parameters: [newId(), postId, authorId, `Bench comment ${turn}: lovely light in this one`, at],
      reader: false,
    },
    { sql: 'update feed_versions set version = version + 1 where bucket = 0', parameters: [], reader: false },
    {
      sql: 'insert into events (type, actor_id, subject_id, at, payload) values (?, ?, ?, ?, ?)',
      parameters: ['comment.added', authorId, postId, at, '{}'],
      reader: false,
    },
    { sql: 'select comment_count, (select sum(version) from feed_versions) as version from posts where id = ?', parameters: [postId], reader: true },
    { sql: 'release group_commit_work', parameters: [], reader: false },
    { sql: 'commit', parameters: [], reader: false },
  ];
}

// The worker: a connection of its own, statements prepared once, one reply per message.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const database = new Database(workerData.file);
database.pragma('synchronous = OFF');
const statements = new Map();
parentPort.on('message', ({ id, sql, parameters, reader }) => {
  let statement = statements.get(sql);
  if (statement === undefined) statements.set(sql, (statement = database.prepare(sql)));
  if (reader) return parentPort.postMessage({ id, rows: statement.all(parameters) });
  const { changes, lastInsertRowid } = statement.run(parameters);
  parentPort.postMessage({ id, changes, lastInsertRowid });
});
`;

const seed = await sqliteSeed(log);
const postIds = samplePostIds(seed.file, 5_000);
const copy = await copySqliteSeed(seed);
const file = join(copy.dataDir, 'imagegram.sqlite');
const database = new BetterSqlite3(file);
database.pragma('journal_mode = WAL');
database.pragma('synchronous = OFF');
const authorId = database.prepare('select id from users limit 1').pluck().get() as string;
const prepared = new Map<string, ReturnType<typeof database.prepare>>();
const preparedFor = (sql: string) => prepared.get(sql) ?? prepared.set(sql, database.prepare(sql)).get(sql)!;
const worker = new Worker(workerSource, { eval: true, workerData: { file, driver: betterSqlite3Path } });
const replies = new Map<number, { resolve(): void; reject(error: Error): void }>();
worker.on('message', (message: { id: number }) => {
  replies.get(message.id)?.resolve();
  replies.delete(message.id);
});
// A statement that throws ends the thread: fail the bench instead of waiting for a reply forever.
const failAll = (error: Error) => {
  for (const reply of replies.values()) reply.reject(error);
  replies.clear();
};
worker.on('error', failAll);
worker.on('exit', (code) => failAll(new Error(`the worker exited (code ${code})`)));
let messages = 0;
const onWorker = (statement: { sql: string; parameters: unknown[]; reader: boolean }) =>
  new Promise<void>((resolve, reject) => {
    const id = messages++;
    replies.set(id, { resolve, reject });
    worker.postMessage({ id, ...statement });
  });
let turn = 0;

const modes = {
  async 'in place'(): Promise<void> {
    for (const { sql, parameters, reader } of commentStatements(postIds[turn % postIds.length]!, authorId, turn++)) {
      if (reader) preparedFor(sql).all(parameters);
      else preparedFor(sql).run(parameters);
      // Kysely awaits every statement: the same microtask turns as the store.
      await undefined;
    }
  },
  async 'on a worker'(): Promise<void> {
    for (const statement of commentStatements(postIds[turn % postIds.length]!, authorId, turn++)) await onWorker(statement);
  },
};

const rows: string[] = [];
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [mode, comment] of Object.entries(modes)) {
      for (let warm = 0; warm < 200; warm++) await comment();
      const cpuBefore = readThreadSchedule(process.pid).onCpuMs;
      const started = performance.now();
      for (let done = 0; done < count; done++) await comment();
      const wallMs = (performance.now() - started) / count;
      const cpuMs = (readThreadSchedule(process.pid).onCpuMs - cpuBefore) / count;
      log(`round ${round}, ${mode}: ${fmt(cpuMs * 1000, 0)} µs main-thread CPU, ${fmt(wallMs * 1000, 0)} µs wall per comment`);
      rows.push(`| ${round} | ${mode} | ${fmt(cpuMs * 1000, 0)} | ${fmt(wallMs * 1000, 0)} | ${fmt(1000 / wallMs, 0)} |`);
    }
  }
} finally {
  await worker.terminate();
  database.close();
  await copy.remove();
}
process.stdout.write(
  [
    `${count} comments back to back per mode and round (9 statements each, synchronous=OFF)`,
    '',
    '| round | statements run | main-thread CPU µs/comment | wall µs/comment | comments/s |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
