// Builds the web app into dist/web, which the server serves at `/` (src/transports/web/).
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // Hashed file names under /assets/: the server caches them for a year.
    assetsDir: 'assets',
    target: 'es2022',
  },
  // In development (`npx vite -c web/vite.config.ts`) the API is `npm run dev` on :3000; a page
  // navigation to an app path that shares a prefix with the API (/admin, /links/<token>) stays here.
  server: {
    proxy: {
      '^/(posts|images|uploads|users|sessions|me|admin|graphql|links)(/|$)': {
        target: 'http://127.0.0.1:3000',
        bypass: (request) => (request.method === 'GET' && request.headers.accept?.includes('text/html') ? '/index.html' : undefined),
      },
    },
  },
});
