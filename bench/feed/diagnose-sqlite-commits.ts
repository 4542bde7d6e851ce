/**
 * Diagnostic (not part of run.ts): what one SQLite commit of comments costs the thread that runs
 * it — in the server, the event loop. Replays the statements of `CommentService.add` (count,
 * insert, feed bump, event; each in a savepoint, as group commit runs them) on a copy of the
 * seed, in batches, and times the statements and the COMMIT (WAL write + fsync, and every
 * 1,000 WAL pages an automatic checkpoint into the 400 MB file).
 *
 * Usage: node --import tsx bench/feed/diagnose-sqlite-commits.ts [--batch 8] [--synchronous FULL|NORMAL] [--autocheckpoint 1000|0]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BetterSqlite3 } from '../../src/adapters/metadata/sqlite-driver.js';
import { newId } from '../../src/core/ids.js';
import { fmt, median, percentile } from '../stats.js';
import { copySqliteSeed, sqliteSeed } from './seed-sqlite.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    synchronous: { type: 'string', default: 'FULL' },
    autocheckpoint: { type: 'string', default: '1000' },
    comments: { type: 'string', default: '4000' },
  },
});
const batch = Number(values.batch);
const seed = await sqliteSeed((message) => process.stderr.write(`${message}\n`));
const copy = await copySqliteSeed(seed);
const db = new BetterSqlite3(join(copy.dataDir, 'imagegram.sqlite'));
try {
  // The server's pragmas (src/adapters/metadata/sqlite.ts), with the two under test overridable.
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${values.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`wal_autocheckpoint = ${Number(values.autocheckpoint)}`);
  const postIds = db.prepare('select id from posts order by random() limit 5000').pluck().all() as string[];
  const authorId = db.prepare('select id from users limit 1').pluck().get() as string;
  const count = db.prepare('update posts set comment_count = comment_count + 1 where id = ?');
  const insert = db.prepare('insert into comments (id, post_id, author_id, body, created_at) values (?, ?, ?, ?, ?)');
  const bump = db.prepare('update feed_versions set version = version + 1 where bucket = 0');
  const event = db.prepare('insert into events (type, actor_id, subject_id, at, payload) values (?, ?, ?, ?, ?)');
  const statementsPerComment: number[] = [];
  const commits: number[] = [];
  const started = performance.now();
  let written = 0;
  while (written < Number(values.comments)) {
    db.exec('begin immediate');
    const batchStart = performance.now();
    for (let n = 0; n < batch; n++, written++) {
      const postId = postIds[written % postIds.length]!;
      const id = newId();
      db.exec('savepoint work');
      count.run(postId);
      insert.run(id, postId, authorId, `Diagnostic comment ${written}`, Date.now());
      bump.run();
      event.run('CommentAdded', authorId, id, Date.now(), JSON.stringify({ postId }));
      db.exec('release work');
    }
    const commitStart = performance.now();
    db.exec('commit');
    statementsPerComment.push((commitStart - batchStart) / batch);
    commits.push(performance.now() - commitStart);
  }
  const seconds = (performance.now() - started) / 1000;
  const slow = commits.filter((ms) => ms > 10);
  process.stdout.write(
    `batch ${batch}, synchronous=${values.synchronous}, wal_autocheckpoint=${values.autocheckpoint}: ` +
      `${fmt(written / seconds, 0)} comments/s on one thread; statements ${fmt(median(statementsPerComment), 3)} ms per comment; ` +
      `COMMIT p50 ${fmt(median(commits), 2)} / p90 ${fmt(percentile(commits, 90), 2)} / p99 ${fmt(percentile(commits, 99), 1)} / max ${fmt(Math.max(...commits), 1)} ms; ` +
      `${slow.length} of ${commits.length} commits over 10 ms (${fmt(
        slow.reduce((sum, ms) => sum + ms, 0),
        0,
      )} ms in all)\n`,
  );
} finally {
  db.close();
  await copy.remove();
}
