"""The golden cases' generated packages, imported and run against real PostgreSQL.

Each test applies a case's schema.sql to a fresh database and calls its
generated functions, checking the Python types and values that come back.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from uuid import UUID, uuid4

import asyncpg
import pydantic
import pytest
from asyncpg import BitString, Point, Range

from tests.generator.golden import HERE, load


async def _connect(db_url: str, case: str) -> asyncpg.Connection:
    runtime = load(case, "_runtime")
    conn = await asyncpg.connect(db_url)
    await conn.execute((HERE / "cases" / case / "schema.sql").read_text())
    await runtime.init_connection(conn)
    return conn


@pytest.fixture
async def case_conn(
    request: pytest.FixtureRequest, empty_db_url: str
) -> AsyncIterator[asyncpg.Connection]:
    conn = await _connect(empty_db_url, request.param)
    yield conn
    await conn.close()


def case(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case_conn", [name], indirect=True)


@case("commands")
async def test_one_many_exec_commands_return_typed_values(case_conn: asyncpg.Connection) -> None:
    q = load("commands", "query")
    models = load("commands", "models")
    created = await q.create_widget(case_conn, name="bolt", weight=Decimal("1.250"))
    assert isinstance(created, models.Widget)
    assert created.weight == Decimal("1.250") and isinstance(created.weight, Decimal)
    assert created.created_at.tzinfo is not None
    light = await q.create_widget(case_conn, name="nut", weight=None)
    assert light.weight is None

    assert await q.get_widget(case_conn, id_=created.id) == created
    assert await q.get_widget(case_conn, id_=-1) is None
    assert [w.name for w in await q.list_widgets(case_conn)] == ["bolt", "nut"]
    assert await q.widget_names(case_conn) == ["bolt", "nut"]
    assert await q.count_widgets(case_conn) == 2
    summary = await q.widget_summary(case_conn, id_=created.id)
    assert summary is not None and summary.name == "bolt"
    assert type(summary).__name__ == "WidgetSummaryRow"

    assert await q.touch_widget(case_conn, id_=created.id) is None
    status = await q.rename_widget(case_conn, new_name="washer", old_name="nut")
    assert status == "UPDATE 1"
    assert await q.delete_heavy_widgets(case_conn, min_weight=Decimal("1")) == 1
    assert await q.delete_heavy_widgets(case_conn, min_weight=Decimal("1")) == 0


@case("bulk")
async def test_copyfrom_and_batches_write_and_return_rows(case_conn: asyncpg.Connection) -> None:
    q = load("bulk", "query")
    models = load("bulk", "models")
    rows = [
        q.CopyReadingsParams(f"s{i % 3}", float(i), models.Color.RED, {"i": i, "tags": ["a"]})
        for i in range(500)
    ]
    assert await q.copy_readings(case_conn, rows) == 500
    await q.insert_readings(case_conn, [q.InsertReadingsParams("b", 1.5, "green", {})])
    returned = await q.insert_readings_returning(
        case_conn, [q.InsertReadingsReturningParams("c", 2.5, models.Color.BLUE, [1, 2])] * 2
    )
    assert len(returned) == 2 and all(r is not None for r in returned)
    assert returned[0].color is models.Color.BLUE
    assert returned[0].meta == [1, 2]
    per_sensor = await q.readings_by_sensors(
        case_conn, [q.ReadingsBySensorsParams("b"), q.ReadingsBySensorsParams("c")]
    )
    assert [len(group) for group in per_sensor] == [1, 2]

    red = await q.readings_of_color(case_conn, color=models.Color.RED)
    assert len(red) == 500
    assert red[0].color is models.Color.RED  # an enum member, not a str
    assert red[0].meta == {"i": 0, "tags": ["a"]}  # jsonb as Python data


@case("bulk")
async def test_iterator_streams_inside_a_transaction(case_conn: asyncpg.Connection) -> None:
    q = load("bulk", "query")
    await q.copy_readings(
        case_conn, [q.CopyReadingsParams("s", float(i), "red", {}) for i in range(250)]
    )
    async with case_conn.transaction():
        seen = [
            r.value async for r in q.iter_readings_of_color(case_conn, color="red", prefetch=40)
        ]
    assert seen == [float(i) for i in range(250)]
    with pytest.raises(asyncpg.NoActiveSQLTransactionError):
        async for _ in q.iter_readings_of_color(case_conn, color="red"):
            pass


@case("bulk")
async def test_executemany_batch_is_all_or_nothing(case_conn: asyncpg.Connection) -> None:
    q = load("bulk", "query")
    good = q.InsertReadingsParams("ok", 1.0, "red", {})
    bad = q.InsertReadingsParams("bad", 2.0, "purple", {})
    with pytest.raises(asyncpg.InvalidTextRepresentationError):
        await q.insert_readings(case_conn, [good, bad])
    assert await case_conn.fetchval("SELECT count(*) FROM readings") == 0
    with pytest.raises(asyncpg.InvalidTextRepresentationError):
        await q.insert_readings_returning(
            case_conn,
            [q.InsertReadingsReturningParams(*good), q.InsertReadingsReturningParams(*bad)],
        )
    assert await case_conn.fetchval("SELECT count(*) FROM readings") == 0


@case("params")
async def test_arrays_slices_nullable_and_params_models(case_conn: asyncpg.Connection) -> None:
    q = load("params", "query")
    first = await q.create_event(
        case_conn, q.CreateEventParams(type_="login", from_="web", class_=None, tags=["x"], score=5)
    )
    second = await q.create_event(
        case_conn, q.CreateEventParams(type_="logout", from_=None, class_="b", tags=[], score=9)
    )
    assert isinstance(first, UUID)
    by_ids = await q.events_by_ids(case_conn, ids=[first, uuid4()])
    assert [(e.id, e.type) for e in by_ids] == [(first, "login")]
    assert await q.events_of_types(case_conn, types=["logout", "nope"]) == [second]
    assert await q.events_not_of_types(case_conn, types=["logout"]) == [first]
    updated = await q.update_event(case_conn, id_=first, class_="a")
    assert updated is not None
    assert (updated.type, updated.from_, updated.class_) == ("login", "web", "a")
    assert sorted(await q.events_between(case_conn, score=1, score_2=6)) == [first]


@case("types")
async def test_every_type_round_trips_as_its_python_type(case_conn: asyncpg.Connection) -> None:
    q = load("types", "query")
    models = load("types", "models")
    row_id = uuid4()
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    await q.insert_everything(
        case_conn,
        id_=row_id,
        c_text="t",
        c_varchar="v",
        c_char="abc",
        c_int2=2,
        c_int4=4,
        c_int8=8,
        c_numeric=Decimal("12.3456"),
        c_float4=1.5,
        c_float8=2.25,
        c_bool=True,
        c_bytea=b"\x00\x01",
        c_date=date(2026, 1, 2),
        c_time=time(3, 4),
        c_timetz=time(3, 4, tzinfo=UTC),
        c_timestamp=datetime(2026, 1, 2, 3, 4),
        c_timestamptz=moment,
        c_interval=timedelta(hours=5),
        c_json={"a": [1, None]},
        c_jsonb={"nested": {"deep": True}},
        c_inet=IPv4Interface("10.0.0.1/24"),
        c_cidr=IPv4Network("10.0.0.0/8"),
        c_macaddr="08:00:2b:01:02:03",
        c_money="12.50",
        c_int4range=Range(1, 5),
        c_tstzrange=Range(moment, None),
        c_daterange=Range(None, None),
        c_numrange=Range(Decimal(1), Decimal(2)),
        c_int_array=[1, 2, 3],
        c_text_matrix=[["a", "b"], ["c", "d"]],
        c_mood=models.Mood.HAPPY,
        c_mood_array=[models.Mood.SAD, models.Mood.V_1ST_PLACE],
        c_grade=models.LabGrade.B,
        c_positive=7,
        c_labels=["x", "y"],
        c_bits=BitString("101"),
        c_point=Point(1, 2),
    )
    row = await q.get_everything(case_conn, id_=row_id)
    assert row is not None
    assert row.c_numeric == Decimal("12.3456")
    assert row.c_timestamptz == moment and row.c_timestamptz.tzinfo is not None
    assert row.c_timestamp.tzinfo is None
    assert row.c_interval == timedelta(hours=5)
    assert row.c_json == {"a": [1, None]} and row.c_jsonb == {"nested": {"deep": True}}
    assert row.c_inet == IPv4Interface("10.0.0.1/24")
    assert row.c_cidr == IPv4Network("10.0.0.0/8")
    assert row.c_int4range == Range(1, 5)
    assert row.c_text_matrix == [["a", "b"], ["c", "d"]]
    assert row.c_mood is models.Mood.HAPPY
    assert row.c_mood_array == [models.Mood.SAD, models.Mood.V_1ST_PLACE]
    assert row.c_grade is models.LabGrade.B
    assert row.c_positive == 7 and row.c_labels == ["x", "y"]
    assert row.c_bits == BitString("101") and row.c_point == Point(1, 2)
    assert row.c_bytea == b"\x00\x01" and row.c_money == "$12.50"

    await case_conn.execute("INSERT INTO lab.samples (grade) VALUES ('a'), ('c'), ('c')")
    counts = await q.count_by_grade(case_conn)
    assert [(c.grade, c.total) for c in counts] == [(models.LabGrade.A, 1), (models.LabGrade.C, 2)]
    echoed = await q.echo(case_conn, echoed="hi")
    assert echoed is not None and echoed.echoed == "hi"
    assert isinstance(await q.get_everything(case_conn, id_=uuid4()), type(None))
    nulls = uuid4()
    await case_conn.execute("INSERT INTO everything (id, c_text) VALUES ($1, 'only')", nulls)
    sparse = await q.get_everything(case_conn, id_=nulls)
    assert sparse is not None and sparse.c_jsonb is None and sparse.c_inet is None
    assert isinstance(IPv4Address("10.0.0.1"), IPv4Address)


@case("embed")
async def test_embedded_tables_become_nested_models(case_conn: asyncpg.Connection) -> None:
    q = load("embed", "query")
    models = load("embed", "models")
    await case_conn.execute(
        "INSERT INTO authors (name) VALUES ('Ada'), ('Grace');"
        "INSERT INTO books (author_id, title) VALUES (2, 'Compilers'), (1, 'Notes')"
    )
    rows = await q.books_with_authors(case_conn)
    assert [(r.books.title, r.authors.name, r.title_length) for r in rows] == [
        ("Compilers", "Grace", 9),
        ("Notes", "Ada", 5),
    ]
    assert isinstance(rows[0].books, models.Book) and isinstance(rows[0].authors, models.Author)
    one = await q.book_with_author(case_conn, id_=2)
    assert one is not None and one.authors.name == "Ada"


@case("overrides")
async def test_column_override_validates_json_into_the_given_model(
    case_conn: asyncpg.Connection,
) -> None:
    q = load("overrides", "query")
    support = importlib.import_module("overrides_support")
    created = await q.create_device(
        case_conn, spec=support.DeviceSpec(voltage=3.3, pins=8), mac="08:00:2b:01:02:03"
    )
    assert created is not None
    assert isinstance(created.spec, support.DeviceSpec) and created.spec.pins == 8
    assert type(created).__name__ == "Machine"
    assert created.notes is None
    assert "Devices on the line." in (type(created).__doc__ or "")
    # A result override types a computed column: a JSON array of specs, as models.
    [gathered] = await q.devices_with_specs(case_conn)
    assert gathered.devices == 1
    assert gathered.specs == [created.spec]
    assert isinstance(gathered.specs[0], support.DeviceSpec)
    await case_conn.execute("""INSERT INTO devices (spec, mac) VALUES ('{"pins": "many"}',
                               '08:00:2b:01:02:04')""")
    with pytest.raises(ValueError, match="pins"):
        await q.device_specs(case_conn)
    with pytest.raises(ValueError, match="pins"):
        await q.devices_with_specs(case_conn)


@case("reserved")
async def test_columns_named_like_the_generated_code_own_names(
    case_conn: asyncpg.Connection,
) -> None:
    """`db`, `conn`, `prefetch`, `value`, `model_config`...: escaped, so the package
    imports and every argument reaches its own placeholder."""
    q = load("reserved", "query")
    await q.create_setting(
        case_conn,
        id_=1,
        db_="main",
        conn_="c1",
        prefetch_=7,
        value_=42,
        affected_rows_=3,
        model_config_={"strict": True},
        model_dump_=None,
    )
    [row] = await q.find_settings(case_conn, db_="main", conn_="c1", prefetch_=7)
    assert (row.db, row.conn, row.prefetch, row.value) == ("main", "c1", 7, 42)
    assert row.model_config_ == {"strict": True}
    assert row.model_dump_ is None
    async with case_conn.transaction():
        streamed = [
            r async for r in q.iter_find_settings(case_conn, db_="main", conn_="c1", prefetch_=7)
        ]
    assert streamed == [row]
    assert await q.value_of(case_conn, value_=42, model_config_={"strict": True}) == 42
    # `record` is a local of `:one` functions: escaped; `status` is not a local: kept.
    await case_conn.execute("UPDATE settings SET record = 'r1'")
    found = await q.get_by_record(case_conn, record_="r1")
    assert found is not None and found.id == 1
    assert await q.delete_by_status(case_conn, status="old") == 0
    # `error` is the except clause's name, `query_failed` and `build_row` helpers: escaped.
    await case_conn.execute("UPDATE settings SET build_row = 5")
    assert await q.flag_failures(case_conn, error_="boom", query_failed_=True, build_row_=5) == 1
    failed = await q.failed_setting(case_conn, error_="boom", query_failed_=True, build_row_=5)
    assert failed is not None and (failed.error, failed.query_failed) == ("boom", True)
    assert await q.delete_by_affected_rows(case_conn, affected_rows_=4) == 0
    assert await q.delete_by_affected_rows(case_conn, affected_rows_=3) == 1


@case("scalars")
async def test_one_column_results_are_read_by_position_and_validated(
    case_conn: asyncpg.Connection,
) -> None:
    """A lone column is the record's first value, whatever PostgreSQL calls it (`?column?`
    for `count(*) > 0`, `id` where sqlc says `g_id`), validated as its annotation."""
    q = load("scalars", "query")
    models = load("scalars", "models")
    labels = await q.add_gauge(case_conn, [q.AddGaugeParams(1, "a"), q.AddGaugeParams(2, None)])
    assert labels == ["a", None]  # :batchone of one column: values, not None.model_validate
    [large_id] = await q.add_gauge_returning_id(
        case_conn, [q.AddGaugeReturningIdParams(3, "c", models.GaugeKind.LARGE)]
    )
    assert isinstance(large_id, UUID)

    assert await q.gauge_exists(case_conn, serial_no=1) is True
    assert await q.gauge_exists(case_conn, serial_no=9) is False
    assert await q.gauges_exist(case_conn, serial_no=1) == [True, True]  # was KeyError: ''
    ids = await q.gauge_ids(case_conn)  # was KeyError: 'g_id'
    assert len(ids) == 3 and ids[2] == large_id and all(isinstance(i, UUID) for i in ids)
    async with case_conn.transaction():
        assert [i async for i in q.iter_gauge_ids(case_conn, prefetch=2)] == ids
    assert await q.gauge_labels(case_conn) == ["a", None, "c"]
    assert await q.upper_label(case_conn, serial_no=1) == "A"
    assert await q.upper_labels(case_conn) == ["A", None, "C"]  # option nullable
    kinds = await q.gauge_kinds(case_conn)
    assert kinds == [models.GaugeKind.SMALL, models.GaugeKind.SMALL, models.GaugeKind.LARGE]
    assert all(type(kind) is models.GaugeKind for kind in kinds)  # members, not str
    assert await q.gauge_tags(case_conn, serial_no=1) == []
    assert await q.gauge_spans(case_conn) == [Range(1, 5)] * 3
    async with case_conn.transaction():
        assert [s async for s in q.iter_gauge_spans(case_conn)] == [Range(1, 5)] * 3

    by_kind = await q.labels_of_kind(
        case_conn,
        [q.LabelsOfKindParams(models.GaugeKind.SMALL), q.LabelsOfKindParams("large")],
    )
    assert by_kind == [["a", None], ["c"]]
    doubled = await q.doubled_readings(case_conn, [q.DoubledReadingsParams(3)] * 2)
    assert doubled == [[Decimal("2.500")]] * 2  # sqlc says integer: an override says Decimal
    assert await q.total_reading(case_conn) == Decimal("3.750")
    assert await q.doubled_total(case_conn) == Decimal("7.500")  # unnamed: column_1
    days = await q.daily_times(
        case_conn, first_day=datetime(2026, 1, 1), last_day=datetime(2026, 1, 3)
    )
    assert days == [datetime(2026, 1, d) for d in (1, 2, 3)]  # sqlc says bigint


@case("scalars")
async def test_a_void_result_is_none_and_every_annotation_evaluates(
    case_conn: asyncpg.Connection,
) -> None:
    """`-> None | None` type-checked but raised TypeError when evaluated."""
    q = load("scalars", "query")
    async with case_conn.transaction():
        assert await q.lock_gauge(case_conn, pg_advisory_xact_lock=42) is None
    assert typing.get_type_hints(q.lock_gauge)["return"] is type(None)
    for function in (q.lock_gauge, q.add_gauge, q.iter_gauge_ids, q.gauge_spans):
        typing.get_type_hints(function)  # db: Executor too
    validated = pydantic.validate_call(config={"arbitrary_types_allowed": True})(q.lock_gauge)
    async with case_conn.transaction():
        assert await validated(case_conn, pg_advisory_xact_lock=7) is None


@case("nullable_scalars")
async def test_nullable_scalars_are_none_or_their_type_and_void_returns_nothing(
    case_conn: asyncpg.Connection,
) -> None:
    """Each nullable column's scalar is None for NULL and a value of its type otherwise;
    a function of the schema returning void runs and returns None (no adapter: issue 30)."""
    q = load("nullable_scalars", "query")
    empty = await q.add_probe(
        case_conn, q.AddProbeParams(**dict.fromkeys(q.AddProbeParams.model_fields))
    )
    seen_at = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    full = await q.add_probe(
        case_conn,
        q.AddProbeParams(
            hits=3,
            seen_on=date(2026, 3, 4),
            seen_at=seen_at,
            logged_at=datetime(2026, 3, 4, 5, 6),
            passed=False,
            note="",
            batch=UUID(int=5),
            origin=IPv4Interface("10.1.2.3/24"),
            doc={"a": [1, None]},
            reading=Decimal("1.50"),
        ),
    )
    readers = {
        q.probe_hits: 3,
        q.probe_seen_on: date(2026, 3, 4),
        q.probe_seen_at: seen_at,
        q.probe_logged_at: datetime(2026, 3, 4, 5, 6),
        q.probe_passed: False,
        q.probe_note: "",
        q.probe_batch: UUID(int=5),
        q.probe_origin: IPv4Interface("10.1.2.3/24"),
        q.probe_doc: {"a": [1, None]},
        q.probe_reading: Decimal("1.50"),
    }
    for read, value in readers.items():
        assert await read(case_conn, id_=empty) is None, read.__name__
        got = await read(case_conn, id_=full)
        # isinstance: asyncpg's UUID is a subclass of uuid.UUID, which pydantic keeps.
        assert got == value and isinstance(got, type(value)), read.__name__
        assert await read(case_conn, id_=-1) is None  # no row
    assert await q.probe_origins(case_conn) == [None, IPv4Interface("10.1.2.3/24")]
    async with case_conn.transaction():
        assert [o async for o in q.iter_probe_origins(case_conn)] == [
            None,
            IPv4Interface("10.1.2.3/24"),
        ]
    assert (await q.checked_at(case_conn)).tzinfo is not None
    assert set(await q.stamp(case_conn)) == {"at"}

    assert await q.forget_probe(case_conn, probe_id=empty) is None
    assert await q.probe_origins(case_conn) == [IPv4Interface("10.1.2.3/24")]
    assert typing.get_type_hints(q.forget_probe)["return"] is type(None)


@case("network")
async def test_network_addresses_come_back_as_addresses_interfaces_and_networks(
    case_conn: asyncpg.Connection,
) -> None:
    """inet is an address when its prefix covers the whole address, else an interface;
    cidr a network; in rows, scalars, lists, arrays and batches alike."""
    q = load("network", "query")
    subnet = IPv4Network("10.0.0.0/16")
    gateway = await q.add_host(
        case_conn,
        name="gw",
        address=IPv4Address("10.0.0.1"),
        subnet=subnet,
        gateway=None,
        aliases=[],
    )
    host = await q.add_host(
        case_conn,
        name="db",
        address=IPv4Interface("10.0.3.4/24"),
        subnet=subnet,
        gateway=gateway.address,
        aliases=[IPv4Address("10.0.3.5"), IPv4Interface("10.0.3.6/24")],
    )
    assert await q.get_host(case_conn, id_=host.id) == host
    assert type(host.address) is IPv4Interface and type(gateway.address) is IPv4Address
    assert await q.host_address(case_conn, name="db") == IPv4Interface("10.0.3.4/24")
    assert await q.host_address(case_conn, name="none") is None
    assert await q.host_gateway(case_conn, name="db") == IPv4Address("10.0.0.1")
    assert await q.host_gateway(case_conn, name="gw") is None
    assert await q.host_subnets(case_conn) == [subnet, subnet]
    async with case_conn.transaction():
        assert [s async for s in q.iter_host_subnets(case_conn)] == [subnet, subnet]
    assert await q.host_gateways(case_conn) == [None, IPv4Address("10.0.0.1")]
    assert await q.host_aliases(case_conn, name="db") == host.aliases
    assert [h.name for h in await q.hosts_in(case_conn, address=IPv4Network("10.0.2.0/23"))] == [
        "db"
    ]
    moved = await q.move_hosts(
        case_conn,
        [q.MoveHostsParams(IPv4Address("10.0.9.9"), "db"), q.MoveHostsParams(subnet[7], "x")],
    )
    assert moved == [IPv4Address("10.0.9.9"), None]


@case("rows")
async def test_rows_are_built_by_position_under_sqlc_names(case_conn: asyncpg.Connection) -> None:
    """Fields are named as sqlc names the columns; PostgreSQL names them otherwise
    (`id` for `t.id::uuid`, `?column?` for an expression), and two may share a name."""
    q = load("rows", "query")
    added = await q.add_samples(
        case_conn, [q.AddSamplesParams(1, "one"), q.AddSamplesParams(2, None)]
    )
    assert [(row.id is not None, row.column_2) for row in added if row] == [(True, 2), (True, 4)]
    rows = await q.cast_columns(case_conn)  # was "Field required" for t_id and t_n
    assert [row.t_n for row in rows] == [1, 2]
    assert all(isinstance(row.t_id, UUID) for row in rows)
    async with case_conn.transaction():
        assert [r async for r in q.iter_cast_columns(case_conn, prefetch=1)] == rows
    assert [(r.n, r.n_2) for r in await q.same_names(case_conn)] == [(1, 1), (2, 2)]
    both = await q.same_name_aliases(case_conn, n=1)
    assert both is not None and both.name == rows[0].t_id and both.name_2 == "one"
    taken = await q.suffix_taken(case_conn, n=2)
    assert taken is not None and (taken.n, taken.n_3, taken.n_2) == (2, 2, 3)
    unnamed = await q.unnamed(case_conn)
    assert unnamed is not None and (unnamed.column_1, unnamed.max, unnamed.column_3) == (
        True,
        2,
        2,
    )
    [first, second] = await q.aliased_names(case_conn)
    assert (first.class_, first.note_text, first.N) == (rows[0].t_id, "one", 1)
    assert second.note_text is None
    assert first.model_dump(by_alias=True)["Note Text"] == "one"
    over = await q.samples_over(case_conn, [q.SamplesOverParams(0), q.SamplesOverParams(1)])
    assert [[(r.s_n, r.note) for r in group] for group in over] == [
        [(1, "one"), (2, None)],
        [(2, None)],
    ]


@case("copyfrom")
async def test_copy_fills_the_insert_columns_whatever_its_parameters_are_called(
    case_conn: asyncpg.Connection,
) -> None:
    q = load("copyfrom", "query")
    users = [q.CopyUsersParams(i, f"user{i}") for i in range(1, 4)]
    assert await q.copy_users(case_conn, users) == 3  # was: column "id_param" does not exist
    reordered = [q.CopyUsersReorderedParams("late", date(2026, 2, 1), 10)]
    assert await q.copy_users_reordered(case_conn, reordered) == 1
    listed = await q.list_users(case_conn)
    assert [(u.id, u.user, u.joined) for u in listed] == [
        (1, "user1", None),
        (2, "user2", None),
        (3, "user3", None),
        (10, "late", date(2026, 2, 1)),
    ]
    stock = [q.CopyStockParams(1, "bolt", 5, "first"), q.CopyStockParams(2, "nut", 0, None)]
    assert await q.copy_stock(case_conn, stock) == 2
    assert [(s.Name, s.Quantity, s.order) for s in await q.list_stock(case_conn)] == [
        ("bolt", 5, "first"),
        ("nut", 0, None),
    ]


@case("copyfrom")
async def test_copy_failure_names_the_parameter_of_the_column_it_was_encoding(
    case_conn: asyncpg.Connection,
) -> None:
    """The handler hears the parameter in `rows` order; COPY's columns are in that order."""
    q = load("copyfrom", "query")
    runtime = load("copyfrom", "_runtime")
    failures = []

    def remember(error: Exception, failure: object) -> Exception:
        failures.append(failure)
        return error

    runtime.set_error_handler(remember)
    try:
        bad = q.CopyUsersReorderedParams("fine", date(2026, 1, 1), "not a number")
        with pytest.raises(Exception, match="copy_users_reordered"):
            await q.copy_users_reordered(case_conn, [q.CopyUsersReorderedParams("a", None, 1), bad])
    finally:
        runtime.set_error_handler(None)
    [failure] = failures
    assert (failure.row, failure.param(failure.column + 1)) == (1, "user_id")


