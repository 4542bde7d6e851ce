import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Post } from '../api.js';
import { Link } from '../router.js';
import { ErrorMessage, Page, when } from '../ui.js';

const pageSize = 10;

/** One post as the feed shows it: image, caption, comment count and the newest two comments. */
export function PostCard({ post }: { post: Post }) {
  return (
    <article class="post" data-post-id={post.id}>
      <header>
        <strong>{post.author.username}</strong> <time dateTime={post.createdAt}>{when(post.createdAt)}</time>
      </header>
      <Link href={`/p/${post.id}`}>
        <img src={post.image.url} width={600} height={600} loading="lazy" alt={`Posted by ${post.author.username}: ${post.caption}`} />
      </Link>
      <p class="caption">{post.caption}</p>
      <p>
        <Link href={`/p/${post.id}`} class="comment-count">
          {post.commentCount === 1 ? '1 comment' : `${post.commentCount} comments`}
        </Link>
      </p>
      {post.lastComments.length > 0 && (
        <ul class="comments" aria-label="Latest comments">
          {post.lastComments.map((comment) => (
            <li key={comment.id}>
              <strong>{comment.author.username}</strong> {comment.body}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

/** The feed (most commented first), loading the next page as its end scrolls into view. */
export function FeedPage() {
  const [posts, setPosts] = useState<Post[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const done = cursor === null;

  const loadMore = async () => {
    if (loading || done) return;
    setLoading(true);
    setError(null);
    try {
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (cursor) query.set('cursor', cursor);
      const page = await api<{ posts: Post[]; nextCursor: string | null }>(`/posts?${query}`);
      // Counts change while paging, so a post can come round twice: keep its first place.
      setPosts((shown) => {
        const seen = new Set(shown.map((post) => post.id));
        return [...shown, ...page.posts.filter((post) => !seen.has(post.id))];
      });
      setCursor(page.nextCursor);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    const target = sentinel.current;
    if (!target || done || error) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) void loadMore();
      },
      { rootMargin: '800px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  });

  return (
    <Page title="Feed">
      <div class="feed">
        {posts.map((post) => (
          <PostCard key={post.id} post={post} />
        ))}
      </div>
      <ErrorMessage error={error} />
      {error !== null && (
        <button type="button" onClick={() => void loadMore()}>
          Try again
        </button>
      )}
      <div ref={sentinel} aria-live="polite" class="sentinel">
        {loading ? 'Loading…' : done ? (posts.length === 0 ? 'No posts yet.' : 'You have seen every post.') : ''}
      </div>
    </Page>
  );
}
