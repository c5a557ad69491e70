/**
 * Builds the web UI into web/dist, which the orchestrator serves at `/` (src/api/ui.ts):
 *   npx vite build --config web/vite.config.ts
 * `npx vite --config web/vite.config.ts` serves it with hot reload and proxies the API to an
 * orchestrator on 127.0.0.1:8080 (`npx baton serve`).
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.BATON_SERVER ?? 'http://127.0.0.1:8080';

/**
 * `npm ci` builds the UI (the `prepare` script), so a build prints one line instead of Vite's
 * per-file table; warnings and errors still print (logLevel 'warn'), and
 * `npx vite build --config web/vite.config.ts --logLevel info` shows the table.
 */
function summary(): Plugin {
  let started = 0;
  return {
    name: 'baton-build-summary',
    apply: 'build',
    buildStart() {
      started = performance.now();
    },
    writeBundle(options, bundle) {
      let bytes = 0;
      for (const file of Object.values(bundle)) {
        bytes += file.type === 'chunk' ? Buffer.byteLength(file.code) : file.source.length;
      }
      const files = Object.keys(bundle).length;
      const dir = relative(process.cwd(), options.dir ?? '') || '.';
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const kB = Math.round(bytes / 1024);
      process.stdout.write(`web UI built into ${dir}: ${files} files, ${kB} kB, ${seconds} s\n`);
    },
  };
}

// A note (not a warning) on slow plugin callbacks; the ELK worker's transform always trips it.
const checks = { bundlerTimings: false };

export default defineConfig(({ command }) => ({
  root,
  base: '/',
  // the dev server's own lines (its address) stay
  logLevel: command === 'build' ? 'warn' : 'info',
  plugins: [react(), summary()],
  // the layout worker loads ELK with a dynamic import, only for graphs that use it
  worker: { format: 'es', rolldownOptions: { checks } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // ELK is one 1.6 MB GWT-compiled file, loaded by the layout worker only
    chunkSizeWarningLimit: 2000,
    reportCompressedSize: false,
    rolldownOptions: { checks },
  },
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/apidocs', '/openapi.json', '/healthz', '/metrics'].map((p) => [p, api]),
    ),
  },
}));
