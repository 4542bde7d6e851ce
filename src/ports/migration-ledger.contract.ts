import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MigrationLedger } from './migration-ledger.js';

/** The behaviour every MigrationLedger adapter must have; `open` reopens the same ledger each call. */
export function migrationLedgerContract(name: string, setup: () => Promise<{ open(): Promise<MigrationLedger>; cleanup(): Promise<void> }>): void {
  describe(`MigrationLedger contract: ${name}`, () => {
    let open: () => Promise<MigrationLedger>;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ open, cleanup } = await setup());
    });
    after(() => cleanup());

    test('a new ledger is empty', async () => {
      const ledger = await open();
      assert.equal((await ledger.load()).size, 0);
      await ledger.close();
    });

    test('recorded entries are there after reopening; the last record of a key wins', async () => {
      const ledger = await open();
      await ledger.record({ key: 'originals/aa/bb/one', size: 3, modifiedAt: 10, sha256: 'a'.repeat(64) });
      await ledger.record({ key: 'derivatives/600-v1/aa/bb/one.jpg', size: 5, modifiedAt: 11, sha256: 'b'.repeat(64) });
      await ledger.record({ key: 'originals/aa/bb/one', size: 4, modifiedAt: 12, sha256: 'c'.repeat(64) });
      await ledger.close();
      const reopened = await open();
      const entries = await reopened.load();
      assert.equal(entries.size, 2);
      assert.deepEqual(entries.get('originals/aa/bb/one'), { key: 'originals/aa/bb/one', size: 4, modifiedAt: 12, sha256: 'c'.repeat(64) });
      await reopened.record({ key: 'originals/aa/bb/two', size: 1, modifiedAt: 13, sha256: 'd'.repeat(64) });
      assert.equal((await reopened.load()).size, 3);
      await reopened.close();
    });

    test('concurrent records are all kept', async () => {
      const ledger = await open();
      await Promise.all(Array.from({ length: 50 }, (_, i) => ledger.record({ key: `originals/cc/dd/k${i}`, size: i, modifiedAt: i, sha256: 'e'.repeat(64) })));
      await ledger.close();
      const reopened = await open();
      const entries = await reopened.load();
      for (let i = 0; i < 50; i++) assert.equal(entries.get(`originals/cc/dd/k${i}`)?.size, i);
      await reopened.close();
    });
  });
}
