import type { MetadataRepositories } from '../../ports/metadata-store.js';

type RunInTransaction = <T>(work: (tx: MetadataRepositories) => Promise<T>) => Promise<T>;

type MethodNames<R> = {
  [M in keyof R]: R[M] extends (...args: never[]) => unknown ? M : never;
}[keyof R];

type Methods = Record<string, (...args: unknown[]) => Promise<unknown>>;

/**
 * The methods that write. Called on the store (outside a transaction) they would each commit, and
 * fsync, on their own; routed through group commit they share the commit of whatever batch runs
 * next — an `Idempotency-Key` claim costs no extra fsync on top of the comment it guards. A write
 * method missing from this list still works, it just commits alone.
 */
const writeMethods = {
  users: ['insert', 'setPasswordHash', 'delete'],
  sessions: ['insert', 'delete', 'deleteByUser', 'deleteExpired'],
  images: ['insertOrGetExisting', 'delete', 'deleteByOwner', 'markUploadCompleted', 'markFailed', 'setMetadata'],
  events: ['append'],
  posts: ['insert', 'add', 'setCaption', 'delete', 'deleteByAuthor', 'adjustCommentCount'],
  comments: ['insert', 'add', 'delete', 'deleteByAuthor'],
  feed: ['bump'],
  idempotency: ['claim', 'complete', 'release', 'deleteExpired'],
  collections: ['insert', 'rename', 'delete', 'deleteByOwner', 'addImages', 'removeImages'],
  uploads: ['insert', 'recordReceived', 'markFinished', 'claim', 'releaseClaim', 'markConsumed', 'deleteIdle', 'deleteExpired'],
  uploadLinks: ['insert', 'reserve', 'release'],
  jobs: ['enqueue', 'lease', 'extendLease', 'complete', 'retryLater', 'park', 'release', 'requeue', 'deleteFinished', 'claimSchedule'],
  blobRecords: [
    'pin',
    'unpin',
    'recordDiscovered',
    'markUnreferenced',
    'claimForDeletion',
    'claimMissing',
    'reclaimStuck',
    'finishDeletion',
    'markMissing',
    'clearMissing',
    'deleteExpiredPins',
  ],
  stats: ['advance', 'apply'],
  importLedger: ['record'],
  settings: ['setIfAbsent', 'set'],
} as const satisfies {
  [R in keyof MetadataRepositories]: readonly MethodNames<MetadataRepositories[R]>[];
};

/**
 * `direct` (repositories bound to the store, each call autocommitting), with every write method
 * replaced by one that runs the same call as a work of `run` (the group commit). Reads stay
 * direct: they need no commit, so they skip the batch queue.
 */
export function committingWritesInGroups(direct: MetadataRepositories, run: RunInTransaction): MetadataRepositories {
  const routed: Partial<Record<keyof MetadataRepositories, object>> = {};
  for (const name of Object.keys(writeMethods) as (keyof MetadataRepositories)[]) {
    const repository = direct[name] as unknown as Methods;
    const methods: Record<string, unknown> = {};
    // Bound, not inherited via a prototype: the classes use #private members, which only work
    // with the real instance as `this`.
    for (const method of Object.getOwnPropertyNames(Object.getPrototypeOf(repository))) {
      const fn = repository[method];
      if (method !== 'constructor' && typeof fn === 'function') {
        methods[method] = fn.bind(repository);
      }
    }
    for (const method of writeMethods[name]) {
      methods[method] = (...args: unknown[]) => run((tx) => (tx[name] as unknown as Methods)[method]!(...args));
    }
    routed[name] = methods;
  }
  return routed as MetadataRepositories;
}
