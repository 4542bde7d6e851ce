import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, ByteRange, LocalBlobFile, PutFileOptions } from '../../ports/blob-store.js';

/**
 * The blob store of a deployment switching stores (docs/storage-migration.md): every write, delete
 * and listing goes to `primary`; a read that misses there is answered from `fallback`, which is
 * never written. Until `imagegram migrate-storage` has copied everything, an object can still be
 * only in the old store; presence checks (`head`) fall back too, so garbage collection and read
 * repair never take an object still in the old store for lost.
 */
export class FallbackBlobStore implements BlobStore {
  constructor(
    private readonly primary: BlobStore,
    private readonly fallback: BlobStore,
    /** Told of each read the fallback answered (logged, so operators see the old store still in use). */
    private readonly onFallback: (key: string, operation: string) => void = () => {},
  ) {}

  putFile(key: string, sourcePath: string, options?: PutFileOptions): Promise<{ created: boolean }> {
    return this.primary.putFile(key, sourcePath, options);
  }

  put(key: string, body: Buffer): Promise<void> {
    return this.primary.put(key, body);
  }

  get(key: string): Promise<Buffer | null> {
    return this.read(key, 'get', (store) => store.get(key));
  }

  createReadStream(key: string, range?: ByteRange): Promise<Readable | null> {
    return this.read(key, 'createReadStream', (store) => store.createReadStream(key, range));
  }

  localFile(key: string): Promise<LocalBlobFile | null> {
    return this.read(key, 'localFile', (store) => store.localFile(key));
  }

  head(key: string): Promise<BlobInfo | null> {
    return this.read(key, 'head', (store) => store.head(key));
  }

  /**
   * From the primary only: a copy left in the fallback would otherwise be read after its deletion.
   * That copy is unreferenced (only collection deletes), so a later migration pass may copy it back,
   * and collection removes it again.
   */
  delete(key: string): Promise<void> {
    return this.primary.delete(key);
  }

  /** The primary's objects only: listings find garbage and check presence, and both are confirmed with `head`. */
  list(prefix: string): AsyncIterable<BlobInfo> {
    return this.primary.list(prefix);
  }

  ping(): Promise<void> {
    return this.primary.ping();
  }

  private async read<T>(key: string, operation: string, run: (store: BlobStore) => Promise<T | null>): Promise<T | null> {
    const found = await run(this.primary);
    if (found !== null) return found;
    const fallen = await run(this.fallback);
    if (fallen !== null) this.onFallback(key, operation);
    return fallen;
  }
}
