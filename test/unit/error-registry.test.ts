import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { errorCodes } from '../../src/core/errors.js';
import { toProblem } from '../../src/transports/problem.js';
import { AppError, type ErrorCode } from '../../src/core/errors.js';

test('docs/errors.md lists exactly the codes in the registry, with the status each maps to', async () => {
  const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  const registry = new Map<string, number>((Object.keys(errorCodes) as ErrorCode[]).map((code) => [code, toProblem(new AppError(code)).status]));
  for (const [code, status] of documented) {
    if (!registry.has(code)) continue; // transport-level codes are documented too
    assert.equal(status, registry.get(code), `${code} is documented as ${status}`);
  }
  assert.deepEqual(
    [...registry.keys()].filter((code) => !documented.has(code)),
    [],
    'codes missing from docs/errors.md',
  );
});

test('a problem never exposes the detail of an unexpected error', () => {
  const problem = toProblem(new Error('password=hunter2 at /secret/path'));
  assert.equal(problem.status, 500);
  assert.equal(problem.code, 'INTERNAL_ERROR');
  assert.doesNotMatch(JSON.stringify(problem), /hunter2|secret/);
});
