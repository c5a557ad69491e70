/**
 * Builds the web UI into web/dist, which the orchestrator serves at `/` (src/api/ui.ts):
 *   npx vite build --config web/vite.config.ts
 * `npx vite --config web/vite.config.ts` serves it with hot reload and proxies the API to an
 * orchestrator on 127.0.0.1:8080 (`npx baton serve`).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.BATON_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  // the layout worker loads ELK with a dynamic import, only for graphs that use it
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // ELK is one 1.6 MB GWT-compiled file, loaded by the layout worker only
    chunkSizeWarningLimit: 2000,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/apidocs', '/openapi.json', '/healthz', '/metrics'].map((p) => [p, api]),
    ),
  },
});
