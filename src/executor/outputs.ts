/**
 * Output capture (docs/architecture.md §6): a stdout line `KEY=VALUE` whose KEY is a declared output fills
 * that output; the last such line wins. Streams can be huge (`yes` prints hundreds of MB of
 * `y\n`), so the scanner never splits the stream into lines: it looks for `=` bytes with
 * native `indexOf` and decodes only the lines that contain one. Lines longer than
 * MAX_LINE_BYTES are ignored, which keeps the carry-over between chunks bounded.
 */

const NEWLINE = 0x0a;
const EQUALS = 0x3d;
export const MAX_LINE_BYTES = 64 * 1024;

/** Turns one decoded line into a `[key, value]` pair, or undefined when it is not one. */
export type LineParser = (line: string) => [string, string] | undefined;

export const parseKeyValue: LineParser = (line) => {
  const eq = line.indexOf('=');
  return eq > 0 ? [line.slice(0, eq), line.slice(eq + 1)] : undefined;
};

export class OutputCollector {
  readonly output: Record<string, string> = {};
  readonly #declared: Set<string>;
  readonly #parse: LineParser;
  /** bytes of the line still open at the end of the last chunk; null at a line start */
  #partial: Buffer[] | null = null;
  #partialLength = 0;

  constructor(declared: Iterable<string>, parse: LineParser = parseKeyValue) {
    this.#declared = new Set(declared);
    this.#parse = parse;
  }

  write(chunk: Buffer): void {
    if (this.#declared.size === 0) return;
    let pos = 0;
    if (this.#partial !== null) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        this.#carry(chunk);
        return;
      }
      this.#carry(chunk.subarray(0, nl));
      if (this.#partialLength <= MAX_LINE_BYTES) this.#line(Buffer.concat(this.#partial));
      this.#partial = null;
      pos = nl + 1;
    }
    const completeEnd = chunk.lastIndexOf(NEWLINE) + 1;
    let p = pos;
    while (p < completeEnd) {
      const eq = chunk.indexOf(EQUALS, p);
      if (eq === -1 || eq >= completeEnd) break;
      const start = chunk.lastIndexOf(NEWLINE, eq) + 1;
      const end = chunk.indexOf(NEWLINE, eq);
      if (end - start <= MAX_LINE_BYTES) this.#line(chunk.subarray(start, end));
      p = end + 1;
    }
    const rest = Math.max(pos, completeEnd);
    if (rest < chunk.length) {
      this.#partial = [];
      this.#partialLength = 0;
      this.#carry(chunk.subarray(rest));
    }
  }

  /** Call once the stream has ended: a last line without a newline still counts. */
  end(): void {
    if (this.#partial !== null && this.#partialLength <= MAX_LINE_BYTES) {
      this.#line(Buffer.concat(this.#partial));
    }
    this.#partial = null;
  }

  #carry(bytes: Buffer): void {
    this.#partialLength += bytes.length;
    // past the limit the line is ignored, so stop keeping its bytes
    if (this.#partialLength <= MAX_LINE_BYTES) this.#partial!.push(Buffer.from(bytes));
  }

  #line(bytes: Buffer): void {
    if (bytes.indexOf(EQUALS) === -1) return;
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const pair = this.#parse(text);
    if (pair !== undefined && this.#declared.has(pair[0])) this.output[pair[0]] = pair[1];
  }
}
