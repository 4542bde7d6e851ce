import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
let cached: string[] | undefined;

/**
 * Node arguments that run `src/main.ts` in a child process: the compiled `dist/main.js` when it was
 * built after every source last changed (about half the start-up CPU: tsx's loader hooks cost as
 * much as the rest of the start), else the sources through `--import tsx`. Not `bin/imagegram.js`:
 * its fallback registers tsx in the main thread only, so worker threads (BMP decoding) cannot load
 * `.ts` files. The freshness rule is bin/imagegram.js's: the build stamp is newer than tsconfig*.json
 * and than every non-test file and directory under src/.
 */
export function imagegramEntry(): string[] {
  cached ??= isBuildFresh() ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  return cached;
}

function isBuildFresh(): boolean {
  let builtAt: number;
  try {
    builtAt = statSync(join(projectRoot, 'dist/.build-stamp')).mtimeMs;
  } catch {
    return false;
  }
  const newer = (path: string) => statSync(path).mtimeMs > builtAt;
  const walk = (dir: string): boolean =>
    newer(dir) ||
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? walk(path) : !/\.(test|contract)\.ts$/.test(entry.name) && newer(path);
    });
  return !['tsconfig.json', 'tsconfig.build.json'].some((file) => newer(join(projectRoot, file))) && !walk(join(projectRoot, 'src'));
}
