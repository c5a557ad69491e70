/**
 * `baton schedule create|list|pause|resume|delete`: documents fired on a cron pattern, through
 * the orchestrator's `/v1/schedules`. The server judges the pattern, the time zone and the
 * document (a refusal ends with exit code 2 and its message); the runs a schedule fires are
 * ordinary runs, seen with `baton list`.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { BatonClient } from '../client.ts';
import { readDocumentText, UsageError } from '../documents.ts';
import {
  FORMATS,
  formatDuration,
  type Paint,
  paintFor,
  render,
  terminalSafe as safe,
  table,
} from '../output.ts';
import { type ClientFlags, clientFor, examples, outputOption, withClient } from './common.ts';

/** A schedule as `/v1/schedules` answers it. */
export interface Schedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  catchup: 'none' | 'last' | 'all';
  paused: boolean;
  next_fire_at: string | null;
  last_fire_at: string | null;
  created_at: string | null;
  error: string | null;
}

const schedulePath = (id: string) => `/v1/schedules/${encodeURIComponent(id)}`;

function cronPattern(value: string): string {
  const fields = value.trim().split(/\s+/);
  if (!value.trim().startsWith('@') && (fields.length < 5 || fields.length > 7)) {
    throw new InvalidArgumentError(
      `expected 5 to 7 fields (e.g. "0 3 * * *", or "*/10 * * * * *" with seconds), got "${value}"`,
    );
  }
  return value.trim();
}

export function registerScheduleCommands(cli: Command): void {
  // --server, --token and --config go before or after the subcommand (optsWithGlobals)
  const schedule = examples(
    withClient(
      cli
        .command('schedule')
        .description('documents run on a cron pattern: create, list, pause, resume, delete'),
    ),
    'baton schedule create backup.json --cron "0 3 * * *" --tz Europe/Paris',
    'baton schedule list',
    'baton schedule pause 3f1c9a2e-...',
  );

  examples(
    withClient(
      schedule
        .command('create')
        .description(
          'run a gorch document at every occurrence of a cron pattern; prints the schedule id',
        )
        .argument('<file>', 'gorch document (JSON or YAML)')
        .requiredOption(
          '--cron <pattern>',
          'croner pattern: 5 fields, 6 with seconds first, 7 with years last, or @daily ...',
          cronPattern,
        )
        .option('--tz <zone>', 'IANA time zone the pattern is read in', 'UTC')
        .addOption(
          new Option('--catchup <policy>', 'occurrences missed while the server was down')
            .choices(['none', 'last', 'all'])
            .default('none'),
        )
        .option('--name <name>', "the runs' name (default: the document's)")
        .addOption(outputOption(['text', 'json', 'yaml'], 'text')),
    ).addHelpText(
      'after',
      '\nCatchup: none skips missed occurrences, last fires the latest once, all fires each' +
        '\n(the latest 100 at most). Each occurrence is one run, whichever replica fires it.',
    ),
    'baton schedule create backup.json --cron "0 3 * * *" --tz Europe/Paris',
    'baton schedule create probe.yaml --cron "*/30 * * * * *" --catchup none --name probe',
  ).action((file: string, _flags: unknown, command: Command) =>
    createCommand(file, command.optsWithGlobals<CreateFlags>()),
  );

  examples(
    withClient(
      schedule
        .command('list')
        .alias('ls')
        .description('list the schedules with their next occurrence')
        .addOption(outputOption(FORMATS, 'table')),
    ),
    'baton schedule list',
    'baton schedule list -o json | jq -r ".schedules[] | select(.paused) | .id"',
  ).action((_flags: unknown, command: Command) =>
    listCommand(command.optsWithGlobals<OutputFlags>()),
  );

  const actions = [
    ['pause', 'stop firing a schedule until it is resumed'],
    ['resume', 'fire a paused schedule again, from its next occurrence (missed ones are skipped)'],
    ['delete', 'delete a schedule (the runs it fired are kept)'],
  ] as const;
  for (const [action, description] of actions) {
    examples(
      withClient(
        schedule
          .command(action)
          .description(description)
          .argument('<id>', 'schedule id')
          .addOption(outputOption(['text', 'json', 'yaml'], 'text')),
      ),
      `baton schedule ${action} 3f1c9a2e-...`,
    ).action((id: string, _flags: unknown, command: Command) =>
      actionCommand(action, id, command.optsWithGlobals<OutputFlags>()),
    );
  }
}

