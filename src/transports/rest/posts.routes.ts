import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { parseJsonBody } from './json-body.js';
import { RenderOnce } from '../render-once.js';
import { RecentFeedPages } from '../recent-feed-pages.js';
import { AppError } from '../../core/errors.js';
import type { ImageIngest } from '../../core/images/image-ingest.js';
import { namedImageSource } from '../../core/images/image-source.js';
import type { CreatePost } from '../../core/posts/create-post.js';
import type { FeedService } from '../../core/posts/feed-service.js';
import type { PostService } from '../../core/posts/post-service.js';
import type { AccountService } from '../../core/users/account-service.js';
import type { PageCache } from '../../ports/page-cache.js';
import type { RequestAuth } from '../request-auth.js';
import { receiveMultipartUpload, refuseDeclaredOversize } from './multipart-upload.js';
import { presentPost } from './presenters.js';
import { IdParams, PageQuery, PostPageSchema, PostSchema, problems } from './schemas.js';
import type { WriteRateLimit } from './rate-limits.js';

export interface PostRoutesOptions {
  accounts: AccountService;
  posts: PostService;
  createPost: CreatePost;
  feed: FeedService;
  ingest: ImageIngest;
  auth: RequestAuth;
  pageCache: PageCache;
  writeRateLimit: WriteRateLimit;
  maxUploadBytes: number;
}

const CreatePostJson = Type.Object({
  caption: Type.String({ maxLength: 10_000, description: '0–2,200 characters' }),
  imageId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'An image you uploaded with POST /images' })),
  uploadId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'Or: a finished resumable upload of yours (tus, /uploads), used up by this post' }),
  ),
});
const createPostHint = 'Send multipart/form-data (image + caption) or JSON {caption, imageId} or {caption, uploadId}';

/** The feed is sent as cached, already-serialized JSON; the schema documents its shape. */
const SerializedFeedPage = Type.Unsafe<string>(PostPageSchema);
/**
 * The feed takes `limit` and `cursor` only: anything else (`?author=`…) is a 400 rather than
 * silently ignored, so a client never mistakes the whole feed for a filtered one.
 */
const FeedQuery = Type.Object(PageQuery.properties, { additionalProperties: false });
const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });

/** Posts and the feed. */
export const postRoutes: FastifyPluginAsyncTypebox<PostRoutesOptions> = async (app, options) => {
  const { accounts, posts, createPost, feed, ingest, auth, pageCache, writeRateLimit, maxUploadBytes } = options;
  const feedPages = new RenderOnce(pageCache);
  const recentPages = new RecentFeedPages(feed);

  app.get(
    '/posts',
    {
      schema: {
        tags: ['posts'],
        summary: 'The feed: posts by comment count, then newest first, each with its last 2 comments',
        querystring: FeedQuery,
        response: { 200: SerializedFeedPage, ...problems(400) },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      // Keyed by the feed version every post/comment write bumps in its transaction: a hit is exact
      // (and runs no SQL while the version is remembered, see RememberedFeedVersion).
      const version = await feed.version();
      const page = `${limit}:${cursor ?? ''}`;
      const body = await feedPages.get(`feed:${version}:${page}`, async () => {
        // A page the writes since its last rendering did not touch is sent as it was.
        const reused = recentPages.reuse(page, version);
        if (reused !== undefined) return reused;
        const { posts, nextCursor, span } = await feed.page(cursor ?? null, limit);
        const rendered = JSON.stringify({ posts: posts.map(presentPost), nextCursor });
        recentPages.remember(page, version, [span], rendered);
        return rendered;
      });
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.post(
    '/posts',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['posts'],
        summary: 'Create a post: multipart (image file + caption) or JSON {caption, imageId} or {caption, uploadId}',
        description: 'Honours Idempotency-Key: a retry with the same key and body replays the first response.',
        consumes: ['multipart/form-data', 'application/json'],
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        // No `body` schema: it would reject multipart requests; JSON bodies are checked in the handler.
        security: [{ bearer: [] }],
        response: { 201: PostSchema, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429) },
      },
      onRequest: refuseDeclaredOversize(maxUploadBytes),
    },
    async (request, reply) => {
      const author = await auth.requireUser(request);
      const key = request.headers['idempotency-key'];
      if (!request.isMultipart()) {
        const body = parseJsonBody(CreatePostJson, request.body, createPostHint);
        const image = namedImageSource(body.imageId, body.uploadId, createPostHint);
        const { post, replayed } = await createPost.run(author, { caption: body.caption, image }, key);
        return sendCreated(reply, presentPost(post), replayed);
      }
      const upload = await receiveMultipartUpload(request, ingest, maxUploadBytes);
      try {
        if (!upload.staged) throw new AppError('IMAGE_MISSING', 'The multipart body has no "image" file part');
        const input = { caption: upload.fields.caption ?? '', image: { staged: upload.staged } };
        const { post, replayed } = await createPost.run(author, input, key);
        return sendCreated(reply, presentPost(post), replayed);
      } finally {
        await upload.staged?.discard();
      }
    },
  );

  app.get(
    '/posts/:id',
    {
      schema: { tags: ['posts'], summary: 'One post with its last 2 comments', params: IdParams, response: { 200: PostSchema, ...problems(404) } },
    },
    async (request) => presentPost(await posts.get(request.params.id)),
  );

  app.patch(
    '/posts/:id',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['posts'],
        summary: "Edit your post's caption",
        params: IdParams,
        body: Type.Object({ caption: Type.String({ maxLength: 10_000, description: '0–2,200 characters' }) }),
        security: [{ bearer: [] }],
        response: { 200: PostSchema, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => presentPost(await posts.editCaption(request.params.id, await auth.requireUser(request), request.body.caption)),
  );

  app.get(
    '/users/:username/posts',
    {
      schema: {
        tags: ['posts'],
        summary: "A user's posts, newest first, paged",
        params: UsernameParams,
        querystring: PageQuery,
        response: { 200: PostPageSchema, ...problems(400, 404) },
      },
    },
    async (request) => {
      const author = await accounts.publicUserNamed(request.params.username);
      const page = await posts.listByAuthor(author.id, request.query.cursor ?? null, request.query.limit);
      return { posts: page.posts.map(presentPost), nextCursor: page.nextCursor };
    },
  );

  app.delete(
    '/posts/:id',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['posts'],
        summary: 'Delete your post and its comments',
        params: IdParams,
        security: [{ bearer: [] }],
        response: { 204: Type.Null(), ...problems(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await posts.delete(request.params.id, await auth.requireUser(request));
      return reply.code(204).send(null);
    },
  );
};

/** 201 with the created resource; a replay says so in a header (the body is the first response's). */
export function sendCreated(reply: FastifyReply, body: unknown, replayed: boolean): FastifyReply {
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(201).send(body);
}
