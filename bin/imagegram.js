#!/usr/bin/env node
// Runs the compiled CLI from dist/ (built at install by `npm run build`), which starts in about a
// second. When dist/ is missing or older than the sources, says so and runs the sources through
// tsx instead: a few seconds slower, never stale code.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stale = staleBuild();
if (stale === null) {
  await import(join(root, 'dist/main.js'));
} else {
  process.stderr.write(`imagegram: ${stale}: running the TypeScript sources instead (slower start); run \`npm run build\` to use the compiled code\n`);
  const { register } = await import('tsx/esm/api');
  register();
  await import(join(root, 'src/main.ts'));
}

/** Why dist/ cannot be trusted, or null when it was built after every source last changed. */
function staleBuild() {
  let builtAt;
  try {
    builtAt = statSync(join(root, 'dist/.build-stamp')).mtimeMs;
  } catch {
    return 'dist/ is not built';
  }
  // A file's mtime catches edits; its directory's mtime catches files added, renamed or deleted.
  // Walking src/ (about 200 entries) costs a few milliseconds.
  const newer = (path) => statSync(path).mtimeMs > builtAt;
  const walk = (dir) => {
    if (newer(dir)) return dir;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = walk(path);
        if (found) return found;
      } else if (!/\.(test|contract)\.ts$/.test(entry.name) && newer(path)) {
        return path;
      }
    }
    return null;
  };
  let changed;
  try {
    changed = ['tsconfig.json', 'tsconfig.build.json'].map((file) => join(root, file)).find(newer) ?? walk(join(root, 'src'));
  } catch {
    return null; // No sources here (a copy of dist/ alone): nothing to compare with.
  }
  return changed ? `dist/ is older than ${relative(root, changed)}` : null;
}
