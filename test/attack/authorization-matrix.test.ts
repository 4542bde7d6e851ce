/**
 * The cross-user authorization matrix: every route the running server declares (its OpenAPI
 * document: REST, tus, upload links, admin) and every GraphQL mutation and query field (by
 * introspection), each tried by every actor against the owner's objects. A route or field the
 * matrix has no case for fails the first test: new routes are covered by default.
 *
 * Phase 1 runs every call expected to be refused (and every read), checking after each one that
 * none of the owner's objects changed and no event was logged. Phase 2 runs the calls expected to
 * succeed and write (the owner on their own objects, anyone where anyone may), as the positive
 * control that the refused calls were well-formed: the same request works for the right actor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { distinctPng, postJson } from '../support/client.js';
import { multipartOperation } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';
import { type Actor, actors, buildWorld, requestEventsAfter, snapshot, type World } from './authorization-world.js';

type Outcome = 'ok' | 'unauthenticated' | 'forbidden' | 'denied' | 'missing';
type Policy = 'public' | 'open' | 'user' | 'owner' | 'admin' | 'nobody' | 'unknownLink';

/** Who gets what, by the kind of route. `denied` is 403 or 404: either hides the object. */
const policies: Record<Policy, Record<Actor, Outcome>> = {
  /** Reads anyone may make. */
  public: { anonymous: 'ok', owner: 'ok', other: 'ok', admin: 'ok', userAsAdmin: 'ok' },
  /** Writes anyone may make (sign-up, log-in, an upload link's holder). */
  open: { anonymous: 'ok', owner: 'ok', other: 'ok', admin: 'ok', userAsAdmin: 'ok' },
  /** Any signed-in user, on public objects or their own new ones. */
  user: { anonymous: 'unauthenticated', owner: 'ok', other: 'ok', admin: 'unauthenticated', userAsAdmin: 'unauthenticated' },
  /** Only the owner of the objects named. The admin token is no user session. */
  owner: { anonymous: 'unauthenticated', owner: 'ok', other: 'denied', admin: 'unauthenticated', userAsAdmin: 'unauthenticated' },
  admin: { anonymous: 'unauthenticated', owner: 'forbidden', other: 'forbidden', admin: 'ok', userAsAdmin: 'forbidden' },
  /** Ids that belong to different owners, so no user may: nobody owns both. */
  nobody: { anonymous: 'unauthenticated', owner: 'denied', other: 'denied', admin: 'unauthenticated', userAsAdmin: 'unauthenticated' },
  unknownLink: { anonymous: 'missing', owner: 'missing', other: 'missing', admin: 'missing', userAsAdmin: 'missing' },
};

interface Call {
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  body?: FormData | Buffer;
}

interface RestCase {
  /** What this variant tries, for messages. */
  name: string;
  policy: Policy;
  /** Whether an allowed call changes state (then it runs in phase 2). */
  writes: boolean;
  call(world: World, actor: Actor): Call | Promise<Call>;
  /** Statuses besides 2xx that count as allowed (e.g. retrying a job that is not parked). */
  alsoOk?: number[];
  /** For a GET: what Fastify's automatic HEAD gets instead, when that differs (with why). */
  head?: { status: number; why: string };
}

const tus = { 'tus-resumable': '1.0.0' };
const png = async (world: World) => distinctPng(world.seed++);
const imagePart = async (world: World) => {
  const form = new FormData();
  form.append('image', new Blob([await png(world)], { type: 'image/png' }), 'photo.png');
  return form;
};
/** A session of the actor's user that no other call needs, for logging out. */
async function throwawaySession(world: World, actor: Actor): Promise<Record<string, string>> {
  const user = actor === 'owner' ? world.alice : actor === 'other' ? world.bob : null;
  if (!user) return {};
  const response = await postJson(world.server.baseUrl, '/sessions', { username: user.username, password: user.password });
  return { authorization: `Bearer ${((await response.json()) as { token: string }).token}` };
}

/**
 * A fresh account for the actor's user to change or delete (never alice's or bob's, which later
 * cases need), with its password; anyone else keeps their own headers and gets refused.
 */
