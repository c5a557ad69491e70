/**
 * listRuns cursors: the `seq` of the last run of a page, base64url-encoded so clients treat it
 * as opaque. Paging by `seq < cursor` is stable under inserts: a new run gets a larger seq and
 * never shifts the pages that follow.
 */
import { InvalidCursorError } from './store.ts';

export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^s([1-9][0-9]{0,15})$/.exec(text);
  const seq = match === null ? Number.NaN : Number(match[1]);
  // re-encoding catches what the lenient base64url decoder skipped (stray characters, padding)
  if (!Number.isSafeInteger(seq) || encodeCursor(seq) !== cursor) {
    throw new InvalidCursorError(`invalid cursor ${JSON.stringify(cursor.slice(0, 64))}`);
  }
  return seq;
}
