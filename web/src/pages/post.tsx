import { useEffect, useState } from 'preact/hooks';
import { api, type Comment, type Post } from '../api.js';
import { navigate } from '../router.js';
import { useUser } from '../session.js';
import { ErrorMessage, Page, when } from '../ui.js';
import { ImageSharing } from './image-sharing.js';

const pageSize = 20;

/** A post with all its comments (paged), where the signed-in user adds and deletes their own. */
export function PostPage({ id }: { id: string }) {
  const user = useUser();
  const [post, setPost] = useState<Post | null>(null);
  const [comments, setComments] = useState<Comment[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState(false);

  const loadComments = async (after: string | null) => {
    const query = new URLSearchParams({ limit: String(pageSize) });
    if (after) query.set('cursor', after);
    const page = await api<{ comments: Comment[]; nextCursor: string | null }>(`/posts/${encodeURIComponent(id)}/comments?${query}`);
    setComments((shown) => {
      const base = after ? shown : [];
      const seen = new Set(base.map((comment) => comment.id));
      return [...base, ...page.comments.filter((comment) => !seen.has(comment.id))];
    });
    setCursor(page.nextCursor);
  };
  const reload = async () => {
    setError(null);
    try {
      setPost(await api<Post>(`/posts/${encodeURIComponent(id)}`));
      await loadComments(null);
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => {
    void reload();
  }, [id]);

  const addComment = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const body = String(new FormData(form).get('body') ?? '');
    setBusy(true);
    setFormError(null);
    try {
      await api(`/posts/${encodeURIComponent(id)}/comments`, { method: 'POST', body: { body }, headers: { 'idempotency-key': crypto.randomUUID() } });
      form.reset();
      await reload();
    } catch (failure) {
      setFormError(failure);
    } finally {
      setBusy(false);
    }
  };
  const deleteComment = async (comment: Comment) => {
    setFormError(null);
    try {
      await api(`/posts/${encodeURIComponent(id)}/comments/${encodeURIComponent(comment.id)}`, { method: 'DELETE' });
      await reload();
    } catch (failure) {
      setFormError(failure);
    }
  };
  const saveCaption = async (event: SubmitEvent) => {
    event.preventDefault();
    const caption = String(new FormData(event.currentTarget as HTMLFormElement).get('caption') ?? '');
    setBusy(true);
    setFormError(null);
    try {
      setPost(await api<Post>(`/posts/${encodeURIComponent(id)}`, { method: 'PATCH', body: { caption } }));
      setEditing(false);
    } catch (failure) {
      setFormError(failure);
    } finally {
      setBusy(false);
    }
  };
  const deletePost = async () => {
    if (!confirm('Delete this post and its comments?')) return;
    try {
      await api(`/posts/${encodeURIComponent(id)}`, { method: 'DELETE' });
      navigate('/');
    } catch (failure) {
      setFormError(failure);
    }
  };

  if (!post) {
    return (
      <Page title="Post">
        <ErrorMessage error={error} />
        {!error && <p aria-live="polite">Loading…</p>}
      </Page>
    );
  }
  const mine = user?.id === post.author.id;
  return (
    <Page title={`${post.author.username}: ${post.caption}`}>
      <article class="post">
        <img src={post.image.url} width={600} height={600} alt={`Posted by ${post.author.username}: ${post.caption}`} />
        <p>
          <time dateTime={post.createdAt}>{when(post.createdAt)}</time> ·{' '}
          <span class="comment-count">{post.commentCount === 1 ? '1 comment' : `${post.commentCount} comments`}</span>
        </p>
        {mine && editing && (
          <form onSubmit={saveCaption} class="stack" aria-label="Edit caption">
            <label>
              Caption
              <textarea name="caption" maxLength={2200} rows={3} defaultValue={post.caption} />
            </label>
            <div class="inline">
              <button type="submit" disabled={busy}>
                Save caption
              </button>
              <button type="button" class="link" onClick={() => setEditing(false)}>
                Cancel
              </button>
            </div>
          </form>
        )}
        {mine && <ImageSharing imageId={post.image.id} />}
        {mine && !editing && (
          <div class="inline">
            <button type="button" onClick={() => setEditing(true)}>
              Edit caption
            </button>
            <button type="button" class="danger" onClick={() => void deletePost()}>
              Delete post
            </button>
          </div>
        )}
      </article>
      <h2>Comments</h2>
      {user ? (
        <form onSubmit={addComment} class="stack">
          <label>
            Your comment
            <textarea name="body" required maxLength={1000} rows={2} />
          </label>
          <button type="submit" disabled={busy}>
            Comment
          </button>
        </form>
      ) : (
        <p>Log in to comment.</p>
      )}
      <ErrorMessage error={formError} />
      <ul class="comments full" aria-label="Comments">
        {comments.map((comment) => (
          <li key={comment.id} data-comment-id={comment.id}>
            <strong>{comment.author.username}</strong> {comment.body} <time dateTime={comment.createdAt}>{when(comment.createdAt)}</time>
            {user?.id === comment.author.id && (
              <button type="button" class="link" onClick={() => void deleteComment(comment)} aria-label={`Delete your comment “${comment.body}”`}>
                Delete
              </button>
            )}
          </li>
        ))}
      </ul>
      <ErrorMessage error={error} />
      {cursor && (
        <button type="button" onClick={() => void loadComments(cursor).catch(setError)}>
          Older comments
        </button>
      )}
    </Page>
  );
}