interface OutputFlags extends ClientFlags {
  output: string;
}

interface CreateFlags extends OutputFlags {
  cron: string;
  tz: string;
  catchup: string;
  name?: string;
}

async function createCommand(file: string, flags: CreateFlags): Promise<void> {
  let document: unknown;
  try {
    document = JSON.parse(readDocumentText(file));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${file}: not JSON: ${(err as Error).message}`);
  }
  const created = await clientFor(flags).send<Schedule>('POST', '/v1/schedules', {
    name: flags.name,
    cron: flags.cron,
    timezone: flags.tz,
    catchup: flags.catchup,
    document,
  });
  if (flags.output !== 'text') {
    process.stdout.write(render(flags.output, created, () => ''));
    return;
  }
  process.stdout.write(`${created.id}\n`);
  process.stderr.write(`${describe(created, Date.now())}\n`);
}

async function listCommand(flags: OutputFlags): Promise<void> {
  const { schedules } = await clientFor(flags).get<{ schedules: Schedule[] }>('/v1/schedules');
  if (flags.output === 'table' && schedules.length === 0) {
    process.stderr.write('no schedules\n');
    return;
  }
  process.stdout.write(
    render(flags.output, { schedules }, () => schedulesTable(schedules, Date.now())),
  );
}

async function actionCommand(
  action: 'pause' | 'resume' | 'delete',
  id: string,
  flags: OutputFlags,
): Promise<void> {
  const client: BatonClient = clientFor(flags);
  if (action === 'delete') {
    await client.send('DELETE', schedulePath(id));
    if (flags.output === 'text') process.stdout.write(`schedule ${id} deleted\n`);
    else process.stdout.write(render(flags.output, { id, deleted: true }, () => ''));
    return;
  }
  const schedule = await client.send<Schedule>('POST', `${schedulePath(id)}/${action}`);
  process.stdout.write(render(flags.output, schedule, () => describe(schedule, Date.now())));
}

/** `schedule 3f1c... "backup" (0 3 * * * Europe/Paris): next 2030-01-02T02:00:00.000Z (in 5h12m)` */
function describe(schedule: Schedule, now: number): string {
  const head = safe(
    `schedule ${schedule.id} "${schedule.name}" (${schedule.cron}, ${schedule.timezone})`,
  );
  if (schedule.paused) return `${head}: paused${schedule.error ? `: ${safe(schedule.error)}` : ''}`;
  return `${head}: next ${nextText(schedule.next_fire_at, now)}`;
}

function nextText(iso: string | null, now: number): string {
  if (iso === null) return 'never (no future occurrence)';
  return `${iso} (${inTime(iso, now)})`;
}

/** `in 5h12m`, `now`: how far ahead a time is. */
function inTime(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  return ms < 1000 ? 'now' : `in ${formatDuration(ms).replace(/\.\d/, '')}`;
}

export function schedulesTable(
  schedules: Schedule[],
  now: number,
  paint: Paint = paintFor(process.stdout),
): string {
  const tty = process.stdout.isTTY === true;
  return table(
    ['ID', 'NAME', 'CRON', 'TIMEZONE', 'CATCHUP', 'STATE', 'NEXT', 'LAST'],
    schedules.map((s) => [
      safe(s.id),
      safe(s.name),
      safe(s.cron),
      safe(s.timezone),
      s.catchup,
      s.paused ? paint('yellow', s.error ? `paused: ${safe(s.error)}` : 'paused') : 'active',
      s.paused || s.next_fire_at === null
        ? '-'
        : `${s.next_fire_at} (${inTime(s.next_fire_at, now)})`,
      s.last_fire_at ?? '-',
    ]),
    { paint, maxWidths: tty ? [undefined, 40, 24, undefined, undefined, 60] : undefined },
  );
}
