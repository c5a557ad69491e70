/**
 * WAL checkpoints off the event loop. SQLite copies the WAL back into the database file every
 * 1,000 pages by default, inside whichever commit crosses that mark: at synchronous=NORMAL
 * that is an fsync of the WAL, the copy and an fsync of the database, all on the event loop
 * (node:sqlite is synchronous), 8-10% of a busy server's time and its worst pauses.
 *
 * Instead, the store's connection turns automatic checkpoints off and a worker thread with a
 * connection of its own runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`: it copies
 * what no reader still needs, never waits for the writer, and the writer restarts the WAL at
 * its next commit once everything was copied. Durability does not change: commits are in the
 * WAL either way (and new runs synced, wal-sync.ts).
 *
 * Should the worker fail or stop, the connection goes back to automatic checkpoints, so the
 * WAL cannot grow without bound.
 */
import { Worker } from 'node:worker_threads';
import type { Conn } from './conn.ts';

/** SQLite's default, which the connection returns to when the worker is gone. */
const AUTOCHECKPOINT_PAGES = 1000;

// CommonJS (an eval'd worker); it only needs node:sqlite and a timer
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path, { timeout: 0 });
db.exec('PRAGMA synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => checkpoint.get(), workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(conn: Conn, path: string, intervalMs = 100) {
    conn.db.exec('PRAGMA wal_autocheckpoint = 0');
    this.#worker = new Worker(WORKER, { eval: true, workerData: { path, intervalMs } });
    // a worker that fails (it cannot open the file, say) hands the work back
    this.#worker.on('error', () => {});
    this.#exited = new Promise((resolve) =>
      this.#worker.once('exit', () => {
        if (conn.db.isOpen) conn.db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
        resolve();
      }),
    );
    // the store's close() stops it; it must not keep a process alive by itself
    this.#worker.unref();
  }

  /** Stops the worker and closes its connection (before the store closes its own). */
  async stop(): Promise<void> {
    // held until it has closed its connection: the store's close() is awaited on this
    this.#worker.ref();
    this.#worker.postMessage('stop');
    await this.#exited;
  }
}
