/**
 * The pure parts of the CLI's rendering: tables, durations, the live frame and bar, the
 * in-place redraw (against a fake terminal), and the final summary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { RunDetail } from '../../src/cli/client.ts';
import {
  fit,
  formatAge,
  formatDuration,
  type Paint,
  plain,
  render,
  table,
  visibleLength,
} from '../../src/cli/output.ts';
import { LiveView, renderBar, renderFrame, Tally } from '../../src/cli/progress.ts';
import { summary } from '../../src/cli/run.ts';
import { State } from '../../src/graph/states.ts';

/** Marks styles visibly instead of with escapes: `<red>x</>`. */
const marks: Paint = (style, text) => `<${String(style)}>${text}</>`;
/** Real escapes, as on a colour terminal. */
const red = (text: string) => `\u001b[31m${text}\u001b[39m`;

function tally(states: number[], names?: string[]): Tally {
  const t = new Tally();
  states.forEach((state, node) => {
    t.set(node, state, names?.[node]);
  });
  return t;
}

describe('table', () => {
  it('pads columns to the widest cell, the last one unpadded', () => {
    assert.equal(
      table(
        ['ID', 'NAME', 'STATE'],
        [
          ['1', 'a long name', 'success'],
          ['22', 'b', 'failure'],
        ],
      ),
      'ID  NAME         STATE\n1   a long name  success\n22  b            failure',
    );
  });

  it('measures cells without their colour escapes and cuts to a width', () => {
    const out = table(['A', 'B'], [[red('red'), 'x']]);
    assert.equal(stripVTControlCharacters(out), 'A    B\nred  x');
    const cut = table(['A'], [['abcdefghij']], { maxWidths: [5] });
    assert.equal(cut, 'A\nabcd…');
    assert.equal(table(['A'], [['two\nlines']]), 'A\ntwo lines');
  });

  it('fit keeps escapes and closes them when it cuts', () => {
    assert.equal(fit('short', 10), 'short');
    const cut = fit(red('abcdefgh'), 4);
    assert.equal(visibleLength(cut), 4);
    assert.equal(stripVTControlCharacters(cut), 'abc…');
    assert.ok(cut.endsWith('\u001b[0m'));
  });
});

describe('render', () => {
  it('json, yaml or the table', () => {
    const value = { a: [1, 2], b: 'x' };
    assert.deepEqual(JSON.parse(render('json', value, () => 'T')), value);
    assert.deepEqual(parseYaml(render('yaml', value, () => 'T')), value);
    assert.equal(
      render('table', value, () => 'T'),
      'T\n',
    );
  });
});

describe('durations', () => {
  it('formats like kubectl', () => {
    assert.equal(formatDuration(850), '850ms');
    assert.equal(formatDuration(4_200), '4.2s');
    assert.equal(formatDuration(42_000), '42s');
    assert.equal(formatDuration(185_000), '3m05s');
    assert.equal(formatDuration(7_620_000), '2h07m');
    assert.equal(formatDuration(3 * 86_400_000 + 4 * 3_600_000), '3d04h');
    assert.equal(formatDuration(-1), '-');
    const now = Date.parse('2025-01-01T00:10:00Z');
    assert.equal(formatAge('2025-01-01T00:09:55.500Z', now), '4s ago');
    assert.equal(formatAge('2025-01-01T00:05:00Z', now), '5m00s ago');
    assert.equal(formatAge(null, now), '-');
  });
});

describe('Tally', () => {
  it('counts per state in code order, incrementally', () => {
    const t = tally([State.success, State.failure, State.notrunnable, State.success]);
    assert.equal(t.countsText(), 'success 2, failure 1, notrunnable 1');
    assert.equal(t.finished, 4);
    t.set(1, State.torun);
    t.set(1, State.running, 'b');
    assert.equal(t.countsText(), 'running 1, success 2, notrunnable 1');
    assert.deepEqual([...t.running], [1]);
    assert.equal(t.name(1), 'b');
    assert.equal(t.name(0), '#0');
    t.set(1, State.success);
    assert.equal(t.running.size, 0);
    assert.equal(t.countsText(marks), '<green>success</> 3, <yellow>notrunnable</> 1');
  });
});

