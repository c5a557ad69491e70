/**
 * The pure parts of the CLI's rendering: tables, durations, the live frame and bar, the
 * in-place redraw (against a fake terminal), and the final summary; then terminal safety:
 * the real `baton` against a real server and executor, with run and node names, errors and
 * logs carrying escape sequences.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { RunDetail } from '../../src/cli/client.ts';
import { terminalLog } from '../../src/cli/commands/runs.ts';
import {
  fit,
  formatAge,
  formatDuration,
  type Paint,
  plain,
  render,
  table,
  terminalSafe,
  visibleLength,
} from '../../src/cli/output.ts';
import { LiveView, renderBar, renderFrame, Tally } from '../../src/cli/progress.ts';
import { summary } from '../../src/cli/run.ts';
import type { RunningServer } from '../../src/cli/server.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/server.ts';
import { State } from '../../src/graph/states.ts';
import { writeScripts } from '../executor/helpers.ts';
import { doc, post, startTestServer, tempDir, waitForRun } from '../support/server.ts';
import { BATON, baton, CLEAN_ENV } from './helpers.ts';

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

describe('terminal safety', () => {
  it('shows control characters and bidi overrides as visible escapes', () => {
    assert.equal(terminalSafe('plain name-1 é ✓'), 'plain name-1 é ✓');
    assert.equal(terminalSafe('a\u001b[2Jb\u001b]0;title\u0007c'), 'a\\x1b[2Jb\\x1b]0;title\\x07c');
    assert.equal(terminalSafe('x\ny\tz\r'), 'x\\ny\\tz\\r');
    assert.equal(terminalSafe('\u007f\u0085\u009b'), '\\x7f\\x85\\x9b');
    assert.equal(terminalSafe('\u202egnp.exe\u2066\u2069'), '\\u202egnp.exe\\u2066\\u2069');
    assert.equal(terminalSafe('keep\nlines\tand\u001b', '\n\t'), 'keep\nlines\tand\\x1b');
    assert.equal(terminalLog('a\r\nb\r\u001b[31mc\n'), 'a\nb\\r\\x1b[31mc\n');
  });
});

/** Names and errors an attacker (or a careless script) gives runs and nodes. */
const HOSTILE = {
  run: 'evil\u001b]0;pwned\u0007\u001b[2J\u001b[H',
  red: '\u001b[31mred\u001b[0m',
  fake: 'fake\nsuccess  all good',
  bidi: '\u202egnp.exe',
  c1: 'csi\u009b2J',
};
/** Characters no human output may carry raw (newlines and tabs are ours). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('hostile names through the real CLI and a real server', () => {
  const dir = tempDir('baton-cli-escapes-');
  let executor: RunningExecutor;
  let server: RunningServer;
  let id: string;
  const cli = (args: string[]) => baton([...args, '--server', server.url]);
  before(async () => {
    const artifacts = join(dir.path, 'artifacts');
    mkdirSync(artifacts);
    await writeScripts(artifacts, {
      'noisy.sh': "#!/bin/sh\nprintf 'before\\033[2J\\033]0;pwned\\007after\\n\\tindented\\r\\n'\n",
      'fails.sh':
        "#!/bin/sh\nprintf 'bad\\033[2J\\033]0;pwned\\007 \\342\\200\\256gnp.exe\\n' >&2\nexit 1\n",
    });
    executor = await startExecutor({
      name: 'default',
      host: '127.0.0.1',
      port: 0,
      tls: null,
      artifactRoot: artifacts,
      dataDir: join(dir.path, 'executor'),
    });
    server = await startTestServer({
      dataDir: join(dir.path, 'data'),
      executors: [{ name: 'default', url: executor.url }],
    });
    const submitted = await post(
      server.url,
      doc(
        [
          [HOSTILE.red, 'nil'],
          [HOSTILE.fake, 'shell', [`\u001b[2J${HOSTILE.bidi}`], { artifact: 'fails.sh' }],
          [HOSTILE.bidi, 'nil', [], { output: { motd: '' } }],
          [HOSTILE.c1, 'shell', [], { artifact: 'noisy.sh' }],
          ['fails', 'shell', [], { artifact: 'fails.sh' }],
        ],
        [],
        { name: HOSTILE.run },
      ),
    );
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
    id = submitted.body.id;
    await waitForRun(server.url, id);
  });
  after(async () => {
    await server.close();
    await executor.close();
    dir.remove();
  });

  it('list and show print every name and error escaped', async () => {
    const list = await cli(['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.doesNotMatch(list.stdout, RAW);
    assert.ok(list.stdout.includes('evil\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H'), list.stdout);

    const show = await cli(['show', id]);
    assert.equal(show.code, 0, show.stderr);
    assert.doesNotMatch(show.stdout, RAW);
    for (const shown of [
      'evil\\x1b]0;pwned\\x07',
      '\\x1b[31mred\\x1b[0m',
      'fake\\nsuccess  all good',
      '\\u202egnp.exe',
      'csi\\x9b2J',
      'exited with code 1: bad\\x1b[2J\\x1b]0;pwned\\x07 \\u202egnp.exe',
    ]) {
      assert.ok(show.stdout.includes(shown), `${shown} in:\n${show.stdout}`);
    }
    assert.equal(
      show.stdout.split('\n').filter((line) => /^\s*success\s+all good/.test(line)).length,
      0,
      'no fake line',
    );
  });

  it('-o json stays the exact JSON', async () => {
    const json = await cli(['show', id, '-o', 'json']);
    const run = JSON.parse(json.stdout) as { name: string; nodes: Array<{ name: string }> };
    assert.equal(run.name, HOSTILE.run);
    assert.deepEqual(
      run.nodes.map((node) => node.name),
      [HOSTILE.red, HOSTILE.fake, HOSTILE.bidi, HOSTILE.c1, 'fails'],
    );
    assert.doesNotMatch(json.stdout, RAW, 'JSON escapes them itself');
  });

  it('run --watch prints progress and summary escaped', async () => {
    const file = join(dir.path, 'again.json');
    writeFileSync(
      file,
      JSON.stringify(
        doc(
          [
            [HOSTILE.red, 'nil'],
            ['fails', 'shell', [], { artifact: 'fails.sh' }],
          ],
          [[0, 1]],
          { name: HOSTILE.run },
        ),
      ),
    );
    const run = await cli(['run', file, '--watch']);
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, RAW);
    assert.match(run.stdout, /success {5}\\x1b\[31mred\\x1b\[0m {2}\[/);
    assert.match(run.stdout, /failure fails \(shell, .*\): exited with code 1: bad\\x1b\[2J/);
  });

  it('error messages quoting the server or a document are escaped', async () => {
    const missing = await cli(['logs', id, 'no\u001b[2Jsuch']);
    assert.equal(missing.code, 2);
    assert.doesNotMatch(missing.stderr, RAW);
    assert.match(missing.stderr, /no node named "no\\x1b\[2Jsuch"; its nodes: \\x1b\[31mred/);
    const cycle = join(dir.path, 'cycle.json');
    writeFileSync(
      cycle,
      JSON.stringify(
        doc(
          [
            ['a\u001b[2J', 'nil'],
            ['b\u202e', 'nil'],
          ],
          [
            [0, 1],
            [1, 0],
          ],
        ),
      ),
    );
    const rejected = await cli(['run', cycle]);
    assert.equal(rejected.code, 2);
    assert.doesNotMatch(rejected.stderr, RAW);
    assert.match(rejected.stderr, /rejected: .*cycle: a\\x1b\[2J -> b\\u202e/);
    const local = await baton(['validate', cycle]);
    assert.notEqual(local.code, 0);
    assert.doesNotMatch(local.stderr, RAW);
    assert.match(local.stderr, /a\\x1b\[2J -> b\\u202e/);
  });

  it('logs are raw in a pipe, escaped on a terminal unless --raw', async (t) => {
    const piped = await cli(['logs', id, '3']);
    assert.equal(piped.stdout, 'before\u001b[2J\u001b]0;pwned\u0007after\n\tindented\r\n');
    if (!existsSync('/usr/bin/script')) return t.skip('needs script(1) for a pseudo-terminal');
    const onTerminal = async (extra: string[]) => {
      const command = [process.execPath, BATON, 'logs', id, '3', '--server', server.url, ...extra]
        .map((arg) => `'${arg}'`)
        .join(' ');
      return new Promise<string>((resolve, reject) => {
        execFile(
          'script',
          ['-qec', command, '/dev/null'],
          { env: { ...process.env, ...CLEAN_ENV, TERM: 'xterm-256color' }, timeout: 30_000 },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
      });
    };
    const shown = await onTerminal([]);
    // the pseudo-terminal turns each \n into \r\n
    assert.equal(shown, 'before\\x1b[2J\\x1b]0;pwned\\x07after\r\n\tindented\r\n');
    const raw = await onTerminal(['--raw']);
    assert.ok(raw.includes('before\u001b[2J'), JSON.stringify(raw));
  });
});
