/**
 * A `text/event-stream` parser (the WHATWG rules the UI's server needs: `event`, `data` over
 * several lines, comments, CR/LF/CRLF line ends, and events cut anywhere between chunks).
 * Pure: text in, events out. stream.ts reads the response body with it instead of using
 * EventSource, which cannot send an Authorization header.
 */

export interface SseMessage {
  /** the `event:` field; `message` when there was none */
  event: string;
  data: string;
}

export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    this.#buffer += text;
    let start = 0;
    for (;;) {
      const cr = this.#buffer.indexOf('\r', start);
      const lf = this.#buffer.indexOf('\n', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      // a CR at the very end may be the first half of a CRLF still on its way
      if (end === cr && end === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(start, end);
      start = end + (end === cr && this.#buffer[end + 1] === '\n' ? 2 : 1);
      this.#line(line, out);
    }
    this.#buffer = this.#buffer.slice(start);
    return out;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.#data.length > 0) {
        out.push({ event: this.#event || 'message', data: this.#data.join('\n') });
      }
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return; // a comment: the server's keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    // `id` and `retry` are not needed: a new connection starts with a fresh snapshot
  }
}
