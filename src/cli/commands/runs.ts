/**
 * Client commands on existing runs: `list`, `show`, `cancel`, `delete`, `retry`, `logs`. Each talks to
 * the orchestrator API (docs/architecture.md §7) through `BatonClient`; a 404 ends with exit code 2 and the
 * server's message, an unreachable server with 3 (see commands/common.ts).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { toDot, toMermaid } from '../../graph/export.ts';
import { isFinal, isStateName, State, stateName } from '../../graph/states.ts';
import { ApiError, type LiveNode, type RunDetail, type RunSummary } from '../client.ts';
import { UsageError } from '../documents.ts';
import {
  durationBetween,
  FORMATS,
  formatAge,
  type Paint,
  paintFor,
  paintState,
  render,
  terminalSafe as safe,
  table,
} from '../output.ts';
import { Tally } from '../progress.ts';
import { followRun } from '../run.ts';
import { type ClientFlags, clientFor, examples, outputOption, withClient } from './common.ts';

/** Cells wider than this are cut on a terminal (the full text is in -o json). */
const WIDE = 60;

function pageSize(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) {
    throw new InvalidArgumentError(`expected a number of runs 1-1000, got "${value}"`);
  }
  return n;
}

function stateList(value: string): string {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!isStateName(name)) {
      throw new InvalidArgumentError(
        `unknown state "${name}"; expected names from ${Object.keys(State).join(', ')}`,
      );
    }
  }
  return names.join(',');
}

export function registerRunCommands(cli: Command): void {
  examples(
    withClient(
      cli
        .command('list')
        .alias('ls')
        .description('list runs, newest first')
        .option('--state <states>', 'only runs in these states, comma-separated', stateList)
        .option('--limit <n>', 'runs per page, 1-1000', pageSize, 50)
        .option('--all', 'follow next_cursor through every page')
        .addOption(outputOption(FORMATS, 'table')),
    ),
    'baton list',
    'baton list --state running,failure --limit 10',
    'baton list --all -o json | jq -r ".tasks[].id"',
  ).action(listCommand);

  examples(
    withClient(
      cli
        .command('show')
        .description('show a run: its state, and every node with attempts, outputs and errors')
        .argument('<id>', 'run id')
        .addOption(outputOption([...FORMATS, 'dot', 'mermaid'], 'table')),
    ),
    'baton show 5c0f7a2e-...',
    'baton show 5c0f7a2e-... -o json | jq ".nodes[] | {name, state, output}"',
    'baton show 5c0f7a2e-... -o dot | dot -Tsvg > run.svg   # nodes filled by state',
  ).action(showCommand);

  examples(
    withClient(
      cli
        .command('cancel')
        .description('cancel a running run: unfinished nodes become canceled (the record stays)')
        .argument('<id>', 'run id')
        .addOption(outputOption(FORMATS, 'table')),
    ),
    'baton cancel 5c0f7a2e-...',
  ).action(cancelCommand);

  examples(
    withClient(
      cli
        .command('delete')
        .alias('rm')
        .description(
          'delete a finished run and its record (GET then answers 404); a running run is ' +
            'refused unless --cancel',
        )
        .argument('<id>', 'run id')
        .option('--cancel', 'a run still running is canceled first, then deleted')
        .addOption(outputOption(['text', 'json', 'yaml'], 'text')),
    ),
    'baton delete 5c0f7a2e-...',
    'baton list --state failure -o json | jq -r ".tasks[].id" | xargs -n1 baton delete',
    'baton delete --cancel 5c0f7a2e-...',
  ).action(deleteCommand);

  examples(
    withClient(
      cli
        .command('retry')
        .description(
          're-run the failed, notrunnable, timed-out and canceled nodes of a finished run, ' +
            'keeping its successes; the exit code is the new result',
        )
        .argument('<id>', 'run id')
        .option('--watch', 'show progress live and a summary')
        .addOption(outputOption(['text', 'json', 'yaml'], 'text')),
    ),
    'baton retry 5c0f7a2e-... --watch',
  ).action(retryCommand);

  examples(
    withClient(
      cli
        .command('logs')
        .description(
          "print a node's captured stdout and stderr (as its executor kept them); on a " +
            'terminal, control characters other than newline and tab are shown escaped (\\x1b)',
        )
        .argument('<id>', 'run id')
        .argument('<node>', 'node id (a number) or name')
        .option('--raw', 'print the log exactly as captured, even on a terminal'),
    ),
    'baton logs 5c0f7a2e-... install',
    'baton logs 5c0f7a2e-... 2 > install.log',
  ).action(logsCommand);
}

