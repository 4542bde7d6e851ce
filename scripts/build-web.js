#!/usr/bin/env node
// Builds the web app (web/, Preact + Vite) into dist/web, which the server serves at `/`, and
// compresses its scripts and stylesheets once so the server can send the .br or .gz copy.
// Run by scripts/build.js (so at install) and by the browser test when web/ changed since.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Builds dist/web; `{ built: false, reason }` when Vite is not installed (a devDependency, like TypeScript). */
export async function buildWebApp() {
  let vite;
  try {
    vite = await import('vite');
  } catch {
    return { built: false, reason: 'Vite is not installed (--omit=dev?), so the web app is not built; the API works without it' };
  }
  await vite.build({ configFile: `${root}web/vite.config.ts`, logLevel: 'warn' });
  const assets = `${root}dist/web/assets`;
  for (const name of readdirSync(assets).filter((file) => /\.(js|css)$/.test(file))) {
    const bytes = readFileSync(`${assets}/${name}`);
    writeFileSync(`${assets}/${name}.gz`, gzipSync(bytes, { level: 9 }));
    writeFileSync(`${assets}/${name}.br`, brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }));
  }
  return { built: true };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await buildWebApp();
  if (!result.built) {
    process.stderr.write(`imagegram: ${result.reason}\n`);
    process.exit(1);
  }
}
