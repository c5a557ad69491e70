/**
 * The web UI (web/, built by `npx vite build --config web/vite.config.ts` into web/dist):
 * files from web/dist, and index.html for `/` and for the client-side routes (`/runs/:id`,
 * `/submit`, ...) when a browser asks for a page. Every UI response carries a strict
 * Content-Security-Policy (scripts and workers from this origin only, no inline scripts; inline
 * styles are allowed because React Flow positions nodes with them) and the usual hardening
 * headers. Without a build, a short page says how to make one; the API works either way.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
export const BUILD_COMMAND = 'npx vite build --config web/vite.config.ts';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
});

/** Paths that belong to the API: never answered with the UI's index.html. */
const API_PREFIXES = ['/v1', '/apidocs', '/openapi.json', '/healthz', '/metrics'];

function isApiPath(path: string): boolean {
  return API_PREFIXES.some(
    (prefix) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`),
  );
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Baton: UI not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem; max-width: 40rem">
<h1>Baton</h1>
<p>The web UI is not built. From the repository, run:</p>
<pre>${BUILD_COMMAND}</pre>
<p>(or <code>npm run build:web</code>) and reload this page. The API is up:
<a href="/v1/tasks">/v1/tasks</a>, documented at <a href="/apidocs/">/apidocs/</a>.</p>
</body></html>`;

/** The UI served from `dist`; `uiRoutes` uses web/dist. */
export function uiPlugin(dist: string): FastifyPluginAsync {
  const root = normalize(dist.endsWith(sep) ? dist : `${dist}${sep}`);

  return async (app) => {
    // only reply.sendFile: routing stays here, so the API's 404s stay JSON
    await app.register(fastifyStatic, { root, serve: false, index: false });

    app.addHook('onSend', async (_request, reply, payload) => {
      reply.headers(SECURITY_HEADERS);
      return payload;
    });

    const sendIndex = async (reply: FastifyReply) => {
      reply.header('cache-control', 'no-cache');
      try {
        const html = await readFile(join(root, 'index.html'), 'utf8');
        return reply.type('text/html; charset=utf-8').send(html);
      } catch {
        return reply.type('text/html; charset=utf-8').send(notBuiltPage);
      }
    };

    /** A file of the build, if `path` names one inside it. */
    const fileOf = async (path: string): Promise<string | undefined> => {
      let relative: string;
      try {
        relative = decodeURIComponent(path).replace(/^\/+/, '');
      } catch {
        return undefined;
      }
      if (relative === '' || relative.includes('\0')) return undefined;
      const full = normalize(join(root, relative));
      if (!full.startsWith(root)) return undefined;
      try {
        return (await stat(full)).isFile() ? full.slice(root.length) : undefined;
      } catch {
        return undefined;
      }
    };

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0];
      if (path === '/') return sendIndex(reply);
      if (!isApiPath(path)) {
        const file = await fileOf(path);
        if (file !== undefined) {
          // names under assets/ carry a content hash: they never change
          const immutable = file.startsWith(`assets${sep}`);
          reply.header(
            'cache-control',
            immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
          return reply.sendFile(file, { cacheControl: false });
        }
        const accept = request.headers.accept ?? '';
        const read = request.method === 'GET' || request.method === 'HEAD';
        if (read && accept.includes('text/html')) return sendIndex(reply);
      }
      return reply.callNotFound();
    };

    app.get('/', { schema: { hide: true } }, handler);
    app.get('/*', { schema: { hide: true } }, handler);
  };
}

export const uiRoutes: FastifyPluginAsync = uiPlugin(WEB_DIST);
