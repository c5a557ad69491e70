-- Runs and their nodes (docs/architecture.md §2, §5). Applied inside one transaction by postgres/migrate.ts,
-- which records this file in `baton_migrations` first. Append-only: never edit a released
-- file, add the next number instead. Names are unqualified: the store's search_path picks the
-- schema.
--
-- State codes are graph/states.ts's and are checked here so a bad code fails the whole
-- `apply` transaction instead of landing on disk. Adding a state code therefore needs a
-- migration (drop and re-add the CHECK); test/store/postgres.test.ts fails until it exists.
-- Times are epoch milliseconds in bigint, as in the SQLite store. Keys (ids, idempotency
-- keys) are text COLLATE "C": nothing needs them in a language's order, byte comparison is a
-- little faster than the database's locale (createRun of 10,000 nodes, median of 15: 50 ms
-- instead of 55), and no OS upgrade can change it under an index (a glibc collation change
-- silently corrupts the indexes of locale-collated text).

CREATE TABLE runs (
  -- the public id (a uuid from the API). text rather than uuid: the contract's ids are
  -- strings, and a uuid column would turn a lookup of a malformed id (GET /v1/tasks/foo) into
  -- an error instead of "not found", as the SQLite store answers
  id text COLLATE "C" PRIMARY KEY,
  -- listing order and cursors. An identity never goes back, so a cursor stays valid. Values
  -- are taken at insert, not at commit: a run whose transaction commits after a page with
  -- larger seqs was read appears on a later page of that walk if committed by then, and
  -- never twice
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  name text NOT NULL,
  state smallint NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2, 3, 4, 5, 10, 11)),
  -- text, not jsonb: the API returns the document verbatim (key order, numbers as written),
  -- which jsonb would not keep (it reorders keys and drops duplicates); nothing queries inside
  -- the document, so jsonb's parse on write and print on read would buy nothing
  document text NOT NULL,
  node_count integer NOT NULL CHECK (node_count >= 0),
  created_at bigint NOT NULL,
  started_at bigint,
  stopped_at bigint,
  error text,
  -- NULLs are distinct in a UNIQUE column: runs without a key never conflict
  idempotency_key text COLLATE "C" UNIQUE,
  -- the replica that drives the run and until when (database clock, epoch ms); both NULL
  -- when no replica holds it. See postgres/leases.ts.
  owner text,
  lease_expires_at bigint,
  CONSTRAINT runs_lease_check CHECK ((owner IS NULL) = (lease_expires_at IS NULL))
);

-- Listing by state (GET /v1/tasks?state=running) is one range scan already in seq order.
-- It also serves recovery's unfinished runs and lease claims (state IN (0, 2)).
CREATE INDEX runs_state_seq ON runs (state, seq);

-- The foreign key is checked row by row: it is half of createRun's time for 10,000 nodes
-- (50 ms with it, 21 ms without, median of 15), kept so that no node outlives or precedes its
-- run. The default fillfactor: 80 made a quarter of apply's updates HOT, as a dispatch grows
-- the row, with no measurable gain (1,000 node changes in 9-16 ms either way).
CREATE TABLE nodes (
  run_id text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node integer NOT NULL CHECK (node >= 0),
  state smallint NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2, 3, 4, 5, 10, 11)),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  started_at bigint,
  stopped_at bigint,
  -- output values, a JSON object of strings
  output jsonb CHECK (output IS NULL OR jsonb_typeof(output) = 'object'),
  error text,
  executor text,
  task_id text,
  PRIMARY KEY (run_id, node)
);
