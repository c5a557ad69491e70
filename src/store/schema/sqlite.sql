-- Baton's SQLite schema after every migration in src/store/migrations/sqlite/.
-- Generated, do not edit: test/store/sqlite.test.ts fails when it drifts from the migrations.
-- Regenerate with: BATON_UPDATE_SCHEMA=1 npx node --test test/store/sqlite.test.ts

CREATE TABLE migrations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT;

CREATE TABLE nodes (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node INTEGER NOT NULL CHECK (node >= 0),
  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 5 OR state BETWEEN 10 AND 11),
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

CREATE TABLE runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 5 OR state BETWEEN 10 AND 11),
  node_count INTEGER NOT NULL CHECK (node_count >= 0),
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  stopped_at INTEGER,
  error TEXT,
  -- NULLs are distinct in a UNIQUE column: runs without a key never conflict
  idempotency_key TEXT UNIQUE
, resumes INTEGER NOT NULL DEFAULT 0 CHECK (resumes >= 0), document TEXT NOT NULL DEFAULT '') STRICT;

CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  cron TEXT NOT NULL,
  -- IANA name, canonical spelling
  timezone TEXT NOT NULL,
  catchup TEXT NOT NULL CHECK (catchup IN ('none', 'last', 'all')),
  -- normalized document JSON, as runs store it
  document TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  -- NULL: the pattern has no future occurrence
  next_fire_at INTEGER,
  last_fire_at INTEGER,
  -- a scheduler took it until then (see store.ts Schedules); NULL when nobody holds it
  claimed_until INTEGER,
  -- why the scheduler paused it
  error TEXT,
  created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX runs_state_seq ON runs (state, seq);

CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE paused = 0;
