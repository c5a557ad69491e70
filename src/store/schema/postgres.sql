-- Baton's PostgreSQL schema after every migration in src/store/migrations/postgres/.
-- Generated, do not edit: test/store/postgres.test.ts fails when it drifts from the migrations.
-- Regenerate with: BATON_UPDATE_SCHEMA=1 npx node --test test/store/postgres.test.ts

CREATE TABLE baton_migrations (
  id integer NOT NULL,
  name text NOT NULL,
  applied_at bigint NOT NULL
);

CREATE TABLE nodes (
  run_id text COLLATE "C" NOT NULL,
  node integer NOT NULL,
  state smallint DEFAULT 0 NOT NULL,
  attempts integer DEFAULT 0 NOT NULL,
  started_at bigint,
  stopped_at bigint,
  output jsonb,
  error text,
  executor text,
  task_id text
);

CREATE TABLE runs (
  id text COLLATE "C" NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
  name text NOT NULL,
  state smallint DEFAULT 0 NOT NULL,
  document text NOT NULL,
  node_count integer NOT NULL,
  created_at bigint NOT NULL,
  started_at bigint,
  stopped_at bigint,
  error text,
  idempotency_key text COLLATE "C",
  owner text,
  lease_expires_at bigint,
  lease_epoch bigint DEFAULT 0 NOT NULL,
  resumes integer DEFAULT 0 NOT NULL
);

CREATE TABLE schedules (
  id text COLLATE "C" NOT NULL,
  name text NOT NULL,
  cron text NOT NULL,
  timezone text NOT NULL,
  catchup text NOT NULL,
  document text NOT NULL,
  paused boolean DEFAULT false NOT NULL,
  next_fire_at bigint,
  last_fire_at bigint,
  claimed_until bigint,
  error text,
  created_at bigint NOT NULL
);

ALTER TABLE ONLY baton_migrations ADD CONSTRAINT baton_migrations_pkey PRIMARY KEY (id);
ALTER TABLE ONLY nodes ADD CONSTRAINT nodes_pkey PRIMARY KEY (run_id, node);
ALTER TABLE ONLY runs ADD CONSTRAINT runs_pkey PRIMARY KEY (id);
ALTER TABLE ONLY schedules ADD CONSTRAINT schedules_pkey PRIMARY KEY (id);
ALTER TABLE ONLY runs ADD CONSTRAINT runs_idempotency_key_key UNIQUE (idempotency_key);
ALTER TABLE ONLY runs ADD CONSTRAINT runs_seq_key UNIQUE (seq);
ALTER TABLE ONLY nodes ADD CONSTRAINT nodes_attempts_check CHECK ((attempts >= 0));
ALTER TABLE ONLY nodes ADD CONSTRAINT nodes_node_check CHECK ((node >= 0));
ALTER TABLE ONLY nodes ADD CONSTRAINT nodes_output_check CHECK (((output IS NULL) OR (jsonb_typeof(output) = 'object'::text)));
ALTER TABLE ONLY nodes ADD CONSTRAINT nodes_state_check CHECK ((state = ANY (ARRAY[0, 1, 2, 3, 4, 5, 10, 11])));
ALTER TABLE ONLY runs ADD CONSTRAINT runs_lease_check CHECK (((owner IS NULL) = (lease_expires_at IS NULL)));
ALTER TABLE ONLY runs ADD CONSTRAINT runs_node_count_check CHECK ((node_count >= 0));
ALTER TABLE ONLY runs ADD CONSTRAINT runs_resumes_check CHECK ((resumes >= 0));
ALTER TABLE ONLY runs ADD CONSTRAINT runs_state_check CHECK ((state = ANY (ARRAY[0, 1, 2, 3, 4, 5, 10, 11])));
ALTER TABLE ONLY schedules ADD CONSTRAINT schedules_catchup_check CHECK ((catchup = ANY (ARRAY['none'::text, 'last'::text, 'all'::text])));
ALTER TABLE ONLY nodes ADD CONSTRAINT nodes_run_id_fkey FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE;
CREATE INDEX runs_state_seq ON runs USING btree (state, seq);
CREATE INDEX schedules_due ON schedules USING btree (next_fire_at) WHERE (NOT paused);
