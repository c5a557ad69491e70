/**
 * Rendering for the client commands: `-o json|yaml|table`, tables sized to their content,
 * state names in colour, durations and ages. Colour goes through `util.styleText` with the
 * stream it is written to, so it appears on a terminal and not in a pipe, and NO_COLOR and
 * FORCE_COLOR are honoured. Everything here is pure apart from `paintFor` reading the stream.
 */
import { stripVTControlCharacters, styleText } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { type StateName, stateName } from '../graph/states.ts';

export type Style = Parameters<typeof styleText>[0];
/** Styles text for one output stream (a no-op where colour is off). */
export type Paint = (style: Style, text: string) => string;

export const plain: Paint = (_style, text) => text;

export function paintFor(stream: NodeJS.WritableStream = process.stdout): Paint {
  return (style, text) => styleText(style, text, { stream });
}

/** Terminal colour per state, close to the UI's fills (src/graph/export.ts STATE_COLOURS). */
export const STATE_STYLES: Readonly<Record<StateName, Style>> = {
  initial: 'gray',
  torun: 'blue',
  running: 'cyan',
  success: 'green',
  failure: 'red',
  notrunnable: 'yellow',
  timeout: 'magenta',
  canceled: 'gray',
};

/** A state name (or numeric code) in its colour. */
export function paintState(paint: Paint, state: StateName | number): string {
  const name = typeof state === 'number' ? stateName(state) : state;
  return paint(STATE_STYLES[name], name);
}

/** Visible width of text that may hold colour escapes. */
export function visibleLength(text: string): number {
  return stripVTControlCharacters(text).length;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text the server sent (names, errors, outputs, ids) as a terminal may show it: control
 * characters (C0, DEL, C1) and bidirectional overrides made visible as escapes (`\x1b`,
 * `\n`, `\u202e`), so a run or node name cannot clear the screen, set the window title,
 * colour or hide text, draw fake lines or reorder what follows it. `keep` lists characters
 * left as they are (`baton logs` keeps `\n` and `\t`). `-o json` needs none of this: JSON
 * escapes control characters itself.
 */
export function terminalSafe(text: string, keep = ''): string {
  return text.replace(UNSAFE, (c) => (keep.includes(c) ? c : visibleEscape(c)));
}

function visibleEscape(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** What JSON.stringify leaves raw that a terminal may obey: DEL, C1, bidi overrides. */
const JSON_UNSAFE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text with the characters JSON.stringify leaves raw but a terminal may obey written as
 * `\uXXXX` escapes: they can only appear inside strings, so the JSON means the same.
 */
export function jsonForTerminal(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching colour escapes
const ESCAPE = /^\u001b\[[0-9;]*m/;

/** Cuts text with escapes to `width` visible characters, ending with `…` when it cut. */
export function fit(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let visible = 0;
  for (let i = 0; i < text.length; ) {
    const sgr = ESCAPE.exec(text.slice(i, i + 16));
    if (sgr) {
      out += sgr[0];
      i += sgr[0].length;
      continue;
    }
    if (visible === width - 1) {
      out += '…';
      break;
    }
    out += text[i];
    visible++;
    i++;
  }
  // close any colour left open by the cut
  return text.includes('\u001b[') ? `${out}\u001b[0m` : out;
}

export interface TableOptions {
  /** widest a column may be (visible characters); longer cells end with `…` */
  maxWidths?: ReadonlyArray<number | undefined>;
  paint?: Paint;
}

/**
 * Columns separated by two spaces, headers in capitals (bold on a terminal), the last column
 * unpadded, like kubectl's. Line breaks inside cells become spaces.
 */
export function table(headers: string[], rows: string[][], options: TableOptions = {}): string {
  const paint = options.paint ?? plain;
  const cells = rows.map((row) =>
    row.map((cell, i) => {
      const flat = cell.replace(/\r?\n/g, ' ');
      const max = options.maxWidths?.[i];
      return max === undefined ? flat : fit(flat, max);
    }),
  );
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => visibleLength(row[i] ?? ''))),
  );
  const line = (row: string[]) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - visibleLength(cell)),
      )
      .join('  ')
      .trimEnd();
  return [paint('bold', line(headers)), ...cells.map(line)].join('\n');
}

export const FORMATS = ['table', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

/** `value` as JSON or YAML, or through `asTable` for the human format; ends with a newline. */
export function render(format: string, value: unknown, asTable: () => string): string {
  switch (format) {
    case 'json':
      return `${jsonForTerminal(JSON.stringify(value, null, 2))}\n`;
    case 'yaml':
      return toYaml(value, { lineWidth: 0 });
    default:
      return `${asTable()}\n`;
  }
}

/** `850ms`, `4.2s`, `3m05s`, `2h07m`, `3d04h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad(Math.floor(s % 60))}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d${pad(h % 24)}h`;
}

/** Time between two ISO timestamps; running (no stop) counts to `now`. */
export function durationBetween(
  start: string | null | undefined,
  stop: string | null | undefined,
  now: number,
): string {
  if (!start) return '-';
  return formatDuration((stop ? Date.parse(stop) : now) - Date.parse(start));
}

/** `12s ago`, `5m ago`, like kubectl's AGE column. */
export function formatAge(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return 'just now';
  const text = formatDuration(ms);
  // keep the coarsest unit pair, without the decimal of seconds
  return `${text.replace(/\.\d/, '')} ago`;
}
