/**
 * The seeded feed (100k posts, 1M comments), generated as rows in creation order so it
 * can be bulk-inserted straight into either database. Counts and choices come from a fixed-seed
 * PRNG (the same shape every time); ids are fresh UUIDv7 from `newId()`, handed out in creation
 * order, so id order matches `created_at` order exactly as if the rows had been written live.
 */
import { newId } from '../../src/core/ids.js';
import { hashPassword } from '../../src/core/users/password-hasher.js';
import { commentToRow, postToRow } from '../../src/adapters/metadata/post-row-mapping.js';
import { imageToRow, userToRow } from '../../src/adapters/metadata/row-mapping.js';
import type { CommentsTable, ImagesTable, PostsTable, UsersTable } from '../../src/adapters/metadata/schema.js';

/** How much to seed. */
export interface SeedShape {
  users: number;
  posts: number;
  comments: number;
}

export const feedShape: SeedShape = { users: 300, posts: 100_000, comments: 1_000_000 };

/** Bump when the generated data changes meaning, so cached seeds are rebuilt. */
export const seedVersion = 1;

/** The password of every seeded user (`seed_user_0000` …), should anyone want to log in as one. */
export const seededPassword = 'seeded user password';

/** Rows to insert, in this order (foreign keys): users, images, posts, comments. */
export interface SeedChunk {
  users: UsersTable[];
  images: ImagesTable[];
  posts: PostsTable[];
  comments: CommentsTable[];
}

const daySeconds = 86_400;
/** The seeded history spans the 90 days before seeding. */
const spanSeconds = 90 * daySeconds;
/** Share of posts nobody commented on; the rest follow a Zipf law. */
const uncommentedShare = 0.3;
/** Zipf exponent: with 70k commented posts the top one gets ~24k comments, rank 10 ~3.8k, the tail 2–5. */
const zipfExponent = 0.8;
/** Comment keys pack (second, post index) into one float: post indexes must stay below 2^17. */
const postIndexBits = 2 ** 17;

/**
 * Yields the dataset in chunks of about `chunkRows` rows. A comment always comes after its post
 * (in an earlier chunk or earlier in the same one), so chunks can be inserted one by one.
 */
export async function* seedChunks(shape: SeedShape = feedShape, chunkRows = 20_000): AsyncGenerator<SeedChunk> {
  if (shape.posts >= postIndexBits) throw new Error(`at most ${postIndexBits - 1} posts`);
  const random = mulberry32(20_240_601);
  const start = Date.now() - spanSeconds * 1000;
  const passwordHash = await hashPassword(seededPassword);

  const users = Array.from({ length: shape.users }, (_, n) => {
    const createdAt = start - (shape.users - n) * 60_000;
    return userToRow({ id: newId(), username: `seed_user_${String(n).padStart(4, '0')}`, passwordHash, createdAt });
  });
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

  const counts = commentCounts(shape, random);
  const commentKeys = commentSchedule(counts, shape, random);
  const postSecond = (post: number) => Math.floor((post * spanSeconds) / shape.posts);

  let chunk: SeedChunk = { users, images: [], posts: [], comments: [] };
  let rows = users.length;
  const postIds: string[] = [];
  let nextPost = 0;
  let nextComment = 0;
  while (nextPost < shape.posts || nextComment < commentKeys.length) {
    const key = commentKeys[nextComment];
    const commentSecond = key === undefined ? Infinity : Math.floor(key / postIndexBits);
    if (nextPost < shape.posts && postSecond(nextPost) <= commentSecond) {
      const createdAt = start + postSecond(nextPost) * 1000;
      const author = pick(users);
      const [width, height] = pick(dimensions);
      const image = imageToRow({
        id: newId(),
        ownerId: author.id,
        sha256: randomHex(random, 64),
        format: 'jpeg',
        width,
        height,
        size: 300_000 + Math.floor(random() * 4_000_000),
        status: 'ready',
        createdAt,
        uploadCompletedAt: createdAt,
        cameraMake: null,
        cameraModel: random() < 0.6 ? pick(cameraModels) : null,
        takenAt: createdAt - daySeconds * 1000,
        hasGps: false,
        gpsLatitude: null,
        gpsLongitude: null,
        metadataExtractedAt: createdAt,
        sharesLocation: false,
        sharesTakenAt: false,
      });
      const id = newId();
      postIds.push(id);
      const caption = `Photo ${nextPost}: ${pick(phrases)}`;
      chunk.images.push(image);
      chunk.posts.push(postToRow({ id, authorId: author.id, imageId: image.id, caption, createdAt, commentCount: counts[nextPost]! }));
      nextPost += 1;
      rows += 2;
    } else {
      const post = key! % postIndexBits;
      const body = `${pick(phrases)} ${pick(phrases).toLowerCase()}`;
      chunk.comments.push(commentToRow({ id: newId(), postId: postIds[post]!, authorId: pick(users).id, body, createdAt: start + commentSecond * 1000 }));
      nextComment += 1;
      rows += 1;
    }
    if (rows >= chunkRows) {
      yield chunk;
      chunk = { users: [], images: [], posts: [], comments: [] };
      rows = 0;
    }
  }
  if (rows > 0) yield chunk;
}

