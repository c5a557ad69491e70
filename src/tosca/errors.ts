/**
 * Errors of TOSCA conversion. A `ToscaError` names the file, the field (a path such as
 * `node_templates.mongo_server.requirements[0]`, relative to `topology_template` for what is
 * inside it) and, when the YAML gives it, the line:
 *
 *   tosca_elk.yaml: node_templates.mongo_db.requirements[0]: node "mongo_srv" is not defined (line 48)
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { formatPath } from '../graph/errors.ts';

/** A field inside a YAML file, from its root: `['topology_template', 'inputs', 'cpus']`. */
export type Path = readonly (string | number)[];

/** One YAML file as loaded, with what is needed to point at its lines. */
export interface Source {
  /** the file as messages show it: relative to the main template's folder */
  label: string;
  /** absolute path */
  path: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** Where a value came from: its file and its field path. */
export interface Where {
  src: Source;
  path: Path;
}

export class ToscaError extends Error {
  override readonly name = 'ToscaError';
  /** the file label, '' when the error is not about a file (bad options) */
  readonly file: string;
  /** the field, formatted: `node_templates.web.requirements[0]`, '' for the whole file */
  readonly field: string;
  /** 1-based line of the field, when known */
  readonly line?: number;

  constructor(
    message: string,
    info: { file: string; field: string; line?: number; cause?: unknown } = {
      file: '',
      field: '',
    },
  ) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.file = info.file;
    this.field = info.field;
    if (info.line !== undefined) this.line = info.line;
  }
}

/** The path as shown: what is inside `topology_template` is named from there. */
export function showPath(path: Path): string {
  return formatPath(path[0] === 'topology_template' && path.length > 1 ? path.slice(1) : path);
}

/** `file: field: detail (line N)`. */
export function toscaError(where: Where, detail: string, cause?: unknown): ToscaError {
  const field = showPath(where.path);
  const line = lineOf(where);
  const message = `${where.src.label}: ${field === '' ? '' : `${field}: `}${detail}${
    line === undefined ? '' : ` (line ${line})`
  }`;
  return new ToscaError(message, { file: where.src.label, field, line, cause });
}

export function fail(where: Where, detail: string): never {
  throw toscaError(where, detail);
}

/** `where` extended by more path segments. */
export function at(where: Where, ...segments: (string | number)[]): Where {
  return { src: where.src, path: [...where.path, ...segments] };
}

/**
 * The 1-based line of the field, or of its deepest part present in the file (the key's line
 * for a map entry). A path that goes through an alias stops at the alias, whose line is the
 * one the reader can fix.
 */
export function lineOf(where: Where): number | undefined {
  if (where.path.length === 0) return undefined;
  let node: unknown = where.src.doc.contents;
  let offset: number | undefined = (node as Node | null)?.range?.[0];
  for (const segment of where.path) {
    if (isAlias(node)) break;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
      if (pair === undefined) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      node = node.items[segment];
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : where.src.lines.linePos(offset).line;
}
