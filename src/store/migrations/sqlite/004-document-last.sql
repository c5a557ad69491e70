-- A run's document moves to the last column of its row (issue 12). Applied inside one
-- transaction by sqlite/migrate.ts. Append-only: never edit a released file, add the next
-- number instead.
--
-- SQLite stores a row's columns in order, and a value too large for the page goes on a chain
-- of overflow pages that must be walked to reach whatever comes after it. With the document
-- before node_count, created_at, ..., listing runs read every listed run's whole document
-- (120 MB read to list six runs of 20 MB: 60 ms instead of 0.3 ms). Last, it is read only by
-- the queries that select it.
--
-- SQLite cannot reorder columns: the old column is renamed, the new one added at the end
-- (its DEFAULT is only what ADD COLUMN needs for the rows already there; every insert gives a
-- document), filled, and the old one dropped, which rewrites each row. Dropping a column
-- neither deletes the row nor fires the nodes' ON DELETE CASCADE.
ALTER TABLE runs RENAME COLUMN document TO document_before_004;
ALTER TABLE runs ADD COLUMN document TEXT NOT NULL DEFAULT '';
UPDATE runs SET document = document_before_004;
ALTER TABLE runs DROP COLUMN document_before_004;
