-- Runs and their nodes (docs/architecture.md §2, §5). Applied inside one transaction by sqlite/migrate.ts,
-- which records this file in `migrations` first. Append-only: never edit a released file,
-- add the next number instead.
--
-- State codes are graph/states.ts's and are checked here so a bad code fails the whole
-- `apply` transaction instead of landing on disk. Adding a state code therefore needs a
-- migration (a table rebuild in SQLite); test/store/sqlite.test.ts fails until it exists.

-- `seq` is the rowid alias: monotonic (AUTOINCREMENT never reuses a value, even after a
-- delete) and unchanged by VACUUM, so listing cursors built on it stay valid. `id` (the
-- public uuid) is the key every other table and the API use.
CREATE TABLE runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2, 3, 4, 5, 10, 11)),
  document TEXT NOT NULL,
  node_count INTEGER NOT NULL CHECK (node_count >= 0),
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  stopped_at INTEGER,
  error TEXT,
  -- NULLs are distinct in a UNIQUE column: runs without a key never conflict
  idempotency_key TEXT UNIQUE
) STRICT;

-- Listing by state (GET /v1/tasks?state=running) is one range scan already in seq order.
-- It also serves recovery's unfinished runs (state IN (0, 2)): two range seeks and a sort of
-- the few unfinished rows. A partial index `ON runs (seq) WHERE state IN (0, 2)` was tried;
-- the planner still chose this one (EXPLAIN QUERY PLAN), so it would only cost writes.
CREATE INDEX runs_state_seq ON runs (state, seq);

-- WITHOUT ROWID: rows are stored in primary-key order, so a run's nodes are contiguous and
-- getNodes / bulk updates are one range scan.
CREATE TABLE nodes (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node INTEGER NOT NULL CHECK (node >= 0),
  state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2, 3, 4, 5, 10, 11)),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  started_at INTEGER,
  stopped_at INTEGER,
  -- output values as a JSON object text
  output TEXT CHECK (output IS NULL OR json_valid(output)),
  error TEXT,
  executor TEXT,
  task_id TEXT,
  PRIMARY KEY (run_id, node)
) STRICT, WITHOUT ROWID;
