import { randomBytes, randomUUID } from 'node:crypto';
import type { NewEvent } from '../core/events/event.js';
import type { IdempotencyRecord } from '../core/idempotency/idempotency-record.js';
import { newId } from '../core/ids.js';
import type { Image } from '../core/images/image.js';
import type { Comment, CommentView, FeedPosition, Post, PostView } from '../core/posts/post.js';
import type { Session, User } from '../core/users/user.js';
import type { MetadataRepositories, MetadataStore } from './metadata-store.js';

/** Sample data and shared state for the MetadataStore contract suites. */

/** What a part of the contract suite sees of the current test's store. */
export interface ContractScope {
  /** The store under test: a fresh database for every test. */
  readonly store: MetadataStore;
  /** Every statement the store has run, in order, when the adapter reports them. */
  readonly queries: readonly string[] | undefined;
}

export function aHash(): string {
  return randomBytes(32).toString('hex');
}

export function aUser(overrides: Partial<User> = {}): User {
  return {
    id: randomUUID(),
    username: `user_${randomBytes(6).toString('hex')}`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}

export function aSession(userId: string, expiresAt: number): Session {
  return { tokenHash: aHash(), userId, createdAt: 1_700_000_000_000, expiresAt };
}

export function anImage(ownerId: string, overrides: Partial<Image> = {}): Image {
  return {
    id: randomUUID(),
    ownerId,
    sha256: aHash(),
    format: 'jpeg',
    width: 4032,
    height: 3024,
    size: 2_345_678,
    status: 'pending',
    createdAt: 1_700_000_000_123,
    uploadCompletedAt: null,
    cameraMake: 'FUJIFILM',
    cameraModel: 'X-T4',
    takenAt: 1_690_000_000_000,
    hasGps: true,
    gpsLatitude: 52.520008,
    gpsLongitude: -13.404954,
    metadataExtractedAt: 1_700_000_000_200,
    sharesLocation: false,
    sharesTakenAt: false,
    ...overrides,
  };
}

export function anEvent(subjectId: string): NewEvent {
  return { type: 'ImageCreated', actorId: null, subjectId, payload: { sha256: 'ab', n: { x: 1 } } };
}

/** A post with a fresh UUIDv7 id: later calls give newer (greater) ids. */
export function aPost(authorId: string, imageId: string, overrides: Partial<Post> = {}): Post {
  return {
    id: newId(),
    authorId,
    imageId,
    caption: `caption ${randomBytes(4).toString('hex')} ✓`,
    createdAt: 1_700_000_100_000,
    commentCount: 0,
    ...overrides,
  };
}

/** A comment with a fresh UUIDv7 id: later calls give newer (greater) ids. */
export function aComment(postId: string, authorId: string, overrides: Partial<Comment> = {}): Comment {
  const body = `nice ${randomBytes(4).toString('hex')}`;
  return { id: newId(), postId, authorId, body, createdAt: 1_700_000_200_000, ...overrides };
}

export function anIdempotencyRecord(userId: string, overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    userId,
    key: `key-${randomBytes(6).toString('hex')}`,
    fingerprint: aHash(),
    result: null,
    createdAt: 1_700_000_000_000,
    leaseUntil: 1_700_000_060_000,
    expiresAt: 1_700_086_400_000,
    ...overrides,
  };
}

/** A user with one image per post, and their posts (commentCount as given, no comment rows). */
export interface PublishedPosts {
  author: User;
  images: Image[];
  posts: Post[];
}

/** Stores an author and, in one transaction, one image and post per entry of `commentCounts`. */
export async function publishPosts(store: MetadataStore, commentCounts: readonly number[]): Promise<PublishedPosts> {
  const author = aUser();
  const images = commentCounts.map(() => anImage(author.id, { status: 'ready' }));
  const posts = images.map((image, i) => aPost(author.id, image.id, { commentCount: commentCounts[i]! }));
  await store.transaction(async (tx) => {
    await tx.users.insert(author);
    for (const image of images) await tx.images.insertOrGetExisting(image);
    for (const post of posts) await tx.posts.insert(post);
  });
  return { author, images, posts };
}

/** Adds a comment the way the core does: the count moves in the same transaction. */
export async function addComment(tx: MetadataRepositories, comment: Comment): Promise<void> {
  await tx.posts.adjustCommentCount(comment.postId, +1);
  await tx.comments.insert(comment);
}

/** The view the store must return for `post`, given its author, image and newest comments. */
export function expectedView(post: Post, author: User, image: Image, lastComments: CommentView[]): PostView {
  return {
    ...post,
    author: { id: author.id, username: author.username },
    image: { id: image.id, sha256: image.sha256, width: image.width, height: image.height },
    lastComments,
  };
}

export function commentView(comment: Comment, author: User): CommentView {
  return { ...comment, author: { id: author.id, username: author.username } };
}

/** Feed order: commentCount desc, then id desc (UUIDv7 strings compare like their times). */
export function byFeedOrder(a: FeedPosition, b: FeedPosition): number {
  if (a.commentCount !== b.commentCount) return b.commentCount - a.commentCount;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function sortById<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.id.localeCompare(b.id));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
