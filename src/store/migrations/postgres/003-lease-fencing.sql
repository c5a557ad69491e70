-- Lease fencing and poison runs (issue 12). Applied inside one transaction by
-- postgres/migrate.ts. Append-only: never edit a released file, add the next number instead.
--
-- lease_epoch is the fencing token of a run's lease: a claim that changes the owner adds one,
-- and `apply` writes a run's changes only while the writer's owner and epoch still match
-- (checked under the row's lock in the same transaction), so a replica that was frozen past
-- its lease cannot commit stale states over the new owner's. See postgres/leases.ts.
ALTER TABLE runs ADD COLUMN lease_epoch bigint NOT NULL DEFAULT 0;

-- Resumes of a run that did not get as far as a commit: the orchestrator counts one before it
-- resumes a run and resets the count once that committed, so a run whose resume keeps killing
-- its replica keeps counting; past a bound the next replica fails it instead of resuming it
-- (orchestrator.ts `maxResumes`).
ALTER TABLE runs ADD COLUMN resumes integer NOT NULL DEFAULT 0 CHECK (resumes >= 0);
