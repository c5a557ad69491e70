/**
 * `GET /`: the web UI. Until the React UI is built (web/), a small self-contained page lists
 * runs and their states from the API, so an operator opening the server sees something real.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiDeps } from './deps.ts';

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Baton</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 2rem; } table { border-collapse: collapse; } td, th { padding: .3rem .8rem; text-align: left; }
tr:nth-child(even) { background: color-mix(in srgb, currentColor 6%, transparent); }
</style></head>
<body><h1>Baton</h1><p><a href="/apidocs/">API documentation</a></p>
<table aria-label="runs"><thead><tr><th>Run</th><th>Name</th><th>State</th><th>Nodes</th><th>Started</th></tr></thead>
<tbody id="runs"></tbody></table>
<script>
async function refresh() {
  const res = await fetch('/v1/tasks?limit=50');
  const { tasks } = await res.json();
  const rows = tasks.map((t) => {
    const tr = document.createElement('tr');
    for (const v of [t.id, t.name, t.state, t.nodes, t.start_date ?? '']) {
      const td = document.createElement('td'); td.textContent = v; tr.append(td);
    }
    return tr;
  });
  document.getElementById('runs').replaceChildren(...rows);
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;

export const uiRoutes: FastifyPluginAsyncTypebox<ApiDeps> = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html').send(page),
  );
};
