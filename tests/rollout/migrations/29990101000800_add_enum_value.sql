-- Rollout test (tests/rollout): a new enum value.
--
-- ALTER TYPE ... ADD VALUE changes the catalog only and blocks no reads or writes
-- of the tables that use the type. The value cannot be used in the transaction
-- that adds it, and the release before it does not know it: a row that holds it
-- fails that release's model, so no service writes it until every running
-- release knows it (make compat lists what a release reads). Values cannot be
-- removed: the down section recreates the type without it.

-- migrate:up

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

ALTER TYPE defect_type ADD VALUE 'probe_mark' BEFORE 'other';

-- migrate:down

SET LOCAL lock_timeout = '5s';

ALTER TYPE defect_type RENAME TO defect_type_rollout_old;
CREATE TYPE defect_type AS ENUM (
    'scratch', 'void', 'contamination', 'particle', 'misalignment', 'short', 'open',
    'bridging', 'crack', 'burn', 'delamination', 'discoloration', 'missing_component',
    'solder_defect', 'corrosion', 'warpage', 'other'
);
ALTER TABLE defects ALTER COLUMN defect_type TYPE defect_type
    USING defect_type::text::defect_type;
DROP TYPE defect_type_rollout_old;
