/**
 * Schema migrations: numbered, append-only `.sql` files in `migrations/postgres/`, read and
 * checked as the SQLite ones are (`sqlite/migrate.ts` readMigrations). Several replicas may
 * start at once on one database, so:
 *
 * 1. The `baton_migrations` table (and the store's schema) is created under a transaction-level
 *    advisory lock keyed by the search_path: CREATE ... IF NOT EXISTS is not safe against a
 *    concurrent identical CREATE (both pass the check, one fails on the catalog's unique index).
 * 2. Each file is applied in its own transaction that first inserts its row into
 *    `baton_migrations`. A replica that gets there second blocks on that row's unique index
 *    until the first commits, then hits a unique violation: the file is applied, so it rolls
 *    back and goes on to the next (or, if the first rolled back, its insert goes through and it
 *    applies the file itself). A file must not contain BEGIN/COMMIT, nor statements that cannot
 *    run in a transaction (CREATE INDEX CONCURRENTLY).
 *
 * The resulting schema is dumped to `schema/postgres.sql` (see schema.ts);
 * test/store/postgres.test.ts fails when the two drift.
 */
import { DatabaseError } from 'pg';
import { type Migration, readMigrations as readFiles } from '../sqlite/migrate.ts';
import { type Client, transaction } from './db.ts';

export type { Migration };

export const MIGRATIONS_DIR = new URL('../migrations/postgres/', import.meta.url);

/** Reads and checks the migration files of `dir` (default: `migrations/postgres/`), in order. */
export function readMigrations(dir: URL | string = MIGRATIONS_DIR): Migration[] {
  return readFiles(dir);
}

const UNIQUE_VIOLATION = '23505';

class AlreadyApplied extends Error {}

/**
 * Creates `schema` if given and missing, and the migrations table in the first schema of the
 * search_path, once, whatever the number of replicas doing the same at the same time.
 */
async function bootstrap(client: Client, schema: string | undefined): Promise<void> {
  await transaction(client, async () => {
    await client.query(
      `SELECT pg_advisory_xact_lock(hashtext('baton_migrations'),
         hashtext(current_setting('search_path')))`,
    );
    // the name is checked against db.ts SCHEMA_NAME, so it needs no quoting
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS baton_migrations (
      id integer PRIMARY KEY,
      name text NOT NULL,
      applied_at bigint NOT NULL
    )`);
  });
}

/**
 * Brings the database up to the last of `migrations`, on `client` (not shared meanwhile).
 * Returns the ids it applied (none when another replica did, or on an up-to-date database).
 * Refuses a database that a newer Baton migrated further, or whose recorded migrations do
 * not match the files (a renamed or renumbered file).
 */
export async function migrate(
  client: Client,
  migrations: Migration[],
  schema?: string,
  now = Date.now,
): Promise<number[]> {
  await bootstrap(client, schema);
  const recorded = await client.query<{ id: number; name: string }>(
    'SELECT id, name FROM baton_migrations ORDER BY id',
  );
  const done = new Set<number>();
  for (const row of recorded.rows) {
    const known = migrations[row.id - 1];
    if (known === undefined) {
      throw new Error(
        `database has migration ${row.name}, unknown to this version: a newer Baton ` +
          'migrated it; upgrade Baton or use another schema',
      );
    }
    if (known.name !== row.name) {
      throw new Error(`database has migration ${row.name} where ${known.name} was expected`);
    }
    done.add(known.id);
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    try {
      await transaction(client, async () => {
        try {
          await client.query(
            `INSERT INTO baton_migrations (id, name, applied_at)
             VALUES ($1::integer, $2::text, $3::bigint)`,
            [migration.id, migration.name, now()],
          );
        } catch (err) {
          if (err instanceof DatabaseError && err.code === UNIQUE_VIOLATION) {
            throw new AlreadyApplied();
          }
          throw err;
        }
        // no parameters: the simple query protocol, which runs several statements
        await client.query(migration.sql);
        if (client.getTransactionStatus() !== 'T') {
          throw new Error('the file ended the transaction itself');
        }
      });
      applied.push(migration.id);
    } catch (err) {
      if (err instanceof AlreadyApplied) continue;
      throw new Error(`migration ${migration.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  return applied;
}
