-- Schedules (issue 8): a document fired on a cron pattern. Applied inside one transaction by
-- sqlite/migrate.ts. Append-only: never edit a released file, add the next number instead.
--
-- Runs a schedule fires are ordinary runs whose idempotency key is
-- `schedule:<id>:<occurrence epoch ms>`: the runs table's unique key is the link, and what
-- makes an occurrence fired twice one run. Times are epoch milliseconds.
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

-- The scheduler's every-second question, "what is due?", is a range scan of the active
-- schedules' next occurrences.
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE paused = 0;
