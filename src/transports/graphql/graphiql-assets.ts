import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A file GraphiQL's page loads from `/graphiql/assets/<name>`. */
export interface GraphiqlAsset {
  name: string;
  contentType: string;
  /** What the page's `?v=` carries: the package version, or a content hash for our own files. */
  version: string;
  /** Strong (RFC 9110 §8.8.3): changes whenever `version` does. */
  etag: string;
  size: number;
  /** Vendored files are streamed from node_modules; our own small ones are held in memory. */
  source: { path: string } | { bytes: Buffer };
}

const javascript = 'text/javascript; charset=utf-8'; // RFC 9239
const css = 'text/css; charset=utf-8';
const sourceMap = 'application/json; charset=utf-8';

/** The UMD builds GraphiQL's own CDN example loads, taken from the installed packages instead. */
const vendored = [
  { name: 'react.production.min.js', from: 'react', file: 'umd/react.production.min.js', contentType: javascript },
  { name: 'react-dom.production.min.js', from: 'react-dom', file: 'umd/react-dom.production.min.js', contentType: javascript },
  { name: 'graphiql.min.js', from: 'graphiql', file: 'graphiql.min.js', contentType: javascript },
  { name: 'graphiql.min.css', from: 'graphiql', file: 'graphiql.min.css', contentType: css },
  // Named by the two files above; only browser devtools ask for them.
  { name: 'graphiql.min.js.map', from: 'graphiql', file: 'graphiql.min.js.map', contentType: sourceMap },
  { name: 'graphiql.min.css.map', from: 'graphiql', file: 'graphiql.min.css.map', contentType: sourceMap },
];

/**
 * Starts GraphiQL on `#graphiql`, against the endpoint named by its `data-endpoint`. A file rather
 * than an inline script, so the page's Content-Security-Policy allows scripts from 'self' only.
 */
const bootScript = `'use strict';
(function () {
  var root = document.getElementById('graphiql');
  var fetcher = GraphiQL.createFetcher({
    url: root.getAttribute('data-endpoint'),
    // The server has no @defer/@stream: plain JSON answers, no multipart/mixed.
    enableIncrementalDelivery: false,
  });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      // For "Authorization": "Bearer …"; a pasted token is not written to localStorage.
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
`;

const pageStyle = `html, body, #graphiql { height: 100%; margin: 0; }
`;

/** Every asset by name. Throws at start-up if a package is missing, not on a user's first visit. */
export function graphiqlAssets(): Map<string, GraphiqlAsset> {
  // Resolved from this file, so it works from dist/ and from src/ under tsx alike.
  const require = createRequire(import.meta.url);
  const assets = new Map<string, GraphiqlAsset>();
  for (const { name, from, file, contentType } of vendored) {
    const manifest = require.resolve(`${from}/package.json`);
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    const path = join(dirname(manifest), file);
    assets.set(name, { name, contentType, version, etag: `"${from}@${version}/${file}"`, size: statSync(path).size, source: { path } });
  }
  for (const [name, text, contentType] of [
    ['boot.js', bootScript, javascript],
    ['page.css', pageStyle, css],
  ] as const) {
    const bytes = Buffer.from(text);
    const version = createHash('sha256').update(bytes).digest('base64url').slice(0, 16);
    assets.set(name, { name, contentType, version, etag: `"imagegram/${name}/${version}"`, size: bytes.length, source: { bytes } });
  }
  return assets;
}
