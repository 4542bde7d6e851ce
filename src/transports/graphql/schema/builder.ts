import SchemaBuilder from '@pothos/core';
import type { Collection } from '../../../core/collections/collection.js';
import type { IngestResult } from '../../../core/images/image-ingest.js';
import type { Image } from '../../../core/images/image.js';
import type { SeenImage, VisiblePhotoFacts } from '../../../core/images/image-visibility.js';
import type { Byline, PostView } from '../../../core/posts/post.js';
import type { PublicUser } from '../../../core/users/user.js';
import type { GraphqlContext } from '../context.js';
import type { Connection, Edge, PageInfo } from './connections.js';
import type { CommentNode, PostNode } from './nodes.js';
import { type FileUpload, uploadScalar } from '../uploads.js';

/** A user loaded whole, or as embedded in a post or comment (a byline: no createdAt). */
export type UserShape = PublicUser | Byline;
/**
 * An image loaded whole as its viewer may see it, just uploaded (the uploader's own), or as
 * embedded in a post view (id, hash and dimensions only).
 */
export type ImageShape = SeenImage | Image | PostView['image'];

/**
 * The one schema builder. Each GraphQL object is backed by the core type its resolvers receive,
 * so the compiler checks every resolver against its field's GraphQL type and its parent's shape.
 */
export const builder = new SchemaBuilder<{
  Context: GraphqlContext;
  Scalars: { Upload: { Input: Promise<FileUpload>; Output: never } };
  Objects: {
    User: UserShape;
    Image: ImageShape;
    UploadImagePayload: IngestResult;
    Collection: Collection;
    Post: PostNode;
    Comment: CommentNode;
    PageInfo: PageInfo;
    PostConnection: Connection<PostNode>;
    PostEdge: Edge<PostNode>;
    CollectionConnection: Connection<Collection>;
    CollectionEdge: Edge<Collection>;
    CommentConnection: Connection<CommentNode>;
    CommentEdge: Edge<CommentNode>;
    ImageConnection: Connection<SeenImage>;
    ImageEdge: Edge<SeenImage>;
    GeoPoint: NonNullable<VisiblePhotoFacts['gps']>;
  };
  // Non-null unless a field says otherwise: the compiler then refuses a resolver that may return null.
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });

builder.addScalarType('Upload', uploadScalar);
