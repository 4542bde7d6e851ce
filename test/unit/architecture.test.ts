import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Libraries that belong to adapters or transports only (STYLE.md: the core never imports them). */
const forbiddenInCore = [
  /^fastify/,
  /^@fastify\//,
  /^kysely/,
  /^sharp/,
  /^@aws-sdk\//,
  /^ioredis/,
  /^@tus\//,
  /^node:http/,
  /^node:https/,
  /^pg$/,
  /^better-sqlite3/,
  /^mercurius/,
  /^exifr/,
  /^pino/,
];

async function* sourceFiles(dir: string): AsyncIterable<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

for (const layer of ['src/core', 'src/ports']) {
  test(`${layer} imports no HTTP, SQL, image or cloud library, and no adapter or transport`, async () => {
    const offences: string[] = [];
    for await (const file of sourceFiles(join(root, layer))) {
      if (file.endsWith('.contract.ts')) continue;
      for (const specifier of importsOf(await readFile(file, 'utf8'))) {
        const reachesOut = /\/(adapters|transports)\//.test(specifier) || specifier.includes('/app.js');
        if (reachesOut || forbiddenInCore.some((pattern) => pattern.test(specifier))) offences.push(`${relative(root, file)} imports ${specifier}`);
      }
    }
    assert.deepEqual(offences, []);
  });
}
