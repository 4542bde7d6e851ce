#!/usr/bin/env node
// Compiles src/ into dist/ and stamps the build, so bin/imagegram.js can tell a current build from a
// stale one. Runs at install (`prepare`) and on `npm run build`; never at start, where several
// processes on one host would compile into the same dist/ at once.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildWebApp } from './build-web.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = `${root}dist/.build-started`;
const stamp = `${root}dist/.build-stamp`;

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm install --omit=dev` runs `prepare` too, without TypeScript (a devDependency): imagegram
  // then runs from the sources through tsx, and says so at every start.
  if (process.argv.includes('--optional')) {
    process.stderr.write('imagegram: TypeScript is not installed (--omit=dev?), so dist/ is not built; imagegram will run from the sources (slower start)\n');
    process.exit(0);
  }
  process.stderr.write('imagegram: TypeScript is not installed: run `npm install` (with dev dependencies) first\n');
  process.exit(1);
}

mkdirSync(`${root}dist`, { recursive: true });
// Its mtime, set by the filesystem's clock before compiling, is the build's time: a source saved
// during the build is newer than the stamp, so the build counts as stale.
writeFileSync(started, '');
const result = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (result.status !== 0) {
  // The old stamp (if any) stays: dist/ may be half-written and is reported as stale.
  process.exit(result.status ?? 1);
}
renameSync(started, stamp);

// Then the web app (web/) into dist/web.
const web = await buildWebApp();
if (!web.built) {
  process.stderr.write(`imagegram: ${web.reason}\n`);
  process.exit(process.argv.includes('--optional') ? 0 : 1);
}
