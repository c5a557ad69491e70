/**
 * Where local programs' exit statuses are recorded for a restarted executor (supervisor.ts
 * says who writes them, task-service.ts reads them after a crash). Both forms live in
 * DATA/exits and hold a shell's `$?` (the code, or 128+N after signal N):
 *   - `table`, the supervisor's: fixed slots of SLOT_BYTES, each `<task id> <status>`, padded
 *     with spaces, ending in a newline. A running task owns a slot until its end is in the
 *     task store, so a slot is rewritten in place (one write, no file created or removed per
 *     task) and a record names its task: a stale one names a task that is no longer running;
 *   - `<task id>`, one file per program run under the /bin/sh wrapper, holding `<status>\n`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const EXIT_TABLE = 'table';
export const SLOT_BYTES = 64;

/** A table slot saying how a task's program ended. */
export function exitRecord(taskId: string, status: number): Buffer {
  const record = Buffer.alloc(SLOT_BYTES, ' ');
  record.write(`${taskId} ${status}`.slice(0, SLOT_BYTES - 1));
  record[SLOT_BYTES - 1] = 0x0a;
  return record;
}

const SLOT = /^(\S+) (\d{1,3}) *\n$/;
const FILE = /^\d{1,3}\n$/;

/** Every exit status recorded in `exitsDir`, by task id. */
export function recordedExits(exitsDir: string): Map<string, number> {
  const exits = new Map<string, number>();
  let names: string[];
  try {
    names = readdirSync(exitsDir);
  } catch {
    return exits;
  }
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(path.join(exitsDir, name), 'latin1');
    } catch {
      continue;
    }
    if (name !== EXIT_TABLE) {
      if (FILE.test(text)) exits.set(name, Number(text.trim()));
      continue;
    }
    for (let at = 0; at + SLOT_BYTES <= text.length; at += SLOT_BYTES) {
      const slot = SLOT.exec(text.slice(at, at + SLOT_BYTES));
      if (slot) exits.set(slot[1], Number(slot[2]));
    }
  }
  return exits;
}
