/**
 * Parser fuzz (`npm run test:fuzz`): parseDocument and parseDocumentText on fast-check's
 * hostile documents, values and mutated JSON text, on the hostile corpus and on giant values
 * (100,000 levels deep, a million elements), each property in a worker thread the harness
 * stops when one input runs past the guard. They must only ever return a Graph or throw a
 * DocumentError, and what they accept must survive the store's round trip. The guard detects
 * hangs; it is not a performance assertion. BATON_SUITE_SCALE=short runs 500 inputs a property.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { suiteScale } from '../support/processes.ts';
import type { Kind } from './parse-worker.ts';
import { parserFuzz } from './parser.ts';

const scale = suiteScale();
const runs = scale === 'full' ? 20_000 : 500;
const guardMs = 30_000;
let total = 0;
after(() => console.log(JSON.stringify({ fuzz: 'parser', inputs: total })));

const properties: Array<[Kind, string]> = [
  ['document', 'gorch-shaped documents with hostile fields'],
  ['value', 'any hostile value, documents or not'],
  ['text', 'mutated JSON text'],
  ['locate', 'locateJsonError agrees with JSON.parse'],
];

for (const [kind, what] of properties) {
  it(`${what}: ${runs} inputs`, async (t) => {
    const result = await parserFuzz({ kind, seed: 20_240 + kind.length, runs, scale }, guardMs);
    total += result.inputs;
    t.diagnostic(JSON.stringify(result));
    assert.equal(result.inputs, runs);
  });
}

it('the hostile corpus and giant values', async (t) => {
  const result = await parserFuzz({ kind: 'corpus', seed: 0, runs: 0, scale }, guardMs);
  total += result.inputs;
  t.diagnostic(JSON.stringify(result));
  assert.ok(result.inputs > 100);
});

it('get_attribute patterns that backtrack are refused or matched within the guard', async () => {
  await parserFuzz({ kind: 'backtracking', seed: 0, runs: 0, scale }, 5000);
});

it('arrays with holes (not JSON, but parseDocument takes any value) give a DocumentError', {
  todo:
    'BUG (minor, not reachable over HTTP): parseDocument({nodes: new Array(2), ...}) or a ' +
    'node with `args: new Array(2)` throws TypeError (reading id / length of undefined): the ' +
    'compiled schema check skips holes that normalizeNodes then reads',
}, async () => {
  await parserFuzz({ kind: 'holes', seed: 0, runs: 0, scale }, guardMs);
});
