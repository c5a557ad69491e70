/**
 * Values of TOSCA data types: checking (and converting text given on the command line) against
 * a declared type, and the constraints that are cheap to check. Used for topology inputs.
 *
 * Scalar-units (`10 GB`, `500 ms`, `2.4 GHz`) are checked for a known unit and compared in
 * their base unit; their value stays the text as written.
 */
import { isMapping } from './load.ts';
import type { TypeRegistry } from './types.ts';

export type Checked = { ok: true; value: unknown } | { ok: false; reason: string };

const SCALAR_UNITS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  // sizes and frequencies are case-insensitive (the unit is looked up in lower case)
  'scalar-unit.size': {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
    tb: 1e12,
    tib: 1024 ** 4,
  },
  'scalar-unit.time': { d: 86400, h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 },
  'scalar-unit.frequency': { hz: 1, khz: 1e3, mhz: 1e6, ghz: 1e9 },
  // bits and bytes differ by case only, so bitrates are case-sensitive
  'scalar-unit.bitrate': {
    bps: 1,
    Kbps: 1e3,
    Kibps: 1024,
    Mbps: 1e6,
    Mibps: 1024 ** 2,
    Gbps: 1e9,
    Gibps: 1024 ** 3,
    Tbps: 1e12,
    Tibps: 1024 ** 4,
    Bps: 8,
    KBps: 8e3,
    KiBps: 8 * 1024,
    MBps: 8e6,
    MiBps: 8 * 1024 ** 2,
    GBps: 8e9,
    GiBps: 8 * 1024 ** 3,
    TBps: 8e12,
    TiBps: 8 * 1024 ** 4,
  },
};

const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SCALAR = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]+)\s*$/;

