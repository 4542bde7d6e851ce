import type { Selectable } from 'kysely';
import type { Collection } from '../../core/collections/collection.js';
import type { CollectionsTable } from './schema.js';

/** Collections: rows to domain objects and back (see row-mapping.ts). */

export function collectionToRow(collection: Collection): CollectionsTable {
  return { id: collection.id, owner_id: collection.ownerId, name: collection.name, created_at: collection.createdAt };
}

export function collectionFromRow(row: Selectable<CollectionsTable>): Collection {
  return { id: row.id, ownerId: row.owner_id, name: row.name, createdAt: row.created_at };
}
