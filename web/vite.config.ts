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
  // The API runs on the same origin; `npm run dev` of the server is the proxy target in development.
  server: { proxy: { '^/(posts|images|uploads|users|sessions|me|admin|graphql|links/.+)': 'http://127.0.0.1:3000' } },
});
