import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MemoryLocker } from '@tus/server';
import type { FastifyBaseLogger } from 'fastify';
import type { KyselyMetadataStore } from '../../adapters/metadata/kysely-metadata-store.js';
import { openSqliteMetadataStore } from '../../adapters/metadata/sqlite.js';
import { TusFileUploadFiles } from '../../adapters/uploads/tus-file-upload-files.js';
import type { ImageIngest } from '../../core/images/image-ingest.js';
import { UploadService } from '../../core/uploads/upload-service.js';
import { CorsPolicy } from '../cors.js';
import { createTusServer } from './tus-server.js';

// The route checks the session before handing a creation to tus; an account deleted in between
// (its sessions with it) is only noticed by the upload row's foreign key. That window is too narrow
// to hit over HTTP, so the creation is driven here for an owner that does not exist.
describe('tus creation for an account that no longer exists', () => {
  let dir: string;
  let store: KyselyMetadataStore;
  let http: Server;
  let baseUrl: string;
  let owner = '';
  const logged: unknown[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-tus-server-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    const files = await TusFileUploadFiles.open(join(dir, 'uploads'), { expiryMs: 60_000, locker: new MemoryLocker() });
    // Creation never ingests: the ingest a finished upload needs is not part of this test.
    const uploads = new UploadService({ store, files, ingest: {} as ImageIngest }, { expiryMs: 60_000, maxBytes: 1024 });
    const logger = { error: (...args: unknown[]) => logged.push(args) } as unknown as FastifyBaseLogger;
    const tus = createTusServer({ uploads, datastore: files.datastore, locker: files.locker, maxUploadBytes: 1024, logger, cors: new CorsPolicy([]) });
    http = createServer((request, response) => void tus.create(request, response, owner));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => http?.close(resolve));
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const create = () => fetch(`${baseUrl}/uploads`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '100' } });

  test('a live owner gets its upload (201)', async () => {
    owner = randomUUID();
    await store.users.insert({ id: owner, username: `live_${owner.slice(0, 8)}`, passwordHash: 'x', createdAt: Date.now() });
    const created = await create();
    assert.equal(created.status, 201, await created.text());
    assert.match(created.headers.get('location') ?? '', /^\/uploads\/[0-9a-f]{32}$/);
  });

  test('a deleted owner is 401 UNAUTHENTICATED, not a 500: nothing is stored and nothing is logged as an error', async () => {
    const stored = await readdir(join(dir, 'uploads'));
    owner = randomUUID();
    await store.users.insert({ id: owner, username: `gone_${owner.slice(0, 8)}`, passwordHash: 'x', createdAt: Date.now() });
    assert.equal(await store.users.delete(owner), true);
    const refused = await create();
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /^UNAUTHENTICATED: The account no longer exists/);
    assert.equal(refused.headers.get('location'), null);
    assert.deepEqual(await readdir(join(dir, 'uploads')), stored, 'the store created no file');
    assert.deepEqual(logged, []);
  });
});
