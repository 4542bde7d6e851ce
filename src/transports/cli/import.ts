import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createApp } from '../../app.js';
import { isAppError } from '../../core/errors.js';
import type { ImportFile } from '../../core/imports/bulk-import.js';
import { fail, parseCommand } from './command-args.js';
import { formatTable, progressBar } from './cli-output.js';
import { cliLogger } from './cli-logger.js';

export const importUsage = `  import <dir> [--as <username>] [--collection <name>]
            import every image under <dir> (recursively) through the normal upload path, as
            <username> (default: the system user "system:import"), optionally into a collection;
            re-running skips files already imported; exit 1 while any file is rejected or failed`;

const flags = { as: { type: 'string' }, collection: { type: 'string' } } as const;

/**
 * `imagegram import <dir>`: exit 0 when every file is imported (now or before) or a duplicate; 1 while
 * some are rejected (by this run or, unchanged since, an earlier one) or failed.
 */
export async function importCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('import', parsed.message);
  const [dir, ...extra] = parsed.positionals;
  if (dir === undefined || extra.length > 0) return fail('import', 'give exactly one directory: imagegram import <dir>');
  const root = resolve(dir);
  if (
    !(await stat(root).then(
      (info) => info.isDirectory(),
      () => false,
    ))
  )
    return fail('import', `${root} is not a directory`);
  const files = await listFiles(root);
  const app = await createApp(parsed.config, cliLogger(parsed.config));
  const progress = progressBar();
  try {
    const owner = await app.services.bulkImport.owner(parsed.flags.as);
    const summary = await app.services.bulkImport.run(owner, files, {
      collectionName: parsed.flags.collection,
      onProgress: ({ done, total }) => progress.update('importing', done, total),
    });
    progress.stop();
    const lines = [
      `Processed ${files.length} files from ${root} as ${owner.username}${summary.collectionId ? ` into collection ${JSON.stringify(parsed.flags.collection)} (${summary.collectionId})` : ''}:`,
      formatTable(
        ['imported', 'duplicate', 'skipped (done before)', 'rejected', 'failed'],
        [[summary.imported, summary.duplicate, summary.skipped, summary.rejected.length, summary.failed.length]],
      ),
    ];
    if (summary.rejected.length > 0) {
      const earlier = summary.rejected.filter((file) => file.earlier).length;
      lines.push(
        '',
        'Rejected:',
        formatTable(
          ['file', 'code', 'reason'],
          summary.rejected.map((file) => [file.path, file.code, file.earlier ? `${file.detail} (rejected by an earlier run)` : file.detail]),
        ),
        '',
        `The import is not complete while ${summary.rejected.length === 1 ? 'this file is' : `these ${summary.rejected.length} files are`} in ${root}${earlier > 0 ? ` (${earlier} rejected by an earlier run and unchanged since, so not read again)` : ''}: replace or remove them and run it again.`,
      );
    }
    if (summary.failed.length > 0)
      lines.push('', 'Failed (run the import again to retry them):', ...summary.failed.map((file) => `  ${file.path}: ${file.detail}`));
    process.stdout.write(`${lines.join('\n')}\n`);
    return summary.rejected.length + summary.failed.length === 0 ? 0 : 1;
  } catch (error) {
    if (isAppError(error)) return fail('import', error.message);
    throw error;
  } finally {
    progress.stop();
    await app.close();
  }
}

/** Regular files under `root`, recursively, sorted; hidden files and directories are left out. */
async function listFiles(root: string): Promise<ImportFile[]> {
  const files: ImportFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const info = await stat(path);
        files.push({ path, size: info.size, modifiedAt: Math.floor(info.mtimeMs), open: () => createReadStream(path) });
      }
    }
  };
  await walk(root);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
