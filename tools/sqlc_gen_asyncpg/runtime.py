"""Support code shared by the generated query modules.

The plugin copies this module verbatim into every package it generates, as
`_runtime.py`: it may import only what a generated package may (the standard
library, asyncpg, pydantic, orjson), never the plugin.
"""

from __future__ import annotations

import gc
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    NoReturn,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
    runtime_checkable,
)

import orjson
from asyncpg import Connection as _Connection
from asyncpg import Record
from asyncpg.pool import PoolConnectionProxy
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    JsonValue,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import (
    CoreSchema,
    InitErrorDetails,
    PydanticCustomError,
    SchemaValidator,
    core_schema,
)

# A single connection, for what needs one (server-side cursors, a transaction's
# statements). asyncpg's classes take no type arguments at run time, where
# annotations are evaluated too (typing.get_type_hints, pydantic's validate_call,
# FastAPI).
if TYPE_CHECKING:
    Connection: TypeAlias = _Connection[Record] | PoolConnectionProxy[Record]
else:
    Connection: TypeAlias = _Connection | PoolConnectionProxy


@runtime_checkable
class Executor(Protocol):
    """What the query functions run on: anything with asyncpg's query methods. A
    connection (pooled or not), a pool and a cluster handle all are, without
    inheriting from anything: the methods are the contract. Runtime-checkable, so
    that pydantic's `validate_call` and FastAPI can check an argument against it."""

    async def execute(self, query: str, *args: Any, timeout: float | None = ...) -> str: ...

    async def executemany(
        self, command: str, args: Iterable[Sequence[Any]], *, timeout: float | None = ...
    ) -> None: ...

    async def fetch(self, query: str, *args: Any, timeout: float | None = ...) -> list[Record]: ...

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = ...
    ) -> Record | None: ...

    async def fetchval(
        self, query: str, *args: Any, column: int = ..., timeout: float | None = ...
    ) -> Any: ...

    async def copy_records_to_table(
        self,
        table_name: str,
        *,
        records: Iterable[Sequence[Any]] | AsyncIterable[Sequence[Any]],
        columns: Iterable[str] | None = ...,
        schema_name: str | None = ...,
        timeout: float | None = ...,
    ) -> str: ...


@runtime_checkable
class Pooled(Protocol):
    """An executor that lends connections (a pool, a cluster handle): what a batch
    needs to run its statements in one transaction on one connection."""

    def acquire(self) -> AbstractAsyncContextManager[Connection]: ...


M = TypeVar("M", bound=BaseModel)


class ReadOnly:
    """An executor meant for reads only: a replica's pool, or a connection of a
    read-only role. The generated queries that only read accept it; mypy refuses
    it for one that writes.

        reporting = ReadOnly(replica_pool)
        lots = await list_lots(reporting, params)      # fine
        await create_lot(reporting, params)            # mypy: incompatible type
    """

    __slots__ = ("executor",)

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[Record]:
        return await self.executor.fetch(query, *args, timeout=timeout)

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> Record | None:
        return await self.executor.fetchrow(query, *args, timeout=timeout)

    async def fetchval(
        self, query: str, *args: Any, column: int = 0, timeout: float | None = None
    ) -> Any:
        return await self.executor.fetchval(query, *args, column=column, timeout=timeout)


ReadExecutor: TypeAlias = Executor | ReadOnly
"""What a query that only reads runs on: any executor, or a ReadOnly one."""


R = TypeVar("R")


class CacheLookup(Protocol):
    """What a result cache says of a query and its parameters: a current result
    (`hit`, `value`), or the executor to run the query on (`reader`: where it would
    have gone, with what the cache needs around it) and `keep`, which the generated
    function hands the result to before returning it (stored, made read-only)."""

    hit: bool
    value: Any
    reader: ReadExecutor

    def keep(self, result: R) -> R: ...


class ResultCache(Protocol):
    """A cache of the results of the queries marked `-- @cache <ttl>` (chip_quality_db's
    `enable_cache` puts one on a pool or a cluster handle)."""

    def lookup(self, query: str, key: Hashable) -> Awaitable[CacheLookup]: ...


