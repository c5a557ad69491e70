/**
 * A task's captured stdout/stderr in bounded memory: the first `keep` bytes, the last `keep`
 * bytes, and a count of what was dropped in between. A task printing gigabytes costs at most
 * 3 × keep bytes here (the tail is a window of twice its size, compacted when full, so each
 * byte is copied a bounded number of times).
 */
import type { LogSink } from './types.ts';

export const LOG_KEEP_BYTES = 64 * 1024;

export class LogBuffer implements LogSink {
  readonly #keep: number;
  readonly #head: Buffer;
  #headLength = 0;
  readonly #tail: Buffer;
  #tailLength = 0;
  #total = 0;

  constructor(keep = LOG_KEEP_BYTES) {
    this.#keep = keep;
    this.#head = Buffer.alloc(keep);
    this.#tail = Buffer.alloc(2 * keep);
  }

  get totalBytes(): number {
    return this.#total;
  }

  write(chunk: Buffer | string): void {
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#total += data.length;
    if (this.#headLength < this.#keep) {
      const n = Math.min(data.length, this.#keep - this.#headLength);
      data.copy(this.#head, this.#headLength, 0, n);
      this.#headLength += n;
      data = data.subarray(n);
    }
    if (data.length === 0) return;
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

  toString(): string {
    const head = this.#head.subarray(0, this.#headLength);
    const tailKept = Math.min(this.#tailLength, this.#keep);
    const tail = this.#tail.subarray(this.#tailLength - tailKept, this.#tailLength);
    const dropped = this.#total - head.length - tail.length;
    if (dropped === 0) return Buffer.concat([head, tail]).toString('utf8');
    return `${head.toString('utf8')}\n[... ${dropped} bytes truncated ...]\n${tail.toString('utf8')}`;
  }
}
