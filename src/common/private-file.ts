/**
 * Files only their owner may read: databases holding documents, args, outputs and task
 * records. Used by the orchestrator's SQLite store and by the executor's task store.
 */
import { chmodSync, closeSync, fchmodSync, openSync } from 'node:fs';

/**
 * Makes the database file at `path` readable by its owner only (0600), whatever the umask,
 * before SQLite opens it: runs, inputs and task records are nobody else's business. SQLite
 * creates its -wal and -shm files with the database file's permission bits (and fchmods them
 * past the umask), so they follow; files an older version left readable are narrowed here.
 */
export function makePrivate(path: string): void {
  const fd = openSync(path, 'a', 0o600); // creates it 0600 & ~umask, hence the fchmod
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
  for (const companion of [`${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      chmodSync(companion, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