def result_cache(db: object) -> ResultCache | None:
    """The result cache of `db`, or None. Only a pool or handle a cache was enabled on
    has one: a connection (in a transaction or not) and a ReadOnly run every query."""
    cache: ResultCache | None = getattr(db, "result_cache", None)
    return cache


# The errors of pydantic's limits; a value of the wrong type is not a check violation.
_LIMIT_ERRORS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "bytes_too_short",
        "bytes_too_long",
        "too_short",
        "too_long",
    }
)


def _is_nan(value: Any) -> bool:
    """A float or Decimal NaN (a signalling Decimal NaN too, which no comparison takes)."""
    if isinstance(value, Decimal):
        return value.is_nan()
    return isinstance(value, float) and value != value


def _json_holds_nul(value: JsonValue) -> bool:
    """Whether a JSON document has NUL in a key or a string (jsonb refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _json_holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_holds_nul(item) for item in value)
    return False


class Check:
    """A CHECK constraint of the schema as pydantic limits on the value that fills its
    column, so bad input is refused before the round trip; the error names the
    constraint, as the database would (error type `check_violation`).

        confidence: Annotated[Decimal, Numeric(5, 4), DEFECTS_CONFIDENCE_CHECK] | None = None

    The limits apply to the value as the column stores it: after the annotations
    before this one (a numeric column's rounding), as PostgreSQL applies the column's
    type before its CHECKs. NaN is ordered as PostgreSQL orders it, above every
    number: it passes `ge`/`gt` and fails `le`/`lt`. `json_type="object"` is
    `jsonb_typeof(col) = 'object'`.
    """

    __slots__ = ("constraint", "limits", "pattern_of")

    def __init__(self, constraint: str, *, pattern_of: str = "", **limits: Any) -> None:
        self.constraint = constraint
        self.limits = limits
        self.pattern_of = pattern_of  # the schema function the pattern comes from

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        field_limits = {k: v for k, v in self.limits.items() if k != "json_type"}
        # A function's pattern is long: the error names the function instead.
        pattern_message = f"{self.pattern_of}() is false for it" if self.pattern_of else ""
        limited = (
            SchemaValidator(handler.generate_schema(Annotated[source, Field(**field_limits)]))
            if field_limits
            else None
        )
        json_object = self.limits.get("json_type") == "object"
        nan_passes = not ({"le", "lt"} & field_limits.keys())
        constraint = self.constraint

        def refused(reason: str) -> PydanticCustomError:
            return PydanticCustomError(
                "check_violation",
                "breaks {constraint}: {reason}",
                {"constraint": constraint, "reason": reason},
            )

        def checked(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> Any:
            value = validate(value)  # the type, and the annotations before this one
            if isinstance(value, str) and "\x00" in value:
                raise PydanticCustomError(
                    "string_with_nul", "text cannot hold the character NUL (0x00)"
                )
            if json_object:
                document: JsonValue = value  # a json column's value, as validated above
                if not isinstance(document, dict):
                    raise refused("the value is not a JSON object")
                if _json_holds_nul(document):
                    raise PydanticCustomError(
                        "string_with_nul", "jsonb cannot hold the character NUL (\\u0000)"
                    )
            if _is_nan(value):
                if nan_passes:
                    return value
                raise refused("NaN is above every number")
            try:
                return limited.validate_python(value, strict=True) if limited else value
            except ValidationError as error:
                if not all(e["type"] in _LIMIT_ERRORS for e in error.errors()):
                    raise
                reasons = [
                    pattern_message
                    if e["type"] == "string_pattern_mismatch" and pattern_message
                    else e["msg"]
                    for e in error.errors()
                ]
                raise refused("; ".join(reasons)) from None

        return core_schema.no_info_wrap_validator_function(checked, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        """The limits in the JSON Schema too, where JSON Schema can say them, so an API
        built on the model documents what it refuses (and clients and test generators
        send what it accepts). A schema function's pattern stays out: it is written
        for the Rust regex engine pydantic validates with (`\\x{1F}`), which neither
        JSON Schema's ECMA-262 dialect nor Python's `re` reads."""
        json_schema: dict[str, Any] = handler(schema)
        for limit, keyword in _JSON_SCHEMA_LIMITS.items():
            if limit in self.limits:
                json_schema[keyword] = self.limits[limit]
        pattern = self.limits.get("pattern")
        if isinstance(pattern, str) and not self.pattern_of and _portable(pattern):
            json_schema["pattern"] = pattern.removeprefix("(?s)")
        if self.limits.get("json_type") == "object":
            json_schema["type"] = "object"
        return json_schema


_JSON_SCHEMA_LIMITS = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "ge": "minimum",
    "gt": "exclusiveMinimum",
    "le": "maximum",
    "lt": "exclusiveMaximum",
}


def _portable(pattern: str) -> bool:
    """Whether a translated `~` pattern means the same in JSON Schema: no `.` (the
    translation's `(?s)` lets it match a newline, ECMA-262's does not) and no escape
    but of punctuation (`\\d`, `\\x{..}` differ between dialects)."""
    body = pattern.removeprefix("(?s)")
    escaped = [body[i + 1] for i, char in enumerate(body[:-1]) if char == "\\"]
    literal_dots = body.replace("\\.", "")
    return all(not char.isalnum() for char in escaped) and "." not in _outside_brackets(
        literal_dots
    )


def _outside_brackets(pattern: str) -> str:
    """`pattern` without its bracket expressions (`[...]`)."""
    kept: list[str] = []
    depth = 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif not depth:
            kept.append(char)
    return "".join(kept)


class Numeric:
    """A `numeric(precision, scale)` column's type modifier: the value is rounded to
    the column's scale, half away from zero, and refused when it then has more
    digits before the point than the column holds, as PostgreSQL does before any
    CHECK runs. The rounded value is the one sent.

        confidence: Annotated[Decimal, Numeric(5, 4), DEFECTS_CONFIDENCE_CHECK] | None
    """

    __slots__ = ("precision", "scale")

    def __init__(self, precision: int, scale: int = 0) -> None:
        self.precision = precision
        self.scale = scale

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        step = Decimal(1).scaleb(-self.scale)
        integer_digits = self.precision - self.scale
        # Enough digits for any value below the limit at this scale, and rounding that
        # takes a tie away from zero (Python's ROUND_HALF_UP).
        context = Context(prec=max(self.precision, 1) + 2, rounding=ROUND_HALF_UP)
        type_name = f"numeric({self.precision},{self.scale})"

        def overflow() -> PydanticCustomError:
            return PydanticCustomError(
                "numeric_field_overflow",
                "numeric field overflow: a {type_name} holds less than 10^{digits}",
                {"type_name": type_name, "digits": integer_digits},
            )

        def rounded(value: Decimal) -> Decimal:
            if value.is_nan():
                return Decimal("NaN")  # fits any numeric (PostgreSQL has no signalling NaN)
            if value.is_infinite() or (not value.is_zero() and value.adjusted() >= integer_digits):
                raise overflow()
            value = value.quantize(step, context=context)
            if value.adjusted() >= integer_digits and not value.is_zero():
                raise overflow()  # 9.99995 as numeric(5,4) rounds to 10.0000
            return value.copy_abs() if value.is_zero() else value

        as_decimal = core_schema.decimal_schema(allow_inf_nan=True)
        return core_schema.chain_schema(
            [as_decimal, core_schema.no_info_plain_validator_function(rounded)]
        )


class Int:
    """An integer column's range: `Int(2)`, `Int(4)`, `Int(8)` refuse what a smallint,
    an integer or a bigint cannot hold, as PostgreSQL does ("integer out of range")."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        limit = 2 ** (8 * self.size - 1)
        type_name = {2: "smallint", 4: "integer", 8: "bigint"}[self.size]

        def in_range(value: int) -> int:
            if not -limit <= value < limit:
                raise PydanticCustomError(
                    "numeric_value_out_of_range",
                    "{type_name} out of range",
                    {"type_name": type_name},
                )
            return value

        return core_schema.no_info_after_validator_function(in_range, handler(source))


class VarChar:
    """A `varchar(n)` column's limit: a longer text is refused unless what is beyond
    `n` characters is spaces, which are cut off, as PostgreSQL does on assignment."""

    __slots__ = ("length",)
    type_name = "character varying"

    def __init__(self, length: int) -> None:
        self.length = length

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        length = self.length
        type_name = f"{self.type_name}({length})"

        def fitted(value: str) -> str:
            if len(value) <= length:
                return value
            if value[length:].strip(" "):
                raise PydanticCustomError(
                    "string_data_right_truncation",
                    "value too long for type {type_name}",
                    {"type_name": type_name},
                )
            return value[:length]

        return core_schema.no_info_after_validator_function(fitted, handler(source))


class Char(VarChar):
    """A `char(n)` column's limit, as VarChar's (PostgreSQL pads a shorter text with
    spaces that comparisons ignore)."""

    __slots__ = ()
    type_name = "character"


class _Unknown:
    """A column whose value the parameters do not decide (a partial update keeps it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def given(value: Any) -> Any:
    """A parameter of `coalesce($N, ...)`: None keeps what the column holds, UNKNOWN."""
    return UNKNOWN if value is None else value


class Expr:
    """A CHECK expression over several columns, evaluated as PostgreSQL does: NULL is
    None, and UNKNOWN (a value the parameters do not decide) makes undecided what it
    touches. `value(row)` is the expression's value for a mapping of column values."""

    __slots__ = ()

    def value(self, row: dict[str, Any]) -> Any:
        raise NotImplementedError


class Column(Expr):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def value(self, row: dict[str, Any]) -> Any:
        return row.get(self.name, UNKNOWN)


class Const(Expr):
    __slots__ = ("constant",)

    def __init__(self, constant: Any) -> None:
        self.constant = constant

    def value(self, row: dict[str, Any]) -> Any:
        return self.constant


def _undecided(*values: Any) -> Any:
    """UNKNOWN if any value is, else None if any is NULL, else False (decided)."""
    if any(v is UNKNOWN for v in values):
        return UNKNOWN
    return None if any(v is None for v in values) else False


def _ordered(value: Any) -> tuple[int, Any]:
    """PostgreSQL's order of numbers: NaN equals NaN and is above every number."""
    return (1, 0) if _is_nan(value) else (0, value)


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "<>": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


class Compare(Expr):
    __slots__ = ("left", "operator", "right")

    def __init__(self, left: Expr, operator: str, right: Expr) -> None:
        self.left, self.operator, self.right = left, operator, right

    def value(self, row: dict[str, Any]) -> Any:
        left, right = self.left.value(row), self.right.value(row)
        if _undecided(left, right) is not False:
            return _undecided(left, right)
        if isinstance(left, float | Decimal) or isinstance(right, float | Decimal):
            left, right = _ordered(left), _ordered(right)
        return _COMPARISONS[self.operator](left, right)


class Arithmetic(Expr):
    __slots__ = ("left", "operator", "right")

    def __init__(self, left: Expr, operator: str, right: Expr) -> None:
        self.left, self.operator, self.right = left, operator, right

    def value(self, row: dict[str, Any]) -> Any:
        left, right = self.left.value(row), self.right.value(row)
        if _undecided(left, right) is not False:
            return _undecided(left, right)
        return left + right if self.operator == "+" else left - right


class IsNull(Expr):
    __slots__ = ("negated", "operand")

    def __init__(self, operand: Expr, negated: bool = False) -> None:
        self.operand, self.negated = operand, negated

    def value(self, row: dict[str, Any]) -> Any:
        operand = self.operand.value(row)
        return UNKNOWN if operand is UNKNOWN else (operand is None) != self.negated


class _Junction(Expr):
    """AND or OR of its operands: one `decisive` value decides (FALSE for AND, TRUE for
    OR); else NULL or UNKNOWN among them leaves it undecided."""

    __slots__ = ("operands",)
    decisive: bool

    def __init__(self, *operands: Expr) -> None:
        self.operands = operands

    def value(self, row: dict[str, Any]) -> Any:
        values = [operand.value(row) for operand in self.operands]
        if self.decisive in values:
            return self.decisive
        return _undecided(*values) if None in values or UNKNOWN in values else not self.decisive


class And(_Junction):
    __slots__ = ()
    decisive = False


class Or(_Junction):
    __slots__ = ()
    decisive = True


class Not(Expr):
    __slots__ = ("operand",)

    def __init__(self, operand: Expr) -> None:
        self.operand = operand

    def value(self, row: dict[str, Any]) -> Any:
        operand = self.operand.value(row)
        return operand if operand is None or operand is UNKNOWN else not operand


class When(Expr):
    """WHEN condition THEN result, a branch of a Case."""

    __slots__ = ("condition", "result")

    def __init__(self, condition: Expr, result: Expr) -> None:
        self.condition, self.result = condition, result


class Case(Expr):
    """CASE WHEN ... THEN ... ELSE default END: Case(When(...), ..., default)."""

    __slots__ = ("branches", "default")

    def __init__(self, *parts: Expr) -> None:
        self.branches = tuple(part for part in parts[:-1] if isinstance(part, When))
        self.default = parts[-1]

    def value(self, row: dict[str, Any]) -> Any:
        for branch in self.branches:
            taken = branch.condition.value(row)
            if taken is UNKNOWN:
                return UNKNOWN
            if taken is True:
                return branch.result.value(row)
        return self.default.value(row)


class Coalesce(Expr):
    __slots__ = ("operands",)

    def __init__(self, *operands: Expr) -> None:
        self.operands = operands

    def value(self, row: dict[str, Any]) -> Any:
        for operand in self.operands:
            value = operand.value(row)
            if value is not None:
                return value
        return None


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "boolean" if isinstance(value, bool) else "number"


# The functions a translated CHECK may call, on a value that is neither NULL nor
# UNKNOWN: btrim(x) (spaces), char_length(x), cardinality(array), jsonb_typeof(x).
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "btrim": lambda text: text.strip(" "),
    "char_length": len,
    "cardinality": len,
    "jsonb_typeof": _json_type,
}


