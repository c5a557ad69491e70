/**
 * The times of a schedule, with croner: checking a pattern and a time zone, the next
 * occurrence, and what a claim fires per catchup policy. Pure: the time always comes in as
 * an argument. Both stores use `planFiring` inside their claim transaction, so the plan and
 * the row's advance are one decision.
 *
 * Occurrences are whole seconds (croner strips milliseconds). An occurrence is *due* once
 * `now` reaches it; it is *missed* when it is due by more than ON_TIME_MS (the server was down,
 * or paused in a debugger): a scheduler ticking every second fires on-time occurrences under
 * every policy, and the policy only decides about missed ones:
 *   - `none`: fire nothing missed; the latest due occurrence still fires if it is on time;
 *   - `last`: fire the latest due occurrence, once, however late;
 *   - `all`:  fire every due occurrence, oldest first, at most MAX_CATCHUP (the latest ones).
 */
import { Cron } from 'croner';
import type { Catchup } from './store.ts';

/** `all` fires at most this many occurrences per claim: the most recent ones. */
export const MAX_CATCHUP = 100;
/** An occurrence due for longer than this was missed (see the policies above). */
export const ON_TIME_MS = 60_000;
/**
 * How long a claim keeps other replicas off a schedule. A claimer that dies before advancing
 * the schedule delays its occurrences by this much; they then fire from another replica.
 */
export const SCHEDULE_CLAIM_MS = 30_000;

export const CATCHUP_POLICIES: readonly Catchup[] = ['none', 'last', 'all'];

/** A pattern or a time zone that cannot be used; `field` names which. */
export class ScheduleSpecError extends Error {
  override name = 'ScheduleSpecError';
  readonly field: 'cron' | 'timezone';
  constructor(field: 'cron' | 'timezone', message: string) {
    super(message);
    this.field = field;
  }
}

/** The IANA name of `timezone` in its canonical spelling (`europe/paris` → `Europe/Paris`). */
export function canonicalTimezone(timezone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleSpecError(
      'timezone',
      `unknown time zone "${timezone}"; expected an IANA name such as UTC or Europe/Paris`,
    );
  }
}

function cronOf(cron: string, timezone: string): Cron {
  try {
    return new Cron(cron, { timezone, paused: true });
  } catch (err) {
    throw new ScheduleSpecError('cron', (err as Error).message);
  }
}

/**
 * Checks a pattern and a time zone for a new schedule: the zone exists, the pattern parses
 * and has an occurrence after `now`. Returns the canonical zone and that first occurrence.
 * Throws `ScheduleSpecError`.
 */
export function checkSchedule(
  cron: string,
  timezone: string,
  now: number,
): { timezone: string; first: number } {
  const zone = canonicalTimezone(timezone);
  const first = cronOf(cron, zone).nextRun(new Date(now));
  if (first === null) {
    throw new ScheduleSpecError('cron', `"${cron}" has no occurrence after ${iso(now)}`);
  }
  return { timezone: zone, first: first.getTime() };
}

/** The first occurrence strictly after `after`, or null when there is none. */
export function nextOccurrence(cron: string, timezone: string, after: number): number | null {
  return cronOf(cron, timezone).nextRun(new Date(after))?.getTime() ?? null;
}

export interface FiringPlan {
  /** oldest first */
  occurrences: number[];
  nextFireAt: number | null;
  /** the pattern or zone no longer works (a croner upgrade): nothing fires */
  error?: string;
}

/**
 * What a schedule due at `nextFireAt` (<= now) fires at `now`, and its next occurrence.
 * `nextFireAt` is itself an occurrence, so every policy has at least it to consider.
 */
export function planFiring(
  schedule: { cron: string; timezone: string; catchup: Catchup; nextFireAt: number },
  now: number,
): FiringPlan {
  const { catchup, nextFireAt } = schedule;
  let cron: Cron;
  let next: number | null;
  let due: number[];
  try {
    cron = cronOf(schedule.cron, schedule.timezone);
    next = cron.nextRun(new Date(now))?.getTime() ?? null;
    // previousRuns(n, ref) gives occurrences before ref, latest first; ref = now + 1 ms
    // includes an occurrence at `now` exactly. Never more than `all` could fire.
    const count = catchup === 'all' ? MAX_CATCHUP : 1;
    due = cron
      .previousRuns(count, new Date(now + 1))
      .map((date) => date.getTime())
      .filter((time) => time >= nextFireAt && time <= now)
      .reverse();
  } catch (err) {
    return { occurrences: [], nextFireAt: null, error: (err as Error).message };
  }
  // croner and the stored time disagree only across a DST change or a croner upgrade:
  // the stored occurrence is the one the schedule promised
  if (due.length === 0) due = [nextFireAt];
  const latest = due[due.length - 1];
  switch (catchup) {
    case 'all':
      return { occurrences: due, nextFireAt: next };
    case 'last':
      return { occurrences: [latest], nextFireAt: next };
    case 'none':
      return { occurrences: now - latest <= ON_TIME_MS ? [latest] : [], nextFireAt: next };
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
