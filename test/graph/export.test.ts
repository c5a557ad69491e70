import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  dotString,
  mermaidLabel,
  STATE_COLOURS,
  textColourOn,
  toDot,
  toMermaid,
} from '../../src/graph/export.ts';
import { parseDocument } from '../../src/graph/parse.ts';
import { State } from '../../src/graph/states.ts';

const small = () =>
  parseDocument({
    name: 'small "g"',
    edges: [
      [1, 2],
      [0, 2],
      [0, 1],
    ],
    nodes: [
      { id: 0, name: 'say "hi"', engine: 'shell' },
      { id: 1, name: 'multi\nline', engine: 'nil' },
      { id: 2, name: 'back\\slash <b>#1</b> & a:b; c', engine: 'http' },
    ],
  });

const hasDot = spawnSync('dot', ['-V']).status === 0;

describe('toDot', () => {
  it('writes nodes with escaped labels and the edges, left to right', () => {
    assert.equal(
      toDot(small()),
      [
        'digraph "small \\"g\\"" {',
        '  rankdir=LR;',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  n0 [label="say \\"hi\\"\\nshell"];',
        '  n1 [label="multi\\nline\\nnil"];',
        '  n2 [label="back\\\\slash <b>#1</b> & a:b; c\\nhttp"];',
        '  n0 -> n1;',
        '  n0 -> n2;',
        '  n1 -> n2;',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('fills nodes by state; unknown codes stay unfilled', () => {
    const dot = toDot(small(), [State.success, State.failure, 99]);
    assert.match(
      dot,
      /\n {2}n0 \[label="[^\n]*", fillcolor="#5cb85c", fontcolor="#000000", tooltip="success"\];\n/,
    );
    assert.match(dot, /\n {2}n1 \[label="[^\n]*", fillcolor="#d9534f", [^\n]*tooltip="failure"\];/);
    assert.match(dot, /\n {2}n2 \[label="[^"\n]*\\nhttp"\];\n/);
  });

  it('escapes quotes, backslashes, line breaks and control characters', () => {
    assert.equal(dotString('a"b\\c\r\nd\re\tf\u0000'), '"a\\"b\\\\c\\nd\\ne f "');
  });

  it('is read back by Graphviz with the same labels', {
    skip: !hasDot && 'dot not installed',
  }, () => {
    const run = spawnSync('dot', ['-Tjson'], {
      input: toDot(small(), [3, 2, 1]),
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as {
      name: string;
      objects: { name: string; label: string }[];
      edges: { tail: number; head: number }[];
    };
    assert.equal(out.name, 'small "g"');
    assert.deepEqual(
      out.objects.map((o) => [o.name, o.label]),
      [
        ['n0', 'say "hi"\\nshell'],
        ['n1', 'multi\\nline\\nnil'],
        ['n2', 'back\\\\slash <b>#1</b> & a:b; c\\nhttp'],
      ],
    );
    assert.deepEqual(
      out.edges.map((e) => [e.tail, e.head]),
      [
        [0, 1],
        [0, 2],
        [1, 2],
      ],
    );
  });
});

describe('toMermaid', () => {
  it('writes a flowchart with entity-escaped labels and the edges', () => {
    assert.equal(
      toMermaid(small()),
      [
        '---',
        'title: "small \\"g\\""',
        '---',
        'flowchart LR',
        '  n0["say #34;hi#34;<br/>shell"]',
        '  n1["multi<br/>line<br/>nil"]',
        '  n2["back\\slash #60;b#62;#35;1#60;/b#62; #38; a#58;b#59; c<br/>http"]',
        '  n0 --> n1',
        '  n0 --> n2',
        '  n1 --> n2',
        '',
      ].join('\n'),
    );
  });

  it('colours nodes by state with one class per state', () => {
    const text = toMermaid(small(), [State.success, State.success, State.timeout]);
    assert.ok(
      text.endsWith(
        [
          '  classDef success fill:#5cb85c,color:#000000,stroke:#333333',
          '  class n0,n1 success',
          '  classDef timeout fill:#9b6fcf,color:#000000,stroke:#333333',
          '  class n2 timeout',
          '',
        ].join('\n'),
      ),
      text,
    );
  });

  it('omits the title of an unnamed graph', () => {
    const g = parseDocument({ edges: [], nodes: [{ id: 0, name: 'a', engine: 'nil' }] });
    assert.equal(toMermaid(g), 'flowchart LR\n  n0["a<br/>nil"]\n');
  });

  it('label escaping leaves no quote, markup or bare entity', () => {
    const label = mermaidLabel('"<x>&#y;`z`\t');
    assert.equal(label, '"#34;#60;x#62;#38;#35;y#59;#96;z#96; "');
  });
});

describe('STATE_COLOURS', () => {
  it('has a colour for every state, and readable text on each', () => {
    assert.deepEqual(Object.keys(STATE_COLOURS).sort(), Object.keys(State).sort());
    for (const colour of Object.values(STATE_COLOURS)) assert.match(colour, /^#[0-9a-f]{6}$/);
    assert.equal(textColourOn(STATE_COLOURS.canceled), '#ffffff');
    assert.equal(textColourOn(STATE_COLOURS.initial), '#000000');
  });
});
