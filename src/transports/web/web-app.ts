import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm install` (scripts/build.js) builds the web app: the same path from src/ and dist/. */
export const webAppDir = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/**
 * The app's own pages. Each is answered with the app's HTML only when no API route matched and the
 * client asks for HTML, so an API route is never shadowed and API clients keep their problem+json 404s.
 */
const appPaths = [/^\/$/, /^\/(login|signup|upload|library|admin)\/?$/, /^\/p\/[^/]+$/, /^\/links\/[^/]+$/];

/**
 * Everything but scripts, styles, images and requests from this origin is refused: the page has
 * no inline script to make an exception for. No referrer, since `/links/<token>` carries a credential.
 */
const pageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** The built web app: its page for the app's paths (its assets are served by `webAppRoutes`). */
export interface WebApp {
  dir: string;
  /** Whether a request no route matched should get the app's page. */
  serves(request: FastifyRequest): boolean;
  sendPage(reply: FastifyReply): FastifyReply;
}

/** The built web app in `dir`, or null when it is not built (the API works without it). */
export function loadWebApp(dir = webAppDir): WebApp | null {
  let page: Buffer;
  try {
    page = readFileSync(join(dir, 'index.html'));
  } catch {
    return null;
  }
  return {
    dir,
    serves(request) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const path = request.url.split('?', 1)[0]!;
      return appPaths.some((pattern) => pattern.test(path)) && (request.headers.accept ?? '').includes('text/html');
    },
    sendPage(reply) {
      return reply.code(200).headers(pageHeaders).send(page);
    },
  };
}

/**
 * `/assets/*`: content-hashed file names, so each is cached for a year and never revalidated. And
 * the upload-link page as a route of its own, so that, like the link's API route, it logs only at
 * warn: its URL carries the link's token.
 */
export const webAppRoutes: FastifyPluginAsync<{ web: WebApp }> = async (app, { web }) => {
  await app.register(fastifyStatic, {
    root: join(web.dir, 'assets'),
    prefix: '/assets/',
    // Other plugins (Swagger UI) register their own copy; this one needs no reply decorators.
    decorateReply: false,
    immutable: true,
    maxAge: '365d',
    index: false,
    // The build writes .br and .gz beside each script and stylesheet.
    preCompressed: true,
    schemaHide: true,
  });
  app.get('/links/:token', { logLevel: 'warn', schema: { hide: true } }, (request, reply) =>
    web.serves(request) ? web.sendPage(reply) : reply.callNotFound(),
  );
};
