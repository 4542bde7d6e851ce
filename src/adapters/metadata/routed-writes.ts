import type { MetadataRepositories } from '../../ports/metadata-store.js';

type RunWrite = <T>(work: (tx: MetadataRepositories) => Promise<T>) => Promise<T>;

type MethodNames<R> = {
  [M in keyof R]-?: R[M] extends (...args: never[]) => unknown ? M : never;
}[keyof R];

/**
 * Every method of every repository, each marked as one that only reads or one that may write.
 * The type demands every method and nothing else, so a method added to a port does not compile
 * until it is classified here.
 */
type MethodKinds = {
  readonly [R in keyof MetadataRepositories]: { readonly [M in MethodNames<MetadataRepositories[R]>]: 'read' | 'write' };
};

const methodKinds = {
  users: { insert: 'write', findByUsername: 'read', findById: 'read', findByIds: 'read', setPasswordHash: 'write', delete: 'write' },
  sessions: { insert: 'write', findActive: 'read', delete: 'write', deleteByUser: 'write', deleteExpired: 'write' },
  images: {
    insertOrGetExisting: 'write',
    findById: 'read',
    findByIds: 'read',
    listByOwner: 'read',
    deleteByOwner: 'write',
    findByOwnerAndHash: 'read',
    delete: 'write',
    markUploadCompleted: 'write',
    markFailed: 'write',
    countByHash: 'read',
    findByHash: 'read',
    setMetadata: 'write',
    setSharing: 'write',
    listIncomplete: 'read',
    listIds: 'read',
  },
  events: { append: 'write', list: 'read', lastPosition: 'read' },
  posts: {
    insert: 'write',
    add: 'write',
    findById: 'read',
    findViews: 'read',
    feedPage: 'read',
    listByAuthor: 'read',
    setCaption: 'write',
    deleteByAuthor: 'write',
    delete: 'write',
    adjustCommentCount: 'write',
    countByImage: 'read',
    findByImage: 'read',
  },
  comments: {
    insert: 'write',
    add: 'write',
    findById: 'read',
    delete: 'write',
    listByPost: 'read',
    deleteByAuthor: 'write',
    countByPost: 'read',
    newestOfPosts: 'read',
  },
  feed: { version: 'read', bump: 'write' },
  idempotency: { claim: 'write', complete: 'write', release: 'write', deleteExpired: 'write' },
  collections: {
    insert: 'write',
    findById: 'read',
    findByIds: 'read',
    listByOwner: 'read',
    rename: 'write',
    deleteByOwner: 'write',
    delete: 'write',
    addImages: 'write',
    removeImages: 'write',
    imagesIn: 'read',
    collectionsOf: 'read',
  },
  uploads: {
    insert: 'write',
    findById: 'read',
    recordReceived: 'write',
    markFinished: 'write',
    claim: 'write',
    releaseClaim: 'write',
    markConsumed: 'write',
    deleteIdle: 'write',
    deleteExpired: 'write',
    listExpired: 'read',
    existingIds: 'read',
  },
  uploadLinks: { insert: 'write', findById: 'read', findByTokenHash: 'read', reserve: 'write', release: 'write', listImages: 'read' },
  jobs: {
    enqueue: 'write',
    hasDue: 'read',
    lease: 'write',
    extendLease: 'write',
    complete: 'write',
    retryLater: 'write',
    park: 'write',
    release: 'write',
    findById: 'read',
    list: 'read',
    countByState: 'read',
    requeue: 'write',
    deleteFinished: 'write',
    claimSchedule: 'write',
  },
  blobRecords: {
    pin: 'write',
    unpin: 'write',
    find: 'read',
    existing: 'read',
    recordDiscovered: 'write',
    markUnreferenced: 'write',
    listCollectable: 'read',
    listReferenced: 'read',
    listStuckDeleting: 'read',
    claimForDeletion: 'write',
    claimMissing: 'write',
    reclaimStuck: 'write',
    holdsClaim: 'read',
    finishDeletion: 'write',
    markMissing: 'write',
    clearMissing: 'write',
    deleteExpiredPins: 'write',
    count: 'read',
  },
  stats: { checkpoint: 'read', advance: 'write', apply: 'write', top: 'read', values: 'read' },
  importLedger: { find: 'read', record: 'write' },
  settings: { get: 'read', setIfAbsent: 'write', set: 'write' },
} as const satisfies MethodKinds;

type Methods = Record<string, (...args: unknown[]) => Promise<unknown>>;

/**
 * Repositories whose reads go to `reads` and whose writes each run as a work of `write`: with
 * group commit, a single write on the store then shares the commit (and fsync) of whatever batch
 * runs next (an `Idempotency-Key` claim costs no extra fsync on top of the comment it guards).
 * Reads need no commit, so they skip the batch queue.
 */
export function routingWrites(reads: MetadataRepositories, write: RunWrite): MetadataRepositories {
  const routed: Partial<Record<keyof MetadataRepositories, Methods>> = {};
  for (const name of Object.keys(methodKinds) as (keyof MetadataRepositories)[]) {
    const repository = reads[name] as unknown as Methods;
    const methods: Methods = {};
    for (const [method, kind] of Object.entries(methodKinds[name])) {
      methods[method] =
        kind === 'read'
          ? // Bound: the classes use #private members, which only work with the real instance as `this`.
            repository[method]!.bind(repository)
          : (...args: unknown[]) => write((tx) => (tx[name] as unknown as Methods)[method]!(...args));
    }
    routed[name] = methods;
  }
  return routed as unknown as MetadataRepositories;
}
