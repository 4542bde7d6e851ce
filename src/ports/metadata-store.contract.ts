import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isAppError } from '../core/errors.js';
import { noPhotoMetadata } from '../core/images/image.js';
import type { User } from '../core/users/user.js';
import type { StoredEvent } from '../core/events/event.js';
import type { MetadataStore } from './metadata-store.js';
import { accountsContract } from './metadata-store.accounts.contract.js';
import { blobRecordsContract } from './metadata-store.blob-records.contract.js';
import { collectionsContract } from './metadata-store.collections.contract.js';
import { idempotencyContract } from './metadata-store.idempotency.contract.js';
import { jobsContract } from './metadata-store.jobs.contract.js';
import { operationsContract } from './metadata-store.operations.contract.js';
import { postsContract } from './metadata-store.posts.contract.js';
import { settingsContract } from './metadata-store.settings.contract.js';
import { uploadsContract } from './metadata-store.uploads.contract.js';
import { aHash, anEvent, anImage, aSession, aUser, type ContractScope, sleep, sortById } from './metadata-store.support.contract.js';

/** A store on an empty database (not yet migrated, or migrated with nothing else written), and how to close and remove it. */
export interface MetadataStoreFixture {
  store: MetadataStore;
  cleanup(): Promise<void>;
  /**
   * Every statement the store runs, appended as it runs, if the adapter can report them; the
   * "constant number of queries per page" promises are checked against it.
   */
  queries?: readonly string[];
}

/**
 * The executable contract of `MetadataStore` (see its doc comments): every adapter's runner calls
 * this once. `open` is called before every test and must return an empty database (see MetadataStoreFixture).
 */
