/**
 * TypeBox schemas of the gorch document (docs/architecture.md §1).
 *
 * - `GorchDocumentSchema` / `GorchNodeSchema`: what the API accepts, as gorchestrator clients
 *   send it (`"args": null`, `"output": null`, `outputs` alias, extra fields such as `state`
 *   allowed and ignored). Used for the OpenAPI document. "Exactly one of digraph or edges"
 *   and everything relational (ids, names, cycles, engines, get_attribute) is checked by
 *   `parseDocument`, not by the schema.
 * - `NormalizedDocumentSchema` / `NormalizedNodeSchema`: what `toDocument` returns (no nulls,
 *   `output` only); `LiveNodeSchema` / `LiveDocumentSchema` add the run-time `state`. The
 *   property maps are exported so the API can spread them and add timestamps, attempts, ...
 *
 * `checkDocument` validates everything but the `digraph` and `edges` arrays, which
 * `parseDocument` walks by hand in the same pass that builds the CSR arrays (a 4M-entry
 * matrix costs ~22 ms through the compiled check and gives worse messages).
 */
import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { describeValue, formatPointer, valueAtPointer } from './errors.ts';

export const RetryPolicySchema = Type.Object(
  {
    count: Type.Integer({
      minimum: 0,
      maximum: 100,
      description: 'extra attempts after a failure',
    }),
    backoff_s: Type.Number({
      minimum: 0,
      description: 'first delay in seconds, doubled each time',
    }),
  },
  { description: 'retry policy of a node' },
);

/** Node fields shared by the input and the normalized forms. */
const commonNodeProperties = {
  id: Type.Integer({
    description:
      "the node's row and column in digraph, its number in edges: the ids of N nodes are " +
      '0..N-1, each once, in any order',
  }),
  name: Type.String({
    minLength: 1,
    description: 'unique name; get_attribute refers to nodes by name',
  }),
  timeout: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, description: 'node timeout in seconds' }),
  ),
  retries: Type.Optional(RetryPolicySchema),
  depends: Type.Optional(
    Type.String({
      description:
        'start condition over predecessors, e.g. "build.success && (test.failure || lint.done)", ' +
        'or a rule: all_success (default), all_done, one_success, one_failed, none_failed',
    }),
  ),
  secrets: Type.Optional(
    Type.Array(Type.String(), {
      description: 'arg KEYs whose values are masked in API answers and logs',
    }),
  ),
  pool: Type.Optional(
    Type.String({ minLength: 1, description: 'named pool the node takes a slot of while it runs' }),
  ),
  env: Type.Optional(
    Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), {
      description:
        'docker: arg KEYs passed as environment variables (KEY=VALUE args) instead of arguments',
    }),
  ),
  resources: Type.Optional(
    Type.Object(
      {
        cpus: Type.Optional(
          Type.Number({ exclusiveMinimum: 0, description: 'CPUs, fractions allowed (0.5)' }),
        ),
        memory: Type.Optional(
          Type.String({
            pattern: '^[0-9]+(\\.[0-9]+)?[kKmMgG]?[bB]?$',
            description: 'memory limit such as "256m" (units k, m, g)',
          }),
        ),
      },
      { additionalProperties: false, description: 'docker: limits of the node’s container' },
    ),
  ),
  container: Type.Optional(
    Type.Object(
      {
        network: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'network mode, default "none"; "host" and "container:..." are refused',
          }),
        ),
        read_only: Type.Optional(
          Type.Boolean({ description: 'mount the root filesystem read-only' }),
        ),
        user: Type.Optional(
          Type.String({ minLength: 1, description: 'user[:group] to run as, e.g. "1000:1000"' }),
        ),
        pull: Type.Optional(
          Type.Union(
            [Type.Literal('if-not-present'), Type.Literal('always'), Type.Literal('never')],
            {
              description: 'when to pull the image (default if-not-present)',
            },
          ),
        ),
      },
      { additionalProperties: false, description: 'docker: how the node’s container runs' },
    ),
  ),
};

