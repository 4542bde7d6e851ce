import type { MetadataStore } from '../../ports/metadata-store.js';
import { AppError } from '../errors.js';
import type { IdempotencyClaim, IdempotentWrites } from '../idempotency/idempotent-writes.js';
import { newId } from '../ids.js';
import type { User } from '../users/user.js';
import type { OpaqueCursor } from './opaque-cursor.js';
import type { Post, PostView } from './post.js';
import { assertPageLimit, assertValidCaption } from './post-rules.js';

/** One page of a user's posts. */
export interface AuthorPage {
  posts: PostView[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

export interface PostServiceOptions {
  now?: () => number;
}

/** Creating, reading, listing, editing and deleting posts; ownership rules live here so REST and GraphQL agree. */
export class PostService {
  private readonly now: () => number;

  constructor(
    private readonly store: MetadataStore,
    private readonly idempotent: IdempotentWrites,
    private readonly cursors: OpaqueCursor,
    options: PostServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Publishes one of the author's ready images with a caption. With a claim, a retry replays the
   * first result. `imageId` may be a function that makes the image (e.g. from a resumable upload):
   * it runs after the caption is checked and only for a new request, so a replayed retry makes
   * nothing. Throws VALIDATION_FAILED, IMAGE_NOT_FOUND, NOT_OWNER, IMAGE_NOT_READY, the
   * idempotency errors and those of the image-making function.
   */
  async create(
    author: User,
    input: { caption: string; imageId: string | (() => Promise<string>) },
    claim: IdempotencyClaim | null = null,
  ): Promise<{ post: PostView; replayed: boolean }> {
    assertValidCaption(input.caption);
    const { result, replayed } = await this.idempotent.run<PostView>(claim, async (record) => {
      const imageId = typeof input.imageId === 'string' ? input.imageId : await input.imageId();
      const post: Post = { id: newId(), authorId: author.id, imageId, caption: input.caption, createdAt: this.now(), commentCount: 0 };
      // Read before writing, outside the write: an image's owner never changes and a ready image
      // stays ready, so only its deletion can race, and `posts.add` refuses a deleted image.
      const image = await this.store.images.findById(imageId);
      if (!image) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${imageId}`);
      if (image.ownerId !== author.id) throw new AppError('NOT_OWNER', 'You can only post your own images');
      if (image.status !== 'ready') throw new AppError('IMAGE_NOT_READY');
      const view: PostView = {
        ...post,
        author: { id: author.id, username: author.username },
        image: { id: image.id, sha256: image.sha256, width: image.width, height: image.height },
        lastComments: [],
      };
      const event = { type: 'PostCreated', actorId: author.id, subjectId: post.id, payload: { imageId: image.id } } as const;
      // Without an idempotency record to commit with it, one store call (one statement on PostgreSQL).
      const added =
        claim === null
          ? await this.store.posts.add(post, event)
          : await this.store.transaction(async (tx) => {
              if (!(await tx.posts.add(post, event))) return false;
              await record(tx, view);
              return true;
            });
      if (!added) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${imageId}`);
      return view;
    });
    return { post: result, replayed };
  }

  /** One post with its author, image and last 2 comments. Throws POST_NOT_FOUND. */
  async get(id: string): Promise<PostView> {
    const [view] = await this.store.posts.findViews([id]);
    if (!view) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
    return view;
  }

  /** The posts with those ids as views, in that order, missing ones left out; a constant number of queries. */
  getMany(ids: readonly string[]): Promise<PostView[]> {
    return this.store.posts.findViews(ids);
  }

  /**
   * The author's posts, newest first, in pages of `limit` (1–100). Throws VALIDATION_FAILED,
   * INVALID_CURSOR (also for another listing's cursor, the feed's or another author's).
   */
  async listByAuthor(authorId: string, cursor: string | null, limit: number): Promise<AuthorPage> {
    assertPageLimit(limit);
    const after = cursor === null ? null : authorPosition(this.cursors.decode('author-posts', cursor), authorId);
    const found = await this.store.posts.listByAuthor(authorId, after, limit + 1);
    const posts = found.slice(0, limit);
    const last = posts.at(-1);
    return { posts, nextCursor: found.length > limit && last ? this.authorCursorOf(last) : null };
  }

  /** The cursor that continues its author's listing right after `post`. */
  authorCursorOf(post: Pick<Post, 'id' | 'authorId'>): string {
    return this.cursors.encode('author-posts', { authorId: post.authorId, id: post.id });
  }

  /** Replaces the caption of the actor's post; the feed shows it at once. Throws VALIDATION_FAILED, POST_NOT_FOUND, NOT_OWNER. */
  async editCaption(id: string, actor: User, caption: string): Promise<PostView> {
    assertValidCaption(caption);
    await this.store.transaction(async (tx) => {
      const post = await tx.posts.findById(id);
      if (!post) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      if (post.authorId !== actor.id) throw new AppError('NOT_OWNER', 'Only the author may edit this post');
      if (!(await tx.posts.setCaption(id, caption))) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      // Feed pages carry captions: the version keys their cache.
      await tx.feed.bump();
      await tx.events.append({ type: 'PostEdited', actorId: actor.id, subjectId: id, payload: {} });
    });
    return this.get(id);
  }

  /** Deletes the author's post and its comments. Throws POST_NOT_FOUND, NOT_OWNER. */
  async delete(id: string, actor: User): Promise<void> {
    await this.store.transaction(async (tx) => {
      const post = await tx.posts.findById(id);
      if (!post) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      if (post.authorId !== actor.id) throw new AppError('NOT_OWNER', 'Only the author may delete this post');
      if (!(await tx.posts.delete(id))) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      await tx.feed.bump();
      await tx.events.append({ type: 'PostDeleted', actorId: actor.id, subjectId: id, payload: { commentCount: post.commentCount } });
    });
  }
}

/** The post id a cursor of `authorId`'s listing continues after. Throws INVALID_CURSOR. */
function authorPosition(value: unknown, authorId: string): string {
  const position = value as { authorId?: unknown; id?: unknown } | null;
  if (typeof position?.id !== 'string' || position.authorId !== authorId) throw new AppError('INVALID_CURSOR', 'The cursor belongs to another listing');
  return position.id;
}
