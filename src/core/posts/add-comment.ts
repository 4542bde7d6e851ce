import type { StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import { commitRecorded, fingerprintOf, type IdempotentWrites, parseIdempotencyKey } from '../idempotency/idempotent-writes.js';
import { newId } from '../ids.js';
import type { User } from '../users/user.js';
import type { Comment, CommentView } from './post.js';
import { assertValidCommentBody } from './post-rules.js';

export interface AddCommentDependencies {
  store: StoreSlice<'comments' | 'idempotency'>;
  idempotent: IdempotentWrites;
  now?: () => number;
}

/** What a new comment says, and under which post. */
export interface NewComment {
  postId: string;
  body: string;
}

/**
 * The command that comments on a post, for every transport. The comment count stays exact: the
 * store adjusts it in the insert's own transaction. With an idempotency key, a retry of the same
 * comment replays the first result whichever API carries it.
 */
export class AddComment {
  private readonly now: () => number;

  constructor(private readonly deps: AddCommentDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** Adds a comment. Throws VALIDATION_FAILED, INVALID_IDEMPOTENCY_KEY, POST_NOT_FOUND and the idempotency errors. */
  async run(author: User, input: NewComment, idempotencyKey: string | null | undefined): Promise<{ comment: CommentView; replayed: boolean }> {
    const { postId, body } = input;
    assertValidCommentBody(body);
    const key = parseIdempotencyKey(idempotencyKey ?? undefined);
    const claim = key === null ? null : { userId: author.id, key, fingerprint: commentFingerprint(input) };
    const { result, replayed } = await this.deps.idempotent.run<CommentView>(claim, async (record) => {
      const comment: Comment = { id: newId(), postId, authorId: author.id, body, createdAt: this.now() };
      const view: CommentView = { ...comment, author: { id: author.id, username: author.username } };
      const event = { type: 'CommentAdded', actorId: author.id, subjectId: comment.id, payload: { postId } } as const;
      if (!(await commitRecorded(this.deps.store, record, view, (repositories) => repositories.comments.add(comment, event)))) {
        throw new AppError('POST_NOT_FOUND', `No post with id ${postId}`);
      }
      return view;
    });
    return { comment: result, replayed };
  }
}

/** The idempotency fingerprint of a comment: its post and its body. */
export function commentFingerprint(input: NewComment): string {
  return fingerprintOf('comment', input.postId, input.body);
}
