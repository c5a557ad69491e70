/**
 * One orchestrator replica's share of the work (docs/architecture.md §5). Heartbeats renew the leases of
 * the runs it drives and claim runs nobody drives: at start-up every unfinished run (a
 * restart), later those of a replica that died (once their lease expired). Through the
 * store's channels, when it has them (PostgreSQL), state events reach every replica's live
 * views and a cancel or retry sent to any replica reaches the one driving the run.
 *
 * Replica lifecycle: start ─> running (heartbeats) ─drain─> handing over ─> stopped.
 *   Draining stops claiming, gives in-flight runs `graceMs` to finish, then releases the rest
 *   so another replica takes them over at its next heartbeat instead of after a lease expiry.
 */
import type { Logger } from 'pino';
import { isFinal, State } from '../graph/states.ts';
import type { Channels, Store } from '../store/store.ts';
import type { EventBus, RunEvent } from './bus.ts';
import {
  type Orchestrator,
  ReplicaUnavailableError,
  RunStateError,
  withDefaults,
} from './orchestrator.ts';

export interface ReplicaOptions {
  orchestrator: Orchestrator;
  store: Store;
  bus: EventBus;
  logger: Logger;
  /** between heartbeats; default a fifth of the lease */
  heartbeatMs?: number;
  /** runs claimed per heartbeat at most */
  claimBatch?: number;
  /** how long a forwarded cancel or retry may take to show in the run's state */
  forwardTimeoutMs?: number;
  /** delete finished runs that stopped longer ago than this; 0 keeps everything */
  retentionMs?: number;
  /** how often retention runs */
  retentionEveryMs?: number;
}

const EVENTS = 'events';
const COMMANDS = 'commands';
/** NOTIFY payloads must stay under 8000 bytes; leave room for the envelope. */
const MAX_PAYLOAD = 7000;

type Action = 'cancel' | 'retry';

export class Replica {
  readonly #o: Required<ReplicaOptions>;
  readonly #relayed = new WeakSet<RunEvent>();
  #outbox: RunEvent[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #retention: ReturnType<typeof setInterval> | undefined;
  #beating: Promise<void> | null = null;
  #draining = false;
  #unlisten: Array<() => Promise<void>> = [];
  #unsubscribe: (() => void) | undefined;
  /** runs taken over from another replica since start (the first claim round excluded) */
  takeovers = 0;