class Call(Expr):
    __slots__ = ("argument", "function")

    def __init__(self, function: str, argument: Expr) -> None:
        self.function, self.argument = function, argument

    def value(self, row: dict[str, Any]) -> Any:
        argument = self.argument.value(row)
        if argument is None or argument is UNKNOWN:
            return argument
        return _FUNCTIONS[self.function](argument)


class RowCheck:
    """A CHECK constraint over several columns of a row, for the Params models that
    fill all of them: refused before the round trip when PostgreSQL would find it
    false for any value of the columns the parameters leave UNKNOWN.

        LOTS_QUANTITY_REJECTED_CHECK.check(quantity_rejected=..., quantity_inspected=...)
    """

    __slots__ = ("constraint", "expression")

    def __init__(self, constraint: str, expression: Expr) -> None:
        self.constraint = constraint
        self.expression = expression

    def check(self, **row: Any) -> None:
        """Raise a ValidationError when PostgreSQL would refuse `row`: one error per
        column given a value, located at it (its Params field, named alike), so that
        an API's 422 points at the fields that break the CHECK together; a model
        validator's own error would have no location."""
        if self.expression.value(row) is False:
            error = PydanticCustomError(
                "check_violation",
                "breaks {constraint}: {columns} together",
                {"constraint": self.constraint, "columns": ", ".join(row)},
            )
            given = [column for column, value in row.items() if value is not UNKNOWN]
            raise ValidationError.from_exception_data(
                self.constraint,
                [
                    InitErrorDetails(type=error, loc=(column,), input=row[column])
                    for column in given or row
                ],
            )