interface ListFlags extends ClientFlags {
  state?: string;
  limit: number;
  all?: boolean;
  output: string;
}

async function listCommand(flags: ListFlags): Promise<void> {
  const client = clientFor(flags);
  const page = await client.list({ limit: flags.limit, state: flags.state });
  const tasks = [...page.tasks];
  let next = page.next_cursor;
  while (flags.all && next !== undefined) {
    const more = await client.list({ limit: flags.limit, state: flags.state, cursor: next });
    tasks.push(...more.tasks);
    next = more.next_cursor;
  }
  if (flags.output === 'table' && tasks.length === 0) {
    process.stderr.write(`no runs${flags.state ? ` in state ${flags.state}` : ''}\n`);
    return;
  }
  const value = next === undefined ? { tasks } : { tasks, next_cursor: next };
  process.stdout.write(render(flags.output, value, () => runsTable(tasks, Date.now())));
  if (flags.output === 'table' && next !== undefined) {
    process.stderr.write('more runs: --all lists every page\n');
  }
}

export function runsTable(
  runs: RunSummary[],
  now: number,
  paint: Paint = paintFor(process.stdout),
): string {
  const tty = process.stdout.isTTY === true;
  return table(
    ['ID', 'NAME', 'STATE', 'NODES', 'STARTED', 'DURATION'],
    runs.map((run) => [
      safe(run.id),
      safe(run.name),
      paintState(paint, run.state_code),
      String(run.nodes),
      formatAge(run.start_date, now),
      durationBetween(run.start_date, run.stop_date, now),
    ]),
    { paint, maxWidths: tty ? [undefined, 40] : undefined },
  );
}

interface ShowFlags extends ClientFlags {
  output: string;
}

async function showCommand(id: string, flags: ShowFlags): Promise<void> {
  const run = await clientFor(flags).run(id);
  if (flags.output === 'dot' || flags.output === 'mermaid') {
    const render = flags.output === 'dot' ? toDot : toMermaid;
    process.stdout.write(render(await graphOf(run), statesById(run)));
    return;
  }
  process.stdout.write(render(flags.output, run, () => runTable(run, Date.now())));
}

/** Each node's state at its id (the answer lists the nodes in the order they were submitted). */
function statesById(run: RunDetail): number[] {
  const states = new Array<number>(run.nodes.length);
  for (const node of run.nodes) states[node.id] = node.state;
  return states;
}

/**
 * The run's graph, from the returned document. The server validated it when it was
 * submitted, with its own engines and limits, so neither is checked again here. The parser is
 * loaded only here (see readGraph in ../documents.ts).
 */
export async function graphOf(run: RunDetail) {
  const { parseDocument } = await import('../../graph/parse.ts');
  return parseDocument(run, {
    engines: new Set(run.nodes.map((node) => node.engine)),
    maxNodes: Number.MAX_SAFE_INTEGER,
    maxEdges: Number.MAX_SAFE_INTEGER,
    maxArgs: Number.MAX_SAFE_INTEGER,
    maxArgLength: Number.MAX_SAFE_INTEGER,
    maxNameLength: Number.MAX_SAFE_INTEGER,
    maxGraphNameLength: Number.MAX_SAFE_INTEGER,
    maxArgsLength: Number.MAX_SAFE_INTEGER,
    maxOutputs: Number.MAX_SAFE_INTEGER,
    maxOutputsTotal: Number.MAX_SAFE_INTEGER,
    maxInputs: Number.MAX_SAFE_INTEGER,
  });
}

/** The run's header, then one row per node. */
export function runTable(
  run: RunDetail,
  now: number,
  paint: Paint = paintFor(process.stdout),
): string {
  const tally = new Tally();
  for (const node of run.nodes) tally.set(node.id, node.state);
  const when = (iso: string | null) => (iso ? `${iso} (${formatAge(iso, now)})` : '-');
  const header: Array<[string, string]> = [
    ['ID', safe(run.id)],
    ['Name', safe(run.name)],
    ['State', paintState(paint, run.state)],
    ['Nodes', `${run.nodes.length}: ${tally.countsText(paint)}`],
    ['Created', when(run.created_date)],
    ['Started', when(run.start_date)],
    ['Stopped', when(run.stop_date)],
    ['Duration', durationBetween(run.start_date, run.stop_date, now)],
  ];
  if (run.error) header.push(['Error', safe(run.error)]);
  const tty = process.stdout.isTTY === true;
  const nodes = table(
    ['NAME', 'ENGINE', 'TARGET', 'STATE', 'ATTEMPTS', 'DURATION', 'OUTPUTS', 'ERROR'],
    run.nodes.map((node) => [
      safe(node.name),
      safe(node.engine),
      safe(node.target || '-'),
      paintState(paint, node.state),
      String(node.attempts),
      durationBetween(node.start_date, node.stop_date, now),
      safe(outputsOf(node) || '-'),
      safe(node.error ?? ''),
    ]),
    {
      paint,
      maxWidths: tty ? [40, undefined, 24, undefined, undefined, undefined, WIDE, WIDE] : undefined,
    },
  );
  return `${header.map(([k, v]) => `${paint('bold', `${k}:`.padEnd(10))}${v}`).join('\n')}\n\n${nodes}`;
}

