-- Every CHECK form the generator translates, and neighbours it must refuse: the
-- property test runs each translated one against PostgreSQL.
CREATE TABLE forms (
    small int CONSTRAINT forms_small_check CHECK (small BETWEEN -5 AND 5),
    big bigint CONSTRAINT forms_big_check CHECK (big > 0 AND big <= 9000000000),
    exact int CONSTRAINT forms_exact_check CHECK (exact = 7),
    flipped int CONSTRAINT forms_flipped_check CHECK (10 > flipped),
    ratio numeric(6,3) CONSTRAINT forms_ratio_check CHECK (ratio >= 0.125 AND ratio < (1)::numeric),
    share double precision CONSTRAINT forms_share_check CHECK (share >= 0.1 AND share <= 0.3),
    code text CONSTRAINT forms_code_check CHECK (code ~ '^[A-Z]{2}-[0-9]+(\.[0-9]+)?$'),
    loose text CONSTRAINT forms_loose_check CHECK (loose ~ 'a.b'),
    label text CONSTRAINT forms_label_check CHECK (btrim(label) <> '' AND char_length(label) <= 5),
    word varchar(20) CONSTRAINT forms_word_check CHECK (word <> '' AND length(word) < 4),
    mode text CONSTRAINT forms_mode_check CHECK (mode IN ('a.b', 'c|d', 'é')),
    kind text CONSTRAINT forms_kind_check CHECK (kind = ANY (ARRAY['x'::text, 'y-z'::text])),
    digest bytea CONSTRAINT forms_digest_check CHECK (octet_length(digest) = 4),
    -- not translated: POSIX class, shorthand, two columns, <> on a number, a function
    spaced text CONSTRAINT forms_spaced_check CHECK (spaced ~ '^[[:alpha:]]+$'),
    digits text CONSTRAINT forms_digits_check CHECK (digits ~ '^\d+$'),
    pair int CONSTRAINT forms_pair_check CHECK (pair > small),
    other int CONSTRAINT forms_other_check CHECK (other <> 3),
    lowered text CONSTRAINT forms_lowered_check CHECK (lower(lowered) = lowered)
);

CREATE DOMAIN percent AS numeric CONSTRAINT percent_check CHECK (VALUE >= 0 AND VALUE <= 100);

-- Forms read through a schema function, type modifiers applied before the CHECK,
-- JSON objects, NaN, and CHECKs over several columns (RowChecks).
CREATE FUNCTION is_tidy(name text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT
    RETURN btrim(name, ' ') <> '' AND name !~ '[\u0001-\u001F\u00A0\u200B-\u200F]';

CREATE TABLE rows_of_forms (
    id int PRIMARY KEY,
    tidy text CONSTRAINT rows_tidy_check CHECK (is_tidy(tidy) AND char_length(tidy) <= 8),
    sized text CONSTRAINT rows_sized_check CHECK (char_length(sized) BETWEEN 2 AND 4),
    measure numeric(5, 4) CONSTRAINT rows_measure_check CHECK (measure >= 0 AND measure <= 1),
    reading double precision CONSTRAINT rows_reading_check CHECK (reading >= 0),
    doc jsonb CONSTRAINT rows_doc_check CHECK (jsonb_typeof(doc) = 'object'),
    short varchar(3),
    low int,
    high int,
    state text,
    closed_at timestamptz,
    CONSTRAINT rows_order_check CHECK (low <= high),
    CONSTRAINT rows_closed_check CHECK (
        CASE WHEN state = 'closed' THEN closed_at IS NOT NULL ELSE true END
    )
);