async function throwawayAccount(world: World, actor: Actor): Promise<{ headers?: Record<string, string>; password: string }> {
  const password = 'correct horse battery staple';
  if (actor !== 'owner' && actor !== 'other') return { password };
  const username = `throwaway${world.seed++}`;
  await postJson(world.server.baseUrl, '/users', { username, password });
  const response = await postJson(world.server.baseUrl, '/sessions', { username, password });
  return { headers: { authorization: `Bearer ${((await response.json()) as { token: string }).token}` }, password };
}

/**
 * Every REST/tus route, keyed as in the OpenAPI document, with one or more ways to call it. In
 * each, ids are the owner's (alice's): what `other` (bob) sends is exactly what alice would.
 * Phase 2 runs in this order, so within a route later variants may rely on earlier ones.
 */
const restCases: Record<string, RestCase[]> = {
  'GET /healthz': [{ name: 'liveness', policy: 'public', writes: false, call: () => ({ path: '/healthz' }) }],
  'GET /readyz': [{ name: 'readiness', policy: 'public', writes: false, call: () => ({ path: '/readyz' }) }],
  'GET /metrics': [{ name: 'metrics', policy: 'public', writes: false, call: () => ({ path: '/metrics' }) }],
  'POST /users': [
    {
      name: 'sign up',
      policy: 'open',
      writes: true,
      call: (w) => ({ path: '/users', json: { username: `someone${w.seed++}`, password: 'correct horse battery staple' } }),
    },
  ],
  'POST /sessions': [
    {
      name: "log in (bob's credentials)",
      policy: 'open',
      writes: true,
      call: (w) => ({ path: '/sessions', json: { username: w.bob.username, password: w.bob.password } }),
    },
  ],
  'DELETE /sessions/current': [
    {
      name: 'log out a session of your own',
      policy: 'user',
      writes: true,
      call: async (w, actor) => ({ path: '/sessions/current', headers: await throwawaySession(w, actor) }),
    },
  ],
  'POST /images': [
    { name: "use alice's finished upload", policy: 'owner', writes: true, call: (w) => ({ path: '/images', json: { uploadId: w.upload.forImages } }) },
  ],
  'GET /me': [{ name: 'the signed-in user', policy: 'user', writes: false, call: () => ({ path: '/me' }) }],
  'GET /me/images': [{ name: 'my images', policy: 'user', writes: false, call: () => ({ path: '/me/images' }) }],
  'GET /me/posts': [{ name: 'my posts', policy: 'user', writes: false, call: () => ({ path: '/me/posts' }) }],
  'GET /users/{username}/posts': [{ name: "alice's posts", policy: 'public', writes: false, call: (w) => ({ path: `/users/${w.alice.username}/posts` }) }],
  'PUT /me/password': [
    {
      name: 'change the password of an account of your own',
      policy: 'user',
      writes: true,
      call: async (w, actor) => {
        const { headers, password } = await throwawayAccount(w, actor);
        return { path: '/me/password', headers, json: { currentPassword: password, newPassword: 'another long password' } };
      },
    },
  ],
  'DELETE /me': [
    {
      name: 'delete an account of your own',
      policy: 'user',
      writes: true,
      call: async (w, actor) => {
        const { headers, password } = await throwawayAccount(w, actor);
        return { path: '/me', headers, json: { password } };
      },
    },
  ],
  'GET /images/{id}': [{ name: "alice's image", policy: 'public', writes: false, call: (w) => ({ path: `/images/${w.image.posted}` }) }],
  'PATCH /images/{id}': [
    {
      name: "share alice's image's location",
      policy: 'owner',
      writes: true,
      call: (w) => ({ path: `/images/${w.image.posted}`, json: { shareLocation: true } }),
    },
  ],
  'DELETE /images/{id}': [{ name: "alice's image", policy: 'owner', writes: true, call: (w) => ({ path: `/images/${w.image.forRestDelete}` }) }],
  'GET /images/{id}.jpg': [{ name: "alice's JPEG", policy: 'public', writes: false, call: (w) => ({ path: `/images/${w.image.posted}.jpg` }) }],
  'GET /posts': [{ name: 'the feed', policy: 'public', writes: false, call: () => ({ path: '/posts' }) }],
  'POST /posts': [
    { name: "post alice's image", policy: 'owner', writes: true, call: (w) => ({ path: '/posts', json: { caption: 'x', imageId: w.image.collected } }) },
    {
      name: "post alice's finished upload",
      policy: 'owner',
      writes: true,
      call: (w) => ({ path: '/posts', json: { caption: 'x', uploadId: w.upload.forPosts } }),
    },
  ],
  'GET /posts/{id}': [{ name: "alice's post", policy: 'public', writes: false, call: (w) => ({ path: `/posts/${w.post}` }) }],
  'POST /posts/{id}/comments': [
    { name: "comment on alice's post", policy: 'user', writes: true, call: (w) => ({ path: `/posts/${w.post}/comments`, json: { body: 'hi' } }) },
  ],
  'GET /posts/{id}/comments': [{ name: "alice's post's comments", policy: 'public', writes: false, call: (w) => ({ path: `/posts/${w.post}/comments` }) }],
  'DELETE /posts/{id}/comments/{commentId}': [
    { name: "alice's comment under bob's post", policy: 'nobody', writes: true, call: (w) => ({ path: `/posts/${w.bobPost}/comments/${w.comment}` }) },
    { name: "alice's comment", policy: 'owner', writes: true, call: (w) => ({ path: `/posts/${w.post}/comments/${w.comment}` }) },
  ],
  'PATCH /posts/{id}': [
    { name: "alice's post's caption", policy: 'owner', writes: true, call: (w) => ({ path: `/posts/${w.post}`, json: { caption: 'edited' } }) },
  ],
  'DELETE /posts/{id}': [{ name: "alice's post", policy: 'owner', writes: true, call: (w) => ({ path: `/posts/${w.post}` }) }],
  'OPTIONS /uploads': [{ name: 'tus capabilities', policy: 'public', writes: false, call: () => ({ path: '/uploads' }) }],
  'POST /uploads': [
    { name: 'create an upload', policy: 'user', writes: true, call: () => ({ path: '/uploads', headers: { ...tus, 'upload-length': '100' } }) },
  ],
  'OPTIONS /uploads/{id}': [{ name: 'tus capabilities', policy: 'public', writes: false, call: (w) => ({ path: `/uploads/${w.upload.partial}` }) }],
  'HEAD /uploads/{id}': [
    { name: "alice's upload offset", policy: 'owner', writes: false, call: (w) => ({ path: `/uploads/${w.upload.partial}`, headers: tus }) },
  ],
  'PATCH /uploads/{id}': [
    {
      name: "append to alice's upload",
      policy: 'owner',
      writes: true,
      call: (w) => ({
        path: `/uploads/${w.upload.partial}`,
        headers: { ...tus, 'upload-offset': String(w.partialOffset), 'content-type': 'application/offset+octet-stream' },
        body: Buffer.alloc(10, 1),
      }),
    },
  ],
  'DELETE /uploads/{id}': [
    { name: "terminate alice's upload", policy: 'owner', writes: true, call: (w) => ({ path: `/uploads/${w.upload.forDelete}`, headers: tus }) },
  ],
  'POST /admin/upload-links': [
    { name: 'mint a link', policy: 'admin', writes: true, call: () => ({ path: '/admin/upload-links', json: { sinceNow: 'PT1H' } }) },
  ],
  'GET /admin/upload-links/{id}': [{ name: 'a link', policy: 'admin', writes: false, call: (w) => ({ path: `/admin/upload-links/${w.link.id}` }) }],
  'GET /admin/upload-links/{id}/images': [
    { name: "a link's images", policy: 'admin', writes: false, call: (w) => ({ path: `/admin/upload-links/${w.link.id}/images` }) },
  ],
  'POST /links/{token}': [
    {
      name: 'a token nobody was given',
      policy: 'unknownLink',
      writes: false,
      call: async (w) => ({ path: `/links/${'A'.repeat(43)}`, body: await imagePart(w) }),
    },
    { name: 'upload through the link', policy: 'open', writes: true, call: async (w) => ({ path: `/links/${w.link.token}`, body: await imagePart(w) }) },
  ],
  'GET /admin/events': [{ name: 'the event log', policy: 'admin', writes: false, call: () => ({ path: '/admin/events' }) }],
  'GET /admin/jobs': [{ name: 'the jobs', policy: 'admin', writes: false, call: () => ({ path: '/admin/jobs' }) }],
  'GET /admin/jobs/{id}': [{ name: 'a job', policy: 'admin', writes: false, call: (w) => ({ path: `/admin/jobs/${w.job}` }) }],
  'POST /admin/jobs/{id}/retry': [{ name: 'retry a job', policy: 'admin', writes: true, alsoOk: [409], call: (w) => ({ path: `/admin/jobs/${w.job}/retry` }) }],
  'GET /admin/stats': [{ name: 'the stats', policy: 'admin', writes: false, call: () => ({ path: '/admin/stats' }) }],
  // GraphQL's fields have their own matrix below; here, the endpoint itself.
  'GET /graphql': [
    {
      name: 'a query over GET',
      policy: 'public',
      writes: false,
      head: { status: 400, why: 'Mercurius serves GraphQL over GET and POST only' },
      call: () => ({ path: '/graphql?query=%7B__typename%7D' }),
    },
  ],
  'POST /graphql': [{ name: 'a query', policy: 'public', writes: false, call: () => ({ path: '/graphql', json: { query: '{ __typename }' } }) }],
  'GET /graphiql': [{ name: 'GraphiQL', policy: 'public', writes: false, call: () => ({ path: '/graphiql' }) }],
  'GET /graphiql/assets/{file}': [{ name: 'a GraphiQL asset', policy: 'public', writes: false, call: () => ({ path: '/graphiql/assets/boot.js' }) }],
};

