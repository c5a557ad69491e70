/**
 * Runs one parser fuzz property in a worker thread, so that the test harness (parser.ts) can
 * stop it if an input hangs the (synchronous) parser: before each input it posts a tick, and
 * the harness terminates the worker when ticks stop coming. Posts `done` with the counts and
 * the slowest input's time, or `failed` with fast-check's counterexample.
 *
 * Properties (workerData.kind):
 *   document, value: parseDocument never throws anything but a DocumentError; what it
 *     accepts survives the store's round trip (toDocument, JSON text, parseDocument again),
 *     which a resumed run relies on;
 *   text: parseDocumentText on mutated JSON text, the same;
 *   locate: locateJsonError finds a problem exactly when JSON.parse fails (it is what the
 *     API's "not JSON" messages come from);
 *   corpus: the hostile corpus's bodies as text and as values, plus giant values;
 *   backtracking: get_attribute patterns that would backtrack exponentially;
 *   holes: arrays with holes, which JSON cannot make but parseDocument's `unknown` allows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { DocumentError, locateJsonError } from '../../src/graph/errors.ts';
import { parseDocument, parseDocumentText, toDocument } from '../../src/graph/parse.ts';
import {
  hostileDocument,
  hostileInput,
  mutatedText,
  toValue,
  validishDocument,
} from './arbitraries.ts';
import { backtrackingDocuments, giantValues, sparseArrays } from './giants.ts';
import { hostileCorpus } from './hostile.ts';

export type Kind = 'document' | 'value' | 'text' | 'locate' | 'corpus' | 'backtracking' | 'holes';

export interface WorkerInput {
  kind: Kind;
  seed: number;
  runs: number;
  scale: 'short' | 'full';
}

export type WorkerMessage =
  | { type: 'tick'; n: number }
  | {
      type: 'done';
      inputs: number;
      accepted: number;
      rejected: number;
      slowestMs: number;
      slowest: string;
    }
  | { type: 'failed'; message: string };

const { kind, seed, runs, scale } = workerData as WorkerInput;
const post = (message: WorkerMessage) => parentPort!.postMessage(message);

let n = 0;
let accepted = 0;
let rejected = 0;
let slowestMs = 0;
let slowest = '';

function describe(input: unknown): string {
  const text =
    typeof input === 'string'
      ? input
      : (() => {
          try {
            return JSON.stringify(input) ?? String(input);
          } catch {
            return String(input);
          }
        })();
  return text.length > 200 ? `${text.slice(0, 200)}... (${text.length} characters)` : text;
}

/** Times one input; the outcome must be a Graph or a DocumentError. */
function attempt(input: unknown, parse: () => ReturnType<typeof parseDocument>): void {
  post({ type: 'tick', n: n++ });
  const started = performance.now();
  try {
    const graph = parse();
    accepted++;
    // the store keeps JSON.stringify(toDocument(graph)); a resumed run parses it again
    const again = parseDocument(JSON.parse(JSON.stringify(toDocument(graph))));
    if (again.nodes.length !== graph.nodes.length || again.succ.length !== graph.succ.length) {
      throw new Error(
        `the stored form of an accepted document parses differently: ${describe(input)}`,
      );
    }
  } catch (err) {
    if (!(err instanceof DocumentError)) {
      throw new Error(
        `threw ${(err as Error)?.name}: ${(err as Error)?.message} for ${describe(input)}`,
        {
          cause: err,
        },
      );
    }
    if (typeof err.message !== 'string' || err.message === '' || typeof err.path !== 'string') {
      throw new Error(`a DocumentError without a message or path for ${describe(input)}`);
    }
    rejected++;
  } finally {
    const ms = performance.now() - started;
    if (ms > slowestMs) {
      slowestMs = ms;
      slowest = describe(input);
    }
  }
}

try {
  if (kind === 'backtracking' || kind === 'holes') {
    for (const [name, make] of kind === 'holes' ? sparseArrays() : backtrackingDocuments()) {
      const value = make();
      attempt(name, () => parseDocument(value));
    }
  } else if (kind === 'corpus') {
    for (const entry of hostileCorpus(scale)) {
      const body = entry.make?.();
      if (!Buffer.isBuffer(body)) continue;
      const text = body.toString('utf8');
      attempt(text, () => parseDocumentText(text));
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        continue;
      }
      attempt(value, () => parseDocument(value));
    }
    for (const [name, make] of giantValues()) {
      const value = make();
      attempt(name, () => parseDocument(value));
    }
  } else if (kind === 'locate') {
    fc.assert(
      fc.property(fc.oneof(mutatedText, fc.string({ maxLength: 30 }), fc.json()), (text) => {
        post({ type: 'tick', n: n++ });
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        const problem = locateJsonError(text);
        if (parses !== (problem === undefined)) {
          throw new Error(
            `JSON.parse ${parses ? 'accepts' : 'rejects'} ${JSON.stringify(text)} but locateJsonError says ${JSON.stringify(problem)}`,
          );
        }
      }),
      { seed, numRuns: runs },
    );
  } else {
    const arbitrary =
      kind === 'text'
        ? mutatedText
        : kind === 'document'
          ? fc.oneof(validishDocument, hostileDocument)
          : hostileInput;
    fc.assert(
      fc.property(arbitrary, (input) => {
        if (kind === 'text') attempt(input, () => parseDocumentText(input as string));
        else {
          const value = toValue(input);
          attempt(value, () => parseDocument(value));
        }
      }),
      { seed, numRuns: runs },
    );
  }
  post({ type: 'done', inputs: n, accepted, rejected, slowestMs, slowest });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
}