  constructor(options: ReplicaOptions) {
    const lease = options.orchestrator.leaseMs;
    this.#o = withDefaults(options, {
      heartbeatMs: Math.max(50, Math.floor(lease / 5)),
      claimBatch: 100,
      forwardTimeoutMs: 10_000,
      retentionMs: 0,
      retentionEveryMs: 60_000,
    });
  }

  get id(): string {
    return this.#o.orchestrator.replicaId;
  }

  /** Claims every run nobody drives, starts heartbeats and channels; returns runs resumed. */
  async start(): Promise<number> {
    const channels = this.#o.store.channels;
    if (channels) await this.#listen(channels);
    let resumed = 0;
    for (;;) {
      const claimed = await this.#claim();
      resumed += claimed;
      if (claimed < this.#o.claimBatch) break;
    }
    this.#timer = setInterval(() => this.#heartbeat(), this.#o.heartbeatMs);
    this.#timer.unref();
    if (this.#o.retentionMs > 0) {
      this.#retention = setInterval(() => this.#applyRetention(), this.#o.retentionEveryMs);
      this.#retention.unref();
      await this.#applyRetention();
    }
    return resumed;
  }

  async cancel(id: string): Promise<void> {
    await this.#act(id, 'cancel', (event) => event.node === undefined && isFinal(event.state));
  }

  async retry(id: string): Promise<void> {
    await this.#act(
      id,
      'retry',
      (event) => event.node === undefined && event.state === State.running,
    );
  }

  /** Stops claiming, lets runs finish for up to `graceMs`, then hands the rest over. */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    const { orchestrator } = this.#o;
    const deadline = Date.now() + graceMs;
    while (orchestrator.activeRuns > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const left = orchestrator.activeIds();
    for (const id of left) orchestrator.detach(id);
    await orchestrator.flushed();
    if (left.length > 0) {
      await this.#o.store.releaseRuns(this.id, left);
      this.#o.logger.info({ runs: left.length }, 'handed unfinished runs over to other replicas');
    }
  }

  async stop(): Promise<void> {
    this.#draining = true;
    clearInterval(this.#timer);
    clearInterval(this.#retention);
    await this.#beating;
    this.#unsubscribe?.();
    await Promise.all(this.#unlisten.map((stop) => stop()));
    this.#unlisten = [];
  }

  /**
   * Cancel or retry here when this replica drives the run or can take it; else ask the
   * replica that drives it and wait until the run's state shows the effect.
   */
  async #act(id: string, action: Action, effect: (event: RunEvent) => boolean): Promise<void> {
    const { orchestrator, bus, store } = this.#o;
    if (await orchestrator.act(id, action)) return;
    const channels = store.channels;
    if (!channels) throw new RunStateError(`run ${id} is driven by another process`);
    let unsubscribe = () => {};
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(
          new ReplicaUnavailableError(
            `the replica driving run ${id} did not confirm the ${action}; try again`,
          ),
        );
      }, this.#o.forwardTimeoutMs);
      unsubscribe = bus.subscribe(id, (event) => {
        if (!effect(event)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve();
      });
    });
    await channels.notify(COMMANDS, JSON.stringify({ run: id, action, from: this.id }));
    await done;
  }

  /**
   * Deletes finished runs older than the retention, a batch at a time. Several replicas may
   * do it at once: deleting is idempotent, and a batch bounds each transaction.
   */
  async #applyRetention(): Promise<void> {
    const before = Date.now() - this.#o.retentionMs;
    try {
      let deleted = 0;
      for (let batch = 1000; batch === 1000; ) {
        batch = await this.#o.store.deleteFinishedBefore(before, 1000);
        deleted += batch;
      }
      if (deleted > 0) this.#o.logger.info({ deleted, before }, 'retention: deleted old runs');
    } catch (err) {
      this.#o.logger.warn({ err }, 'retention failed; trying again later');
    }
  }

  #heartbeat(): void {
    if (this.#beating || this.#draining) return;
    this.#beating = (async () => {
      try {
        await this.#renew();
        const taken = await this.#claim();
        this.takeovers += taken;
        if (taken > 0) this.#o.orchestrator.metrics.takenOver(taken); // observability
      } catch (err) {
        // The store may be restarting: the next heartbeat tries again. If renewals keep
        // failing, the leases expire and other replicas take the runs over.
        this.#o.logger.warn({ err }, 'heartbeat failed');
      } finally {
        this.#beating = null;
      }
    })();
  }

  async #renew(): Promise<void> {
    const { orchestrator, store } = this.#o;
    const ids = orchestrator.activeIds();
    if (ids.length === 0) return;
    const kept = new Set(await store.renewLeases(this.id, ids, orchestrator.leaseMs));
    for (const id of ids) {
      if (kept.has(id)) continue;
      this.#o.logger.warn({ run: id }, 'lost the lease of a run: another replica drives it now');
      orchestrator.detach(id);
    }
  }

  async #claim(): Promise<number> {
    if (this.#draining) return 0;
    const { orchestrator, store } = this.#o;
    const records = await store.claimRuns(this.id, orchestrator.leaseMs, this.#o.claimBatch);
    for (const record of records) {
      try {
        await orchestrator.adopt(record);
      } catch (err) {
        this.#o.logger.error({ err, run: record.id }, 'cannot resume a run');
      }
    }
    if (records.length > 0) this.#o.logger.info({ runs: records.length }, 'claimed runs');
    return records.length;
  }

  async #listen(channels: Channels): Promise<void> {
    const { bus, orchestrator, logger } = this.#o;
    this.#unlisten.push(
      await channels.listen(EVENTS, (payload) => {
        const { from, events } = JSON.parse(payload) as { from: string; events: RunEvent[] };
        if (from === this.id) return;
        for (const event of events) {
          this.#relayed.add(event);
          bus.publish(event);
        }
      }),
      await channels.listen(COMMANDS, (payload) => {
        const { run, action, from } = JSON.parse(payload) as {
          run: string;
          action: Action;
          from: string;
        };
        // The replica holding the lease acts (driving the run, or having just finished it);
        // for the others `act` fails to claim the run and does nothing.
        if (from === this.id) return;
        orchestrator
          .act(run, action)
          .catch((err) => logger.debug({ err, run, action }, 'forwarded action not taken here'));
      }),
    );
    // Events of the runs driven here go out to the other replicas, a tick's worth at a time.
    this.#unsubscribe = bus.subscribe('*', (event) => {
      if (this.#relayed.has(event)) return;
      if (this.#outbox.length === 0) setImmediate(() => this.#send(channels));
      this.#outbox.push(event);
    });
  }

  #send(channels: Channels): void {
    const events = this.#outbox;
    this.#outbox = [];
    let chunk: RunEvent[] = [];
    let size = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      const payload = JSON.stringify({ from: this.id, events: chunk });
      chunk = [];
      size = 0;
      channels
        .notify(EVENTS, payload)
        .catch((err) => this.#o.logger.warn({ err }, 'cannot relay events'));
    };
    for (let event of events) {
      let length = Buffer.byteLength(JSON.stringify(event)) + 1;
      if (length > MAX_PAYLOAD) {
        // only an error text can be this long: the full text is in the store
        event = { ...event, error: `${event.error?.slice(0, 1000)}...` };
        length = Buffer.byteLength(JSON.stringify(event)) + 1;
      }
      if (size + length > MAX_PAYLOAD) flush();
      chunk.push(event);
      size += length;
    }
    flush();
  }
}