interface GraphqlCase {
  name: string;
  policy: Policy;
  writes: boolean;
  query: string;
  variables(world: World): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** A multipart request (the Upload scalar): the file sent as `variables.file`. */
  upload?: boolean;
  /** Error codes that count as `denied` besides FORBIDDEN and NOT_FOUND. */
  deniedAlso?: string[];
}

const addImages = 'mutation($c: ID!, $i: [ID!]!) { addImagesToCollection(collectionId: $c, imageIds: $i) { id } }';
const createPost = 'mutation($imageId: ID, $uploadId: ID) { createPost(caption: "x", imageId: $imageId, uploadId: $uploadId) { id } }';
const deleteComment = 'mutation($p: ID!, $c: ID!) { deleteComment(postId: $p, commentId: $c) }';

/** Every mutation field and every query field, with alice's ids in every id argument. */
const graphqlCases: Record<string, GraphqlCase[]> = {
  'Query.me': [{ name: 'the viewer', policy: 'public', writes: false, query: '{ me { id } }', variables: () => ({}) }],
  'Query.image': [
    {
      name: "alice's image",
      policy: 'public',
      writes: false,
      query: 'query($id: ID!) { image(id: $id) { id owner { id } } }',
      variables: (w) => ({ id: w.image.posted }),
    },
  ],
  'Query.collection': [
    {
      name: "alice's collection",
      policy: 'public',
      writes: false,
      query: 'query($id: ID!) { collection(id: $id) { id images { id } } }',
      variables: (w) => ({ id: w.collection.shared }),
    },
  ],
  'Query.collections': [
    {
      name: "continue alice's listing with her cursor",
      policy: 'owner',
      writes: false,
      deniedAlso: ['BAD_USER_INPUT'],
      query: 'query($after: String) { collections(first: 5, after: $after) { edges { node { id } } } }',
      variables: (w) => ({ after: w.collectionsCursor }),
    },
  ],
  'Query.post': [
    {
      name: "alice's post",
      policy: 'public',
      writes: false,
      query: 'query($id: ID!) { post(id: $id) { id comments { edges { node { id } } } } }',
      variables: (w) => ({ id: w.post }),
    },
  ],
  'Query.posts': [{ name: 'the feed', policy: 'public', writes: false, query: '{ posts(first: 5) { edges { node { id } } } }', variables: () => ({}) }],
  'Mutation.uploadImage': [
    {
      name: 'upload an image',
      policy: 'user',
      writes: true,
      upload: true,
      query: 'mutation($file: Upload!) { uploadImage(file: $file) { image { id } } }',
      variables: () => ({}),
    },
  ],
  'Mutation.deleteImage': [
    {
      name: "alice's image",
      policy: 'owner',
      writes: true,
      query: 'mutation($id: ID!) { deleteImage(id: $id) }',
      variables: (w) => ({ id: w.image.forGraphqlDelete }),
    },
  ],
  'Mutation.setImageSharing': [
    {
      name: "share alice's image's time",
      policy: 'owner',
      writes: true,
      query: 'mutation($id: ID!) { setImageSharing(id: $id, shareTakenAt: true) { id } }',
      variables: (w) => ({ id: w.image.posted }),
    },
  ],
  'Mutation.createCollection': [
    { name: 'a new collection', policy: 'user', writes: true, query: 'mutation { createCollection(name: "new") { id } }', variables: () => ({}) },
  ],
  'Mutation.renameCollection': [
    {
      name: "alice's collection",
      policy: 'owner',
      writes: true,
      query: 'mutation($id: ID!) { renameCollection(id: $id, name: "renamed") { id } }',
      variables: (w) => ({ id: w.collection.shared }),
    },
  ],
  'Mutation.deleteCollection': [
    {
      name: "alice's collection",
      policy: 'owner',
      writes: true,
      query: 'mutation($id: ID!) { deleteCollection(id: $id) }',
      variables: (w) => ({ id: w.collection.forDelete }),
    },
  ],
  'Mutation.addImagesToCollection': [
    {
      name: "alice's image into bob's collection",
      policy: 'nobody',
      writes: true,
      query: addImages,
      variables: (w) => ({ c: w.bobCollection, i: [w.image.posted] }),
    },
    {
      name: "alice's image into alice's collection",
      policy: 'owner',
      writes: true,
      query: addImages,
      variables: (w) => ({ c: w.collection.shared, i: [w.image.posted] }),
    },
  ],
  'Mutation.removeImagesFromCollection': [
    {
      name: "from alice's collection",
      policy: 'owner',
      writes: true,
      query: 'mutation($c: ID!, $i: [ID!]!) { removeImagesFromCollection(collectionId: $c, imageIds: $i) { id } }',
      variables: (w) => ({ c: w.collection.shared, i: [w.image.collected] }),
    },
  ],
  'Mutation.createPost': [
    { name: "alice's image", policy: 'owner', writes: true, query: createPost, variables: (w) => ({ imageId: w.image.collected }) },
    { name: "alice's finished upload", policy: 'owner', writes: true, query: createPost, variables: (w) => ({ uploadId: w.upload.forGraphql }) },
  ],
  'Mutation.addComment': [
    {
      name: "on alice's post",
      policy: 'user',
      writes: true,
      query: 'mutation($p: ID!) { addComment(postId: $p, body: "hi") { id } }',
      variables: (w) => ({ p: w.graphqlPost }),
    },
  ],
  'Mutation.deleteComment': [
    {
      name: "alice's comment under bob's post",
      policy: 'nobody',
      writes: true,
      query: deleteComment,
      variables: (w) => ({ p: w.bobPost, c: w.graphqlComment }),
    },
    { name: "alice's comment", policy: 'owner', writes: true, query: deleteComment, variables: (w) => ({ p: w.graphqlPost, c: w.graphqlComment }) },
  ],
  'Mutation.updatePostCaption': [
    {
      name: "alice's post",
      policy: 'owner',
      writes: true,
      query: 'mutation($id: ID!) { updatePostCaption(id: $id, caption: "edited") { id } }',
      variables: (w) => ({ id: w.graphqlPost }),
    },
  ],
  // Alice and bob share a password: each "changes" theirs to the same, which ends no session this matrix uses.
  'Mutation.changePassword': [
    {
      name: 'your own password',
      policy: 'user',
      writes: true,
      query: 'mutation($p: String!) { changePassword(currentPassword: $p, newPassword: $p) }',
      variables: (w) => ({ p: w.alice.password }),
    },
  ],
  // Only refusals here (a wrong password): the owner deleting alice would end the world; the e2e suites delete accounts.
  'Mutation.deleteAccount': [
    { name: 'with a wrong password', policy: 'nobody', writes: true, query: 'mutation { deleteAccount(password: "not the password") }', variables: () => ({}) },
  ],
  'Mutation.deletePost': [
    { name: "alice's post", policy: 'owner', writes: true, query: 'mutation($id: ID!) { deletePost(id: $id) }', variables: (w) => ({ id: w.graphqlPost }) },
  ],
};