class MissingRowError(LookupError):
    """A query that always yields a row yielded none (a trigger or rule suppressed it)."""


def missing_row(query: str) -> Exception:
    """The error for `query`, whose SQL always yields a row, yielding none: a
    MissingRowError, as the error handler (if one is installed) turns it."""
    error = MissingRowError(
        f"{query}: the query yielded no row, which its SQL always does: a trigger, rule "
        "or row-level security policy must have suppressed it"
    )
    handler = _error_handler
    return handler(error, QueryFailure(query, (), "", None)) if handler else error


ARBITRARY_TYPES = ConfigDict(arbitrary_types_allowed=True)
"""The config of the TypeAdapters of results whose type holds classes pydantic has no
schema for (asyncpg's Range, Point, BitString, Record; override types): checked with
isinstance."""


def adapter_of(form: Any, config: ConfigDict | None = None) -> TypeAdapter[Any]:
    """A pydantic TypeAdapter of `form`, a type that is no class: a union, None,
    `Annotated[T, ...]`, or an alias such as JsonValue. The constant it makes says
    which type it validates: `_INT_OR_NONE: TypeAdapter[int | None] = adapter_of(int | None)`.

    Not `TypeAdapter(int | None)` itself: pydantic types that argument `TypeForm[T]`
    (PEP 747), which mypy (1.20) writes to its incremental cache as `type[T]`, and a
    union, None or Annotated is no `type[T]`. A package checked against a cache that
    holds pydantic already (a second run, another package checked first) fails where a
    fresh run passes (python/mypy#21587). Here the type checker infers nothing from
    `form`. A class, or `list[...]` of anything, is a `type[T]` either way: those keep
    `TypeAdapter(...)`.
    """
    return TypeAdapter(form, config=config)


