import { randomBytes } from 'node:crypto';

/** A signed-up, logged-in user for end-to-end tests. */
export interface TestUser {
  id: string;
  username: string;
  password: string;
  token: string;
  headers: { authorization: string };
}

/** Signs up a fresh user over HTTP and logs in. */
export async function signUpAndLogIn(baseUrl: string, prefix = 'user'): Promise<TestUser> {
  const username = `${prefix}${randomBytes(4).toString('hex')}`;
  const password = 'correct horse battery staple';
  const created = await postJson(baseUrl, '/users', { username, password });
  if (created.status !== 201) throw new Error(`sign-up failed: ${created.status} ${await created.text()}`);
  const session = await postJson(baseUrl, '/sessions', { username, password });
  if (session.status !== 201) throw new Error(`log-in failed: ${session.status} ${await session.text()}`);
  const body = (await session.json()) as { token: string; user: { id: string } };
  return { id: body.user.id, username, password, token: body.token, headers: { authorization: `Bearer ${body.token}` } };
}

/** POSTs a JSON body. */
export function postJson(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Uploads bytes as the multipart `image` field of POST /images, the way a browser form would. */
export function uploadImage(baseUrl: string, user: TestUser | null, bytes: Uint8Array, filename = 'photo.jpg', type = 'image/jpeg'): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([bytes], { type }), filename);
  return fetch(`${baseUrl}/images`, { method: 'POST', headers: user ? user.headers : {}, body: form });
}

/** The parsed body of a problem+json response, asserting its content type. */
export async function problemOf(response: Response): Promise<{ status: number; code: string; detail: string; title: string; type: string }> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json')) throw new Error(`expected problem+json, got ${type}: ${await response.text()}`);
  return (await response.json()) as { status: number; code: string; detail: string; title: string; type: string };
}

/** Creates a post over HTTP from image bytes (multipart) and returns its JSON. */
export async function createPost(baseUrl: string, user: TestUser, image: Uint8Array, caption: string, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.append('caption', caption);
  form.append('image', new Blob([image], { type: 'image/png' }), 'photo.png');
  return fetch(`${baseUrl}/posts`, { method: 'POST', headers: { ...user.headers, ...headers }, body: form });
}

/** Adds a comment over HTTP. */
export function addComment(baseUrl: string, user: TestUser, postId: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return postJson(baseUrl, `/posts/${postId}/comments`, { body }, { ...user.headers, ...headers });
}

/** Distinct small PNGs: each call returns new bytes (a different colour), so no upload is a duplicate. */
export async function distinctPng(seed: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const colour = { r: seed % 256, g: Math.floor(seed / 256) % 256, b: (seed * 7) % 256 };
  return sharp({ create: { width: 48, height: 32, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/** Polls `probe` until it returns a value other than undefined (background jobs finish moments after a response). */
export async function eventually<T>(probe: () => Promise<T | undefined>, { timeoutMs = 15_000, intervalMs = 50, what = 'the condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
