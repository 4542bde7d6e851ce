import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { StoreSlice } from '../../ports/store-slice.js';
import type { CollectionService } from '../collections/collection-service.js';
import { AppError, isAppError } from '../errors.js';
import { newId } from '../ids.js';
import type { ImageIngest } from '../images/image-ingest.js';
import type { User } from '../users/user.js';
import type { ImportEntry } from './import-entry.js';

/** One file offered to an import. */
export interface ImportFile {
  /** Absolute path: the ledger's key, so a re-run recognises the file. */
  path: string;
  size: number;
  modifiedAt: number;
  open(): Readable;
}

/** What an import did (`imagegram import` prints it). */
export interface ImportSummary {
  imported: number;
  duplicate: number;
  /**
   * Files the ingest refused (not an image, corrupt, too large…), with the reason; `earlier` when a
   * previous run refused the file and it is unchanged since (it is not read again).
   */
  rejected: { path: string; code: string; detail: string; earlier: boolean }[];
  /** Files a previous run already imported (or found a duplicate), unchanged since. */
  skipped: number;
  /** Files that failed for reasons that may pass (storage down): not recorded, so a re-run retries them. */
  failed: { path: string; detail: string }[];
  /** The collection the images were put in, if one was named. */
  collectionId: string | null;
}

export interface BulkImportOptions {
  /** Files ingested at once (bounded by cores: decoding is CPU). */
  concurrency: number;
  /** Larger files are rejected without being read (`MAX_UPLOAD_BYTES`). */
  maxBytes: number;
  now?: () => number;
}

export interface ImportRun {
  /** Put every image of the run (skipped files' too) in the owner's collection of this name, made if missing. */
  collectionName?: string | undefined;
  onProgress?: (progress: { done: number; total: number; path: string }) => void;
}

/** The owner of imports run without `--as`: a system user that cannot sign in (`:` is not allowed in usernames). */
export const importOwnerUsername = 'system:import';
const noPassword = '!import-owner-has-no-password';

/** The most ids CollectionService.addImages takes at once. */
const collectionBatch = 100;

/**
 * Bulk import (`imagegram import <dir>`): every file goes through the normal ingest path (format
 * from the bytes, limits, dedup, derivative), a few at a time, and its outcome is recorded in the
 * ledger, so re-running the same import skips what is done, resuming after a crash or ^C. Files
 * rejected before are not read again until they change, but reported as rejected on every run.
 */
export class BulkImport {
  private readonly now: () => number;