class _ParsedByTheCodec:
    """DbJson's marker: a value pydantic neither validates nor wraps.

    Not validated: the codec parsed the server's JSON text, so it is JSON data by
    construction and row models do not walk it again. Serialized by pydantic-core
    itself: `SkipValidation` would also wrap the serializer in a Python function per
    value, which made a Part's `to_json` three times as slow (8.9 us against 2.7 us
    in a loop); the result cache stores every miss as JSON, and FastAPI answers with
    it. Its JSON schema is JsonValue's: any JSON value.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.any_schema()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {}


DbJson: TypeAlias = Annotated[JsonValue, _ParsedByTheCodec]
"""JSON as read from the database (see `_ParsedByTheCodec`)."""


class QueryModel(BaseModel):
    """Base of the generated models: rows (`RowModel`) and parameters (`ParamsModel`).

    Fields take the column name as alias where the Python name differs, and
    either name when built by hand. `model_` is a common column prefix
    (model_name, model_version), so pydantic's protected namespace is off.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        # The CHECKs' patterns are translated for Rust's regex (pydantic's default):
        # Python's `re` would let `$` match before a final newline, as PostgreSQL
        # does not. Said here so that no default can change it.
        regex_engine="rust-regex",
    )


class ParamsModel(QueryModel):
    """Base of the Params models: what a caller fills in and passes to a query."""