@case("composites")
async def test_composite_values_round_trip_as_their_models(case_conn: asyncpg.Connection) -> None:
    q = load("composites", "query")
    models = load("composites", "models")
    here = models.Point3(x=1.5, y=None, z=-2.0)
    placement = models.Placement(
        label="shelf", at=here, grade=models.Grade.B, tags=["a", "b"], class_="x"
    )
    created = await q.create_thing(case_conn, name="box", location=here, placements=[placement])
    assert isinstance(created.location, models.Point3) and created.location == here
    assert created.placements == [placement]
    assert created.placements[0].grade is models.Grade.B  # an enum attribute, as its member
    assert await q.get_thing(case_conn, id_=created.id) == created
    assert await q.thing_location(case_conn, id_=created.id) == here
    # Compared with a parameter: sent with a cast to its type (PostgreSQL would take
    # a bare $1 for an anonymous record it cannot read).
    assert [row.id for row in await q.things_at(case_conn, location=here)] == [created.id]
    moved = await q.moved_thing(case_conn, id_=created.id)
    assert moved is not None and moved.moved == models.Point3(x=2.5, y=None, z=-2.0)
    assert await q.all_placements(case_conn) == [[placement]]


@case("builtin_names")
async def test_queries_named_like_builtins_run_under_escaped_names(
    case_conn: asyncpg.Connection,
) -> None:
    q = load("builtin_names", "query")
    item = await q.create_item(case_conn, name="a", score=-3)
    assert await q.list_(case_conn) == [item]
    assert await q.any_(case_conn, name="a") is True
    assert [row.id for row in await q.in_(case_conn, ids=[item.id])] == [item.id]
    assert await q.abs_(case_conn, id_=item.id) == 3
    for function in (q.list_, q.any_, q.in_, q.abs_, q.iter_list_):
        typing.get_type_hints(function)  # list[...] annotations evaluate beside list_
