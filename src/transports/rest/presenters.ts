import type { Image } from '../../core/images/image.js';
import type { SeenImage } from '../../core/images/image-visibility.js';
import type { CommentView, PostView } from '../../core/posts/post.js';
import type { PublicUser } from '../../core/users/user.js';

/** Epoch ms → ISO-8601, or null. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function presentUser(user: PublicUser) {
  return { id: user.id, username: user.username, createdAt: new Date(user.createdAt).toISOString() };
}

/** The servable JPEG's path; the original is never served. */
export function imageUrl(image: Pick<Image, 'id'>): string {
  return `/images/${image.id}.jpg`;
}

export function presentUploadedImage(image: Image, duplicate: boolean) {
  return {
    id: image.id,
    hash: image.sha256,
    duplicate,
    format: image.format,
    width: image.width,
    height: image.height,
    size: image.size,
    url: imageUrl(image),
  };
}

/** An image's metadata as its viewer may see it: the EXIF facts come only from `visible` (the core's rule). */
export function presentImage(image: SeenImage) {
  const { visible } = image;
  return {
    id: image.id,
    ownerId: image.ownerId,
    hash: image.sha256,
    format: image.format,
    width: image.width,
    height: image.height,
    size: image.size,
    status: image.status,
    url: imageUrl(image),
    createdAt: new Date(image.createdAt).toISOString(),
    uploadCompletedAt: isoTime(image.uploadCompletedAt),
    camera: visible.cameraMake || visible.cameraModel ? { make: visible.cameraMake, model: visible.cameraModel } : null,
    takenAt: isoTime(visible.takenAt),
    hasGps: visible.hasGps,
    gps: visible.gps,
    shareLocation: image.sharesLocation,
    shareTakenAt: image.sharesTakenAt,
    metadataExtractedAt: isoTime(image.metadataExtractedAt),
  };
}

export function presentComment(comment: CommentView) {
  return {
    id: comment.id,
    postId: comment.postId,
    body: comment.body,
    author: comment.author,
    createdAt: new Date(comment.createdAt).toISOString(),
  };
}

export function presentPost(post: PostView) {
  return {
    id: post.id,
    caption: post.caption,
    author: post.author,
    createdAt: new Date(post.createdAt).toISOString(),
    commentCount: post.commentCount,
    image: { id: post.image.id, url: imageUrl(post.image), width: post.image.width, height: post.image.height },
    lastComments: post.lastComments.map(presentComment),
  };
}
