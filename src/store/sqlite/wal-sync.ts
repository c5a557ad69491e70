/**
 * Durable commits without blocking the event loop. node:sqlite is synchronous, so a commit at
 * `synchronous = FULL` holds the loop for the whole fsync of the WAL (1-10 ms on a busy disk),
 * every request waiting behind it. Instead, new runs are committed at NORMAL (written to the
 * WAL, not synced) and then `sync()` fdatasyncs the WAL file on libuv's thread pool; the store
 * answers only after it, so a 202 still survives a power cut, while the loop serves other
 * requests meanwhile.
 *
 * Why that is as durable as FULL: fdatasync makes every byte written to the file before it
 * started durable, and WAL recovery keeps the longest run of frames whose chained checksums
 * hold, so the synced commit and everything before it survive. If a checkpoint moved the
 * frames into the database first, SQLite (at NORMAL) synced the WAL before copying and the
 * database after, so they were durable already. The WAL file keeps its inode while a
 * connection is open (it is only deleted when the last one closes), so one descriptor serves
 * the store's life.
 *
 * Syncs are shared: a caller arriving while one is running waits for the next one (the running
 * one may have started before its commit was written), and every caller arriving meanwhile
 * shares that next one. Under load that is one fdatasync per loop turn or fewer.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';

export class WalSync {
  readonly #path: string;
  #fd: number | undefined;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  /** `database`: the path of the database file, whose WAL is `database-wal`. */
  constructor(database: string) {
    this.#path = `${database}-wal`;
  }

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (this.#running === undefined) return this.#start();
    this.#queued ??= this.#running.then(
      () => this.#next(),
      () => this.#next(),
    );
    return this.#queued;
  }

  /** Waits for the syncs under way, then lets the descriptor go. */
  async close(): Promise<void> {
    await (this.#queued ?? this.#running)?.catch(() => {});
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #next(): Promise<void> {
    this.#queued = undefined;
    return this.#start();
  }

  #start(): Promise<void> {
    const running = new Promise<void>((resolve, reject) => {
      // opened at the first sync, after the first commit has created the file
      this.#fd ??= openSync(this.#path, 'r');
      fdatasync(this.#fd, (err) => (err ? reject(err) : resolve()));
    }).finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }
}