/** One call of the matrix: a route's variant, by one actor, and what it must get. */
interface Cell {
  label: string;
  expected: Outcome;
  /** Runs in phase 2 (an allowed write) rather than phase 1. */
  allowedWrite: boolean;
  /** Undefined when the response is what `expected` says, else what went wrong. */
  run(world: World): Promise<string | undefined>;
}

function restCell(method: string, key: string, variant: RestCase, actor: Actor): Cell {
  const expected = policies[variant.policy][actor];
  return {
    label: `${key} [${variant.name}] as ${actor}`,
    expected,
    allowedWrite: expected === 'ok' && variant.writes,
    async run(world) {
      const call = await variant.call(world, actor);
      const headers: Record<string, string> = { ...world.headersOf[actor], ...call.headers };
      let body: RequestInit['body'] = call.body;
      if (call.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(call.json);
      }
      const response = await fetch(`${world.server.baseUrl}${call.path}`, { method, headers, body });
      const text = method === 'HEAD' ? '' : await response.text();
      const { status } = response;
      const fits =
        expected === 'ok'
          ? (status >= 200 && status < 300) || (variant.alsoOk ?? []).includes(status)
          : expected === 'unauthenticated'
            ? status === 401
            : expected === 'forbidden'
              ? status === 403
              : expected === 'denied'
                ? status === 403 || status === 404
                : status === 404;
      return fits ? undefined : `expected ${expected}, got ${status} ${text.slice(0, 200)}`;
    },
  };
}

