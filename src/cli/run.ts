/**
 * `baton run FILE`: submit a document, follow the run live, exit with its result:
 * 0 success, 1 the run did not succeed, 2 the document was rejected, 3 the server could not
 * be reached or answered something unexpected. `follow` is shared with `baton retry` and
 * `baton demo`.
 *
 * With `--watch`, on a terminal a live frame (progress bar, counts per state, running nodes)
 * is redrawn in place and failures are logged above it; in a pipe every change is one line:
 *
 *   running     b  [success 1, running 1]
 *   success     b  [success 2]
 *
 * Both end with the summary: `run ID STATE: COUNTS`, the duration and the failed nodes with
 * their errors. Without `--watch`, stdout holds only the run id, and an unsuccessful run's
 * summary goes to stderr.
 */
import { isFinal, State, stateName } from '../graph/states.ts';
import type { RunEvent } from '../orchestrator/bus.ts';
import { ApiError, BatonClient, type RunDetail, type Snapshot } from './client.ts';
import { readDocumentText } from './documents.ts';
import {
  durationBetween,
  formatDuration,
  type Paint,
  paintFor,
  paintState,
  render,
  STATE_STYLES,
  terminalSafe as safe,
} from './output.ts';
import { LiveView, renderFrame, Tally, type Terminal } from './progress.ts';

export const ExitCode = { success: 0, runFailed: 1, rejected: 2, unreachable: 3 } as const;

export interface RunOptions {
  server: string;
  token?: string;
  watch?: boolean;
  idempotencyKey?: string;
  /** `json` or `yaml`: print the finished run in that form on stdout, and nothing else there */
  output?: string;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const err = options.err ?? ((line) => process.stderr.write(`${line}\n`));
  const client = new BatonClient(options.server, options.token);
  let id: string;
  try {
    id = await client.submit(readDocumentText(file), options.idempotencyKey);
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) {
      err(`rejected: ${safe(e.message)}`);
      return ExitCode.rejected;
    }
    err(safe(e instanceof Error ? e.message : String(e)));
    return e instanceof ApiError && (e.status === 0 || e.status >= 500)
      ? ExitCode.unreachable
      : ExitCode.rejected;
  }
  return followRun(client, id, { ...options, replay: true });
}

/**
 * Prints the run id, follows the run (see `follow`), and with `output` json or yaml prints the
 * finished run on stdout, everything else going to stderr. Shared by `run` and `retry`.
 */
export async function followRun(
  client: BatonClient,
  id: string,
  options: Pick<RunOptions, 'watch' | 'output' | 'out' | 'err'> & { replay?: boolean },
): Promise<number> {
  const stdout = options.out ?? ((line) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line) => process.stderr.write(`${line}\n`));
  const structured = options.output === 'json' || options.output === 'yaml';
  // With -o json|yaml, stdout carries the document only; progress moves to stderr.
  const out = structured ? err : stdout;
  out(safe(id));
  const followOptions: FollowOptions = structured
    ? {
        live: options.watch && process.stderr.isTTY ? process.stderr : null,
        paint: paintFor(process.stderr),
        replay: options.replay,
      }
    : { replay: options.replay };
  const code = await follow(client, id, options.watch === true, out, err, followOptions);
  if (structured && code !== ExitCode.unreachable) {
    try {
      stdout(render(options.output!, await client.run(id), () => '').trimEnd());
    } catch (e) {
      err(safe(e instanceof Error ? e.message : String(e)));
      return ExitCode.unreachable;
    }
  }
  return code;
}

export interface FollowOptions {
  /**
   * Terminal for the live frame, `null` for one line per change. Default: process.stdout
   * when it is a terminal (and `watch` is on).
   */
  live?: Terminal | null;
  /** colours for the lines written through `out`; default: those of process.stdout */
  paint?: Paint;
  /**
   * Show the nodes that started or finished before the event stream opened as changes: right
   * after a submission they all did so since (a `nil` root may finish within a millisecond).
   */
  replay?: boolean;
  now?: () => number;
}

