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

  const visit = (path: string, importedFrom: Where | undefined): LoadedFile => {
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
    for (const [i, spec] of importList(loaded)) {
      const where = at({ src: loaded.src, path: ['imports'] }, i);
      const target = importPath(spec, dirname(path), where);
      if (!seen.has(target)) visit(target, where);
    }
    files.push(loaded);
    return loaded;
  };

  const main = visit(mainPath, undefined);
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
    throw new ToscaError(`${label}: not valid YAML: ${where}${error.message.split('\n')[0]}`, {
      file: label,
      field: '',
      line: pos?.line,
      cause: error,
    });
  }
  const data: unknown = doc.toJS({ maxAliasCount: 1000 });
  const root: Where = { src, path: [] };
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
