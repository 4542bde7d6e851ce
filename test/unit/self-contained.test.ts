/**
 * The repository stands alone: docs and comments explain themselves instead of pointing at an
 * internal brief that a clone does not have (section numbers of a spec, links outside the repo).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const outsideReferences = [/SPEC §/, /\.\.\/shared\//, /\bseed 00\d\b/];

test('no tracked file cites the internal brief', () => {
  const files = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.js', '*.md', '*.json', '*.graphql'], { encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && file !== 'test/unit/self-contained.test.ts' && file !== 'package-lock.json');
  const found: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // deleted in the work tree
    }
    text.split('\n').forEach((line, index) => {
      if (outsideReferences.some((pattern) => pattern.test(line))) found.push(`${file}:${index + 1}: ${line.trim().slice(0, 120)}`);
    });
  }
  assert.deepEqual(found, []);
});
