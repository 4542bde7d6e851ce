import type { MetadataRepositories } from './metadata-store.js';

/** Names of the metadata store's repositories. */
export type RepositoryName = keyof MetadataRepositories;

/** Just the repositories `K`, bound either to the store or to one transaction. */
export type Repositories<K extends RepositoryName> = Pick<MetadataRepositories, K>;

/**
 * The metadata store narrowed to the repositories a service uses: its transactions see only those
 * too. Any `MetadataStore` is one; a service typed with it states what it touches, and a test can
 * hand it a store that has no more.
 */
export type StoreSlice<K extends RepositoryName> = Repositories<K> & {
  /** See MetadataStore.transaction. */
  transaction<T>(work: (tx: Repositories<K>) => Promise<T>): Promise<T>;
};