/** A value as messages show it: strings quoted, the rest as JSON. */
export function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/** The magnitude of a scalar-unit in its base unit, or undefined if it is not one. */
export function scalarMagnitude(value: unknown, type: string): number | undefined {
  const units = SCALAR_UNITS[type];
  if (units === undefined || typeof value !== 'string') return undefined;
  const m = SCALAR.exec(value);
  if (m === null) return undefined;
  const factor =
    type === 'scalar-unit.bitrate' ? units[m[2]] : (units[m[2].toLowerCase()] ?? undefined);
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/**
 * Checks `value` against the data type `type` and returns it in that type. With `fromText`,
 * the value is text from the command line, converted first (`8` → 8, `true` → true, JSON for
 * lists and maps).
 */
export function checkValue(
  value: unknown,
  type: string,
  registry: TypeRegistry,
  fromText = false,
): Checked {
  const base =
    registry.primitiveOf(type) ?? (registry.get('data', type) === undefined ? undefined : 'map');
  if (base === undefined) return { ok: false, reason: `unknown data type "${type}"` };
  const text = typeof value === 'string' ? value.trim() : undefined;
  switch (base) {
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return { ok: true, value };
      if (text !== undefined && INTEGER.test(text)) return { ok: true, value: Number(text) };
      return { ok: false, reason: `${show(value)} is not an integer` };
    case 'float':
      if (typeof value === 'number') return { ok: true, value };
      if (text !== undefined && FLOAT.test(text)) return { ok: true, value: Number(text) };
      return { ok: false, reason: `${show(value)} is not a number` };
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
      return { ok: false, reason: `${show(value)} is not a boolean (true or false)` };
    case 'string':
    case 'version':
    case 'timestamp':
      if (typeof value === 'string') return { ok: true, value };
      // YAML reads `version: 14.04` as a number; a string type takes it as written
      if (typeof value === 'number' || typeof value === 'boolean') {
        return { ok: true, value: String(value) };
      }
      return { ok: false, reason: `${show(value)} is not a ${base}` };
    case 'null':
      return value === null || text === '' || text === 'null'
        ? { ok: true, value: null }
        : { ok: false, reason: `${show(value)} is not null` };
    case 'list':
    case 'range':
    case 'map': {
      let parsed = value;
      if (fromText && typeof value === 'string') {
        try {
          parsed = JSON.parse(value);
        } catch {
          return {
            ok: false,
            reason: `${show(value)} is not a JSON ${base === 'map' ? 'object' : 'list'}`,
          };
        }
      }
      const fits = base === 'map' ? isMapping(parsed) : Array.isArray(parsed);
      if (!fits)
        return { ok: false, reason: `${show(value)} is not a ${base === 'map' ? 'map' : 'list'}` };
      return { ok: true, value: parsed };
    }
    default: {
      // scalar-unit.*
      if (scalarMagnitude(value, base) !== undefined) return { ok: true, value: text };
      const units = Object.keys(SCALAR_UNITS[base]).join(', ');
      return {
        ok: false,
        reason: `${show(value)} is not a ${base} (a number and one of ${units})`,
      };
    }
  }
}

/** The constraints of a data type's chain (e.g. PortDef's in_range), root first. */
export function typeConstraints(type: string, registry: TypeRegistry): unknown[] {
  const constraints: unknown[] = [];
  for (const t of registry.chain('data', type).reverse()) {
    if (Array.isArray(t.def.constraints)) constraints.push(...t.def.constraints);
  }
  return constraints;
}

/** The first constraint `value` (already checked against `type`) breaks, as a reason. */
export function checkConstraints(
  value: unknown,
  type: string,
  constraints: readonly unknown[],
  registry: TypeRegistry,
): string | undefined {
  const base = registry.primitiveOf(type) ?? 'map';
  const scalar = base.startsWith('scalar-unit.');
  /** a comparable form of a value of this type: numbers, base-unit magnitudes, strings */
  const key = (v: unknown): unknown => {
    if (scalar) return scalarMagnitude(v, base);
    if (base === 'integer' || base === 'float') {
      return typeof v === 'string' && FLOAT.test(v.trim()) ? Number(v) : v;
    }
    return v;
  };
  const size = (v: unknown): number | undefined =>
    typeof v === 'string' || Array.isArray(v)
      ? v.length
      : isMapping(v)
        ? Object.keys(v).length
        : undefined;
  const mine = key(value);
  for (const constraint of constraints) {
    if (!isMapping(constraint) || Object.keys(constraint).length !== 1) {
      return `constraint ${show(constraint)} is not of the form { operator: value }`;
    }
    const [op, arg] = Object.entries(constraint)[0];
    const cmp = (a: unknown, b: unknown): number | undefined =>
      (typeof a === 'number' && typeof b === 'number') ||
      (typeof a === 'string' && typeof b === 'string')
        ? a < b
          ? -1
          : a > b
            ? 1
            : 0
        : undefined;
    const against = (bound: unknown, ok: (c: number) => boolean, words: string) => {
      const c = cmp(mine, key(bound));
      if (c === undefined) return `cannot compare ${show(value)} with ${show(bound)} (${op})`;
      return ok(c) ? undefined : `${show(value)} is not ${words} ${show(bound)}`;
    };
    let reason: string | undefined;
    switch (op) {
      case 'equal':
        reason =
          cmp(mine, key(arg)) === 0 ? undefined : `${show(value)} is not equal to ${show(arg)}`;
        break;
      case 'greater_than':
        reason = against(arg, (c) => c > 0, 'greater than');
        break;
      case 'greater_or_equal':
        reason = against(arg, (c) => c >= 0, 'greater than or equal to');
        break;
      case 'less_than':
        reason = against(arg, (c) => c < 0, 'less than');
        break;
      case 'less_or_equal':
        reason = against(arg, (c) => c <= 0, 'less than or equal to');
        break;
      case 'in_range': {
        if (!Array.isArray(arg) || arg.length !== 2)
          return `in_range needs [min, max], got ${show(arg)}`;
        const [lo, hi] = arg;
        const low = lo === 'UNBOUNDED' ? 0 : cmp(mine, key(lo));
        const high = hi === 'UNBOUNDED' ? 0 : cmp(mine, key(hi));
        if (low === undefined || high === undefined) {
          reason = `cannot compare ${show(value)} with the range ${show(arg)}`;
        } else if (low < 0 || high > 0) {
          reason = `${show(value)} is not in the range ${show(lo)} to ${show(hi)}`;
        }
        break;
      }
      case 'valid_values':
        if (!Array.isArray(arg)) return `valid_values needs a list, got ${show(arg)}`;
        if (
          !arg.some((v) => cmp(mine, key(v)) === 0 || JSON.stringify(v) === JSON.stringify(value))
        ) {
          reason = `${show(value)} is not one of the valid values ${arg.map(show).join(', ')}`;
        }
        break;
      case 'length':
      case 'min_length':
      case 'max_length': {
        const n = size(value);
        if (typeof arg !== 'number' || n === undefined) {
          return `${op} applies to strings, lists and maps with a number, got ${show(arg)}`;
        }
        const ok = op === 'length' ? n === arg : op === 'min_length' ? n >= arg : n <= arg;
        if (!ok) reason = `${show(value)} has length ${n}, breaking ${op}: ${arg}`;
        break;
      }
      case 'pattern':
        if (typeof arg !== 'string' || typeof value !== 'string') {
          return `pattern applies to strings with a regular expression, got ${show(arg)}`;
        }
        if (!new RegExp(`^(?:${arg})$`).test(value)) {
          reason = `${show(value)} does not match the pattern ${show(arg)}`;
        }
        break;
      default:
        return `unknown constraint "${op}"`;
    }
    if (reason !== undefined) return reason;
  }
  return undefined;
}
