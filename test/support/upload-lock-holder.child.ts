// Takes one upload's lock and holds it until killed, like a server process serving a PATCH whose
// client has stalled. Usage: upload-lock-holder.child.ts postgres <url> <id>
//                        or: upload-lock-holder.child.ts redis <url> <id> <key prefix> <ttl ms>
// Prints "locked" once it holds the lock and "asked to release" when a release request reaches it.
import { Redis } from 'ioredis';
import type { UploadLocker } from '../../src/ports/upload-locker.js';
import { PostgresUploadLocker } from '../../src/adapters/uploads/postgres-upload-locker.js';
import { RedisUploadLocker } from '../../src/adapters/uploads/redis-upload-locker.js';

const [kind, url, id, keyPrefix, ttlMs] = process.argv.slice(2);
if (!kind || !url || !id) throw new Error('usage: upload-lock-holder.child.ts postgres|redis <url> <id> [<key prefix> <ttl ms>]');
const locker: UploadLocker =
  kind === 'postgres'
    ? await PostgresUploadLocker.open(url)
    : await RedisUploadLocker.open(new Redis(url), { keyPrefix: keyPrefix ?? '', ttlMs: Number(ttlMs) });
let asked = false;
await locker.newLock(id).lock(new AbortController().signal, () => {
  if (asked) return;
  asked = true;
  process.stdout.write('asked to release\n');
});
process.stdout.write('locked\n');
// Held until SIGKILL.
setInterval(() => {}, 60_000);
