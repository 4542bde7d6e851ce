import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import { logOut, refreshSession } from './api.js';
import { Link, navigate, usePath } from './router.js';
import { useUser } from './session.js';
import { FeedPage } from './pages/feed.js';
import { PostPage } from './pages/post.js';
import { AuthPage } from './pages/auth.js';
import { UploadPage } from './pages/upload.js';
import { LibraryPage } from './pages/library.js';
import { LinkDropPage } from './pages/link-drop.js';
import './style.css';

/** The admin page and its charts load only when visited, keeping them out of the feed's bundle. */
function AdminPage() {
  const [Loaded, setLoaded] = useState<ComponentType | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    import('./admin/admin-page.js').then(
      (module) => setLoaded(() => module.AdminPage),
      () => setFailed(true),
    );
  }, []);
  if (failed)
    return (
      <p class="error" role="alert">
        The admin page could not be loaded: reload to try again.
      </p>
    );
  return Loaded ? <Loaded /> : <p aria-live="polite">Loading…</p>;
}

function Route({ path }: { path: string }) {
  let match: RegExpExecArray | null;
  if (path === '/') return <FeedPage />;
  if (path === '/login') return <AuthPage mode="login" />;
  if (path === '/signup') return <AuthPage mode="signup" />;
  if (path === '/upload') return <UploadPage />;
  if (path === '/library') return <LibraryPage />;
  if (path === '/admin') return <AdminPage />;
  if ((match = /^\/p\/([^/]+)$/.exec(path))) return <PostPage id={decodeURIComponent(match[1]!)} />;
  if ((match = /^\/links\/([^/]+)$/.exec(path))) return <LinkDropPage token={decodeURIComponent(match[1]!)} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page here. <Link href="/">Back to the feed</Link>
      </p>
    </section>
  );
}

function App() {
  const path = usePath();
  const user = useUser();
  useEffect(() => {
    void refreshSession();
  }, []);
  const guestPage = path.startsWith('/links/');
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <Link href="/" class="brand">
            imagegram
          </Link>
          {!guestPage && (
            <ul>
              {user ? (
                <>
                  <li>
                    <Link href="/upload">Upload</Link>
                  </li>
                  <li>
                    <Link href="/library">My images</Link>
                  </li>
                  <li>
                    <button type="button" class="link" onClick={() => void logOut().finally(() => navigate('/'))}>
                      Log out {user.username}
                    </button>
                  </li>
                </>
              ) : (
                <>
                  <li>
                    <Link href="/login">Log in</Link>
                  </li>
                  <li>
                    <Link href="/signup">Sign up</Link>
                  </li>
                </>
              )}
              <li>
                <Link href="/admin">Admin</Link>
              </li>
            </ul>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Route path={path} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
