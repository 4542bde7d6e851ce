// Talks to the imagegram API on the same origin. Every failure becomes an ApiError whose message
// is the problem+json `detail`, which is written for people and shown as is.

/** A signed-in user as the API presents one. */
export interface User {
  id: string;
  username: string;
  createdAt?: string;
}

export interface Comment {
  id: string;
  postId: string;
  body: string;
  author: { id: string; username: string };
  createdAt: string;
}

export interface Post {
  id: string;
  caption: string;
  author: { id: string; username: string };
  createdAt: string;
  commentCount: number;
  image: { id: string; url: string; width: number; height: number };
  lastComments: Comment[];
}

export interface Image {
  id: string;
  url: string;
  width: number;
  height: number;
  format: string;
  createdAt: string;
}

/** A refused or failed request: `status` 0 when the network failed. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

const sessionKey = 'imagegram.session';

/** The stored session (token and user), or null when signed out. */
export function currentSession(): { token: string; user: User } | null {
  try {
    const raw = localStorage.getItem(sessionKey);
    return raw ? (JSON.parse(raw) as { token: string; user: User }) : null;
  } catch {
    return null;
  }
}

export function storeSession(session: { token: string; user: User } | null): void {
  if (session) localStorage.setItem(sessionKey, JSON.stringify(session));
  else localStorage.removeItem(sessionKey);
  window.dispatchEvent(new Event('imagegram:session'));
}

/** Authorization for the signed-in user, or none. */
export function authHeaders(): Record<string, string> {
  const session = currentSession();
  return session ? { authorization: `Bearer ${session.token}` } : {};
}

/** The problem+json detail of a failed response, or a plain description of it. */
export async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const problem = JSON.parse(text) as { detail?: string; title?: string; code?: string; errors?: { message: string }[] };
    const message = problem.detail ?? problem.errors?.[0]?.message ?? problem.title;
    if (message) return new ApiError(message, response.status, problem.code ?? null);
  } catch {
    // Not JSON (tus answers some protocol errors in plain text).
  }
  return new ApiError(text.trim() || `${response.status} ${response.statusText}`, response.status, null);
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A JSON request to the API as the signed-in user; resolves to the parsed body (undefined for 204). */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(), ...options.headers };
  let body: BodyInit | undefined;
  if (options.body instanceof FormData) body = options.body;
  else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? 'GET', headers, body });
  } catch {
    throw new ApiError('The server cannot be reached: check your connection and try again.', 0, null);
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** A GraphQL operation as the signed-in user; GraphQL errors become an ApiError. */
export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await api<{ data?: T; errors?: { message: string; extensions?: { errorCode?: string } }[] }>('/graphql', {
    method: 'POST',
    body: { query, variables },
  });
  const error = result.errors?.[0];
  if (error || !result.data) throw new ApiError(error?.message ?? 'No data in the answer', 200, error?.extensions?.errorCode ?? null);
  return result.data;
}

/** Signs in and stores the session. */
export async function logIn(username: string, password: string): Promise<void> {
  const session = await api<{ token: string; user: User }>('/sessions', { method: 'POST', body: { username, password } });
  storeSession({ token: session.token, user: session.user });
}

/** Ends the session on the server (if it still can) and forgets it here. */
export async function logOut(): Promise<void> {
  try {
    await api('/sessions/current', { method: 'DELETE' });
  } finally {
    storeSession(null);
  }
}

/** Checks the stored session with `GET /me`; a refused one is forgotten. */
export async function refreshSession(): Promise<void> {
  const session = currentSession();
  if (!session) return;
  try {
    const user = await api<User>('/me');
    storeSession({ token: session.token, user });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) storeSession(null);
    // 404: a server without GET /me; the stored user stays.
  }
}
