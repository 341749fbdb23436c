-- Enum values without letters are named by their characters' Unicode names; values
-- whose names would coincide are spelled out, or numbered when they differ in case only.
CREATE TYPE symbol AS ENUM ('#', '*', '<=', 'ok', 'in_progress', 'in-progress', 'Low', 'low', '1st');

CREATE TABLE marks (
    id bigserial PRIMARY KEY,
    symbol symbol NOT NULL,
    history symbol[]
);