function graphqlCell(key: string, variant: GraphqlCase, actor: Actor): Cell {
  const expected = policies[variant.policy][actor];
  return {
    label: `GraphQL ${key} [${variant.name}] as ${actor}`,
    expected,
    allowedWrite: expected === 'ok' && variant.writes,
    async run(world) {
      const variables = await variant.variables(world);
      const headers: Record<string, string> = { ...world.headersOf[actor] };
      let body: RequestInit['body'];
      if (variant.upload) {
        const operation = multipartOperation(variant.query, await png(world), 'photo.png', variables);
        Object.assign(headers, { 'content-type': operation.contentType, 'x-graphql-csrf': '1' });
        body = operation.body;
      } else {
        headers['content-type'] = 'application/json';
        body = JSON.stringify({ query: variant.query, variables });
      }
      const response = await fetch(`${world.server.baseUrl}/graphql`, { method: 'POST', headers, body });
      const result = (await response.json()) as { data: unknown; errors?: { extensions?: { code?: string } }[] };
      const codes = (result.errors ?? []).map((error) => error.extensions?.code ?? '?');
      const denied = ['FORBIDDEN', 'NOT_FOUND', ...(variant.deniedAlso ?? [])];
      const fits =
        expected === 'ok'
          ? response.status === 200 && codes.length === 0
          : expected === 'unauthenticated'
            ? codes.length > 0 && codes.every((code) => code === 'UNAUTHENTICATED')
            : codes.length > 0 && codes.every((code) => denied.includes(code));
      return fits ? undefined : `expected ${expected}, got ${response.status} ${JSON.stringify(result).slice(0, 300)}`;
    },
  };
}