describe('live frame', () => {
  it('a bar with a run of cells per state, then pending', () => {
    const t = tally([State.success, State.success, State.failure, State.running, State.torun]);
    assert.equal(renderBar(t, 10, plain), '██████▒▒░░');
    assert.equal(renderBar(t, 10, marks), '<green>████</><red>██</><cyan>▒▒</><gray>░░</>');
    assert.equal(renderBar(new Tally(), 4, plain), '░░░░');
  });

  it('shows done/total, the clock, the counts and the running nodes', () => {
    const t = tally(
      [State.success, State.running, State.running, State.torun],
      ['a', 'build-frontend', 'build-backend', 'd'],
    );
    const lines = renderFrame(t, { width: 80, elapsedMs: 3_400, paint: plain, title: 'deploy' });
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^deploy {2}[█▒░]{40} {2}1\/4 {2}3\.4s$/);
    assert.equal(lines[1], 'torun 1  running 2  success 1');
    assert.equal(lines[2], 'running: build-frontend, build-backend');
  });

  it('fits a narrow terminal: names that do not fit are counted', () => {
    const names = Array.from({ length: 50 }, (_, i) => `node-${i}`);
    const t = tally(
      names.map(() => State.running),
      names,
    );
    const lines = renderFrame(t, { width: 40, elapsedMs: 0, paint: plain });
    for (const line of lines) assert.ok(visibleLength(line) <= 39, line);
    assert.match(lines[2], /^running: node-0, node-1.* \(\+\d+ more\)$/);
  });
});

describe('LiveView', () => {
  it('redraws in place and keeps logged lines above the frame', () => {
    let screen = '';
    let frame = ['one', 'two'];
    const view = new LiveView(
      { write: (text: string) => (screen += text), columns: 80 },
      () => frame,
    );
    view.draw();
    assert.equal(screen, 'one\ntwo');
    frame = ['three', 'four'];
    view.draw();
    // back to the first line of the frame, clear to the end, draw again
    assert.equal(screen, 'one\ntwo\r\u001b[1A\u001b[0Jthree\nfour');
    screen = '';
    view.log('failure x');
    assert.equal(screen, '\r\u001b[1A\u001b[0Jfailure x\nthree\nfour');
    screen = '';
    view.stop();
    assert.equal(screen, '\r\u001b[1A\u001b[0J', 'stop erases the frame');
    view.draw();
    assert.equal(screen, '\r\u001b[1A\u001b[0J', 'nothing after stop');
  });
});

describe('summary', () => {
  it('gives the duration and each failed node with its error', () => {
    const node = (name: string, state: number, error: string | null = null) => ({
      id: 0,
      name,
      target: '',
      engine: 'shell',
      artifact: '',
      args: [],
      output: {},
      state,
      attempts: 2,
      start_date: '2025-01-01T00:00:00.000Z',
      stop_date: '2025-01-01T00:00:01.500Z',
      error,
    });
    const run: RunDetail = {
      id: 'r1',
      name: 'x',
      state: State.failure,
      created_date: null,
      start_date: '2025-01-01T00:00:00.000Z',
      stop_date: '2025-01-01T00:01:05.000Z',
      error: null,
      nodes: [
        node('ok', State.success),
        node('bad', State.failure, 'exit status 3'),
        node('slow', State.timeout, 'timed out after 1s'),
        node('after', State.notrunnable, 'upstream node "bad" did not succeed'),
      ],
    };
    assert.deepEqual(summary(run, 0, plain), [
      '  duration 1m05s',
      '  failure bad (shell, 2 attempts, 1.5s): exit status 3',
      '  timeout slow (shell, 2 attempts, 1.5s): timed out after 1s',
    ]);
  });
});
