/**
 * A task's captured stdout/stderr in bounded memory: the first `keep` bytes, the last `keep`
 * bytes, and a count of what was dropped in between. A task printing gigabytes costs at most
 * 3 × keep bytes here (the tail is a window of twice its size, compacted when full, so each
 * byte is copied a bounded number of times). Memory is taken as output arrives, so the many
 * tasks that print a line or two cost a few hundred bytes, not 192 KiB each.
 */
import type { LogSink } from './types.ts';

export const LOG_KEEP_BYTES = 64 * 1024;

const EMPTY = Buffer.alloc(0);

export class LogBuffer implements LogSink {
  readonly #keep: number;
  /** grows (doubling) up to `keep` bytes */
  #head = EMPTY;
  #headLength = 0;
  /** allocated at 2 × keep once the head is full */
  #tail = EMPTY;
  #tailLength = 0;
  #total = 0;

  constructor(keep = LOG_KEEP_BYTES) {
    this.#keep = keep;
  }

  get totalBytes(): number {
    return this.#total;
  }

  write(chunk: Buffer | string): void {
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#total += data.length;
    if (this.#headLength < this.#keep) {
      const n = Math.min(data.length, this.#keep - this.#headLength);
      this.#growHead(this.#headLength + n);
      data.copy(this.#head, this.#headLength, 0, n);
      this.#headLength += n;
      data = data.subarray(n);
    }
    if (data.length === 0) return;
    if (this.#tail === EMPTY) this.#tail = Buffer.allocUnsafe(2 * this.#keep);
    if (data.length >= this.#keep) {
      data.copy(this.#tail, 0, data.length - this.#keep);
      this.#tailLength = this.#keep;
      return;
    }
    if (this.#tailLength + data.length > this.#tail.length) {
      // keep only the last `keep - data.length` bytes, then append: the window stays ≥ keep
      const retain = this.#keep - data.length;
      this.#tail.copyWithin(0, this.#tailLength - retain, this.#tailLength);
      this.#tailLength = retain;
    }
    data.copy(this.#tail, this.#tailLength);
    this.#tailLength += data.length;
  }

  #growHead(size: number): void {
    if (size <= this.#head.length) return;
    const grown = Buffer.allocUnsafe(
      Math.min(this.#keep, Math.max(size, 2 * this.#head.length, 256)),
    );
    this.#head.copy(grown, 0, 0, this.#headLength);
    this.#head = grown;
  }

  toString(): string {
    const head = this.#head.subarray(0, this.#headLength);
    const tailKept = Math.min(this.#tailLength, this.#keep);
    const tail = this.#tail.subarray(this.#tailLength - tailKept, this.#tailLength);
    const dropped = this.#total - head.length - tail.length;
    if (dropped === 0) return Buffer.concat([head, tail]).toString('utf8');
    return `${head.toString('utf8')}\n[... ${dropped} bytes truncated ...]\n${tail.toString('utf8')}`;
  }
}
