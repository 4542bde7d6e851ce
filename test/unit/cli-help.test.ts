import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { ConfigError, configOptions, loadConfig } from '../../src/config.js';
import { tableEnd, tableStart, withConfigTable } from '../../src/transports/cli/config-docs.js';
import { commandUsage, usage } from '../../src/transports/cli/main.js';
import { migrateStorageCommand } from '../../src/transports/cli/migrate-storage.js';
import { runImagegram } from '../support/cli.js';

/** Runs a command in this process, collecting what it writes to stderr. */
async function capturingStderr(run: () => Promise<number>): Promise<{ status: number; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { status: await run(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

const readmePath = new URL('../../README.md', import.meta.url);
const commandNames = ['serve', 'worker', 'migrate', 'gc', 'verify', 'stats', 'events', 'jobs', 'reprocess', 'import', 'migrate-storage', 'create-upload-link'];

describe('imagegram --help and the README are generated from one option table', () => {
  test("README's configuration table is the one the option table generates (else run `npm run docs:config`)", async () => {
    const readme = await readFile(readmePath, 'utf8');
    assert.ok(readme.includes(tableStart) && readme.includes(tableEnd), 'README.md has the table markers');
    assert.equal(readme, withConfigTable(readme), 'README.md is out of date: run `npm run docs:config`');
    for (const [name, option] of Object.entries(configOptions)) {
      assert.ok(readme.includes(`| \`${option.env}\` | \`--${name}\` |`), `README lists ${option.env}`);
    }
  });

  test('--help lists every command and every option with its variable, values and default', () => {
    const help = usage();
    for (const name of commandNames) assert.match(help, new RegExp(`^  ${name}\\b`, 'm'), name);
    for (const [name, option] of Object.entries(configOptions)) {
      assert.ok(help.includes(`  --${name} [${option.env}]  ${option.values.replaceAll('`', '')}; default `), `--help lists --${name}`);
    }
  });

  test('every option in the table is read from its flag and from its variable, and the flag wins', () => {
    const samples: Record<string, string> = {
      'admin-token': 'a-sample-admin-token-0123',
      'cursor-secret': 'a-sample-cursor-secret-0123',
      'redis-url': 'redis://127.0.0.1:6390',
      'blob-store-fallback-url': 'file:/srv/old-blobs',
      'gc-grace': 'PT2H',
      'read-repair-after': 'PT5M',
    };
    const context = { dataDir: '/srv/imagegram', env: {} };
    for (const [name, option] of Object.entries(configOptions)) {
      const sample = samples[name] ?? String(option.fallback(context));
      assert.deepEqual(loadConfig([`--${name}`, sample], {}), loadConfig([], { [option.env]: sample }), name);
    }
    assert.equal(loadConfig(['--port', '8080'], { PORT: '9090' }).port, 8080);
    assert.equal(loadConfig(['--graphql-max-depth=7'], {}).graphql.maxDepth, 7);
    assert.equal(loadConfig([], { IMAGEGRAM_DEBUG_QUERY_COUNT: '1' }).debugQueryCount, true);
    assert.throws(
      () => loadConfig(['--blob-store-fallback-url', 'file:/srv/blobs'], { BLOB_STORE_URL: 'file:/srv/blobs' }),
      /BLOB_STORE_FALLBACK_URL must name another store than BLOB_STORE_URL/,
    );
    assert.throws(
      () => loadConfig(['--no-such-option', '1'], {}),
      (error: unknown) => error instanceof ConfigError && /Unknown option '--no-such-option'/.test(error.message),
    );
  });

  test('each command has its own help: usage first, then the options or where to find them', () => {
    for (const name of commandNames) assert.match(commandUsage(name), new RegExp(`^Usage: imagegram ${name}\\b`), name);
    assert.ok(commandUsage('serve').includes('--port [PORT]'));
    assert.ok(commandUsage('gc').includes('--dry-run') && commandUsage('gc').includes('imagegram --help'));
  });
});

describe('the imagegram process', () => {
  test('--help, -h and help print the help on stdout and exit 0', async () => {
    const runs = await Promise.all([['--help'], ['-h'], ['help']].map((args) => runImagegram({}, args)));
    for (const run of runs) {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^Usage: imagegram <command>/);
      assert.ok(run.stdout.includes('--graphql-introspection [GRAPHQL_INTROSPECTION]'));
    }
  });

  test("<command> --help and -h print that command's help and exit 0, running nothing", async () => {
    const runs = await Promise.all(
      [
        ['import', '--help'],
        ['gc', '-h'],
        ['serve', '--port', '1', '--help'],
        ['help', 'verify'],
      ].map((args) => runImagegram({}, args)),
    );
    assert.deepEqual(
      runs.map((run) => run.status),
      [0, 0, 0, 0],
      runs.map((run) => run.stderr).join('\n'),
    );
    assert.deepEqual(
      runs.map((run) => /^Usage: imagegram (\S+)/.exec(run.stdout)?.[1]),
      ['import', 'gc', 'serve', 'verify'],
    );
  });

  test('migrate-storage refuses a missing or bad --to, or a missing source, with a clear message and exit 2, touching nothing', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give the target bucket: --to s3:\/\/<bucket>/],
      [['--to', 's3://Not_A_Bucket?endpoint=http://127.0.0.1:1'], /--to has no valid bucket name/],
      [['--to', 's3://bucket-name?endpoint=ftp://x'], /--to has an endpoint that is not an http\(s\) URL/],
      [['--to', 's3://bucket-name?colour=blue'], /--to has unknown parameters \(colour\)/],
      [['--to', 's3://bucket-name?endpoint=http://127.0.0.1:1'], /the source directory \/nonexistent\/imagegram-data\/blobs does not exist/],
    ];
    for (const [args, message] of cases) {
      const { status, stderr } = await capturingStderr(() => migrateStorageCommand([...args, '--data-dir', '/nonexistent/imagegram-data']));
      assert.equal(status, 2, stderr);
      assert.match(stderr, message);
      assert.match(stderr, /Usage: imagegram migrate-storage --to s3:\/\//);
    }
    // And through the real process: the exit code scripts see.
    const run = await runImagegram({ DATA_DIR: '/nonexistent/imagegram-data' }, ['migrate-storage', '--to', 'file:/tmp/elsewhere'], { timeoutMs: 90_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /imagegram migrate-storage: --to must be an s3:\/\/ URL, got "file:\/tmp\/elsewhere"/);
  });

  test('without a command it prints the help and exits 1 instead of serving; a flag before the command is refused', async () => {
    const [bare, flagFirst, unknown] = await Promise.all([[], ['--port', '8080'], ['srve']].map((args) => runImagegram({}, args, { timeoutMs: 30_000 })));
    assert.equal(bare!.status, 1);
    assert.match(bare!.stderr, /give a command \(imagegram serve starts the server\)\n\nUsage: imagegram <command>/);
    assert.equal(flagFirst!.status, 1);
    assert.match(flagFirst!.stderr, /give the command first, e.g\. imagegram serve --port 8080/);
    assert.equal(unknown!.status, 1);
    assert.match(unknown!.stderr, /unknown command "srve"/);
  });
});