/**
 * Comment count per post index, summing to exactly `shape.comments`: 30 % of posts get none, the
 * others a Zipf share by a random rank (so hot posts are spread over time), stochastically rounded.
 */
function commentCounts(shape: SeedShape, random: () => number): Int32Array {
  const counts = new Int32Array(shape.posts);
  const order = Int32Array.from({ length: shape.posts }, (_, n) => n);
  for (let n = order.length - 1; n > 0; n--) {
    const other = Math.floor(random() * (n + 1));
    [order[n], order[other]] = [order[other]!, order[n]!];
  }
  const commented = Math.round(shape.posts * (1 - uncommentedShare));
  let harmonic = 0;
  for (let rank = 1; rank <= commented; rank++) harmonic += rank ** -zipfExponent;
  let total = 0;
  for (let rank = 1; rank <= commented; rank++) {
    const expected = (shape.comments * rank ** -zipfExponent) / harmonic;
    const count = Math.floor(expected) + (random() < expected % 1 ? 1 : 0);
    counts[order[rank - 1]!] = count;
    total += count;
  }
  // Rounding leaves the total a few hundred off: settle the difference one comment at a time.
  while (total !== shape.comments) {
    const post = order[Math.floor(random() * commented)]!;
    const step = total < shape.comments ? 1 : -1;
    if (counts[post]! + step < 0) continue;
    counts[post]! += step;
    total += step;
  }
  return counts;
}

/** Every comment as `second * 2^17 + post`, at a random second after its post, sorted by time. */
function commentSchedule(counts: Int32Array, shape: SeedShape, random: () => number): Float64Array {
  const keys = new Float64Array(shape.comments);
  let next = 0;
  for (let post = 0; post < counts.length; post++) {
    const postSecond = Math.floor((post * spanSeconds) / shape.posts);
    for (let n = 0; n < counts[post]!; n++) {
      const second = postSecond + 1 + Math.floor(random() * (spanSeconds - postSecond));
      keys[next++] = second * postIndexBits + post;
    }
  }
  return keys.sort();
}

/** A small, fast, seedable PRNG (mulberry32): the same dataset shape on every machine. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomHex(random: () => number, length: number): string {
  let hex = '';
  while (hex.length < length)
    hex += Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return hex.slice(0, length);
}

const dimensions = [
  [4032, 3024],
  [3024, 4032],
  [1920, 1080],
  [1080, 1350],
  [2048, 2048],
] as const;
const cameraModels = ['iPhone 15 Pro', 'Pixel 8', 'Galaxy S24', 'X-T5', 'EOS R6'];
const phrases = [
  'Golden hour over the harbour',
  'Love the colours here',
  'Where was this taken?',
  'Stunning light',
  'This made my day',
  'Sunday walk with the dog',
  'First try with the new lens',
  'Wow',
  'The mountains were calling',
  'Coffee before everything',
  'Can not stop looking at this',
  'Nice composition',
  'Rainy city nights',
  "Grandma's garden in bloom",
  'Need to go there',
  'Great shot, what settings?',
];