class RowModel(QueryModel):
    """Base of the row models: what the database returned, frozen as a record is.

    A row is a snapshot of what the query read: assigning a field raises (pydantic's
    `frozen_instance` error); `row.model_copy(update={...})` makes a changed copy.
    The result cache hands one row to every caller of the same query (no copy per
    hit), and makes its JSON values and lists read-only too (`chip_quality_db`'s
    `_cache.py`).
    """

    model_config = ConfigDict(frozen=True)


class CompositeModel(RowModel):
    """Base of the models of composite types (`CREATE TYPE ... AS (...)`).

    asyncpg reads a composite value as a Record: its attributes fill the fields in
    order, as a row's columns do. As a parameter the model goes through `db_value`.
    """

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, data: Any) -> Any:
        if isinstance(data, Record):
            return dict(zip(cls.model_fields, data, strict=False))
        return data


def db_value(value: Any) -> Any:
    """A parameter as asyncpg encodes it: a composite's model (also inside a list) as
    the mapping of its attributes, which asyncpg sends as the composite."""
    if isinstance(value, CompositeModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, list):
        return [db_value(item) for item in cast("list[object]", value)]
    return value


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """What one named query does, as the generator decided it from its SQL (the
    package's `_catalog.QUERIES`; `chip-quality-db queries` prints them)."""

    file: str
    """The query file it is defined in."""
    name: str
    """The query's name (`-- name: CreateLot :one`)."""
    command: str
    """sqlc's command: :one, :many, :exec, ..."""
    function: str
    """The generated function, as `module.function`."""
    read_only: bool
    """True when it only reads: a cluster handle may send it to a replica."""
    why: str
    """"reads only", or what makes it writing (a statement, a function, a marker)."""
    always_row: bool
    """A `:one` that always yields a row: the function returns the row, never None."""
    checks: tuple[str, ...]
    """The CHECK constraints its parameters are validated against before sending."""
    reads: tuple[str, ...] = ()
    """The tables (and materialized views) it reads, views resolved to their tables."""
    writes: tuple[str, ...] = ()
    """The tables it writes."""
    cache_seconds: float | None = None
    """`@cache` in its comment: how long its results may be served from a cache."""