  constructor(
    private readonly deps: {
      store: StoreSlice<'collections' | 'events' | 'images' | 'importLedger' | 'users'>;
      ingest: ImageIngest;
      collections: CollectionService;
    },
    private readonly options: BulkImportOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The user named `username` (throws NOT_FOUND), or without one the import system user, made on first use. */
  async owner(username: string | undefined): Promise<User> {
    const { store } = this.deps;
    const found = await store.users.findByUsername(username ?? importOwnerUsername);
    if (found) return found;
    if (username !== undefined) throw new AppError('NOT_FOUND', `No user named ${JSON.stringify(username)}`);
    const user: User = { id: newId(), username: importOwnerUsername, passwordHash: noPassword, createdAt: this.now() };
    try {
      await store.transaction(async (tx) => {
        await tx.users.insert(user);
        await tx.events.append({ type: 'UserRegistered', actorId: null, subjectId: user.id, payload: { username: user.username, system: true } });
      });
      return user;
    } catch (error) {
      // Two imports starting at once: the other one made it.
      if (isAppError(error, 'USERNAME_TAKEN')) return (await store.users.findByUsername(importOwnerUsername))!;
      throw error;
    }
  }

  /** Imports `files` as `owner`. Never throws for one bad file; throws only when the ledger cannot be read. */
  async run(owner: User, files: readonly ImportFile[], run: ImportRun = {}): Promise<ImportSummary> {
    const { store } = this.deps;
    const summary: ImportSummary = { imported: 0, duplicate: 0, rejected: [], skipped: 0, failed: [], collectionId: null };
    const collectionId = run.collectionName === undefined ? null : await this.collectionOf(owner, run.collectionName);
    summary.collectionId = collectionId;
    const imageIds: string[] = [];
    const limit = pLimit(this.options.concurrency);
    let done = 0;
    for (let start = 0; start < files.length; start += 500) {
      const batch = files.slice(start, start + 500);
      const known = new Map(
        (
          await store.importLedger.find(
            owner.id,
            batch.map((file) => file.path),
          )
        ).map((entry) => [entry.path, entry]),
      );
      await Promise.all(
        batch.map((file) =>
          limit(async () => {
            const entry = known.get(file.path);
            if (entry && entry.size === file.size && entry.modifiedAt === file.modifiedAt) {
              // A rejected file stays rejected until it changes: the run is not done while it is there.
              if (entry.outcome === 'rejected') summary.rejected.push({ path: file.path, ...rejection(entry.detail), earlier: true });
              else summary.skipped += 1;
              if (entry.imageId) imageIds.push(entry.imageId);
            } else {
              const outcome = await this.importOne(owner, file, summary);
              if (outcome?.imageId) imageIds.push(outcome.imageId);
            }
            done += 1;
            run.onProgress?.({ done, total: files.length, path: file.path });
          }),
        ),
      );
    }
    if (collectionId !== null) await this.fillCollection(owner, collectionId, imageIds);
    return summary;
  }

  private async importOne(owner: User, file: ImportFile, summary: ImportSummary): Promise<ImportEntry | null> {
    const entry: ImportEntry = {
      ownerId: owner.id,
      path: file.path,
      size: file.size,
      modifiedAt: file.modifiedAt,
      outcome: 'rejected',
      imageId: null,
      detail: null,
      recordedAt: 0,
    };
    try {
      if (file.size > this.options.maxBytes) throw new AppError('IMAGE_TOO_LARGE', `The file is larger than ${this.options.maxBytes} bytes`);
      const { image, duplicate } = await this.deps.ingest.ingestStream(owner.id, file.open());
      entry.outcome = duplicate ? 'duplicate' : 'imported';
      entry.imageId = image.id;
      if (duplicate) summary.duplicate += 1;
      else summary.imported += 1;
    } catch (error) {
      // What is wrong with the file will be wrong next time too; anything else may pass later.
      if (!isAppError(error) || error.kind === 'unavailable') {
        summary.failed.push({ path: file.path, detail: error instanceof Error ? error.message : String(error) });
        return null;
      }
      entry.detail = `${error.code}: ${error.message}`;
      summary.rejected.push({ path: file.path, code: error.code, detail: error.message, earlier: false });
    }
    await this.deps.store.importLedger.record({ ...entry, recordedAt: this.now() });
    return entry;
  }

  /** The owner's collection named `name`, created when there is none. */
  private async collectionOf(owner: User, name: string): Promise<string> {
    for (let after: string | null = null; ; ) {
      const page = await this.deps.store.collections.listByOwner(owner.id, after, 100);
      const found = page.find((collection) => collection.name === name);
      if (found) return found.id;
      if (page.length < 100) break;
      after = page[page.length - 1]!.id;
    }
    return (await this.deps.collections.create(owner, name)).id;
  }

  private async fillCollection(owner: User, collectionId: string, imageIds: string[]): Promise<void> {
    const distinct = [...new Set(imageIds)];
    for (let start = 0; start < distinct.length; start += collectionBatch) {
      const batch = distinct.slice(start, start + collectionBatch);
      // Images deleted since an earlier run are left out rather than failing the batch.
      const existing = (await this.deps.store.images.findByIds(batch)).filter((image) => image.ownerId === owner.id).map((image) => image.id);
      if (existing.length > 0) await this.deps.collections.addImages(owner, collectionId, existing);
    }
  }
}

/** A ledger entry's `detail` ("CODE: message") as the summary shows it. */
function rejection(detail: string | null): { code: string; detail: string } {
  const match = /^([A-Z_]+): ([\s\S]*)$/.exec(detail ?? '');
  return match ? { code: match[1]!, detail: match[2]! } : { code: 'REJECTED', detail: detail ?? '' };
}