/** `ip=10.0.0.4 url=http://...`: the outputs that have a value. */
function outputsOf(node: LiveNode): string {
  return Object.entries(node.output ?? {})
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

async function cancelCommand(id: string, flags: ShowFlags): Promise<void> {
  const run = await clientFor(flags).cancel(id);
  const paint = paintFor(process.stdout);
  process.stdout.write(
    render(flags.output, run, () => {
      const tally = new Tally();
      for (const node of run.nodes) tally.set(node.id, node.state);
      return `run ${safe(run.id)} ${paintState(paint, run.state)}: ${tally.countsText(paint)}`;
    }),
  );
}

interface DeleteFlags extends ClientFlags {
  cancel?: boolean;
  output: string;
}

/**
 * The API's DELETE cancels a run that is still running instead of deleting it, so the run is
 * read first: deleting never cancels what the user did not ask to cancel.
 */
async function deleteCommand(id: string, flags: DeleteFlags): Promise<void> {
  const client = clientFor(flags);
  const run = await client.run(id);
  if (!isFinal(run.state)) {
    if (!flags.cancel) {
      throw new UsageError(
        `run ${safe(id)} is ${stateName(run.state)}: cancel it first (baton cancel ${safe(id)}), ` +
          'or pass --cancel to cancel and delete it',
      );
    }
    try {
      await client.cancel(id);
    } catch (err) {
      // it finished meanwhile: deleted below all the same
      if (!(err instanceof ApiError && err.status === 409)) throw err;
    }
  }
  const outcome = await client.delete(id);
  if (!outcome.deleted) {
    // between the read and the DELETE a retry started it again: it is canceled now, kept
    throw new UsageError(
      `run ${safe(id)} was started again (retried) meanwhile: the DELETE canceled it ` +
        `(${stateName(outcome.run.state)}) and kept it; run baton delete again to delete it`,
    );
  }
  process.stdout.write(
    render(flags.output, { id, deleted: true }, () => `run ${safe(id)} deleted`),
  );
}

interface RetryFlags extends ClientFlags {
  watch?: boolean;
  output: string;
}

async function retryCommand(id: string, flags: RetryFlags): Promise<void> {
  const client = clientFor(flags);
  await client.retry(id);
  process.exitCode = await followRun(client, id, { watch: flags.watch, output: flags.output });
}

interface LogsFlags extends ClientFlags {
  raw?: boolean;
}

async function logsCommand(id: string, node: string, flags: LogsFlags): Promise<void> {
  const client = clientFor(flags);
  const n = /^\d+$/.test(node) ? Number(node) : nodeByName(await client.run(id), node);
  const log = await client.log(id, n);
  // A pipe or a file gets the bytes the task wrote; a terminal must not obey escape sequences
  // a task (or whoever fed it input) printed, so it sees them escaped, lines and tabs kept.
  const raw = flags.raw === true || process.stdout.isTTY !== true;
  process.stdout.write(raw ? log : terminalLog(log));
}

/** A log as a terminal shows it: control characters escaped but newlines and tabs. */
export function terminalLog(log: string): string {
  return safe(log.replaceAll('\r\n', '\n'), '\n\t');
}

function nodeByName(run: RunDetail, name: string): number {
  const found = run.nodes.find((node) => node.name === name);
  if (found) return found.id;
  const names = run.nodes.slice(0, 20).map((node) => node.name);
  const more = run.nodes.length > names.length ? ', ...' : '';
  throw new UsageError(
    `run ${safe(run.id)} has no node named "${safe(name)}"; its nodes: ${names.map((n) => safe(n)).join(', ')}${more}`,
  );
}
