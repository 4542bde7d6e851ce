import { useState } from 'preact/hooks';
import { api, logIn } from '../api.js';
import { Link, navigate } from '../router.js';
import { ErrorMessage, Page } from '../ui.js';

/** Log-in and sign-up: one form, signing up also logs in. */
export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const username = String(form.get('username') ?? '');
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      if (mode === 'signup') await api('/users', { method: 'POST', body: { username, password } });
      await logIn(username, password);
      navigate('/');
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Page title={mode === 'login' ? 'Log in' : 'Sign up'}>
      <form onSubmit={onSubmit} class="stack">
        <label>
          Username
          <input name="username" autoComplete="username" required maxLength={64} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete={mode === 'login' ? 'current-password' : 'new-password'} required />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Sign up'}
        </button>
      </form>
      <p>
        {mode === 'login' ? (
          <>
            No account yet? <Link href="/signup">Sign up</Link>
          </>
        ) : (
          <>
            Have an account? <Link href="/login">Log in</Link>
          </>
        )}
      </p>
    </Page>
  );
}
