/**
 * Fires schedules (issue 8). Every replica runs one; the store's claims make each occurrence
 * one replica's job, and the idempotency key `schedule:<id>:<occurrence>` makes it one run
 * even when a claim is retried after its claimer died (see store.ts Schedules).
 *
 * A tick: claim the due schedules, parse each one's document with this replica's engines and
 * limits, submit one run per occurrence through the orchestrator (named after the schedule),
 * then advance the schedule. A document that no longer parses (an engine was removed, a limit
 * lowered, the stored text is corrupt) pauses its schedule with the error recorded, instead
 * of failing every second; so does a run that fails as it starts (a poison document), and
 * anything else one schedule throws: the others fire regardless. A submission that fails
 * (the store is down) leaves the claim to expire: the occurrences fire again after
 * SCHEDULE_CLAIM_MS, once.
 *
 * Ticks follow `now()` (injected for tests) and start just after each whole second, when
 * croner's occurrences fall, so a schedule fires within a few milliseconds of its time.
 */
import type { Logger } from 'pino';
import { DocumentError } from '../graph/errors.ts';
import type { Graph } from '../graph/model.ts';
import { type Limits, parseDocument } from '../graph/parse.ts';
import type { DueSchedule, Store } from '../store/store.ts';
import { type Orchestrator, type Submitted, withDefaults } from './orchestrator.ts';

export interface SchedulerOptions {
  /** what the scheduler needs of the orchestrator */
  orchestrator: Pick<Orchestrator, 'submit' | 'engines'>;
  store: Store;
  logger: Logger;
  /** the limits documents were accepted under (the API's) */
  limits?: Partial<Limits>;
  now?: () => number;
  /** between ticks */
  everyMs?: number;
  /** schedules claimed per store call */
  batch?: number;
}

/** The idempotency key of a schedule's occurrence: one run per occurrence, whoever fires it. */
export function occurrenceKey(scheduleId: string, occurrence: number): string {
  return `schedule:${scheduleId}:${occurrence}`;
}

export class Scheduler {
  readonly #o: Required<SchedulerOptions>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticking: Promise<number> | null = null;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#o = withDefaults(options, {
      limits: {},
      now: Date.now,
      everyMs: 1000,
      batch: 100,
    });
  }

  /** Ticks every `everyMs` from now on (the timer does not keep the process alive). */
  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops ticking; resolves once a tick in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /**
   * One round: fires every due schedule, a batch of claims at a time. Returns how many runs
   * it submitted (a reused occurrence key counts too). Concurrent calls share one round.
   */
  tick(): Promise<number> {
    this.#ticking ??= this.#round().finally(() => {
      this.#ticking = null;
    });
    return this.#ticking;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const { everyMs } = this.#o;
    // just after the next multiple of everyMs
    const delay = everyMs - (this.#o.now() % everyMs) + 5;
    this.#timer = setTimeout(async () => {
      try {
        await this.tick();
      } catch (err) {
        // the store may be restarting: the next tick tries again
        this.#o.logger.warn({ err }, 'scheduler tick failed');
      }
      this.#schedule();
    }, delay);
    this.#timer.unref();
  }

  async #round(): Promise<number> {
    const { store, batch } = this.#o;
    let fired = 0;
    for (;;) {
      const claimed = await store.claimDueSchedules(this.#o.now(), batch);
      const counts = await Promise.allSettled(claimed.map((due) => this.#fire(due)));
      for (const [i, count] of counts.entries()) {
        if (count.status === 'fulfilled') fired += count.value;
        else await this.#failed(claimed[i], count.reason);
      }
      if (claimed.length < batch || this.#stopped) return fired;
    }
  }

  async #fire(due: DueSchedule): Promise<number> {
    const { store, logger, orchestrator } = this.#o;
    const { schedule, occurrences } = due;
    const log = logger.child({ schedule: schedule.id, name: schedule.name });
    if (due.error !== undefined) {
      await this.#pause(due, `cron: ${due.error}`);
      return 0;
    }
    let graph: Graph;
    try {
      graph = parseDocument(JSON.parse(schedule.document), {
        ...this.#o.limits,
        engines: orchestrator.engines,
      });
    } catch (err) {
      // a DocumentError, or the stored text is not JSON any more, or the parser threw
      await this.#pause(
        due,
        err instanceof DocumentError ? documentMessage(err) : `document: ${messageOf(err)}`,
      );
      return 0;
    }
    // runs are named after the schedule, whatever the document calls itself
    graph.name = schedule.name;
    let submitted: Submitted[];
    try {
      submitted = await Promise.all(
        occurrences.map((occurrence) =>
          orchestrator.submit(graph, occurrenceKey(schedule.id, occurrence)),
        ),
      );
    } catch (err) {
      log.warn(
        { err },
        'cannot fire a schedule; its occurrences fire again when its claim expires',
      );
      return 0;
    }
    await store.advanceSchedule(due);
    const poisoned = submitted.find((run) => run.error !== undefined);
    if (poisoned) {
      // the run failed as it started: every later one would too
      await this.#pause(due, `run ${poisoned.id} ${poisoned.error}`);
      return occurrences.length;
    }
    if (occurrences.length > 0) {
      log.info(
        { occurrences: occurrences.map((time) => new Date(time).toISOString()) },
        'schedule fired',
      );
    } else {
      log.info(
        { missed: new Date(schedule.nextFireAt ?? 0).toISOString() },
        'schedule skipped missed occurrences (catchup none)',
      );
    }
    return occurrences.length;
  }

  /**
   * One schedule threw while firing (not a store outage: its claim expires, it fires again):
   * pause it with the error, so that it cannot fail every second.
   */
  async #failed(due: DueSchedule, err: unknown): Promise<void> {
    const { store, logger } = this.#o;
    if (store.isTransient(err)) {
      logger.warn({ err, schedule: due.schedule.id }, 'cannot fire a schedule; trying again later');
      return;
    }
    try {
      await this.#pause(due, `cannot fire: ${messageOf(err)}`);
    } catch (pauseErr) {
      logger.warn({ err: pauseErr, schedule: due.schedule.id }, 'cannot pause a failing schedule');
    }
  }

  async #pause(due: DueSchedule, error: string): Promise<void> {
    await this.#o.store.setSchedulePaused(due.schedule.id, true, this.#o.now(), error);
    this.#o.logger.error(
      { schedule: due.schedule.id, name: due.schedule.name, error },
      'schedule paused: it can no longer fire',
    );
  }
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A document error as found inside a schedule: `document.nodes[0].engine: ...`. */
function documentMessage(err: DocumentError): string {
  const path = err.path === '' ? 'document' : `document.${err.path}`;
  // most messages start with their path; a cycle's does not
  return err.path !== '' && err.message.startsWith(`${err.path}:`)
    ? `document.${err.message}`
    : `${path}: ${err.message}`;
}
