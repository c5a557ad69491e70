-- The state CHECK of runs and nodes, `state IN (0, 1, 2, 3, 4, 5, 10, 11)`, becomes
-- `state BETWEEN 0 AND 5 OR state BETWEEN 10 AND 11`: the same codes (graph/states.ts), and
-- the same answer for every row already stored. Applied inside one transaction by
-- sqlite/migrate.ts. Append-only: never edit a released file, add the next number instead.
--
-- SQLite evaluates an IN list of more than two values by filling a temporary index with it,
-- once per row written: most of the cost of every node state change (7.1 µs of CPU an UPDATE
-- instead of 2.5 µs), the server's most frequent write (issue 17).
--
-- A CHECK that every stored row already satisfies can be changed in place, as SQLite's
-- ALTER TABLE documentation describes (writable_schema), instead of copying both tables:
-- instant on any size of database. migrate.ts lifts the connection's defensive flag, which
-- forbids writing sqlite_schema, for the migrations only. RESET makes this connection read
-- the schema again; creating and dropping a table moves the schema cookie on, so that every
-- other connection reads it again too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(
  sql,
  'CHECK (state IN (0, 1, 2, 3, 4, 5, 10, 11))',
  'CHECK (state BETWEEN 0 AND 5 OR state BETWEEN 10 AND 11)'
)
WHERE type = 'table' AND name IN ('runs', 'nodes');
PRAGMA writable_schema = RESET;
CREATE TABLE migration_005_schema_cookie (x);
DROP TABLE migration_005_schema_cookie;