export function metadataStoreContract(name: string, open: () => Promise<MetadataStoreFixture>, options: { skip?: boolean | string } = {}): void {
  describe(`MetadataStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let fixture: MetadataStoreFixture | undefined;
    let store: MetadataStore;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });
    const migrated = () => beforeEach(() => store.migrate());
    const scope: ContractScope = {
      get store() {
        return store;
      },
      get queries() {
        return fixture?.queries;
      },
    };

    describe('migrate and ping', () => {
      test('ping resolves on a reachable database', async () => {
        await store.ping();
      });

      test('migrate() twice, and concurrently, is a no-op that keeps the data', async () => {
        await Promise.all([store.migrate(), store.migrate()]);
        const user = aUser();
        await store.users.insert(user);
        await store.migrate();
        await Promise.all([store.migrate(), store.migrate()]);
        assert.deepEqual(await store.users.findById(user.id), user);
      });
    });

    describe('users', () => {
      migrated();

      test('a user is found by id and by username in any letter case', async () => {
        const user = aUser({ username: 'Ada_Lovelace' });
        await store.users.insert(user);
        assert.deepEqual(await store.users.findById(user.id), user);
        assert.deepEqual(await store.users.findByUsername('ada_lovelace'), user);
        assert.deepEqual(await store.users.findByUsername('ADA_LOVELACE'), user);
        assert.equal(await store.users.findById(randomUUID()), null);
        assert.equal(await store.users.findByUsername('nobody'), null);
      });

      test('a username differing only in case is USERNAME_TAKEN; the first stays', async () => {
        const first = aUser({ username: 'grace' });
        await store.users.insert(first);
        await assert.rejects(store.users.insert(aUser({ username: 'GRACE' })), usernameTaken);
        assert.deepEqual(await store.users.findByUsername('Grace'), first);
      });

      test('USERNAME_TAKEN inside a transaction leaves the transaction usable', async () => {
        await store.users.insert(aUser({ username: 'taken' }));
        const other = aUser();
        await store.transaction(async (tx) => {
          await assert.rejects(tx.users.insert(aUser({ username: 'Taken' })), usernameTaken);
          await tx.users.insert(other);
        });
        assert.deepEqual(await store.users.findById(other.id), other);
      });

      test('findByIds returns the users that exist, once each', async () => {
        const [a, b] = [aUser(), aUser()];
        await store.users.insert(a);
        await store.users.insert(b);
        const found = await store.users.findByIds([b.id, randomUUID(), a.id, b.id]);
        assert.deepEqual(sortById(found), sortById([a, b]));
        assert.deepEqual(await store.users.findByIds([]), []);
      });
    });

    describe('sessions', () => {
      migrated();

      test('an unexpired session is found with its user; from expiresAt on it is not', async () => {
        const user = aUser();
        await store.users.insert(user);
        const session = aSession(user.id, 1_700_000_060_000);
        await store.sessions.insert(session);
        const { tokenHash, expiresAt } = session;
        const active = await store.sessions.findActive(tokenHash, expiresAt - 1);
        assert.deepEqual(active, { session, user });
        assert.equal(await store.sessions.findActive(tokenHash, expiresAt), null);
        assert.equal(await store.sessions.findActive(tokenHash, expiresAt + 1), null);
        assert.equal(await store.sessions.findActive(aHash(), session.createdAt), null);
      });

      test('delete removes a session and reports whether one existed', async () => {
        const user = aUser();
        await store.users.insert(user);
        const session = aSession(user.id, Date.now() + 60_000);
        await store.sessions.insert(session);
        assert.equal(await store.sessions.delete(session.tokenHash), true);
        assert.equal(await store.sessions.findActive(session.tokenHash, Date.now()), null);
        assert.equal(await store.sessions.delete(session.tokenHash), false);
      });
    });

    describe('images', () => {
      migrated();
      let owner: User;
      beforeEach(async () => {
        owner = aUser();
        await store.users.insert(owner);
      });

      test('a new image is created and read back field for field', async () => {
        const image = anImage(owner.id);
        assert.deepEqual(await store.images.insertOrGetExisting(image), { image, created: true });
        assert.deepEqual(await store.images.findById(image.id), image);
        assert.deepEqual(await store.images.findByOwnerAndHash(owner.id, image.sha256), image);
        const bare = anImage(owner.id, noPhotoMetadata);
        await store.images.insertOrGetExisting(bare);
        assert.deepEqual(await store.images.findById(bare.id), bare);
        assert.equal(await store.images.findById(randomUUID()), null);
      });

      test('the same owner and bytes again returns the first image, created: false', async () => {
        const first = anImage(owner.id);
        await store.images.insertOrGetExisting(first);
        const sameBytes = anImage(owner.id, { sha256: first.sha256 });
        const again = await store.images.insertOrGetExisting(sameBytes);
        assert.deepEqual(again, { image: first, created: false });
        assert.equal(await store.images.countByHash(first.sha256), 1);
      });

      test("another owner's upload of the same bytes is a new image (same blob)", async () => {
        const other = aUser();
        await store.users.insert(other);
        const mine = anImage(owner.id);
        await store.images.insertOrGetExisting(mine);
        const theirs = anImage(other.id, { sha256: mine.sha256 });
        const result = await store.images.insertOrGetExisting(theirs);
        assert.deepEqual(result, { image: theirs, created: true });
        assert.deepEqual(await store.images.findByOwnerAndHash(other.id, mine.sha256), theirs);
        assert.equal(await store.images.countByHash(mine.sha256), 2);
        assert.equal(await store.images.countByHash(aHash()), 0);
      });

      test('20 concurrent identical uploads create exactly one image', async () => {
        const sha256 = aHash();
        const uploads = Array.from({ length: 20 }, () => anImage(owner.id, { sha256 }));
        const results = await Promise.all(uploads.map((i) => store.images.insertOrGetExisting(i)));
        assert.equal(results.filter((r) => r.created).length, 1);
        assert.equal(new Set(results.map((r) => r.image.id)).size, 1);
        assert.equal(await store.images.countByHash(sha256), 1);
      });

      test('delete removes the row and reports whether one existed', async () => {
        const image = anImage(owner.id);
        await store.images.insertOrGetExisting(image);
        assert.equal(await store.images.delete(image.id), true);
        assert.equal(await store.images.findById(image.id), null);
        assert.equal(await store.images.countByHash(image.sha256), 0);
        assert.equal(await store.images.delete(image.id), false);
      });

      test('markUploadCompleted sets uploadCompletedAt and ready only once', async () => {
        const image = anImage(owner.id);
        await store.images.insertOrGetExisting(image);
        assert.equal(await store.images.markUploadCompleted(image.id, 1_700_000_000_500), true);
        assert.equal(await store.images.markUploadCompleted(image.id, 1_700_000_000_900), false);
        const done = await store.images.findById(image.id);
        assert.deepEqual(done, { ...image, status: 'ready', uploadCompletedAt: 1_700_000_000_500 });
        assert.equal(await store.images.markUploadCompleted(randomUUID(), 1), false);
      });
    });

    describe('event log', () => {
      migrated();

      test('append returns the events in order with strictly increasing positions', async () => {
        const before = Date.now();
        const byUser = { ...anEvent('b'), actorId: 'user-1' };
        const first = await store.events.append(anEvent('a'), byUser, anEvent('c'));
        const second = await store.events.append(anEvent('d'));
        const all = [...first, ...second];
        assert.deepEqual(
          all.map((e) => e.subjectId),
          ['a', 'b', 'c', 'd'],
        );
        for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
        for (const event of all) assert.ok(event.at >= before && event.at <= Date.now());
        assert.deepEqual(await store.events.list(0, 100), all);
        assert.deepEqual(await store.events.append(), []);
      });

      test('list(after, limit) pages through the log in position order', async () => {
        const all = await store.events.append(...['a', 'b', 'c', 'd', 'e'].map((s) => anEvent(s)));
        assert.deepEqual(await store.events.list(all[1]!.position, 2), all.slice(2, 4));
        assert.deepEqual(await store.events.list(all[4]!.position, 10), []);
      });

      test('list filters by type within the page; lastPosition is the end of the log (0 when empty)', async () => {
        assert.equal(await store.events.lastPosition(), 0);
        const other = (subjectId: string) => ({ ...anEvent(subjectId), type: 'CommentAdded' as const });
        const all = await store.events.append(other('x'), anEvent('a'), other('y'), anEvent('b'), anEvent('c'));
        assert.deepEqual(await store.events.list(0, 2, ['ImageCreated']), [all[1], all[3]]);
        assert.deepEqual(await store.events.list(all[3]!.position, 10, ['ImageCreated', 'CommentAdded']), [all[4]]);
        assert.deepEqual(await store.events.list(0, 10, []), []);
        assert.equal(await store.events.lastPosition(), all[4]!.position);
      });

      test('a reader paging by position never skips an event that commits late', async () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let appended!: () => void;
        const appendedInSlow = new Promise<void>((resolve) => (appended = resolve));
        const slow = store.transaction(async (tx) => {
          await tx.events.append(anEvent('slow'));
          appended();
          await gate;
        });
        await appendedInSlow;
        const fast = store.events.append(anEvent('fast'));
        await sleep(50);
        const seenEarly = store.events.list(0, 100);
        await sleep(50);
        release();
        await Promise.all([slow, fast]);
        const early = await seenEarly;
        const highestSeen = Math.max(0, ...early.map((e) => e.position));
        const seen = new Set(early.map((e) => e.position));
        const late = (await store.events.list(0, 100)).filter((e) => !seen.has(e.position));
        assert.equal(early.length + late.length, 2);
        for (const event of late) {
          assert.ok(event.position > highestSeen, `${event.subjectId} appeared behind the reader`);
        }
      });

      test('concurrent appenders committing in any order: a follower sees the whole log in order, no gaps, no skips', async () => {
        // Each transaction appends, then holds its commit back a little, so (where writers run
        // concurrently) positions commit out of order while the follower pages with list(after).
        const appenders = Array.from({ length: 24 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.events.append(anEvent(`e${i}`));
            await sleep((i * 7) % 13);
          }),
        );
        let done = false;
        const finished = Promise.all(appenders).finally(() => (done = true));
        const followed: StoredEvent[] = [];
        const follow = async (): Promise<void> => {
          const page = await store.events.list(followed.at(-1)?.position ?? 0, 5);
          followed.push(...page);
        };
        while (!done) {
          await follow();
          // An embedded database answers without I/O: let the appenders' timers run in between.
          await new Promise((resolve) => setImmediate(resolve));
        }
        await finished;
        for (let before = -1; followed.length !== before; ) {
          before = followed.length;
          await follow();
        }
        const log = await store.events.list(0, 100);
        assert.equal(log.length, 24);
        assert.deepEqual(followed, log);
      });
    });

    describe('transactions', () => {
      migrated();

      test('commits every write made through tx and returns the result of work', async () => {
        const user = aUser();
        const image = anImage(user.id);
        const result = await store.transaction(async (tx) => {
          await tx.users.insert(user);
          await tx.images.insertOrGetExisting(image);
          await tx.events.append(anEvent(image.id));
          return 'done';
        });
        assert.equal(result, 'done');
        assert.deepEqual(await store.users.findById(user.id), user);
        assert.deepEqual(await store.images.findById(image.id), image);
        assert.deepEqual(
          (await store.events.list(0, 10)).map((e) => e.subjectId),
          [image.id],
        );
      });

      test('a throw inside rolls back every write made through tx and is rethrown', async () => {
        const user = aUser();
        const image = anImage(user.id);
        const failure = new Error('work failed');
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.users.insert(user);
            await tx.images.insertOrGetExisting(image);
            await tx.events.append(anEvent(image.id));
            throw failure;
          }),
          (e) => e === failure,
        );
        assert.equal(await store.users.findById(user.id), null);
        assert.equal(await store.images.findById(image.id), null);
        assert.deepEqual(await store.events.list(0, 10), []);
      });
    });

    describe('posts, comments and the feed', () => {
      migrated();
      postsContract(scope);
    });

    describe('per-user listings, password changes and account deletion', () => {
      migrated();
      accountsContract(scope);
    });

    describe('idempotency keys', () => {
      migrated();
      idempotencyContract(scope);
    });

    describe('collections and their images', () => {
      migrated();
      collectionsContract(scope);
    });

    describe('resumable uploads and upload links', () => {
      migrated();
      uploadsContract(scope);
    });

    describe('the job queue', () => {
      migrated();
      jobsContract(scope);
    });

    describe('blob records', () => {
      migrated();
      blobRecordsContract(scope);
    });

    describe('stats, the import ledger and the queries of operations', () => {
      migrated();
      operationsContract(scope);
    });

    describe('instance settings', () => {
      migrated();
      settingsContract(scope);
    });
  });
}

function usernameTaken(error: unknown): boolean {
  return isAppError(error, 'USERNAME_TAKEN');
}
