-- Schedules (issue 8): a document fired on a cron pattern. Applied inside one transaction by
-- postgres/migrate.ts. Append-only: never edit a released file, add the next number instead.
-- Names are unqualified: the store's search_path picks the schema.
--
-- Runs a schedule fires are ordinary runs whose idempotency key is
-- `schedule:<id>:<occurrence epoch ms>`: the runs table's unique key is the link, and what
-- makes an occurrence fired twice (two replicas, a claim retried after its claimer died) one
-- run. Times are epoch milliseconds in bigint, as in the runs table.
CREATE TABLE schedules (
  id text COLLATE "C" PRIMARY KEY,
  name text NOT NULL,
  cron text NOT NULL,
  -- IANA name, canonical spelling
  timezone text NOT NULL,
  catchup text NOT NULL CHECK (catchup IN ('none', 'last', 'all')),
  -- normalized document JSON, as runs store it (text, not jsonb: see the runs table)
  document text NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  -- NULL: the pattern has no future occurrence
  next_fire_at bigint,
  last_fire_at bigint,
  -- a scheduler took it until then (see store.ts Schedules); NULL when nobody holds it.
  -- Judged by the claimer's clock (the scheduler's injected `now`), not the database's
  claimed_until bigint,
  -- why the scheduler paused it
  error text,
  created_at bigint NOT NULL
);

-- The scheduler's every-second question, "what is due?", is a range scan of the active
-- schedules' next occurrences.
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE NOT paused;
