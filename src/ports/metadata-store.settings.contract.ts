import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContractScope } from './metadata-store.support.contract.js';

/** The contract of `settings` (see InstanceSettings in metadata-store.ts). */
export function settingsContract(scope: ContractScope): void {
  test('an unknown name reads null; the first setIfAbsent wins, also among concurrent ones', async () => {
    assert.equal(await scope.store.settings.get('cursor-secret'), null);
    const values = await Promise.all(['a', 'b', 'c'].map((value) => scope.store.settings.setIfAbsent('cursor-secret', value)));
    const stored = await scope.store.settings.get('cursor-secret');
    assert.ok(stored === 'a' || stored === 'b' || stored === 'c');
    assert.deepEqual(values, [stored, stored, stored]);
    assert.equal(await scope.store.settings.setIfAbsent('cursor-secret', 'd'), stored);
  });

  test('set replaces a value, inside a transaction too', async () => {
    await scope.store.settings.set('admin-token-fingerprint', 'one');
    await scope.store.transaction((tx) => tx.settings.set('admin-token-fingerprint', 'two'));
    assert.equal(await scope.store.settings.get('admin-token-fingerprint'), 'two');
    assert.equal(await scope.store.settings.get('other'), null);
  });
}
