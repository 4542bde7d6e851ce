import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrationLedgerContract } from '../../ports/migration-ledger.contract.js';
import { FileMigrationLedger } from './file-migration-ledger.js';

migrationLedgerContract('file of JSON lines', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'migration-ledger-'));
  const path = join(dir, 'sub', 'ledger.jsonl');
  return {
    open: async () => new FileMigrationLedger(path, { source: 'file:/a', target: 's3://b/' }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

test('a line torn by a crash is skipped and the next record starts on its own line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'migration-ledger-'));
  try {
    const path = join(dir, 'ledger.jsonl');
    const first = new FileMigrationLedger(path);
    await first.record({ key: 'originals/aa/bb/one', size: 1, modifiedAt: 1, sha256: 'a'.repeat(64) });
    await first.close();
    await appendFile(path, '{"key":"originals/aa/bb/tw');
    const second = new FileMigrationLedger(path);
    await second.record({ key: 'originals/aa/bb/three', size: 3, modifiedAt: 3, sha256: 'c'.repeat(64) });
    await second.close();
    assert.deepEqual([...(await new FileMigrationLedger(path).load()).keys()], ['originals/aa/bb/one', 'originals/aa/bb/three']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
