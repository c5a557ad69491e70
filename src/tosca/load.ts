/**
 * Reading a TOSCA service template and its imports.
 *
 * Imports are resolved relative to the importing file, in the three notations of the Simple
 * Profile: `- custom_types/foo.yaml`, `- foo: custom_types/foo.yaml` and
 * `- foo: { file: custom_types/foo.yaml }` (also `- { file: ... }`). An absolute path is a
 * path; `file://` URLs are paths too. http(s) URLs cannot be fetched here and are refused with
 * the import named. A file imported twice (diamonds, cycles) is read once.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { at, fail, type Source, ToscaError, type Where } from './errors.ts';

/** The versions accepted in `tosca_definitions_version`. */
export const TOSCA_VERSIONS: ReadonlySet<string> = new Set([
  'tosca_simple_yaml_1_0',
  // the working drafts' spelling, still found in the wild
  'tosca_simple_yaml_1_0_0',
  'tosca_simple_yaml_1_1',
  'tosca_simple_yaml_1_2',
  'tosca_simple_yaml_1_3',
]);

const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([
  'tosca_definitions_version',
  'tosca_default_namespace',
  'namespace',
  'template_name',
  'template_author',
  'template_version',
  'metadata',
  'description',
  'dsl_definitions',
  'repositories',
  'imports',
  'artifact_types',
  'data_types',
  'capability_types',
  'interface_types',
  'relationship_types',
  'node_types',
  'group_types',
  'policy_types',
  'topology_template',
]);

export interface LoadedFile {
  src: Source;
  data: Record<string, unknown>;
  /** the file's folder relative to the main template's, posix style, '' for the same folder */
  folder: string;
}

export interface Loaded {
  main: LoadedFile;
  /** every file, imports before the files importing them, the main template last */
  files: LoadedFile[];
}

/**
 * Deepest nesting of YAML collections accepted. Conversion evaluates values recursively (a
 * function inside a list inside a function...); real templates nest a dozen levels.
 */
export const MAX_NESTING = 64;

export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reads the template at `file` and everything it imports. */
export function loadTemplate(file: string): Loaded {
  const mainPath = resolve(file);
  const mainDir = dirname(mainPath);
  const files: LoadedFile[] = [];
  const seen = new Set<string>();

  const label = (path: string): string => {
    const rel = relative(mainDir, path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/');
  };

  const open = (path: string, importedFrom: Where | undefined) => {
    seen.add(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const reason =
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      if (importedFrom === undefined) {
        throw new ToscaError(`${file}: cannot read the template: ${reason}`, {
          file,
          field: '',
          cause: err,
        });
      }
      fail(importedFrom, `cannot read the imported file ${path}: ${reason}`);
    }
    const loaded = parseFile(text, path, label(path), relative(mainDir, dirname(path)));
    if (importedFrom !== undefined && loaded.data.topology_template !== undefined) {
      fail(
        { src: loaded.src, path: ['topology_template'] },
        'an imported file may only define types; its topology_template would be lost',
      );
    }
    return { loaded, path, imports: importList(loaded), next: 0 };
  };

  // depth first with an explicit stack (a chain of imports is as long as the files make it):
  // a file is added once everything it imports is
  const stack = [open(mainPath, undefined)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next < top.imports.length) {
      const [i, spec] = top.imports[top.next++];
      const where = at({ src: top.loaded.src, path: ['imports'] }, i);
      const target = importPath(spec, dirname(top.path), where);
      if (!seen.has(target)) stack.push(open(target, where));
    } else {
      stack.pop();
      files.push(top.loaded);
    }
  }
  const main = files[files.length - 1];
  return { main, files };
}