const OutputMap = Type.Record(Type.String(), Type.String(), {
  description: 'declared outputs; values are filled at run time',
});

export const GorchNodeSchema = Type.Object(
  {
    ...commonNodeProperties,
    name: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description:
          'unique name; get_attribute and depends refer to nodes by name. Absent, null or "": ' +
          '"node-ID" (with a "~2", "~3", ... suffix should another node already have that name)',
      }),
    ),
    target: Type.Optional(Type.String({ description: 'executor / host; default ""' })),
    engine: Type.Optional(
      Type.String({
        description:
          'driver name (nil, sleep, shell, ssh, toscassh, ansible, http, docker); may be omitted ' +
          'only when artifact is empty, and then means "nil", as in gorchestrator',
      }),
    ),
    artifact: Type.Optional(
      Type.String({ description: 'script, playbook, URL or (docker) image; default ""' }),
    ),
    args: Type.Optional(
      Type.Union([Type.Array(Type.String()), Type.Null()], {
        description: 'arguments; "KEY=get_attribute NODE:ATTR" reads an upstream output',
      }),
    ),
    output: Type.Optional(Type.Union([OutputMap, Type.Null()])),
    outputs: Type.Optional(
      Type.Union([OutputMap, Type.Null()], { description: 'alias of output' }),
    ),
  },
  { description: 'a task of the graph (unknown fields such as state are ignored)' },
);

const InputsSchema = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][\\w-]*$' }),
  Type.Object({
    default: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
  }),
  { description: 'run inputs: args use them as {{inputs.NAME}}; no default means required' },
);
const ValuesSchema = Type.Record(Type.String(), Type.String(), {
  description: 'values of the inputs for this run (also ?input=NAME=VALUE)',
});

const documentHead = {
  name: Type.Optional(Type.String({ default: '', description: 'graph name' })),
  inputs: Type.Optional(InputsSchema),
  priority: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 99,
      description: 'dispatch priority under contention, higher first (default 50)',
    }),
  ),
  parallelism: Type.Optional(
    Type.Integer({ minimum: 1, description: 'nodes of this run in flight at most' }),
  ),
  state: Type.Optional(Type.Number({ description: 'ignored on input (gorchestrator clients)' })),
  timeout: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, description: 'graph timeout in seconds' }),
  ),
};

const Digraph = Type.Array(Type.Number(), {
  description: 'N×N adjacency matrix, row-major; a non-zero entry [i*N+j] is an edge i→j',
});
const Edges = Type.Array(Type.Tuple([Type.Integer(), Type.Integer()]), {
  description: 'edges [from, to] by node id; the alternative to digraph for large graphs',
});

export const GorchDocumentSchema = Type.Object(
  {
    ...documentHead,
    digraph: Type.Optional(Digraph),
    edges: Type.Optional(Edges),
    nodes: Type.Array(GorchNodeSchema),
    values: Type.Optional(ValuesSchema),
  },
  { description: 'a gorch document: exactly one of digraph or edges, plus the nodes' },
);

export type GorchDocumentInput = Static<typeof GorchDocumentSchema>;
export type GorchNodeInput = Static<typeof GorchNodeSchema>;

/** How a `get_attribute` arg was bound at submission (`toDocument` writes one per such arg). */
export const AttributeSourceSchema = Type.Object(
  {
    arg: Type.Integer({ description: 'index of the get_attribute arg in args' }),
    node: Type.Integer({ description: 'id of the upstream node whose output it reads' }),
    name: Type.String({ description: "that node's name" }),
    match: Type.Union([Type.Literal('full'), Type.Literal('unanchored')], {
      description:
        'full: the node name matches the whole NODE pattern; unanchored: no upstream name did, ' +
        "and this one contains a match (gorchestrator's regexp.MatchString)",
    }),
  },
  { description: 'the upstream node a get_attribute arg reads' },
);

