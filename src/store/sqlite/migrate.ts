/**
 * Schema migrations: numbered, append-only `.sql` files in `migrations/sqlite/`
 * (`001-runs-and-nodes.sql`, `002-...`). Each is applied in its own transaction that first
 * records the file in `migrations`; when another process got there first, that insert hits
 * the primary key and the file is skipped. A file must not contain BEGIN/COMMIT.
 *
 * The resulting schema is dumped to `schema/sqlite.sql`; test/store/sqlite.test.ts fails when
 * the two drift.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { type Conn, transaction } from './conn.ts';

export const MIGRATIONS_DIR = new URL('../migrations/sqlite/', import.meta.url);

export interface Migration {
  /** the file's number, 1, 2, ... without gaps */
  id: number;
  /** the file name, e.g. `001-runs-and-nodes.sql` */
  name: string;
  sql: string;
}

const FILE_NAME = /^\d{3}-[a-z0-9][a-z0-9-]*\.sql$/;

/** Reads and checks the migration files of `dir`, in order. */
export function readMigrations(dir: URL | string = MIGRATIONS_DIR): Migration[] {
  const path = dir instanceof URL ? fileURLToPath(dir) : dir;
  const names = readdirSync(path)
    .filter((name) => name.endsWith('.sql'))
    .sort();
  for (const name of names) {
    if (!FILE_NAME.test(name))
      throw new Error(`migration ${name}: expected NNN-lowercase-name.sql`);
  }
  return names.map((name, index) => {
    const id = Number(name.slice(0, 3));
    if (id !== index + 1) {
      throw new Error(`migration ${name}: expected number ${String(index + 1).padStart(3, '0')}`);
    }
    return { id, name, sql: readFileSync(join(path, name), 'utf8') };
  });
}

const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS migrations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;

/** SQLITE_CONSTRAINT_PRIMARYKEY: the migration's row is there, another process applied it. */
const PRIMARY_KEY_CONFLICT = 1555;

class AlreadyApplied extends Error {}

/**
 * Brings the database up to the last of `migrations`. Returns the ids it applied (none on a
 * database that is up to date). Refuses a database that a newer Baton migrated further, or
 * whose recorded migrations do not match the files (a renamed or renumbered file).
 */
export function migrate(conn: Conn, migrations: Migration[], now = Date.now): number[] {
  conn.db.exec(BOOTSTRAP);
  const recorded = conn.stmt('SELECT id, name FROM migrations ORDER BY id').all();
  const done = new Set<number>();
  for (const row of recorded) {
    const known = migrations[(row.id as number) - 1];
    if (known === undefined) {
      throw new Error(
        `database has migration ${String(row.name)}, unknown to this version: a newer Baton ` +
          'migrated it; upgrade Baton or use another data directory',
      );
    }
    if (known.name !== row.name) {
      throw new Error(
        `database has migration ${String(row.name)} where ${known.name} was expected`,
      );
    }
    done.add(known.id);
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    try {
      transaction(conn, () => {
        try {
          conn
            .stmt('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)')
            .run(migration.id, migration.name, now());
        } catch (err) {
          if ((err as { errcode?: number }).errcode === PRIMARY_KEY_CONFLICT) {
            throw new AlreadyApplied();
          }
          throw err;
        }
        // A migration may edit sqlite_schema (005 changes CHECKs in place, as SQLite's ALTER
        // TABLE documentation describes), which the defensive flag forbids the rest of the time.
        conn.db.enableDefensive(false);
        try {
          conn.db.exec(migration.sql);
        } finally {
          conn.db.enableDefensive(true);
        }
        if (!conn.db.isTransaction) throw new Error('the file ended the transaction itself');
      });
      applied.push(migration.id);
    } catch (err) {
      if (err instanceof AlreadyApplied) continue;
      throw new Error(`migration ${migration.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  return applied;
}

const DUMP_HEADER = `-- Baton's SQLite schema after every migration in src/store/migrations/sqlite/.
-- Generated, do not edit: test/store/sqlite.test.ts fails when it drifts from the migrations.
-- Regenerate with: BATON_UPDATE_SCHEMA=1 npx node --test test/store/sqlite.test.ts
`;

/**
 * The schema of `db` as SQL text: every table, index, view and trigger as SQLite stored it,
 * in a stable order (SQLite's own objects such as sqlite_sequence and automatic indexes are
 * left out: they follow from the rest).
 */
export function dumpSchema(db: DatabaseSync): string {
  const rows = db
    .prepare(
      `SELECT sql FROM sqlite_schema
       WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
       ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END,
         name`,
    )
    .all();
  return `${DUMP_HEADER}${rows.map((row) => `\n${String(row.sql)};\n`).join('')}`;
}
