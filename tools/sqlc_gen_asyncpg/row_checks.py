"""CHECK constraints over several columns (or with OR, CASE, IS NULL), translated
into expressions the generated runtime evaluates as PostgreSQL would.

A constraint that `constraints.py` cannot write as limits on one column becomes a
`RowCheck` when every node of it is one of these, with types where Python and
PostgreSQL agree:

    a AND b, a OR b, NOT a, CASE WHEN ... THEN ... ELSE ... END, coalesce(...)
    col IS [NOT] NULL
    x = y, x <> y             numbers, text, enum labels, booleans, jsonb_typeof()
    x < y, <=, >, >=          numbers with numbers, a date/time type with itself
    x + y, x - y              numbers
    col IN ('a', 'b'), col = ANY (ARRAY[...])
    btrim(text), char_length(text), cardinality(array), jsonb_typeof(jsonb)

Anything else (ordering of text, whose order follows the collation; functions
whose result depends on the session, such as date_trunc on a timestamptz) stays
with the database, with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, NullTestType
from pglast.stream import RawStream

from .constraints import Checks, RowRule, Untranslated, expression_form
from .layout import Call, Expr, quoted
from .tree import is_a as _is


def names_used(expr: Expr) -> set[str]:
    """The runtime names an expression built here uses (and Decimal, for a decimal
    constant)."""
    if isinstance(expr, str):
        return {"Decimal"} if expr.startswith("Decimal(") else set()
    assert isinstance(expr, Call)
    return {expr.func}.union(*(names_used(arg) for arg in expr.args))


_NUMBERS = {
    "int2", "int4", "int8", "smallint", "integer", "int", "bigint",
    "numeric", "decimal", "float4", "float8", "real", "double precision",
}  # fmt: skip
_TEXTS = {"text", "varchar", "character varying", "bpchar"}
_TEMPORAL = {"timestamptz", "timestamp", "date", "time", "timetz", "interval"}
_ORDERING = {"<", "<=", ">", ">="}
_FUNCTIONS = {
    "btrim": ("text", "text"),
    "char_length": ("text", "number"),
    "character_length": ("text", "number"),
    "length": ("text", "number"),
    "cardinality": ("array", "number"),
    "jsonb_typeof": ("json", "text"),
}


class _NotExactError(Exception):
    pass


def with_row_rules(checks: Checks) -> Checks:
    """`checks` with each untranslated constraint that is exact as a row expression
    moved to `row_rules`."""
    row_rules: list[RowRule] = []
    untranslated: list[Untranslated] = []
    for refused in checks.untranslated:
        try:
            row_rules.append(_row_rule(refused, checks.column_types))
        except _NotExactError as reason:
            untranslated.append(replace(refused, reason=f"{refused.reason}; as a row: {reason}"))
    return replace(checks, untranslated=tuple(untranslated), row_rules=tuple(row_rules))


def _row_rule(refused: Untranslated, types: dict[tuple[str, str], str]) -> RowRule:
    reader = _Reader(refused.table, types)
    expression, kind = reader.read(refused.expression)
    if kind != "bool":
        raise _NotExactError("not a boolean expression")
    return RowRule(
        refused.constraint,
        refused.table,
        tuple(reader.columns),
        expression,
        RawStream()(refused.expression),
    )


class _Reader:
    """The runtime expression for one CHECK expression, with the kind of value of each
    part (number, text, label, bool, json, `temporal <type>`, `other <type>`, null)."""

    def __init__(self, table: str, types: dict[tuple[str, str], str]) -> None:
        self.table = table
        self.types = types
        self.columns: list[str] = []

    def read(self, node: Any) -> tuple[Call, str]:
        if _is(node, ast.BoolExpr):
            parts = tuple(self._boolean(arg) for arg in node.args)
            if node.boolop == BoolExprType.AND_EXPR:
                return Call("And", parts), "bool"
            if node.boolop == BoolExprType.OR_EXPR:
                return Call("Or", parts), "bool"
            return Call("Not", parts), "bool"
        if _is(node, ast.NullTest):
            operand, _ = self.read(node.arg)
            negated = node.nulltesttype == NullTestType.IS_NOT_NULL
            return Call("IsNull", (operand, "negated=True") if negated else (operand,)), "bool"
        if _is(node, ast.ColumnRef):
            return self._column(node)
        if _is(node, (ast.A_Const, ast.TypeCast)):
            return _constant(node)
        if _is(node, ast.A_Expr):
            return self._operator(node)
        if _is(node, ast.FuncCall):
            return self._call(node)
        if _is(node, ast.CoalesceExpr):
            read = [self.read(arg) for arg in node.args]
            kinds = {kind for _, kind in read} - {"null"}
            return Call("Coalesce", tuple(p for p, _ in read)), _one_kind(kinds)
        if _is(node, ast.CaseExpr) and node.arg is None:
            branches = tuple(
                Call("When", (self._boolean(w.expr), self.read(w.result)[0])) for w in node.args
            )
            default = self.read(node.defresult)[0] if node.defresult is not None else _NULL
            return Call("Case", (*branches, default)), "bool"
        raise _NotExactError(f"{type(node).__name__} is not translated")

    def _boolean(self, node: Any) -> Call:
        expression, kind = self.read(node)
        if kind != "bool":
            raise _NotExactError("a non-boolean operand of AND, OR, NOT or CASE")
        return expression

    def _column(self, node: Any) -> tuple[Call, str]:
        if len(node.fields) != 1 or not _is(node.fields[0], ast.String):
            raise _NotExactError("a qualified column")
        name = str(node.fields[0].sval)
        if (self.table, name) not in self.types:
            raise _NotExactError(f"{name} is not a column of {self.table}")
        if name not in self.columns:
            self.columns.append(name)
        type_name = self.types[(self.table, name)]
        kind = (
            "number" if type_name in _NUMBERS
            else "text" if type_name in _TEXTS
            else "bool" if type_name in ("bool", "boolean")
            else "json" if type_name in ("jsonb", "json")
            else f"temporal {type_name}" if type_name in _TEMPORAL
            else f"other {type_name}"  # an enum, an array, ...
        )  # fmt: skip
        return Call("Column", (quoted(name),)), kind

    def _operator(self, node: Any) -> tuple[Call, str]:
        operator = str(node.name[-1].sval) if node.name else ""
        if node.kind in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_OP_ANY) and operator == "=":
            values = node.rexpr
            if _is(values, ast.TypeCast):
                values = values.arg
            if _is(values, ast.A_ArrayExpr):
                values = values.elements
            if not isinstance(values, tuple):
                raise _NotExactError("IN or ANY of something other than a list")
            left, left_kind = self.read(node.lexpr)
            compared: list[Call | str] = []
            for value in values:
                right, right_kind = self.read(value)
                _comparable(left_kind, "=", right_kind)
                compared.append(Call("Compare", (left, '"="', right)))
            return Call("Or", tuple(compared)), "bool"
        if node.kind == A_Expr_Kind.AEXPR_BETWEEN:  # x >= low AND x <= high, NULLs alike
            value, kind = self.read(node.lexpr)
            (low, low_kind), (high, high_kind) = (self.read(bound) for bound in node.rexpr)
            _comparable(kind, ">=", low_kind)
            _comparable(kind, "<=", high_kind)
            return Call(
                "And",
                (
                    Call("Compare", (value, '">="', low)),
                    Call("Compare", (value, '"<="', high)),
                ),
            ), "bool"
        if node.kind != A_Expr_Kind.AEXPR_OP:
            raise _NotExactError(f"{expression_form(node)} is not translated")
        left, left_kind = self.read(node.lexpr)
        right, right_kind = self.read(node.rexpr)
        if operator in ("+", "-"):
            if {left_kind, right_kind} != {"number"}:
                raise _NotExactError(f"`{operator}` of something other than numbers")
            return Call("Arithmetic", (left, quoted(operator), right)), "number"
        if operator not in ("=", "<>", *_ORDERING):
            raise _NotExactError(f"the operator {operator!r} is not translated")
        _comparable(left_kind, operator, right_kind)
        return Call("Compare", (left, quoted(operator), right)), "bool"

    def _call(self, node: Any) -> tuple[Call, str]:
        name = str(node.funcname[-1].sval).lower()
        arguments = tuple(node.args or ())
        if name == "btrim" and len(arguments) == 2:
            if _constant(arguments[1])[0] != Call("Const", ('" "',)):
                raise _NotExactError("btrim() of characters other than the space")
            arguments = arguments[:1]
        if name not in _FUNCTIONS or len(arguments) != 1:
            raise _NotExactError(f"{name}() is not translated")
        argument, kind = self.read(arguments[0])
        wanted, result = _FUNCTIONS[name]
        if wanted in ("text", "json") and kind != wanted:
            raise _NotExactError(f"{name}() of a {kind} value")
        function = "char_length" if name in ("character_length", "length") else name
        return Call("Call", (quoted(function), argument)), result


def _comparable(left: str, operator: str, right: str) -> None:
    kinds = {left, right} - {"null"}
    if operator in _ORDERING:
        if kinds == {"number"} or (len(kinds) == 1 and next(iter(kinds)).startswith("temporal")):
            return
        raise _NotExactError(f"`{operator}` between {left} and {right}: not an order both share")
    if (
        len(kinds) <= 1
        or kinds <= {"text", "label"}
        or ("label" in kinds and len(kinds) == 2 and any(k.startswith("other") for k in kinds))
    ):
        return
    raise _NotExactError(f"`{operator}` between {left} and {right}")


def _one_kind(kinds: set[str]) -> str:
    if len(kinds) > 1:
        raise _NotExactError("coalesce() of values of different kinds")
    return next(iter(kinds), "null")


_NULL = Call("Const", ("None",))


def _constant(node: Any) -> tuple[Call, str]:
    """A constant and its kind; a text constant is a `label` (an enum's too, under a
    cast to the enum type)."""
    if _is(node, ast.TypeCast):
        return _constant(node.arg)
    if not _is(node, ast.A_Const):
        raise _NotExactError("a constant was expected")
    if node.isnull:
        return _NULL, "null"
    value = node.val
    if _is(value, ast.Integer):
        return Call("Const", (str(int(value.ival)),)), "number"
    if _is(value, ast.Float):
        return Call("Const", (f'Decimal("{Decimal(value.fval)}")',)), "number"
    if _is(value, ast.Boolean):
        return Call("Const", (str(bool(value.boolval)),)), "bool"
    if _is(value, ast.String):
        return Call("Const", (quoted(str(value.sval)),)), "label"
    raise _NotExactError("a constant of another type")