/** Properties of a normalized node, for the API to spread into its response schemas. */
export const NormalizedNodeProperties = {
  ...commonNodeProperties,
  target: Type.String(),
  engine: Type.String(),
  artifact: Type.String(),
  args: Type.Array(Type.String()),
  output: OutputMap,
  get_attribute: Type.Optional(
    Type.Array(AttributeSourceSchema, {
      description:
        'derived, never read back: the node each KEY=get_attribute NODE:ATTR arg was bound to ' +
        'at submission, in the order of args (present only on nodes with such args)',
    }),
  ),
};

export const NormalizedNodeSchema = Type.Object(NormalizedNodeProperties);

/** Properties of a normalized document (`toDocument`), for the API to spread. */
export const NormalizedDocumentProperties = {
  name: Type.String(),
  digraph: Type.Optional(Digraph),
  edges: Type.Optional(Edges),
  nodes: Type.Array(NormalizedNodeSchema),
  timeout: documentHead.timeout,
  priority: documentHead.priority,
  parallelism: documentHead.parallelism,
  inputs: Type.Optional(InputsSchema),
  values: Type.Optional(ValuesSchema),
};

export const NormalizedDocumentSchema = Type.Object(NormalizedDocumentProperties);

const StateCode = Type.Integer({
  description:
    '0 initial, 1 torun, 2 running, 3 success, 4 failure, 5 notrunnable, 10 timeout, 11 canceled',
});

export const LiveNodeProperties = { ...NormalizedNodeProperties, state: StateCode };
export const LiveNodeSchema = Type.Object(LiveNodeProperties);
export const LiveDocumentProperties = {
  ...NormalizedDocumentProperties,
  state: StateCode,
  nodes: Type.Array(LiveNodeSchema),
};
export const LiveDocumentSchema = Type.Object(LiveDocumentProperties);

export type NormalizedDocument = Static<typeof NormalizedDocumentSchema>;
export type LiveNode = Static<typeof LiveNodeSchema>;
export type LiveDocument = Static<typeof LiveDocumentSchema>;

/** The input schema with digraph and edges left to the hand-written scan. */
const CheckSchema = Type.Object({
  ...documentHead,
  digraph: Type.Optional(Type.Unknown()),
  edges: Type.Optional(Type.Unknown()),
  nodes: Type.Array(GorchNodeSchema),
  values: Type.Optional(ValuesSchema),
});
const checker = Compile(CheckSchema);

export interface SchemaIssue {
  path: string;
  message: string;
}

/**
 * Structural check of a document (all but digraph/edges entries). Returns [] when valid, else
 * up to `max` readable issues, e.g. `nodes[3].args[1]: expected a string, got number 5`.
 */
export function checkDocument(value: unknown, max = 5): SchemaIssue[] {
  if (checker.Check(value)) return [];
  return translateErrors(CheckSchema, checker.Errors(value), value, max);
}

interface RawError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: object;
  message: string;
}

/**
 * TypeBox reports a failed union as one error per branch plus an `anyOf` error, all at the
 * union's path, and branch errors from deeper inside the branch the value resembled. Keep
 * the deepest: `args: ["a", 5]` gives `args[1]: expected a string`; `args: 5` gives one
 * `args: expected an array of strings or null`.
 */
