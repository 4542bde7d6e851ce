import { builder } from './schema/builder.js';
// Each module adds its types or root fields to the builder, in the order introspection lists them.
import './schema/query.fields.js';
import './schema/mutation.fields.js';
import './schema/user.type.js';
import './schema/image.type.js';
import './schema/collection.type.js';
import './schema/post.type.js';
import './schema/connection.types.js';

/**
 * The executable GraphQL schema; its printed form, the contract, is kept in docs/schema.graphql.
 * Times are ISO-8601 strings; lists that can grow without bound are Relay connections paged with
 * the same opaque cursors as REST. Authorization lives in the core services, never here.
 */
// Unsorted: clients see the fields in the order written (id first, related objects last).
export const schema = builder.toSchema({ sortSchema: false });
