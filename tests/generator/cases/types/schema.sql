CREATE SCHEMA lab;
CREATE TYPE lab.grade AS ENUM ('a', 'b', 'c');
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', '1st place', 'in-progress');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE DOMAIN label_list AS text[];
CREATE TABLE everything (
    id uuid PRIMARY KEY,
    c_text text NOT NULL,
    c_varchar varchar(20),
    c_char char(3),
    c_int2 smallint,
    c_int4 integer,
    c_int8 bigint,
    c_numeric numeric(12, 4),
    c_float4 real,
    c_float8 double precision,
    c_bool boolean,
    c_bytea bytea,
    c_date date,
    c_time time,
    c_timetz time with time zone,
    c_timestamp timestamp,
    c_timestamptz timestamptz,
    c_interval interval,
    c_json json,
    c_jsonb jsonb,
    c_inet inet,
    c_cidr cidr,
    c_macaddr macaddr,
    c_money money,
    c_int4range int4range,
    c_tstzrange tstzrange,
    c_daterange daterange,
    c_numrange numrange,
    c_int_array integer[],
    c_text_matrix text[][],
    c_mood mood,
    c_mood_array mood[],
    c_grade lab.grade,
    c_positive positive_int,
    c_labels label_list,
    c_bits bit varying(8),
    c_point point
);
CREATE TABLE lab.samples (
    id serial PRIMARY KEY,
    grade lab.grade NOT NULL
);
