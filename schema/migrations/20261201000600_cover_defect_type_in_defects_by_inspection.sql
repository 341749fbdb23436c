-- DefectParetoOfLot counts a lot's defects by type and severity. Measured on the
-- plans dataset (make plans ANALYZE=1, the lot with the most inspections: 2,336
-- inspections, 22,936 defects), it read the whole defects table: type was not
-- in defects_inspection_id_severity_idx, so each defect meant a heap page, and
-- at that many the planner rightly preferred one sequential pass (151 ms). With
-- defect_type carried in the index (INCLUDE: stored, not a key), the count is an
-- index-only scan (14 ms). The new index replaces the old one: same key
-- columns, so every query the old one served it serves too, and two indexes of
-- the same keys would double the cost of every defect written.
-- The price: CountDefects without a filter read the narrower old index whole
-- (64 ms); the wider one costs more than a parallel sequential scan (77 ms),
-- so it now scans the table, marked as the deliberate full read it always was.
--
-- Locking: CREATE INDEX holds a SHARE lock on defects while it builds: reads
-- go on, defect ingest waits (1.3 s for 1,100,000 rows on the plans dataset,
-- growing with the table: hence the longer statement timeout; run it in a
-- quiet window). Not CONCURRENTLY: see 20261201000500. The old index goes in
-- the same transaction, so no moment has neither; its DROP takes ACCESS
-- EXCLUSIVE on defects, so reads wait too, from the drop to the commit right
-- after it (milliseconds), once the readers already running have finished
-- (lock_timeout 5s: the migration fails rather than queue behind a long one).

-- migrate:up

-- The drop is of an index this same transaction has just replaced.
-- squawk-ignore-file require-concurrent-index-deletion

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

-- Applied before squawk's rule was enforced: built under SHARE (see above), kept as applied.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX defects_inspection_id_severity_defect_type_idx
    ON defects (inspection_id, severity) INCLUDE (defect_type);
DROP INDEX defects_inspection_id_severity_idx;

-- migrate:down

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';

CREATE INDEX defects_inspection_id_severity_idx ON defects (inspection_id, severity);
DROP INDEX defects_inspection_id_severity_defect_type_idx;
