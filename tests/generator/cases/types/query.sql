-- name: GetEverything :one
SELECT * FROM everything WHERE id = $1;

-- name: InsertEverything :exec
INSERT INTO everything (
    id, c_text, c_varchar, c_char, c_int2, c_int4, c_int8, c_numeric, c_float4, c_float8,
    c_bool, c_bytea, c_date, c_time, c_timetz, c_timestamp, c_timestamptz, c_interval,
    c_json, c_jsonb, c_inet, c_cidr, c_macaddr, c_money, c_int4range, c_tstzrange,
    c_daterange, c_numrange, c_int_array, c_text_matrix, c_mood, c_mood_array, c_grade,
    c_positive, c_labels, c_bits, c_point
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
    $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37
);

-- name: ListSamples :many
SELECT * FROM lab.samples ORDER BY id;

-- name: CountByGrade :many
SELECT grade, count(*) AS total FROM lab.samples GROUP BY grade ORDER BY grade;

-- name: Echo :one
SELECT $1::text AS echoed, now() AS at;
