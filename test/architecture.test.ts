/**
 * The layers of docs/architecture.md §3: each folder of src/ imports only the folders listed
 * for it, and web/ only graph types and the API's answer schemas. A new import that runs
 * back up the layers fails here with the file and the import.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.join(import.meta.dirname, '..');

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  common: [],
  graph: [],
  engine: ['graph'],
  store: ['graph'],
  executor: ['graph'],
  orchestrator: ['graph', 'engine', 'store', 'executor'],
  observability: ['orchestrator'],
  api: ['graph', 'store', 'orchestrator'],
  tosca: ['graph'],
  cli: ['graph', 'engine', 'store', 'executor', 'orchestrator', 'observability', 'api', 'tosca'],
};

/** web/ reads states and colours from graph/, and the shapes the API answers with. */
const WEB_ALLOWED = ['graph', 'api/schemas.ts'];

const IMPORT = /^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => path.join(dir, f));
}

/** The src/ folder (and the rest of the path) an import resolves to, or undefined. */
function srcTarget(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const rel = path.relative(path.join(ROOT, 'src'), path.resolve(path.dirname(file), specifier));
  return rel.startsWith('..') ? undefined : rel.split(path.sep).join('/');
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1]);
}

test('each src/ folder imports only the layers below it', () => {
  const violations: string[] = [];
  for (const layer of Object.keys(ALLOWED)) {
    for (const file of sourceFiles(path.join(ROOT, 'src', layer))) {
      for (const specifier of imports(file)) {
        const target = srcTarget(file, specifier)?.split('/')[0];
        // common/ knows nothing of Baton: every layer may use it
        if (target === undefined || target === layer || target === 'common') continue;
        if (!ALLOWED[layer].includes(target)) {
          violations.push(
            `${path.relative(ROOT, file)} imports ${specifier} (${layer} -> ${target})`,
          );
        }
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('every src/ folder has a place in the layer table', () => {
  const folders = readdirSync(path.join(ROOT, 'src'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  assert.deepEqual(folders, Object.keys(ALLOWED).sort());
});

test('web/ imports from src/ only graph/ and the API schemas', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(path.join(ROOT, 'web', 'src'))) {
    for (const specifier of imports(file)) {
      const target = srcTarget(file, specifier);
      if (target === undefined) continue;
      if (!WEB_ALLOWED.some((allowed) => target === allowed || target.startsWith(`${allowed}/`))) {
        violations.push(`${path.relative(ROOT, file)} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
