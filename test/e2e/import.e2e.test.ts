import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { eventually, signUpAndLogIn, type TestUser } from '../support/client.js';
import { cameraExif } from '../support/fixtures.js';
import { graphql } from '../support/graphql.js';
import { runImagegram } from '../support/cli.js';
import { startServer, type RunningServer } from '../support/server.js';

interface Summary {
  imported: number;
  duplicate: number;
  skipped: number;
  rejected: number;
  failed: number;
}
interface ImportRun {
  status: number | null;
  stdout: string;
  stderr: string;
  summary: Summary | null;
  processed: number | null;
  owner: string | null;
  collectionId: string | null;
}
interface ImageJson {
  id: string;
  ownerId: string;
  hash: string;
  format: string;
  status: string;
  camera: { make: string | null; model: string | null } | null;
}

/** Runs `imagegram import <args>` and parses its summary table. */
function runImport(env: Record<string, string>, args: string[]): Promise<ImportRun> {
  return runImagegram(env, ['import', ...args]).then(({ status, stdout, stderr }) => {
    const lines = stdout.split('\n');
    const header = lines.findIndex((line) => /^imported\s+duplicate\s+skipped/.test(line));
    const numbers = header >= 0 ? lines[header + 2]!.trim().split(/\s+/).map(Number) : null;
    const summary =
      numbers && numbers.length === 5
        ? { imported: numbers[0]!, duplicate: numbers[1]!, skipped: numbers[2]!, rejected: numbers[3]!, failed: numbers[4]! }
        : null;
    const heading = /^Processed (\d+) files from .* as (\S+)(?: into collection "[^"]*" \(([^)]+)\))?:$/m.exec(stdout);
    return { status, stdout, stderr, summary, processed: heading ? Number(heading[1]) : null, owner: heading?.[2] ?? null, collectionId: heading?.[3] ?? null };
  });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const png = (seed: number, width = 64, height = 48) =>
  sharp({ create: { width, height, channels: 3, background: { r: seed, g: (seed * 5) % 256, b: 255 - seed } } })
    .png()
    .toBuffer();

describe('imagegram import <dir>: bulk import through the normal ingest path, resumable', () => {
  let server: RunningServer;
  let dir: string;
  let alice: TestUser;
  /** What each file of the import dir holds, by its name under the dir. */
  const files = new Map<string, Buffer>();

  const adminGet = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${server.baseUrl}${path}`, { headers: { 'x-access-token': server.adminToken } });
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  /** Every ImageCreated event, in order. */
  const imagesCreated = async () => {
    const { events } = await adminGet<{ events: { type: string; actorId: string; subjectId: string; payload: { sha256: string } }[] }>(
      '/admin/events?after=0&limit=1000',
    );
    return events.filter((event) => event.type === 'ImageCreated');
  };
  const image = async (id: string): Promise<ImageJson> => {
    const response = await fetch(`${server.baseUrl}/images/${id}`);
    assert.equal(response.status, 200);
    return (await response.json()) as ImageJson;
  };
  const ownerName = async (imageId: string) =>
    (await graphql<{ image: { owner: { username: string } } }>(server.baseUrl, `{ image(id: "${imageId}") { owner { username } } }`)).body.data!.image.owner
      .username;

  before(async () => {
    server = await startServer();
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
    dir = await mkdtemp(join(tmpdir(), 'imagegram-import-'));
    await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
    await mkdir(join(dir, '.thumbnails'));
    const beach = await png(10);
    const fullPng = await png(40, 200, 150);
    files.set('beach.png', beach);
    files.set(
      'nested/camera.jpg',
      await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } })
        .withExif(cameraExif)
        .jpeg()
        .toBuffer(),
    );
    files.set('nested/deeper/forest.png', await png(20));
    // The same bytes as beach.png under another name: a duplicate.
    files.set('nested/deeper/beach copy.png', beach);
    files.set('notes.txt', Buffer.from('not an image, just some notes\n'));
    // A PNG cut off half-way through its pixel data.
    files.set('nested/broken.png', fullPng.subarray(0, Math.floor(fullPng.length / 2)));
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
    // Hidden files and directories are never imported.
    await writeFile(join(dir, '.hidden.png'), await png(30));
    await writeFile(join(dir, '.thumbnails', 'thumb.png'), await png(31));
  });
  after(async () => {
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  let systemOwnerId: string;

  test('a first run imports images, recognises the duplicate, rejects the rest with reasons, skips hidden files, and exits 1', async () => {
    const createdBefore = (await imagesCreated()).length;
    const run = await runImport(server.env, [dir]);
    assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
    assert.equal(run.processed, 6, run.stdout);
    assert.equal(run.owner, 'system:import');
    assert.deepEqual(run.summary, { imported: 3, duplicate: 1, skipped: 0, rejected: 2, failed: 0 }, run.stdout);
    const rejected = run.stdout.slice(run.stdout.indexOf('Rejected:'));
    assert.match(rejected, /notes\.txt\s+UNSUPPORTED_FORMAT/);
    assert.match(rejected, /broken\.png\s+CORRUPT_IMAGE/);
    assert.ok(!run.stdout.includes('.hidden.png') && !run.stdout.includes('thumb.png'));

    const created = (await imagesCreated()).slice(createdBefore);
    assert.equal(created.length, 3);
    const hashes = ['beach.png', 'nested/camera.jpg', 'nested/deeper/forest.png'].map((name) => sha256(files.get(name)!));
    assert.deepEqual(created.map((event) => event.payload.sha256).sort(), [...hashes].sort());
    systemOwnerId = created[0]!.actorId;
    for (const event of created) {
      const shown = await image(event.subjectId);
      assert.equal(shown.status, 'ready');
      assert.equal(shown.ownerId, systemOwnerId);
      assert.equal((await fetch(`${server.baseUrl}/images/${event.subjectId}.jpg`)).status, 200);
    }
    assert.equal(await ownerName(created[0]!.subjectId), 'system:import');
    // Imported images go through the whole pipeline: the worker reads the camera from EXIF.
    const camera = created.find((event) => event.payload.sha256 === sha256(files.get('nested/camera.jpg')!))!;
    const withCamera = await eventually(
      async () => {
        const shown = await image(camera.subjectId);
        return shown.camera ? shown : undefined;
      },
      { what: 'the EXIF of the imported JPEG' },
    );
    assert.deepEqual(withCamera.camera, { make: 'Nikon', model: 'Z 6' });
    assert.equal(withCamera.format, 'jpeg');
  });

  test('a re-run skips the files imported before and creates nothing, but the rejected files still count: exit 1 until they are gone', async () => {
    const createdBefore = (await imagesCreated()).length;
    const run = await runImport(server.env, [dir]);
    assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(run.summary, { imported: 0, duplicate: 0, skipped: 4, rejected: 2, failed: 0 }, run.stdout);
    const rejected = run.stdout.slice(run.stdout.indexOf('Rejected:'));
    assert.match(rejected, /notes\.txt\s+UNSUPPORTED_FORMAT\s+.*\(rejected by an earlier run\)/);
    assert.match(rejected, /broken\.png\s+CORRUPT_IMAGE\s+.*\(rejected by an earlier run\)/);
    assert.match(
      run.stdout,
      /The import is not complete while these 2 files are in .* \(2 rejected by an earlier run and unchanged since, so not read again\): replace or remove them and run it again\./,
    );
    assert.equal((await imagesCreated()).length, createdBefore);
  });

  test('a file changed since the last run is imported again; the others stay skipped', async () => {
    const createdBefore = (await imagesCreated()).length;
    const changed = await png(99);
    files.set('nested/deeper/forest.png', changed);
    await writeFile(join(dir, 'nested/deeper/forest.png'), changed);
    const later = new Date(Date.now() + 60_000);
    await utimes(join(dir, 'nested/deeper/forest.png'), later, later);
    const run = await runImport(server.env, [dir]);
    assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(run.summary, { imported: 1, duplicate: 0, skipped: 3, rejected: 2, failed: 0 }, run.stdout);
    const created = (await imagesCreated()).slice(createdBefore);
    assert.deepEqual(
      created.map((event) => [event.payload.sha256, event.actorId]),
      [[sha256(changed), systemOwnerId]],
    );
  });

  test('--as <username> imports as that user; --collection puts every image in one collection of theirs, made once', async () => {
    const createdBefore = (await imagesCreated()).length;
    const run = await runImport(server.env, [dir, '--as', alice.username, '--collection', 'Trip']);
    assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
    assert.equal(run.owner, alice.username);
    // The ledger is per owner: nothing alice imported before, so every file is new for her.
    assert.deepEqual(run.summary, { imported: 3, duplicate: 1, skipped: 0, rejected: 2, failed: 0 }, run.stdout);
    assert.ok(run.collectionId, run.stdout);

    const created = (await imagesCreated()).slice(createdBefore);
    assert.equal(created.length, 3);
    assert.ok(created.every((event) => event.actorId === alice.id));
    for (const event of created) assert.equal((await image(event.subjectId)).ownerId, alice.id);
    assert.equal(await ownerName(created[0]!.subjectId), alice.username);

    type CollectionData = { collection: { name: string; owner: { username: string }; images: { id: string }[] } };
    const collection = async (id: string) =>
      (await graphql<CollectionData>(server.baseUrl, `{ collection(id: "${id}") { name owner { username } images { id } } }`)).body.data!.collection;
    const trip = await collection(run.collectionId!);
    assert.equal(trip.name, 'Trip');
    assert.equal(trip.owner.username, alice.username);
    assert.deepEqual(trip.images.map((img) => img.id).sort(), created.map((event) => event.subjectId).sort());

    // A re-run finds the same collection (none is made twice) and leaves its images as they are.
    const again = await runImport(server.env, [dir, '--as', alice.username, '--collection', 'Trip']);
    assert.equal(again.status, 1, `${again.stdout}\n${again.stderr}`);
    assert.deepEqual(again.summary, { imported: 0, duplicate: 0, skipped: 4, rejected: 2, failed: 0 }, again.stdout);
    assert.equal(again.collectionId, run.collectionId);
    assert.equal((await imagesCreated()).length, createdBefore + 3);
    const mine = await graphql<{ collections: { edges: { node: { id: string; name: string } }[] } }>(
      server.baseUrl,
      '{ collections(first: 100) { edges { node { id name } } } }',
      {},
      alice,
    );
    assert.deepEqual(
      mine.body.data!.collections.edges.map((edge) => edge.node),
      [{ id: run.collectionId, name: 'Trip' }],
    );
    assert.deepEqual((await collection(run.collectionId!)).images.map((img) => img.id).sort(), trip.images.map((img) => img.id).sort());
  });

  test('--collection on a re-run gathers the images of files imported by earlier runs (skipped now) as well', async () => {
    const createdBefore = await imagesCreated();
    const run = await runImport(server.env, [dir, '--collection', 'Everything']);
    assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
    assert.equal(run.owner, 'system:import');
    assert.deepEqual(run.summary, { imported: 0, duplicate: 0, skipped: 4, rejected: 2, failed: 0 }, run.stdout);
    assert.equal((await imagesCreated()).length, createdBefore.length);
    // What the ledger says each file became now: beach (and its copy), camera, and the changed forest.
    const current = ['beach.png', 'nested/camera.jpg', 'nested/deeper/forest.png'].map((name) => sha256(files.get(name)!));
    const expected = createdBefore.filter((event) => event.actorId === systemOwnerId && current.includes(event.payload.sha256)).map((event) => event.subjectId);
    assert.equal(expected.length, 3);
    const everything = (
      await graphql<{ collection: { owner: { username: string }; images: { id: string }[] } }>(
        server.baseUrl,
        `{ collection(id: "${run.collectionId}") { owner { username } images { id } } }`,
      )
    ).body.data!.collection;
    assert.equal(everything.owner.username, 'system:import');
    assert.deepEqual(everything.images.map((img) => img.id).sort(), expected.sort());
  });

  test('--as an unknown user, or a path that is not a directory, exits 1 with a message and imports nothing', async () => {
    const createdBefore = (await imagesCreated()).length;
    const nobody = await runImport(server.env, [dir, '--as', 'nobody']);
    assert.equal(nobody.status, 1);
    assert.match(nobody.stderr, /imagegram import: No user named "nobody"/);
    assert.equal(nobody.summary, null);
    const notADir = await runImport(server.env, [join(dir, 'notes.txt')]);
    assert.equal(notADir.status, 1);
    assert.match(notADir.stderr, /is not a directory/);
    assert.equal((await imagesCreated()).length, createdBefore);
    assert.deepEqual(await readFile(join(dir, 'notes.txt')), files.get('notes.txt'));
  });

  test('once the rejected files are replaced or removed, a re-run completes the import and exits 0', async () => {
    const createdBefore = (await imagesCreated()).length;
    await rm(join(dir, 'notes.txt'));
    const fixed = await png(77);
    await writeFile(join(dir, 'nested/broken.png'), fixed);
    const later = new Date(Date.now() + 120_000);
    await utimes(join(dir, 'nested/broken.png'), later, later);
    const run = await runImport(server.env, [dir]);
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(run.summary, { imported: 1, duplicate: 0, skipped: 4, rejected: 0, failed: 0 }, run.stdout);
    assert.ok(!run.stdout.includes('Rejected:'), run.stdout);
    const created = (await imagesCreated()).slice(createdBefore);
    assert.deepEqual(
      created.map((event) => event.payload.sha256),
      [sha256(fixed)],
    );
  });
});