function parseFile(text: string, path: string, label: string, folder: string): LoadedFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: false });
  const src: Source = { label, path, doc, lines };
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const pos = lines.linePos(error.pos[0]);
    const where = `line ${pos.line} column ${pos.col}: `;
    // the YAML library reads nesting by recursion and reports its stack running out
    const reason = /Maximum call stack size exceeded/.test(error.message)
      ? `nested too deeply (collections may nest ${MAX_NESTING} levels)`
      : error.message.split('\n')[0];
    throw new ToscaError(`${label}: not valid YAML: ${where}${reason}`, {
      file: label,
      field: '',
      line: pos?.line,
      cause: error,
    });
  }
  const data: unknown = doc.toJS({ maxAliasCount: 1000 });
  const root: Where = { src, path: [] };
  checkNesting(data, root);
  if (!isMapping(data)) {
    fail(root, 'a TOSCA file is a YAML mapping starting with tosca_definitions_version');
  }
  const version = data.tosca_definitions_version;
  if (version === undefined) {
    const near = Object.keys(data).find((k) => k.startsWith('tosca_definitions'));
    fail(
      root,
      `tosca_definitions_version is missing${near === undefined ? '' : ` (found "${near}")`}: ` +
        'a TOSCA file starts with tosca_definitions_version: tosca_simple_yaml_1_0',
    );
  }
  if (typeof version !== 'string' || !TOSCA_VERSIONS.has(version)) {
    fail(
      at(root, 'tosca_definitions_version'),
      `unsupported version ${JSON.stringify(version)}, expected one of ${[...TOSCA_VERSIONS].join(', ')}`,
    );
  }
  for (const key of Object.keys(data)) {
    if (!TOP_LEVEL_KEYS.has(key)) {
      fail(at(root, key), `unknown section "${key}" (known: ${[...TOP_LEVEL_KEYS].join(', ')})`);
    }
  }
  const posixFolder = folder.split(sep).join('/');
  return { src, data, folder: posixFolder };
}

/** The `imports` entries with their index, each as a string or `{file, repository}` map. */
function importList(file: LoadedFile): [number, unknown][] {
  const list = file.data.imports;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    fail({ src: file.src, path: ['imports'] }, 'expected a list of files to import');
  }
  return list.map((spec, i) => [i, spec]);
}

function importPath(spec: unknown, dir: string, where: Where): string {
  let value = spec;
  // `- name: <file or {file: ...}>`
  if (isMapping(value) && !('file' in value)) {
    const keys = Object.keys(value);
    if (keys.length !== 1) {
      fail(where, 'expected a file name, `name: file` or `name: { file: ... }`');
    }
    value = value[keys[0]];
  }
  if (isMapping(value)) {
    if (value.repository !== undefined) {
      fail(
        where,
        `imports from repositories are not supported (repository ${JSON.stringify(value.repository)})`,
      );
    }
    value = value.file;
  }
  if (typeof value !== 'string' || value === '') {
    fail(where, 'expected a file name, `name: file` or `name: { file: ... }`');
  }
  if (/^https?:\/\//i.test(value)) {
    fail(
      where,
      `cannot import ${value}: URL imports are not fetched; download the file and import it ` +
        'by a path relative to the template',
    );
  }
  if (/^file:\/\//i.test(value)) return fileURLToPath(value);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    fail(where, `cannot import ${value}: only files can be imported`);
  }
  return resolve(dir, value);
}

interface Frame {
  value: object;
  keys: (string | number)[];
  next: number;
  /** the deepest nesting found below this collection so far */
  height: number;
}

/**
 * Refuses collections nested deeper than MAX_NESTING, and an alias to a collection that
 * contains it (`&a [*a]`, a circle no recursive walk would leave), walking iteratively. A
 * collection shared through aliases is walked once: its height is remembered.
 */
function checkNesting(data: unknown, root: Where): void {
  if (data === null || typeof data !== 'object') return;
  const heights = new WeakMap<object, number>();
  const onPath = new Set<object>();
  const frame = (value: object): Frame => ({
    value,
    keys: Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value),
    next: 0,
    height: 0,
  });
  const stack: Frame[] = [frame(data)];
  onPath.add(data);
  // the path of the child being looked at: each frame's current key
  const pathHere = () => at(root, ...stack.map((f) => f.keys[f.next - 1]));
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next === top.keys.length) {
      stack.pop();
      onPath.delete(top.value);
      heights.set(top.value, top.height);
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.height = Math.max(parent.height, top.height + 1);
      continue;
    }
    const key = top.keys[top.next++];
    const child = (top.value as Record<string | number, unknown>)[key];
    if (child === null || typeof child !== 'object') continue;
    if (onPath.has(child)) fail(pathHere(), 'an alias refers to a collection that contains it');
    const known = heights.get(child);
    if (stack.length + (known ?? 0) > MAX_NESTING) {
      fail(pathHere(), `collections are nested more than ${MAX_NESTING} levels deep here`);
    }
    if (known !== undefined) top.height = Math.max(top.height, known + 1);
    else {
      stack.push(frame(child));
      onPath.add(child);
    }
  }
}
