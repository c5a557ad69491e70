-- Poison runs (issue 12). Applied inside one transaction by sqlite/migrate.ts. Append-only:
-- never edit a released file, add the next number instead.
--
-- Claims of an unfinished run since it was last released cleanly or made progress (leases
-- themselves live in memory: one process uses the file). A run that keeps being resumed
-- after crashes may be what crashes the process: past a bound the orchestrator fails it
-- instead of driving it (orchestrator.ts `maxResumes`).
ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0 CHECK (resumes >= 0);