/** `METHOD /path` of every operation in the OpenAPI document. */
async function declaredRoutes(server: RunningServer): Promise<string[]> {
  const document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
}

/** `Query.field` and `Mutation.field` of the served schema, by introspection. */
async function declaredFields(server: RunningServer): Promise<string[]> {
  const response = await postJson(server.baseUrl, '/graphql', { query: '{ __schema { queryType { fields { name } } mutationType { fields { name } } } }' });
  const { data } = (await response.json()) as {
    data: { __schema: { queryType: { fields: { name: string }[] }; mutationType: { fields: { name: string }[] } } };
  };
  return [...data.__schema.queryType.fields.map(({ name }) => `Query.${name}`), ...data.__schema.mutationType.fields.map(({ name }) => `Mutation.${name}`)];
}

describe('authorization matrix: every route and GraphQL field × every actor, against the owner’s objects', () => {
  let server: RunningServer;
  let world: World;
  let routes: string[];
  let fields: string[];
  const cells: Cell[] = [];

  before(async () => {
    server = await startServer({ env: { GRAPHQL_INTROSPECTION: 'true' } });
    world = await buildWorld(server);
    [routes, fields] = await Promise.all([declaredRoutes(server), declaredFields(server)]);
    const explicitHeads = new Set(routes.filter((route) => route.startsWith('HEAD ')).map((route) => route.slice(5)));
    for (const key of Object.keys(restCases).filter((route) => routes.includes(route))) {
      const [method, path] = key.split(' ') as [string, string];
      for (const variant of restCases[key]!) {
        for (const actor of actors) cells.push(restCell(method, key, variant, actor));
        // Fastify answers HEAD for every GET, with the GET's handler: the same rules must hold.
        if (method === 'GET' && !explicitHeads.has(path)) {
          const head = variant.head ? { ...variant, alsoOk: [variant.head.status] } : variant;
          for (const actor of actors) cells.push(restCell('HEAD', `HEAD ${path}`, head, actor));
        }
      }
    }
    for (const key of Object.keys(graphqlCases).filter((field) => fields.includes(field))) {
      for (const variant of graphqlCases[key]!) for (const actor of actors) cells.push(graphqlCell(key, variant, actor));
    }
  });
  after(() => server?.cleanup());

  test('every declared route and GraphQL field has a case (a new one must be added here)', () => {
    const hint = 'add it to restCases/graphqlCases in test/attack/authorization-matrix.test.ts: who may call it, with whose ids';
    assert.deepEqual(
      routes.filter((route) => !(route in restCases)),
      [],
      `routes not in the authorization matrix: ${hint}`,
    );
    assert.deepEqual(
      fields.filter((field) => !(field in graphqlCases)),
      [],
      `GraphQL fields not in the authorization matrix: ${hint}`,
    );
    // A case for something the server no longer has is a stale matrix.
    assert.deepEqual(
      Object.keys(restCases).filter((route) => !routes.includes(route)),
      [],
      'cases for routes the server does not declare',
    );
    assert.deepEqual(
      Object.keys(graphqlCases).filter((field) => !fields.includes(field)),
      [],
      'cases for fields the schema does not have',
    );
  });

  test('phase 1: refused calls and reads change nothing of the owner’s, and log nothing', async (t) => {
    const escapes: string[] = [];
    let { last: position } = await requestEventsAfter(world, 0);
    let baseline = await snapshot(world);
    const refused = cells.filter((cell) => !cell.allowedWrite);
    for (const cell of refused) {
      const wrong = await cell.run(world);
      if (wrong) escapes.push(`${cell.label}: ${wrong}`);
      const logged = await requestEventsAfter(world, position);
      position = logged.last;
      if (logged.events.length > 0) escapes.push(`${cell.label}: logged ${logged.events.map((event) => `${event.type}(${event.subjectId})`).join(', ')}`);
      const now = await snapshot(world);
      if (now !== baseline) {
        escapes.push(`${cell.label}: changed the owner's objects`);
        baseline = now;
      }
    }
    t.diagnostic(`phase 1: ${refused.length} calls (${countOf(refused, 'rest')} REST/tus, ${countOf(refused, 'graphql')} GraphQL), ${escapes.length} escapes`);
    assert.deepEqual(escapes, []);
  });

  test('phase 2: the same calls succeed for whoever may make them (the positive control)', async (t) => {
    const failures: string[] = [];
    const allowed = cells.filter((cell) => cell.allowedWrite);
    for (const cell of allowed) {
      const wrong = await cell.run(world);
      if (wrong) failures.push(`${cell.label}: ${wrong}`);
    }
    t.diagnostic(
      `phase 2: ${allowed.length} allowed writes; in all ${routes.length} declared routes (plus Fastify's HEAD for each GET) and ${fields.length} GraphQL fields, ${cells.length / actors.length} variants × ${actors.length} actors = ${cells.length} calls`,
    );
    assert.deepEqual(failures, []);
  });
});

function countOf(cells: Cell[], kind: 'rest' | 'graphql'): number {
  return cells.filter((cell) => cell.label.startsWith('GraphQL ') === (kind === 'graphql')).length;
}
