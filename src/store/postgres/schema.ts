/**
 * The schema dump (`schema/postgres.sql`): the store's schema as SQL text, printed from the
 * catalogs of the first schema of the search_path. Catalog queries rather than pg_dump: no
 * client binary of the server's version needed, and a stable text (pg_dump adds SET lines,
 * version banners and, since 15.14, a random `\restrict` key to every dump).
 *
 * It prints tables (columns, defaults, identities, storage options), their constraints and
 * their other indexes, in pg_dump's order (tables, then constraints, then indexes) so the text
 * is also a script that recreates the schema. Other objects (views, functions, triggers,
 * types, sequences) are only named, as `-- not dumped:` lines: the test that recreates the
 * schema from the dump fails until this module learns to print the first one a migration adds.
 * Expressions are PostgreSQL's own rendering (pg_get_constraintdef, pg_get_indexdef), which may
 * differ between server versions: the dump in the repository is PostgreSQL 15's.
 */
import type { Client } from './db.ts';

const HEADER = `-- Baton's PostgreSQL schema after every migration in src/store/migrations/postgres/.
-- Generated, do not edit: test/store/postgres.test.ts fails when it drifts from the migrations.
-- Regenerate with: BATON_UPDATE_SCHEMA=1 npx node --test test/store/postgres.test.ts
`;

const NAMESPACE = '(SELECT oid FROM pg_namespace WHERE nspname = current_schema())';

interface ColumnRow {
  table_name: string;
  reloptions: string[] | null;
  column_name: string;
  type_name: string;
  not_null: boolean;
  identity: string;
  generated: string;
  default_sql: string | null;
  collation_name: string | null;
}

/** The schema that `client`'s search_path creates in, as SQL text. */
export async function dumpSchema(client: Client): Promise<string> {
  const columns = await client.query<ColumnRow>(
    `SELECT quote_ident(c.relname) AS table_name, c.reloptions,
       quote_ident(a.attname) AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type_name, a.attnotnull AS not_null,
       a.attidentity AS identity, a.attgenerated AS generated,
       pg_get_expr(d.adbin, d.adrelid) AS default_sql,
       CASE WHEN a.attcollation <> t.typcollation
         THEN (SELECT quote_ident(collname) FROM pg_collation WHERE oid = a.attcollation)
       END AS collation_name
     FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = ${NAMESPACE} AND c.relkind IN ('r', 'p')
     ORDER BY c.relname, a.attnum`,
  );
  // unique keys before the foreign keys that need them
  const constraints = await client.query<{ table_name: string; name: string; definition: string }>(
    `SELECT quote_ident(c.relname) AS table_name, quote_ident(con.conname) AS name,
       pg_get_constraintdef(con.oid) AS definition
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
     WHERE c.relnamespace = ${NAMESPACE} AND con.contype IN ('p', 'u', 'x', 'c', 'f')
     ORDER BY position(con.contype IN 'puxcf'), c.relname, con.conname`,
  );
  // pg_get_indexdef always names the table with its schema, which the dump leaves out
  const indexes = await client.query<{ definition: string }>(
    `SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(current_schema()) || '.',
         ' ON ') AS definition
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relnamespace = ${NAMESPACE}
       AND NOT EXISTS (SELECT FROM pg_constraint con
         WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
           AND con.contype IN ('p', 'u', 'x'))
     ORDER BY c.relname`,
  );
  const others = await client.query<{ kind: string; name: string }>(
    `SELECT kind, name FROM (
       SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
           WHEN 'S' THEN 'sequence' WHEN 'c' THEN 'composite type' ELSE 'relation' END AS kind,
         relname::text AS name
       FROM pg_class c
       WHERE relnamespace = ${NAMESPACE} AND relkind NOT IN ('r', 'p', 'i', 't')
         -- an identity column's sequence: printed as the column's GENERATED ... AS IDENTITY
         AND NOT (relkind = 'S' AND EXISTS (SELECT FROM pg_depend
           WHERE classid = 'pg_class'::regclass AND objid = c.oid AND deptype = 'i'))
       UNION ALL
       SELECT 'function', proname || '(' || pg_get_function_identity_arguments(oid) || ')'
       FROM pg_proc WHERE pronamespace = ${NAMESPACE}
       UNION ALL
       SELECT 'type', typname::text FROM pg_type
       WHERE typnamespace = ${NAMESPACE} AND typtype IN ('e', 'd', 'r', 'm')
       UNION ALL
       SELECT 'trigger', tgname || ' on ' || relname
       FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid
       WHERE relnamespace = ${NAMESPACE} AND NOT tgisinternal
     ) AS o ORDER BY kind, name`,
  );

  const tables = new Map<string, { options: string[] | null; lines: string[] }>();
  for (const row of columns.rows) {
    let table = tables.get(row.table_name);
    if (table === undefined) {
      table = { options: row.reloptions, lines: [] };
      tables.set(row.table_name, table);
    }
    table.lines.push(columnSql(row));
  }
  const parts: string[] = [];
  for (const [name, { options, lines }] of tables) {
    const storage = options === null ? '' : ` WITH (${options.join(', ')})`;
    parts.push(`CREATE TABLE ${name} (\n  ${lines.join(',\n  ')}\n)${storage};\n`);
  }
  const statements = [
    ...constraints.rows.map(
      (row) => `ALTER TABLE ONLY ${row.table_name} ADD CONSTRAINT ${row.name} ${row.definition};`,
    ),
    ...indexes.rows.map((row) => `${row.definition};`),
    ...others.rows.map((row) => `-- not dumped: ${row.kind} ${row.name}`),
  ];
  if (statements.length > 0) parts.push(`${statements.join('\n')}\n`);
  return `${HEADER}${parts.map((part) => `\n${part}`).join('')}`;
}

function columnSql(row: ColumnRow): string {
  let sql = `${row.column_name} ${row.type_name}`;
  if (row.collation_name !== null) sql += ` COLLATE ${row.collation_name}`;
  if (row.identity === 'a') sql += ' GENERATED ALWAYS AS IDENTITY';
  else if (row.identity === 'd') sql += ' GENERATED BY DEFAULT AS IDENTITY';
  if (row.generated === 's') sql += ` GENERATED ALWAYS AS (${row.default_sql}) STORED`;
  else if (row.default_sql !== null) sql += ` DEFAULT ${row.default_sql}`;
  if (row.not_null) sql += ' NOT NULL';
  return sql;
}
