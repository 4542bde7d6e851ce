/**
 * The GraphQL schema (the names are the contract). Times are ISO-8601 strings;
 * lists that can grow without bound are Relay connections paged with the same opaque cursors as
 * REST. Authorization lives in the core services, never here.
 */
export const schema = /* GraphQL */ `
  "A file sent by the GraphQL multipart request spec (https://github.com/jaydenseric/graphql-multipart-request-spec)."
  scalar Upload

  type Query {
    "The signed-in user, or null when the request carries no valid session."
    me: User
    "An image, or null if there is none with that id."
    image(id: ID!): Image
    "A collection, or null if there is none with that id. Collections are public, like their images."
    collection(id: ID!): Collection
    "The signed-in user's collections, newest first (UNAUTHENTICATED without a session). first: 1–100."
    collections(first: Int = 20, after: String): CollectionConnection!
    "A post, or null if there is none with that id."
    post(id: ID!): Post
    "The feed, in the order of GET /posts: commentCount descending, then newest first. first: 1–100."
    posts(first: Int = 20, after: String): PostConnection!
  }

  type Mutation {
    "Uploads an image (multipart request; send an Apollo-Require-Preflight or x-graphql-csrf header)."
    uploadImage(file: Upload!): UploadImagePayload!
    "Deletes your image; it leaves every collection it was in. IMAGE_IN_USE while a post shows it."
    deleteImage(id: ID!): Boolean!
    createCollection(name: String!): Collection!
    renameCollection(id: ID!, name: String!): Collection!
    "Deletes your collection, not the images in it."
    deleteCollection(id: ID!): Boolean!
    "Adds your images (1–100 ids) to your collection; images already in it are left as they are."
    addImagesToCollection(collectionId: ID!, imageIds: [ID!]!): Collection!
    "Removes images (1–100 ids) from your collection; ids not in it are ignored."
    removeImagesFromCollection(collectionId: ID!, imageIds: [ID!]!): Collection!
    """
    Publishes a caption with exactly one of: imageId (an image of yours) or uploadId (a finished
    resumable upload of yours, used up by this post). A retry with the same idempotencyKey and
    arguments returns the first post instead of creating another (see Idempotency-Key in docs/api.md).
    """
    createPost(caption: String!, imageId: ID, uploadId: ID, idempotencyKey: String): Post!
    "Deletes your post and its comments."
    deletePost(id: ID!): Boolean!
    "Comments on a post; idempotencyKey works as for createPost."
    addComment(postId: ID!, body: String!, idempotencyKey: String): Comment!
    "Deletes your comment; FORBIDDEN for someone else's."
    deleteComment(postId: ID!, commentId: ID!): Boolean!
  }

  type User {
    id: ID!
    username: String!
    createdAt: String!
  }

  type Image {
    id: ID!
    "SHA-256 of the original's bytes, lower-case hex."
    hash: String!
    "Format of the original: png, jpeg, bmp, webp, gif, tiff or avif."
    format: String!
    "Of the original."
    width: Int!
    height: Int!
    "Bytes of the original."
    size: Int!
    "The 600×600 JPEG: the only form in which the pixels are served."
    url: String!
    createdAt: String!
    owner: User!
    "The collections this image is in, newest first."
    collections: [Collection!]!
  }

  type UploadImagePayload {
    image: Image!
    "True when you had already uploaded these exact bytes: the existing image is returned."
    duplicate: Boolean!
  }

  type Collection {
    id: ID!
    name: String!
    owner: User!
    createdAt: String!
    "The images in this collection, newest image first."
    images: [Image!]!
  }

  type Post {
    id: ID!
    caption: String!
    author: User!
    createdAt: String!
    commentCount: Int!
    image: Image!
    "At most 2, newest first."
    lastComments: [Comment!]!
    "All comments, newest first. first: 1–100."
    comments(first: Int = 20, after: String): CommentConnection!
  }

  type Comment {
    id: ID!
    body: String!
    author: User!
    createdAt: String!
  }

  type PageInfo {
    hasNextPage: Boolean!
    "Always false: connections here page forward only."
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type PostConnection {
    edges: [PostEdge!]!
    pageInfo: PageInfo!
  }

  type PostEdge {
    node: Post!
    cursor: String!
  }

  type CollectionConnection {
    edges: [CollectionEdge!]!
    pageInfo: PageInfo!
  }

  type CollectionEdge {
    node: Collection!
    cursor: String!
  }

  type CommentConnection {
    edges: [CommentEdge!]!
    pageInfo: PageInfo!
  }

  type CommentEdge {
    node: Comment!
    cursor: String!
  }
`;
