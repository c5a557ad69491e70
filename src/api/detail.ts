/**
 * A run as the API shows it: the stored document with each node's live record merged in,
 * secrets masked (secrets.ts; the stored document keeps the real values, which only dispatch
 * reads).
 *
 * A run may have 100,000 nodes (a 10-60 MB answer): building and serializing it in one go
 * holds the event loop for over a second, and five such GETs at once stall every other
 * request, /healthz included. `streamDetail` therefore answers in chunks of about
 * CHUNK_BYTES, each serialized on its own turn of the event loop, so other requests are
 * served between them; the only step done at once is parsing the stored document.
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { type Static, Type } from 'typebox';
import type { NormalizedDocument } from '../graph/schema.ts';
import { State } from '../graph/states.ts';
import type { NodeRecord, RunRecord } from '../store/store.ts';
import { LiveNodeSchema, TaskDetailSchema } from './schemas.ts';
import { maskOutputs, RunSecrets } from './secrets.ts';

/** About this much JSON per chunk (a node larger than that is one chunk of its own). */
export const CHUNK_BYTES = 64 * 1024;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** TaskDetailSchema without its nodes: what precedes them in a streamed answer. */
const { nodes: _nodes, ...HeadProperties } = TaskDetailSchema.properties;
const TaskHeadSchema = Type.Object(HeadProperties);
type TaskHead = Static<typeof TaskHeadSchema>;
type LiveNode = Static<typeof LiveNodeSchema>;
/** as plain objects, the type Fastify's serializer compiler takes */
const HEAD_SCHEMA = { ...TaskHeadSchema };
const NODE_SCHEMA = { ...LiveNodeSchema };

/** The parts of a run's answer: its head, and each node built when asked for. */
class DetailParts {
  readonly count: number;
  readonly #run: RunRecord;
  readonly #document: NormalizedDocument;
  readonly #secrets: RunSecrets;
  readonly #nodes: NodeRecord[];
  readonly #waiting: ReadonlyMap<number, string>;

  constructor(run: RunRecord, nodes: NodeRecord[], waiting: ReadonlyMap<number, string>) {
    this.#run = run;
    this.#document = JSON.parse(run.document) as NormalizedDocument;
    this.#secrets = new RunSecrets(this.#document, nodes);
    this.#nodes = nodes;
    this.#waiting = waiting;
    this.count = this.#document.nodes.length;
  }

  /** Everything but the nodes (run-level secrets need every node's: see `prepare`). */
  head(): TaskHead {
    const run = this.#run;
    const { nodes: _, ...document } = this.#document;
    return {
      id: run.id,
      ...document,
      ...this.#secrets.inputs(),
      state: run.state,
      created_date: iso(run.createdAt),
      start_date: iso(run.startedAt),
      stop_date: iso(run.stoppedAt),
      error: run.error === null ? null : this.#secrets.scrubber().scrub(run.error),
    } as TaskHead;
  }

  /** Works out node `i`'s secrets ahead of `head` (cached), so it can go in small steps. */
  prepare(i: number): void {
    this.#secrets.node(i);
  }

  /** The `i`-th node of the document, in the order it was submitted (its id may differ). */
  node(i: number): LiveNode {
    const node = this.#document.nodes[i];
    const live = this.#nodes[node.id];
    const { args, listed } = this.#secrets.node(i);
    // run-wide: a node's text may show another node's secret (read through get_attribute)
    const scrubber = this.#secrets.scrubber();
    const error = live?.error ?? null;
    return {
      ...node,
      args,
      output: maskOutputs({ ...node.output, ...live?.output }, listed, scrubber),
      state: live?.state ?? State.initial,
      attempts: live?.attempts ?? 0,
      start_date: iso(live?.startedAt ?? null),
      stop_date: iso(live?.stoppedAt ?? null),
      error: error === null ? null : scrubber.scrub(error),
      waiting: this.#waiting.get(node.id) ?? null,
    };
  }
}

/** The whole answer as one object (small runs, and tests). */
export function detailOf(
  run: RunRecord,
  nodes: NodeRecord[],
  waiting: ReadonlyMap<number, string> = new Map(),
) {
  const parts = new DetailParts(run, nodes, waiting);
  return { ...parts.head(), nodes: Array.from({ length: parts.count }, (_, i) => parts.node(i)) };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Sends the run's answer with `code` as a stream of chunks, one turn of the event loop each:
 * `{<head fields>,"nodes":[<node>,...]}`, serialized by the response schemas' own
 * serializers (so the fields are those of TaskDetailSchema).
 */
export function streamDetail(
  reply: FastifyReply,
  code: number,
  run: RunRecord,
  nodes: NodeRecord[],
  waiting: ReadonlyMap<number, string> = new Map(),
): FastifyReply {
  // compiled once per route: Fastify keys its cache by the schema object
  const serializeHead = reply.compileSerializationSchema(HEAD_SCHEMA);
  const serializeNode = reply.compileSerializationSchema(NODE_SCHEMA);
  async function* chunks(): AsyncGenerator<string> {
    const parts = new DetailParts(run, nodes, waiting);
    // the head's run-level secrets are every node's: work them out a slice at a time
    let done = 0;
    while (done < parts.count) {
      const end = Math.min(parts.count, done + 1000);
      for (; done < end; done++) parts.prepare(done);
      await nextTurn();
    }
    const head = serializeHead(parts.head());
    let chunk = `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"nodes":[`;
    for (let i = 0; i < parts.count; i++) {
      chunk += (i === 0 ? '' : ',') + serializeNode(parts.node(i));
      if (chunk.length >= CHUNK_BYTES) {
        yield chunk;
        chunk = '';
        await nextTurn();
      }
    }
    yield `${chunk}]}`;
  }
  return reply
    .code(code)
    .type('application/json; charset=utf-8')
    .send(Readable.from(chunks(), { objectMode: false }));
}