/** Follows a run to its end; with `watch`, shows each change and a summary. */
export async function follow(
  client: BatonClient,
  id: string,
  watch: boolean,
  out: (line: string) => void,
  err: (line: string) => void,
  options: FollowOptions = {},
): Promise<number> {
  const paint = options.paint ?? paintFor(process.stdout);
  const now = options.now ?? Date.now;
  const tally = new Tally();
  const terminal = !watch
    ? null
    : options.live !== undefined
      ? options.live
      : process.stdout.isTTY
        ? process.stdout
        : null;
  const replay = watch && options.replay === true;
  let view: LiveView | undefined;
  let detach: (() => void) | undefined;
  if (terminal || replay) {
    // Names up front: nodes that changed before the event stream opened, or that are running
    // already (a retry, a resumed run), send no event with their name until they change again.
    const detail = await client.run(id).catch(() => undefined);
    for (const node of detail?.nodes ?? []) tally.set(node.id, node.state, node.name);
    if (terminal) {
      const started = detail?.start_date ? Date.parse(detail.start_date) : now();
      const title = safe(detail?.name ?? '');
      view = new LiveView(terminal, () =>
        renderFrame(tally, {
          width: terminal.columns || 80,
          elapsedMs: now() - started,
          paint,
          title,
        }),
      );
      view.draw();
      detach = () => {
        view?.stop();
        err(
          `\n${safe(`detached from run ${id}; it goes on (baton show ${id}, baton cancel ${id})`)}`,
        );
        process.exit(130);
      };
      process.once('SIGINT', detach);
    }
  }
  const show = (event: RunEvent) => {
    tally.set(event.node!, event.state, event.name);
    if (!watch) return;
    if (view) {
      const line = notable(event, tally, paint);
      if (line !== undefined) view.log(line);
      else view.schedule();
      return;
    }
    const name = stateName(event.state);
    const suffix = event.error ? ` (${safe(event.error)})` : '';
    out(
      `${paint(STATE_STYLES[name], name)}${' '.repeat(Math.max(1, 12 - name.length))}` +
        `${tally.name(event.node!)}${suffix}  [${tally.countsText()}]`,
    );
  };
  try {
    await client.follow(id, (type, data) => {
      if (type === 'snapshot') {
        const snap = data as Snapshot;
        tally.runState = snap.state;
        // With `replay`, nodes that started or finished before the stream opened are shown
        // as changes, in id order, counted from torun.
        const replayed = new Set<number>();
        for (const n of snap.nodes) {
          if (replay && (n.state === State.running || isFinal(n.state))) replayed.add(n.node);
          tally.set(n.node, replayed.has(n.node) ? State.torun : n.state);
        }
        for (const n of snap.nodes) {
          if (replayed.has(n.node)) show({ run: id, node: n.node, state: n.state, time: 0 });
        }
        view?.schedule();
        return;
      }
      const event = data as RunEvent;
      if (event.node === undefined) tally.runState = event.state;
      else show(event);
    });
  } catch (e) {
    err(safe(e instanceof Error ? e.message : String(e)));
    return ExitCode.unreachable;
  } finally {
    view?.stop();
    if (detach) process.removeListener('SIGINT', detach);
  }
  if (!isFinal(tally.runState)) {
    err(
      safe(`the event stream of run ${id} ended before the run finished; see \`baton show ${id}\``),
    );
    return ExitCode.unreachable;
  }
  const succeeded = tally.runState === State.success;
  if (watch || !succeeded) {
    const print = watch ? out : err;
    print(`run ${id} ${paintState(paint, tally.runState)}: ${tally.countsText()}`);
    const detail = await client.run(id).catch(() => undefined);
    if (detail) for (const line of summary(detail, now(), paint)) print(line);
  }
  return succeeded ? ExitCode.success : ExitCode.runFailed;
}

/** A change worth a permanent line above the live frame: a failure, a timeout, a retry. */
function notable(event: RunEvent, tally: Tally, paint: Paint): string | undefined {
  const name = tally.name(event.node!);
  const why = event.error ? `: ${safe(event.error)}` : '';
  if (event.state === State.failure || event.state === State.timeout) {
    return `${paintState(paint, event.state)} ${name}${why}`;
  }
  if (event.state === State.torun && event.error) {
    return `${paint('yellow', 'retrying')} ${name} (attempt ${event.attempt ?? '?'} failed${why})`;
  }
  return undefined;
}

const LISTED_FAILURES = 20;

/** Duration and the nodes that failed or timed out, with their errors. */
export function summary(run: RunDetail, now: number, paint: Paint): string[] {
  const lines = [`  duration ${durationBetween(run.start_date, run.stop_date, now)}`];
  if (run.error) lines.push(`  error    ${safe(run.error)}`);
  const failed = run.nodes.filter(
    (node) => node.state === State.failure || node.state === State.timeout,
  );
  for (const node of failed.slice(0, LISTED_FAILURES)) {
    const attempts = `${node.attempts} attempt${node.attempts === 1 ? '' : 's'}`;
    const took =
      node.start_date && node.stop_date
        ? `, ${formatDuration(Date.parse(node.stop_date) - Date.parse(node.start_date))}`
        : '';
    lines.push(
      `  ${paintState(paint, node.state)} ${safe(node.name)} (${safe(node.engine)}, ${attempts}${took})` +
        `${node.error ? `: ${safe(node.error)}` : ''}`,
    );
  }
  if (failed.length > LISTED_FAILURES) {
    lines.push(`  ... and ${failed.length - LISTED_FAILURES} more; see \`baton show ${run.id}\``);
  }
  return lines;
}
