/**
 * Where the server's JSON log lines go (stdout): written asynchronously, in batches, never
 * holding up the event loop (logger.ts).
 *
 * A line is queued and written at the end of the loop's turn, with the other lines of that
 * turn, by one write(2) on libuv's thread pool; while it is in flight, the lines logged
 * meanwhile wait for the next one. Under load that is one write per batch of lines, and the
 * loop never waits for a slow reader (a full pipe, a stalled disk). The queue is bounded: past `maxBuffered` characters, lines are dropped and counted,
 * and a warning with the count is written once the output has caught up.
 *
 * pino's own asynchronous destination (sonic-boom) measured the byte length of its whole
 * pending buffer on every line, up to 16 KiB each time: 6% of the server's time under load.
 *
 * Nothing queued is lost when the process ends: `end()` waits for the write in flight and
 * then writes the rest (an orderly shutdown), and on any other exit (`process.exit`, an
 * uncaught exception) the queue is written synchronously from the `exit` event. A write then
 * in flight on the thread pool is left to finish there. Only SIGKILL loses the queue.
 */
import { write, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import type { DestinationStream } from 'pino';

/** Characters held at most while the output does not keep up (16 Mi: 32 MiB of memory). */
export const MAX_BUFFERED_LOG_CHARS = 16 * 1024 * 1024;
/** A full non-blocking pipe answers EAGAIN: try again after this long. */
const RETRY_MS = 10;
/** At exit, how long to keep trying a full pipe before giving the lines up. */
const EXIT_RETRY_MS = 2000;
/** At an orderly shutdown, how long to wait for the output to take the queue. */
const END_WAIT_MS = 5000;

export class AsyncOutput implements DestinationStream {
  readonly #fd: number;
  readonly #maxBuffered: number;
  #queue: string[] = [];
  #queued = 0;
  /** the bytes of the write under way not yet written, while a retry timer holds them */
  #waiting: Buffer | undefined;
  #writing = false;
  #ended = false;
  /** EPIPE: nobody reads the output any more */
  #broken = false;
  #dropped = 0;
  #failure: string | undefined;
  #idle: Array<() => void> = [];
  #scheduled = false;
  readonly #start = () => {
    this.#scheduled = false;
    if (!this.#writing) this.#next();
  };
  readonly #onExit = () => this.#writeQueueNow();

  constructor(fd: number, maxBuffered = MAX_BUFFERED_LOG_CHARS) {
    this.#fd = fd;
    this.#maxBuffered = maxBuffered;
    process.on('exit', this.#onExit);
  }

  write(line: string): void {
    if (this.#broken) return;
    if (this.#ended) {
      this.#writeNow(Buffer.from(line));
      return;
    }
    if (this.#queued + line.length > this.#maxBuffered) {
      if (this.#dropped++ === 0) {
        // on stderr: the log itself is what overflows
        process.stderr.write(
          `baton: the log output does not keep up (${this.#queued} characters waiting); dropping log lines\n`,
        );
      }
      return;
    }
    this.#queue.push(line);
    this.#queued += line.length;
    if (!this.#writing && !this.#scheduled) {
      // at the end of this turn of the loop, with every line the turn logs
      this.#scheduled = true;
      setImmediate(this.#start);
    }
  }

  /**
   * Resolves once the queue is written (the write in flight included, for `END_WAIT_MS` at
   * most: a reader that stopped reading must not hold the shutdown); later lines are written
   * at once.
   */
  async end(): Promise<void> {
    if (this.#writing) {
      await new Promise<void>((resolve) => {
        this.#idle.push(resolve);
        setTimeout(resolve, END_WAIT_MS).unref();
      });
    }
    this.#ended = true;
    process.off('exit', this.#onExit);
    this.#writeQueueNow();
  }

  #next(): void {
    if (this.#dropped > 0 && this.#queue.length === 0) {
      const dropped = this.#dropped;
      this.#dropped = 0;
      this.#queue.push(
        `${JSON.stringify({
          level: 40,
          time: Date.now(),
          pid: process.pid,
          hostname: hostname(),
          dropped,
          msg: 'log lines were dropped: the log output did not keep up',
        })}\n`,
      );
    }
    if (this.#queue.length === 0 || this.#broken) {
      this.#writing = false;
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    this.#writing = true;
    const chunk = Buffer.from(this.#queue.length === 1 ? this.#queue[0] : this.#queue.join(''));
    this.#queue = [];
    this.#queued = 0;
    this.#send(chunk);
  }

  #send(chunk: Buffer): void {
    write(this.#fd, chunk, 0, chunk.length, null, (err, written) => {
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') {
        this.#waiting = chunk;
        setTimeout(() => {
          this.#waiting = undefined;
          this.#send(chunk);
        }, RETRY_MS).unref();
        return;
      }
      if (err) this.#failed(err);
      else if (written < chunk.length) {
        this.#send(chunk.subarray(written));
        return;
      }
      this.#next();
    });
  }

  /** Writes the queue (and a write waiting to be retried) synchronously. */
  #writeQueueNow(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    const queued = this.#queue.join('');
    this.#queue = [];
    this.#queued = 0;
    if (waiting) this.#writeNow(waiting);
    if (queued !== '') this.#writeNow(Buffer.from(queued));
  }

  #writeNow(chunk: Buffer): void {
    const giveUpAt = Date.now() + EXIT_RETRY_MS;
    let rest = chunk;
    while (rest.length > 0 && !this.#broken) {
      try {
        rest = rest.subarray(writeSync(this.#fd, rest));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > giveUpAt) {
          this.#failed(err as Error);
          return;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS);
      }
    }
  }

  #failed(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') {
      this.#broken = true;
      return;
    }
    // said once per kind of failure; the lines of that write are lost
    if (this.#failure !== code) {
      this.#failure = code;
      process.stderr.write(`baton: cannot write the log: ${err.message}\n`);
    }
  }
}
