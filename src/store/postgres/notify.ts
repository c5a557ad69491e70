/**
 * Events across replicas (docs/architecture.md §5): PostgreSQL's LISTEN/NOTIFY. A notification reaches every
 * session listening on its channel in the whole database when the sending transaction
 * commits, at most once: a listener that is disconnected at that moment misses it. So a
 * payload should say "look again" (which run changed), not carry state that exists nowhere
 * else, and `onGap` tells a subscriber when it may have missed some.
 *
 * Channels are scoped to the store's schema (`<schema>.<channel>` on the wire), so two
 * installations sharing a database in different schemas do not hear each other.
 *
 * One dedicated connection per store listens on every channel (a pooled client cannot: it
 * goes back to the pool between queries). When it drops, it is reopened after 1 s, then 2,
 * 4, ... up to 30 s, and re-listens to every channel; then each subscriber's `onGap` runs.
 */
import { Client, type ClientConfig, escapeIdentifier } from 'pg';
import type { WithClient } from './db.ts';

/** PostgreSQL refuses a payload of 8000 bytes or more (in the server encoding, UTF-8 here). */
export const MAX_PAYLOAD_BYTES = 7999;

/** NAMEDATALEN - 1: longer channel names are refused by pg_notify, truncated by LISTEN. */
const MAX_CHANNEL_BYTES = 63;

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

export type OnPayload = (payload: string) => void;

interface Subscription {
  onPayload: OnPayload;
  onGap?: () => void;
}

export interface Listener {
  /**
   * Calls `onPayload` with the payload of every notification on `channel` from now on, and
   * `onGap` after the connection was lost and reopened (notifications may have been missed).
   * Resolves once the server listens; resolves to a function that stops the subscription.
   * The callbacks must not throw: an exception is rethrown as an uncaught exception.
   */
  listen(channel: string, onPayload: OnPayload, onGap?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The channel's name on the wire, checked. */
export function wireChannel(prefix: string, channel: string): string {
  const wire = `${prefix}${channel}`;
  if (channel === '' || Buffer.byteLength(wire) > MAX_CHANNEL_BYTES) {
    throw new RangeError(
      `channel ${JSON.stringify(wire)} must be 1 to ${MAX_CHANNEL_BYTES} bytes with its prefix`,
    );
  }
  return wire;
}

/** Sends `payload` on the wire channel `wire` (delivered at once: no transaction is open). */
export async function notify(withClient: WithClient, wire: string, payload: string): Promise<void> {
  const bytes = Buffer.byteLength(payload);
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`payload of ${bytes} bytes, at most ${MAX_PAYLOAD_BYTES} allowed`);
  }
  await withClient((client) =>
    client.query({
      name: 'baton_notify',
      text: 'SELECT pg_notify($1::text, $2::text)',
      values: [wire, payload],
    }),
  );
}

/** A listener on its own connection, opened at the first `listen`. */
export function createListener(config: ClientConfig, prefix: string): Listener {
  const subscriptions = new Map<string, Set<Subscription>>();
  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryMs = RETRY_FIRST_MS;
  let closed = false;

  function dispatch(wire: string, payload: string): void {
    for (const subscription of subscriptions.get(wire) ?? []) {
      try {
        subscription.onPayload(payload);
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  /** The listening connection, opened (and listening to every channel) if needed. */
  function connected(): Promise<Client> {
    if (client !== undefined) return Promise.resolve(client);
    connecting ??= (async () => {
      const next = new Client({ ...config, keepAlive: true, keepAliveInitialDelayMillis: 30_000 });
      next.on('notification', (message) => dispatch(message.channel, message.payload ?? ''));
      next.on('error', () => lost(next));
      next.on('end', () => lost(next));
      try {
        await next.connect();
        for (const wire of subscriptions.keys()) {
          await next.query(`LISTEN ${escapeIdentifier(wire)}`);
        }
      } catch (err) {
        next.end().catch(() => {});
        throw err;
      } finally {
        connecting = undefined;
      }
      if (closed) {
        await next.end();
        throw new Error('the store is closed');
      }
      client = next;
      return next;
    })();
    return connecting;
  }

  /** The connection `which` died: reopen it while anyone listens. */
  function lost(which: Client): void {
    if (client !== which) return;
    client = undefined;
    which.end().catch(() => {});
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || retryTimer !== undefined || subscriptions.size === 0) return;
    retryTimer = setTimeout(async () => {
      retryTimer = undefined;
      if (closed || subscriptions.size === 0) return;
      try {
        await connected();
      } catch {
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        scheduleReconnect();
        return;
      }
      retryMs = RETRY_FIRST_MS;
      for (const set of subscriptions.values()) {
        for (const subscription of set) {
          try {
            subscription.onGap?.();
          } catch (err) {
            process.nextTick(() => {
              throw err;
            });
          }
        }
      }
    }, retryMs);
  }

  return {
    async listen(channel, onPayload, onGap) {
      if (closed) throw new Error('the store is closed');
      const wire = wireChannel(prefix, channel);
      const subscription: Subscription = { onPayload, onGap };
      let set = subscriptions.get(wire);
      if (set === undefined) {
        set = new Set();
        subscriptions.set(wire, set);
      }
      set.add(subscription);
      try {
        // LISTEN again even when the channel has other subscribers: it is a no-op then, and
        // this one's promise resolves only once the server listens, whichever call got there
        // first (and a connection opened before this subscription did not listen to it)
        await (await connected()).query(`LISTEN ${escapeIdentifier(wire)}`);
      } catch (err) {
        unsubscribe(wire, subscription);
        throw err;
      }
      let done = false;
      return async () => {
        if (done) return;
        done = true;
        if (unsubscribe(wire, subscription) && client !== undefined) {
          await client.query(`UNLISTEN ${escapeIdentifier(wire)}`).catch(() => {});
        }
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      subscriptions.clear();
      const open = client;
      client = undefined;
      await connecting?.catch(() => {});
      await open?.end().catch(() => {});
    },
  };

  /** Removes one subscription; true when it was the channel's last. */
  function unsubscribe(wire: string, subscription: Subscription): boolean {
    const set = subscriptions.get(wire);
    if (set === undefined || !set.delete(subscription) || set.size > 0) return false;
    subscriptions.delete(wire);
    return true;
  }
}
