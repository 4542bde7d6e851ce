import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open as openFile, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import type { BlobStore } from './blob-store.js';

/** The one behaviour suite every BlobStore adapter must pass (run by a small runner beside each adapter). */
export function blobStoreContract(
  name: string,
  open: () => Promise<{ store: BlobStore; cleanup(): Promise<void> }>,
  options: { skip?: string | false } = {},
): void {
  describe(`BlobStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;
    let scratch: string;

    before(async () => {
      ({ store, cleanup } = await open());
      scratch = await mkdtemp(join(tmpdir(), 'blob-contract-'));
    });
    after(async () => {
      await cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    async function localFile(content: string): Promise<string> {
      const path = join(scratch, `${Math.random().toString(16).slice(2)}.bin`);
      await writeFile(path, content);
      return path;
    }

    test('putFile stores the bytes once and reports whether it created them', async () => {
      const first = await store.putFile('originals/aa/bb/aabb01', await localFile('hello'));
      const second = await store.putFile('originals/aa/bb/aabb01', await localFile('hello'));
      assert.deepEqual(first, { created: true });
      assert.deepEqual(second, { created: false });
      assert.equal((await store.get('originals/aa/bb/aabb01'))?.toString(), 'hello');
    });

    test('putFile leaves the source file in place', async () => {
      const source = await localFile('keep me');
      await store.putFile('originals/aa/bb/aabb02', source);
      assert.equal(await text((await import('node:fs')).createReadStream(source)), 'keep me');
    });

    test('putFile of a source the caller already synced stores it the same, source left in place', async () => {
      const source = await localFile('synced bytes');
      const handle = await openFile(source, 'r');
      await handle.sync();
      await handle.close();
      const first = await store.putFile('originals/aa/bb/aabb03', source, { sourceSynced: true });
      const second = await store.putFile('originals/aa/bb/aabb03', await localFile('synced bytes'), { sourceSynced: true });
      assert.deepEqual(first, { created: true });
      assert.deepEqual(second, { created: false });
      assert.equal((await store.get('originals/aa/bb/aabb03'))?.toString(), 'synced bytes');
      assert.equal(await readFile(source, 'utf8'), 'synced bytes');
    });

    test('put replaces an object; get returns null when absent', async () => {
      await store.put('derivatives/aa/bb/x.jpg', Buffer.from('one'));
      await store.put('derivatives/aa/bb/x.jpg', Buffer.from('two'));
      assert.equal((await store.get('derivatives/aa/bb/x.jpg'))?.toString(), 'two');
      assert.equal(await store.get('derivatives/aa/bb/absent.jpg'), null);
    });

    test('head reports size and time, null when absent', async () => {
      const before = Date.now() - 5_000;
      await store.put('originals/aa/cc/head1', Buffer.from('12345'));
      const info = await store.head('originals/aa/cc/head1');
      assert.equal(info?.size, 5);
      assert.ok(info && info.modifiedAt >= before);
      // Whole milliseconds: callers store it in bigint columns (PostgreSQL refuses fractions).
      assert.ok(Number.isInteger(info.modifiedAt));
      assert.equal(await store.head('originals/aa/cc/absent'), null);
    });

    test('createReadStream streams the whole object or an inclusive range', async () => {
      await store.put('originals/aa/dd/range1', Buffer.from('0123456789'));
      const whole = await store.createReadStream('originals/aa/dd/range1');
      const part = await store.createReadStream('originals/aa/dd/range1', { start: 2, end: 4 });
      assert.ok(whole && part);
      assert.equal(await text(whole), '0123456789');
      assert.equal(await text(part), '234');
      assert.equal(await store.createReadStream('originals/aa/dd/absent'), null);
    });

    test('localFile gives a readable local path with the bytes, null when absent', async () => {
      await store.put('originals/aa/dd/local1', Buffer.from('local bytes'));
      const local = await store.localFile('originals/aa/dd/local1');
      assert.ok(local);
      assert.equal(await readFile(local.path, 'utf8'), 'local bytes');
      await local.release();
      await local.release();
      assert.equal(await store.localFile('originals/aa/dd/absent'), null);
    });

    test('delete removes an object and is idempotent', async () => {
      await store.put('originals/aa/ee/gone', Buffer.from('x'));
      await store.delete('originals/aa/ee/gone');
      await store.delete('originals/aa/ee/gone');
      assert.equal(await store.head('originals/aa/ee/gone'), null);
    });

    test('list yields exactly the objects under a prefix', async () => {
      await store.put('listing/a/one', Buffer.from('1'));
      await store.put('listing/a/two', Buffer.from('22'));
      await store.put('listing/b/three', Buffer.from('333'));
      const keys: string[] = [];
      for await (const info of store.list('listing/a/')) {
        keys.push(`${info.key}:${info.size}`);
        assert.ok(Number.isInteger(info.modifiedAt));
      }
      assert.deepEqual(keys.sort(), ['listing/a/one:1', 'listing/a/two:2']);
      const all: string[] = [];
      for await (const info of store.list('listing/')) all.push(info.key);
      assert.equal(all.length, 3);
    });

    test('createReadStream cuts a range reaching past the end at the end, and one starting past it is empty', async () => {
      await store.put('originals/aa/dd/range2', Buffer.from('0123456789'));
      const tail = await store.createReadStream('originals/aa/dd/range2', { start: 7, end: 100 });
      const beyond = await store.createReadStream('originals/aa/dd/range2', { start: 20, end: 30 });
      assert.ok(tail && beyond);
      assert.equal(await text(tail), '789');
      assert.equal(await text(beyond), '');
    });

    test('putFile stores a multi-megabyte file byte for byte', async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const source = join(scratch, 'large.bin');
      await writeFile(source, bytes);
      assert.deepEqual(await store.putFile('originals/aa/ff/large1', source), { created: true });
      assert.equal((await store.head('originals/aa/ff/large1'))?.size, bytes.length);
      const stream = await store.createReadStream('originals/aa/ff/large1');
      assert.ok(stream);
      const hash = createHash('sha256');
      for await (const chunk of stream) hash.update(chunk as Buffer);
      assert.equal(hash.digest('hex'), createHash('sha256').update(bytes).digest('hex'));
    });

    test('list yields every object however many pages the backend splits them into', async () => {
      const keys = Array.from({ length: 25 }, (_, i) => `paged/k${String(i).padStart(2, '0')}`);
      await Promise.all(keys.map((key) => store.put(key, Buffer.from(key))));
      const listed: string[] = [];
      for await (const info of store.list('paged/')) listed.push(info.key);
      assert.deepEqual(listed.sort(), keys);
    });

    test('list yields content-addressed keys in ascending order, across shards and pages', async () => {
      const hashes = Array.from({ length: 12 }, (_, i) => createHash('sha256').update(`ordered ${i}`).digest('hex'));
      const keys = hashes.map((hash) => `ordered/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`);
      for (const key of keys) await store.put(key, Buffer.from(key));
      const listed: string[] = [];
      for await (const info of store.list('ordered/')) listed.push(info.key);
      assert.deepEqual(listed, [...keys].sort());
    });

    test('keys that could escape the store are refused', async () => {
      await assert.rejects(store.put('../escape', Buffer.from('x')));
      await assert.rejects(store.get('originals/../../etc/passwd'));
    });

    test('ping succeeds on a reachable store', async () => {
      await store.ping();
    });
  });
}
