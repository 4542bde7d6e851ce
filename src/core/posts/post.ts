/** A published image with a caption. */
export interface Post {
  id: string;
  authorId: string;
  imageId: string;
  /** 0–2,200 characters. */
  caption: string;
  createdAt: number;
  /** Kept equal to the number of the post's comments, in the same transaction as each change. */
  commentCount: number;
}

/** A comment on one post. */
export interface Comment {
  id: string;
  postId: string;
  authorId: string;
  /** 1–1,000 characters. */
  body: string;
  createdAt: number;
}

/** Who wrote something, as shown next to it. */
export interface Byline {
  id: string;
  username: string;
}

/** A comment ready to show: with its author's name. */
export interface CommentView extends Comment {
  author: Byline;
}

/** A post ready to show in the feed or on its own: author, image and its newest comments. */
export interface PostView extends Post {
  author: Byline;
  image: { id: string; sha256: string; width: number; height: number };
  /** At most 2, newest first. */
  lastComments: CommentView[];
}

/**
 * A place in the feed order: comment count descending, then id descending. Ids are UUIDv7, so id
 * order is creation order and "ties newest first" needs no separate created_at key.
 */
export interface FeedPosition {
  commentCount: number;
  id: string;
}