function translateErrors(
  root: TSchema,
  errors: readonly RawError[],
  value: unknown,
  max: number,
): SchemaIssue[] {
  const items: { pointer: string; expected: string; got: string; union: boolean }[] = [];
  for (const error of errors) {
    // an unknown field of a closed object (resources, container): said once, at the field
    if (error.keyword === 'additionalProperties') continue;
    if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) {
      const parent = schemaAt(root, error.schemaPath.slice(0, -'/additionalProperties'.length));
      const known = Object.keys((parent as { properties?: object } | undefined)?.properties ?? {});
      items.push({
        pointer: error.instancePath,
        expected: `no unknown field (the fields are ${known.join(', ')})`,
        got: describeValue(valueAtPointer(value, error.instancePath)),
        union: false,
      });
      continue;
    }
    const unionPath = unionSchemaPath(error);
    const union = unionPath !== undefined;
    const schema = schemaAt(root, unionPath ?? error.schemaPath);
    if (error.keyword === 'required') {
      const required = (error.params as { requiredProperties?: string[] }).requiredProperties;
      const properties = (schema as { properties?: Record<string, TSchema> } | undefined)
        ?.properties;
      for (const key of required ?? []) {
        const pointer = `${error.instancePath}/${escapePointer(key)}`;
        items.push({
          pointer,
          expected: describeSchema(properties?.[key]),
          got: 'nothing (missing)',
          union: false,
        });
      }
      continue;
    }
    const got = describeValue(valueAtPointer(value, error.instancePath));
    const expected = schema === undefined ? error.message : describeSchema(schema);
    items.push({ pointer: error.instancePath, expected, got, union });
  }
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const item of items) {
    if (item.union && items.some((o) => o.pointer.startsWith(`${item.pointer}/`))) continue;
    if (seen.has(item.pointer)) continue;
    seen.add(item.pointer);
    const path = formatPointer(value, item.pointer);
    const where = path === '' ? 'document' : path;
    issues.push({ path, message: `${where}: expected ${item.expected}, got ${item.got}` });
    if (issues.length === max) break;
  }
  return issues;
}

/**
 * The schema path of the union an error belongs to, when the error is a direct failure of
 * one of its branches (`…/args/anyOf/1`) or the `anyOf` error itself; undefined when the
 * error comes from deeper inside a branch (`…/args/anyOf/0/items`).
 */
function unionSchemaPath(error: RawError): string | undefined {
  if (error.keyword === 'anyOf') return error.schemaPath;
  const match = /^(.*)\/anyOf\/\d+$/.exec(error.schemaPath);
  return match?.[1];
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function schemaAt(root: TSchema, schemaPath: string): TSchema | undefined {
  let node: unknown = root;
  const segments = schemaPath.replace(/^#\/?/, '');
  if (segments === '') return root;
  for (const raw of segments.split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node === null || typeof node !== 'object' ? undefined : (node as TSchema);
}

const plurals: Record<string, string> = {
  string: 'strings',
  integer: 'integers',
  number: 'numbers',
  boolean: 'booleans',
  null: 'nulls',
  object: 'objects',
};

/** A schema in words: "an integer from 0 to 100", "an array of strings or null". */
export function describeSchema(schema: TSchema | undefined): string {
  if (schema === undefined) return 'a value';
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.anyOf)) return s.anyOf.map((b) => describeSchema(b as TSchema)).join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const bounds = (noun: string): string => {
    const min = s.minimum as number | undefined;
    const max = s.maximum as number | undefined;
    const exMin = s.exclusiveMinimum as number | undefined;
    if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
    if (exMin !== undefined) return `${noun} > ${exMin}`;
    if (min !== undefined) return `${noun} >= ${min}`;
    if (max !== undefined) return `${noun} <= ${max}`;
    return noun;
  };
  switch (s.type) {
    case 'null':
      return 'null';
    case 'string':
      if (typeof s.pattern === 'string') return `a string matching ${s.pattern}`;
      return s.minLength === 1 ? 'a non-empty string' : 'a string';
    case 'integer':
      return bounds('an integer');
    case 'number':
      return bounds('a number');
    case 'boolean':
      return 'a boolean';
    case 'array': {
      if (Array.isArray(s.items)) {
        return `a pair [${s.items.map((i) => describeSchema(i as TSchema)).join(', ')}]`;
      }
      const items = s.items as Record<string, unknown> | undefined;
      const type = typeof items?.type === 'string' ? items.type : '';
      return `an array of ${plurals[type] ?? `(${describeSchema(items as TSchema)})`}`;
    }
    case 'object': {
      if (s.patternProperties !== undefined) return 'an object of string values';
      const required = s.required as string[] | undefined;
      return required?.length ? `an object with ${required.join(', ')}` : 'an object';
    }
    default:
      return 'a value';
  }
}
