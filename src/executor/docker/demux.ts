/**
 * Splits the Docker Engine's multiplexed log stream (a container without a TTY) into stdout
 * and stderr. Each frame is an 8-byte header, `[stream, 0, 0, 0, size (uint32 big-endian)]`
 * with stream 1 = stdout and 2 = stderr (0, stdin, is never sent for logs), then `size`
 * bytes of payload. Chunks from the socket cut frames anywhere, headers included, so the
 * parser is a small state machine; payload is passed on as it arrives (slices of the chunk,
 * never a whole frame buffered), so a huge frame costs no memory here.
 */

export const STDOUT = 1;
export const STDERR = 2;

export type FrameSink = (stream: number, payload: Buffer) => void;

export class Demultiplexer {
  readonly #sink: FrameSink;
  readonly #header = Buffer.alloc(8);
  #headerLength = 0;
  /** payload bytes of the current frame still to come; 0 while reading a header */
  #remaining = 0;
  #stream = 0;

  constructor(sink: FrameSink) {
    this.#sink = sink;
  }

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#remaining === 0) {
        const n = Math.min(8 - this.#headerLength, chunk.length - at);
        chunk.copy(this.#header, this.#headerLength, at, at + n);
        this.#headerLength += n;
        at += n;
        if (this.#headerLength < 8) return;
        this.#headerLength = 0;
        this.#stream = this.#header[0];
        this.#remaining = this.#header.readUInt32BE(4);
        continue; // an empty frame leaves #remaining at 0: the next header follows
      }
      const n = Math.min(this.#remaining, chunk.length - at);
      this.#sink(this.#stream, chunk.subarray(at, at + n));
      this.#remaining -= n;
      at += n;
    }
  }

  /** Whether the stream ended between frames (false: it was cut inside one). */
  get complete(): boolean {
    return this.#remaining === 0 && this.#headerLength === 0;
  }
}
