"""sqlc's query commands (`-- name: Query :one`): what each returns and how it runs.

One enum, so that a command's meaning is decided here and nowhere else: the model
asks a command whether it returns rows or takes rows, the renderer which asyncpg
method it calls and what the function's return annotation is.
"""

from __future__ import annotations

from enum import Enum

from .pgtypes import optional


class Command(Enum):
    ONE = ":one"
    MANY = ":many"
    EXEC = ":exec"
    EXECROWS = ":execrows"
    EXECRESULT = ":execresult"
    COPYFROM = ":copyfrom"
    BATCHEXEC = ":batchexec"
    BATCHONE = ":batchone"
    BATCHMANY = ":batchmany"

    @property
    def returns_rows(self) -> bool:
        """The query must return columns: its rows are the function's result."""
        return self in (Command.ONE, Command.MANY, Command.BATCHONE, Command.BATCHMANY)

    @property
    def takes_rows(self) -> bool:
        """The function takes an iterable of parameter rows instead of keywords."""
        return self in (Command.COPYFROM, Command.BATCHEXEC, Command.BATCHONE, Command.BATCHMANY)

    @property
    def lists_rows(self) -> bool:
        """Each call (or each item of a batch) gives a list of rows."""
        return self in (Command.MANY, Command.BATCHMANY)

    def method(self, scalar: bool = False) -> str:
        """The asyncpg method that runs the query (per item, for a batch); a lone
        column's one value is fetched as the value itself."""
        if scalar and self in (Command.ONE, Command.BATCHONE):
            return "fetchval"
        return _METHODS[self]

    def returns(self, result: str, always_row: bool = False) -> str:
        """The return annotation of a function whose one result is `result`."""
        if self is Command.ONE:
            return result if always_row else optional(result)
        if self is Command.MANY:
            return f"list[{result}]"
        if self is Command.BATCHONE:
            return f"list[{optional(result)}]"
        if self is Command.BATCHMANY:
            return f"list[list[{result}]]"
        if self in (Command.EXECROWS, Command.COPYFROM):
            return "int"
        if self is Command.EXECRESULT:
            return "str"
        return "None"


_METHODS = {
    Command.ONE: "fetchrow",
    Command.MANY: "fetch",
    Command.EXEC: "execute",
    Command.EXECROWS: "execute",
    Command.EXECRESULT: "execute",
    Command.COPYFROM: "copy_records_to_table",
    Command.BATCHEXEC: "executemany",
    Command.BATCHONE: "fetchrow",
    Command.BATCHMANY: "fetch",
}