@dataclass(frozen=True, slots=True)
class QueryFailure:
    """What a generated function knows when its query fails: enough for an error
    handler to name the query and the parameter in its message."""

    query: str
    """The function's name."""
    params: tuple[str, ...]
    """Its parameters in `$1, $2, ...` order (for `:copyfrom`, in column order)."""
    statement: str
    """The top-level statement: insert, update, delete, merge, select, ..."""
    table: str | None
    """The table an insert, update, delete or merge writes."""
    row: int | None = None
    """`:copyfrom`: the row (counted from 0) being sent when it failed."""
    column: int | None = None
    """`:copyfrom`: the column (an index into `params`) being encoded when it failed."""

    def param(self, number: int) -> str | None:
        """The name of parameter `$number`, if the query has it."""
        return self.params[number - 1] if 0 < number <= len(self.params) else None


ErrorHandler: TypeAlias = Callable[[Exception, QueryFailure], Exception]
"""Turns the exception a query raised into the one its caller sees."""

_error_handler: ErrorHandler | None = None


def set_error_handler(handler: ErrorHandler | None) -> None:
    """Install the function that turns driver errors into the application's own.

    Every generated function hands its failures to it, whatever it ran on (a
    pool, a connection, a transaction). Without one, the driver's error is
    raised as it is, with a note naming the query.
    """
    global _error_handler
    _error_handler = handler


def query_failed(
    error: Exception,
    query: str,
    params: tuple[str, ...],
    statement: str,
    table: str | None,
    copy_rows: CopyRows | None = None,
) -> NoReturn:
    """Raise what the error handler makes of `error` (chained to it)."""
    row, column = (copy_rows.row, copy_rows.column) if copy_rows else (None, None)
    failure = QueryFailure(query, params, statement, table, row, column)
    handler = _error_handler
    replacement = handler(error, failure) if handler is not None else error
    if replacement is error:
        error.add_note(f"in query {query}")
        raise error
    raise replacement from error


class CopyRows:
    """The rows of a `:copyfrom` (or a `:batch*`), as the driver reads them, remembering
    the row and column it is encoding: asyncpg reports a value it cannot encode for
    COPY (a Decimal beyond numeric's range, a string that is no UUID) without saying
    where. `checks` are (position, TypeAdapter) of the values a column's rules check
    (and round) before they are sent, as a Params model checks its fields.
    `query` is the SQL of the `:copyfrom` (COPY sends none of its own): a connection
    that traces queries names its span after it.
    """

    __slots__ = ("_checks", "_rows", "current", "query")

    def __init__(
        self,
        rows: Iterable[Sequence[object]],
        query: str = "",
        checks: tuple[tuple[int, TypeAdapter[Any]], ...] = (),
    ) -> None:
        self._rows = rows
        self._checks = checks
        self.current = _CopyRow()
        self.query = query

    def __iter__(self) -> Iterator[Sequence[object]]:
        # COPY reads each row's values by index, one row after the other, so one
        # object stands for every row in turn; the cost is a Python call per value.
        current = self.current
        checks = self._checks
        for current.row, values in enumerate(self._rows):
            current.values = self._checked(values) if checks else values
            yield current

    def _checked(self, values: Sequence[object]) -> Sequence[object]:
        checked = list(values)
        for position, adapter in self._checks:
            if checked[position] is not None:  # NULL passes a CHECK
                self.current.column = position
                checked[position] = adapter.validate_python(checked[position])
        return checked

    @property
    def row(self) -> int | None:
        return self.current.row

    @property
    def column(self) -> int | None:
        return self.current.column


