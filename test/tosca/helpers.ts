/** Helpers of the TOSCA tests: reading a converted document by node name. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GorchNode } from '../../src/graph/model.ts';
import { parseDocument } from '../../src/graph/parse.ts';
import {
  type ConvertOptions,
  convertTosca,
  type ToscaDocument,
  ToscaError,
} from '../../src/tosca/index.ts';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

export interface View {
  doc: ToscaDocument;
  names: string[];
  node: (name: string) => GorchNode;
  /** `a->b` for every edge */
  edges: Set<string>;
}

export function view(doc: ToscaDocument): View {
  const byName = new Map(doc.nodes.map((n) => [n.name, n]));
  return {
    doc,
    names: doc.nodes.map((n) => n.name),
    node: (name) => {
      const n = byName.get(name);
      assert.ok(n, `no node ${name} in ${[...byName.keys()].join(', ')}`);
      return n;
    },
    edges: new Set(doc.edges.map(([a, b]) => `${doc.nodes[a].name}->${doc.nodes[b].name}`)),
  };
}

/** Converts, checks the result with the gorch parser, and returns a view of it. */
export function converted(file: string, options?: ConvertOptions): View {
  const doc = convertTosca(file, options);
  parseDocument(doc);
  doc.nodes.forEach((n, i) => {
    assert.equal(n.id, i);
  });
  return view(doc);
}

/** Asserts conversion fails with a ToscaError whose message matches. */
export function fails(file: string, message: RegExp, options?: ConvertOptions): ToscaError {
  let caught: unknown;
  try {
    convertTosca(file, options);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ToscaError, `expected a ToscaError, got ${String(caught)}`);
  assert.match(caught.message, message);
  return caught;
}

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` (name → text) to a new temporary folder, removed at exit; returns its path. */
export function tempTemplates(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-tosca-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A minimal TOSCA file around `body` (YAML lines of topology_template, indented by 2). */
export function template(body: string, head = ''): string {
  return `tosca_definitions_version: tosca_simple_yaml_1_0\n${head}topology_template:\n${body}`;
}
