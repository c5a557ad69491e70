-- Poison runs (issue 12). Applied inside one transaction by sqlite/migrate.ts. Append-only:
-- never edit a released file, add the next number instead.
--
-- Resumes of a run that did not get as far as a commit: the orchestrator counts one before it
-- resumes a run and resets the count once that committed, so a run whose resume keeps killing
-- the process keeps counting; past a bound the next start fails it instead of resuming it
-- (orchestrator.ts `maxResumes`).
ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0 CHECK (resumes >= 0);
