import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import { graphiqlAssets, type GraphiqlAsset } from './graphiql-assets.js';
import { etagMatches } from '../etag.js';

export interface GraphiqlRoutesOptions {
  /** Where the page sends queries. */
  endpoint: string;
}

/**
 * Nothing but this server: scripts and styles are files under /graphiql/assets, queries go to
 * the same origin. GraphiQL's fonts are data: URLs inside its CSS. One cost, cosmetic: the
 * <style> element Radix injects to lock scrolling behind an open dialog is refused.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  'font-src data:',
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const immutable = 'public, max-age=31536000, immutable';

/**
 * GraphiQL at /graphiql, served entirely from the installed packages: it works offline, and no
 * third-party CDN runs script next to a pasted bearer token.
 */
export const graphiqlRoutes: FastifyPluginAsyncTypebox<GraphiqlRoutesOptions> = async (app, { endpoint }) => {
  const assets = graphiqlAssets();
  const page = Buffer.from(pageHtml(assets, endpoint));
  const pageEtag = `"${createHash('sha256').update(page).digest('base64url').slice(0, 32)}"`;

  app.get(
    '/graphiql',
    {
      schema: { tags: ['graphql'], summary: 'GraphiQL, the in-browser GraphQL IDE (only where introspection is on)', produces: ['text/html'] },
    },
    async (request, reply) => {
      reply.header('content-security-policy', contentSecurityPolicy).header('x-content-type-options', 'nosniff');
      // Revalidated on every visit: it names the assets' versions, which change on upgrade.
      reply.header('etag', pageEtag).header('cache-control', 'no-cache').type('text/html; charset=utf-8');
      if (etagMatches(request.headers['if-none-match'], pageEtag)) return reply.code(304).send();
      return reply.send(page);
    },
  );

  app.get(
    '/graphiql/assets/:file',
    {
      schema: {
        tags: ['graphql'],
        summary: "A script, stylesheet or source map of GraphiQL's page; supports ETag/If-None-Match and Range",
        params: Type.Object({ file: Type.String() }),
        querystring: Type.Object({ v: Type.Optional(Type.String({ description: 'The version the page names; cached for a year when current' })) }),
      },
    },
    async (request, reply) => {
      const asset = assets.get(request.params.file);
      if (!asset) throw new AppError('NOT_FOUND', 'GraphiQL has no asset of that name');
      reply.header('x-content-type-options', 'nosniff');
      // RFC 9110 §13.2.2: If-None-Match is decided before Range.
      if (etagMatches(request.headers['if-none-match'], asset.etag)) return cacheable(reply, asset, request.query.v).code(304).send();
      const range = requestedRange(request, asset);
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${asset.size}`);
        throw new AppError('RANGE_NOT_SATISFIABLE', `The file has ${asset.size} bytes`);
      }
      cacheable(reply, asset, request.query.v).header('accept-ranges', 'bytes').type(asset.contentType);
      if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${asset.size}`);
      return sendAsset(reply, asset, range ?? { start: 0, end: asset.size - 1 });
    },
  );
};

/** A `?v=` naming the current version is a URL whose bytes never change; any other is revalidated. */
function cacheable(reply: FastifyReply, asset: GraphiqlAsset, version: string | undefined): FastifyReply {
  return reply.header('etag', asset.etag).header('cache-control', version === asset.version ? immutable : 'no-cache');
}

/**
 * The one byte range to send, or null for the whole file. RFC 9110 §14.2 lets a server ignore
 * Range: we do for several ranges (they would need multipart/byteranges) and for other units;
 * If-Range with another validator also means "the whole file" (§13.1.5).
 */
function requestedRange(request: FastifyRequest, asset: GraphiqlAsset): { start: number; end: number } | 'unsatisfiable' | null {
  const header = request.headers.range;
  const ifRange = request.headers['if-range'];
  // Range units are case-insensitive (§14.1); range-parser would judge other units' numbers too.
  if (!header || !/^bytes=/i.test(header) || (ifRange !== undefined && ifRange !== asset.etag)) return null;
  const ranges = parseRange(asset.size, header, { combine: true });
  if (ranges === -1) return 'unsatisfiable';
  if (ranges === -2 || ranges.length !== 1) return null;
  return ranges[0]!;
}

function sendAsset(reply: FastifyReply, asset: GraphiqlAsset, { start, end }: { start: number; end: number }): FastifyReply {
  reply.header('content-length', String(end - start + 1));
  if ('bytes' in asset.source) return reply.send(asset.source.bytes.subarray(start, end + 1));
  // An empty file has no last byte to name; createReadStream's `end` is inclusive.
  return reply.send(end < start ? Buffer.alloc(0) : createReadStream(asset.source.path, { start, end }));
}

function pageHtml(assets: Map<string, GraphiqlAsset>, endpoint: string): string {
  const url = (name: string) => `/graphiql/assets/${name}?v=${encodeURIComponent(assets.get(name)!.version)}`;
  const scripts = ['react.production.min.js', 'react-dom.production.min.js', 'graphiql.min.js', 'boot.js'];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imagegram · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${url('graphiql.min.css')}">
<link rel="stylesheet" href="${url('page.css')}">
${scripts.map((name) => `<script src="${url(name)}" defer></script>`).join('\n')}
</head>
<body>
<div id="graphiql" data-endpoint="${endpoint}">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript.</noscript>
</body>
</html>
`;
}