class _CopyRow(Sequence[object]):
    __slots__ = ("column", "row", "values")

    def __init__(self) -> None:
        self.values: Sequence[object] = ()
        self.row: int | None = None
        self.column: int | None = None

    def __getitem__(self, index: Any) -> Any:
        self.column = index
        return self.values[index]

    def __len__(self) -> int:
        return len(self.values)


def build_row(model: type[M], record: Record) -> M:
    """One result row as `model`, its fields filled with the record's values in order.

    By position, not by name: the fields are named as sqlc names the columns
    (`column_1` for an expression, `name_2` for a second `name`, `t_id` for
    `t.id::uuid`), which need not be the names PostgreSQL gives them. The query
    text fixes its columns, one per field: zip needs no `strict` check (it costs
    5 to 10% of building a row).
    """
    fields, validate = _row_builder(model)
    row: M = validate(dict(zip(fields, record, strict=False)))
    return row


# Per row model, looked up once: its field names in order, and its validator. Reading
# `model.model_fields` costs about 0.5 us, and `model_validate`'s own Python layer
# about as much, against some 1.7 us for validating the whole row (a third of what
# the generated function adds to a get by primary key).
_ROW_BUILDERS: dict[type[BaseModel], tuple[tuple[str, ...], Callable[[object], Any]]] = {}


def _row_builder(model: type[BaseModel]) -> tuple[tuple[str, ...], Callable[[object], Any]]:
    found = _ROW_BUILDERS.get(model)
    if found is None:
        validator = model.__pydantic_validator__
        validate = (
            validator.validate_python
            if isinstance(validator, SchemaValidator)
            else model.model_validate  # not built yet: pydantic builds it on first use
        )
        found = _ROW_BUILDERS[model] = (tuple(model.model_fields), validate)
    return found


def validate_rows(
    adapter: TypeAdapter[list[M]], model: type[M], records: Iterable[Record]
) -> list[M]:
    """Build a result set's rows as `model` (by position, as `build_row` does), validated
    in one pydantic-core call by `adapter`, a TypeAdapter of `list[model]`.

    The cyclic garbage collector is paused meanwhile: building many models
    allocates thousands of containers that all stay alive, and the collections
    this triggers find nothing to free but cost a large share of the time.
    """
    fields = _row_builder(model)[0]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        rows = [dict(zip(fields, record, strict=False)) for record in records]
        return adapter.validate_python(rows)
    finally:
        if was_enabled:
            gc.enable()


def affected_rows(status: str) -> int:
    """The row count of a command status such as `UPDATE 3`, `INSERT 0 1` or `COPY 10`."""
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else 0


@asynccontextmanager
async def transaction_on(db: Executor) -> AsyncGenerator[Connection, None]:
    """A transaction on `db`: a savepoint inside an open one, a pooled connection for a
    pool or a cluster handle (anything that lends connections: `Pooled`)."""
    if isinstance(db, Pooled):
        async with db.acquire() as conn, conn.transaction():
            yield conn
    elif isinstance(db, _Connection | PoolConnectionProxy):
        async with db.transaction():
            yield db
    else:
        raise TypeError(f"{type(db).__name__} can run no transaction: pass a connection or a pool")


def _json_default(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))  # the exact digits, as a JSON number
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode_jsonb(value: object) -> bytes:
    return b"\x01" + orjson.dumps(value, default=_json_default)


def _decode_jsonb(data: bytes) -> object:
    return orjson.loads(data[1:])  # skip the jsonb format version byte


def _encode_json(value: object) -> bytes:
    return orjson.dumps(value, default=_json_default)


async def init_connection(conn: Connection) -> None:
    """Install the codecs the generated code relies on: json and jsonb as Python data.

    Binary format: jsonb travels as a version byte and the JSON text, which
    orjson parses straight from bytes (and COPY needs binary codecs).
    """
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        format="binary",
    )
    await conn.set_type_codec(
        "json",
        schema="pg_catalog",
        encoder=_encode_json,
        decoder=orjson.loads,
        format="binary",
    )
