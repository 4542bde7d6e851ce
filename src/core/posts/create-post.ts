import type { StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import { commitRecorded, fingerprintOf, type IdempotentWrites, parseIdempotencyKey } from '../idempotency/idempotent-writes.js';
import { newId } from '../ids.js';
import type { ImageSource } from '../images/image-source.js';
import type { UploadImage } from '../images/upload-image.js';
import type { User } from '../users/user.js';
import type { Post, PostView } from './post.js';
import { assertValidCaption } from './post-rules.js';

export interface CreatePostDependencies {
  store: StoreSlice<'images' | 'posts' | 'idempotency'>;
  idempotent: IdempotentWrites;
  /** Makes the image when the post brings its own (an upload or staged bytes). */
  uploadImage: Pick<UploadImage, 'run'>;
  now?: () => number;
}

/** What a new post says and shows. */
export interface NewPost {
  caption: string;
  image: ImageSource;
}

/**
 * The command that publishes a post, for every transport. With an idempotency key, a retry of the
 * same post (same caption, same image source) replays the first result whichever API carries it,
 * and the same key for another post is IDEMPOTENCY_KEY_REUSED.
 */
export class CreatePost {
  private readonly now: () => number;

  constructor(private readonly deps: CreatePostDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Publishes `input.image` (one of the author's ready images, or one made here from an upload or
   * staged bytes) with a caption. The caption is checked first, and an image is made only for a
   * new request, so neither a bad caption nor a replayed retry leaves an image behind. The caller
   * discards staged bytes. Throws VALIDATION_FAILED, INVALID_IDEMPOTENCY_KEY, IMAGE_NOT_FOUND,
   * NOT_OWNER, IMAGE_NOT_READY, the idempotency errors and those of making the image.
   */
  async run(author: User, input: NewPost, idempotencyKey: string | null | undefined): Promise<{ post: PostView; replayed: boolean }> {
    assertValidCaption(input.caption);
    const key = parseIdempotencyKey(idempotencyKey ?? undefined);
    const claim = key === null ? null : { userId: author.id, key, fingerprint: postFingerprint(input) };
    const { result, replayed } = await this.deps.idempotent.run<PostView>(claim, async (record) => {
      const imageId = await this.imageIdOf(author, input.image);
      // Read before writing, outside the write: an image's owner never changes and a ready image
      // stays ready, so only its deletion can race, and `posts.add` refuses a deleted image.
      const image = await this.deps.store.images.findById(imageId);
      if (!image) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${imageId}`);
      if (image.ownerId !== author.id) throw new AppError('NOT_OWNER', 'You can only post your own images');
      if (image.status !== 'ready') throw new AppError('IMAGE_NOT_READY');
      const post: Post = { id: newId(), authorId: author.id, imageId, caption: input.caption, createdAt: this.now(), commentCount: 0 };
      const view: PostView = {
        ...post,
        author: { id: author.id, username: author.username },
        image: { id: image.id, sha256: image.sha256, width: image.width, height: image.height },
        lastComments: [],
      };
      const event = { type: 'PostCreated', actorId: author.id, subjectId: post.id, payload: { imageId: image.id } } as const;
      if (!(await commitRecorded(this.deps.store, record, view, (repositories) => repositories.posts.add(post, event)))) {
        throw new AppError('IMAGE_NOT_FOUND', `No image with id ${imageId}`);
      }
      return view;
    });
    return { post: result, replayed };
  }

  private async imageIdOf(author: User, source: ImageSource): Promise<string> {
    if ('id' in source) return source.id;
    return (await this.deps.uploadImage.run(author.id, source)).image.id;
  }
}

/**
 * The idempotency fingerprint of a post: its caption and its image source. Staged bytes count by
 * their hash, so a retried multipart post with the same file and caption is the same request.
 */
export function postFingerprint(input: NewPost): string {
  const { caption, image } = input;
  if ('id' in image) return fingerprintOf('post', caption, 'image', image.id);
  if ('uploadId' in image) return fingerprintOf('post', caption, 'upload', image.uploadId);
  return fingerprintOf('post', caption, 'blob', image.staged.sha256);
}
