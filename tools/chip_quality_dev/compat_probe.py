"""The runtime half of `make compat`: a generated package's functions, each called.

    python -m chip_quality_dev.compat_probe GENERATED_DIR VALUES_TOML   # DATABASE_URL

Run by chip_quality_dev.compat in a process of its own, with GENERATED_DIR first on
sys.path, so that `chip_quality_queries` is the package compiled there (the previous
release's queries) and not the one installed. It imports nothing of the runtime
(chip_quality_db imports the installed package), so driver errors arrive as asyncpg
raises them, with their SQLSTATE and structured fields.

Every public function is called with arguments derived from its signature as the
generator's execution tier derives them (chip_quality_dev.sample_values), completed by
VALUES_TOML: `setup` (SQL run first, in the same transaction), `[values]` by
parameter or field name and `[functions.<function>]` for one function, where `{k}`
stands for the value's position (unique keys) and strings are read as the
parameter's type (a UUID, a date, an enum member); `rolled_back` lists functions whose
savepoint is rolled back even when they complete (one that creates a temporary table
living until the transaction ends could run only once otherwise). All calls run in one
transaction
(audited writes name the actor `compat-check`), each in a savepoint, and the
transaction is rolled back at the end.

What a call meets is one of:

- completed;
- refused by the data: a unique, foreign-key or CHECK violation, a data exception,
  a value the Params model refuses before the round trip (not a break);
- a break: PostgreSQL refused the statement itself (SQLSTATE class 42: a column,
  table or function it does not know, a type mismatch; 0A), a NOT NULL violation in
  a round that gave every parameter a value (the schema wants a column the query
  does not set), or the generated code failed on what came back (a result that no
  longer fits its model).

Prints one JSON object on stdout: `setup`, the setup statements the schema refused
(a row of a seed table gained a required column: compat_values.toml needs it), and
`functions`, what each function met.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pglast

ACTOR = "compat-check"
SCHEMA_CLASSES = ("42", "0A")  # the statement itself refused
NOT_NULL = "23502"
UNIQUE = "23505"


@dataclass
class Outcome:
    module: str
    function: str
    query: str
    completed: int = 0
    refusals: list[str] = field(default_factory=list)
    breaks: list[dict[str, str]] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m chip_quality_dev.compat_probe GENERATED_DIR VALUES", file=sys.stderr
        )
        return 2
    sys.path.insert(0, str(Path(args[0]).resolve()))
    settings = tomllib.loads(Path(args[1]).read_text())
    setup, outcomes = asyncio.run(_probe(os.environ["DATABASE_URL"], settings))
    print(json.dumps({"setup": setup, "functions": [o.__dict__ for o in outcomes]}))
    return 0


async def _probe(url: str, settings: dict[str, Any]) -> tuple[list[str], list[Outcome]]:
    # Imported here, after sys.path names the package under test.
    import asyncpg
    from pydantic import TypeAdapter, ValidationError

    from chip_quality_queries import _runtime  # the package under test

    from .sample_values import ROUNDS, Function, Values, arguments, call, functions_of
    from .sample_values import package_modules as modules_of

    if not Path(_runtime.__file__ or "").is_relative_to(Path(sys.path[0])):
        raise RuntimeError(f"chip_quality_queries came from {_runtime.__file__}")

    class TypedValues(Values):
        """Named values as strings of the parameter's type, `{k}` the position; those
        of the function being called (`[functions.<name>]`) first."""

        function: str = ""

        def of(self, name: str, annotation: Any, k: int, nulls: bool) -> Any:
            named = {**self.named, **settings.get("functions", {}).get(self.function, {})}
            if name not in named:
                return self.sample(annotation, k, nulls)
            value = named[name]
            if isinstance(value, str):
                value = value.format(k=k)
            return TypeAdapter(annotation).validate_python(value)

    functions = functions_of(modules_of("chip_quality_queries"))
    setup_failures: list[str] = []
    outcomes = {f.label: Outcome(f.module, f.name, f.query) for f in functions}
    values = TypedValues(named=settings.get("values", {}))
    rolled_back = set(settings.get("rolled_back", ()))

    async def run_one(function: Function, given: dict[str, Any], nulls: bool) -> str | None:
        """Call in a savepoint; the SQLSTATE of a refusal, if the database refused."""
        outcome = outcomes[function.label]
        savepoint = conn.transaction()
        try:
            await savepoint.start()
            try:
                result = await call(function, conn, given)
            except BaseException:
                await savepoint.rollback()
                raise
            if function.name in rolled_back:
                await savepoint.rollback()
            else:
                await savepoint.commit()
        except asyncpg.PostgresError as error:
            state = error.sqlstate or ""
            if state.startswith(SCHEMA_CLASSES) or (state == NOT_NULL and not nulls):
                column = getattr(error, "column_name", None) or ""
                outcome.breaks.append({"column": column, "what": f"{state}: {error}"})
            else:
                outcome.refusals.append(f"{state}: {error}")
            return state
        except Exception as error:  # the generated code failed on what came back
            outcome.breaks.append({"column": "", "what": f"{type(error).__name__}: {error}"})
            return None
        outcome.completed += 1
        values.remember(result)
        return None

    async def setup() -> None:
        await conn.execute("SELECT set_config('app.actor', $1, true)", ACTOR)
        for statement in pglast.parser.split(settings.get("setup", ""), with_parser=False):
            try:  # a row the current schema refuses leaves its readers refused, no more
                async with conn.transaction():
                    await conn.execute(statement)
            except asyncpg.PostgresError as error:
                setup_failures.append(f"{error.sqlstate}: {error}".splitlines()[0])

    conn = await asyncpg.connect(url)
    try:
        await _runtime.init_connection(conn)
        transaction = conn.transaction()
        await transaction.start()
        await setup()
        for first, nulls in ROUNDS:
            for function in functions:
                values.function = function.name
                try:
                    given = arguments(function, values, first, nulls)
                except ValidationError as error:
                    outcomes[function.label].refusals.append(f"values: {error.title}")
                    continue
                if await run_one(function, given, nulls) == UNIQUE:
                    # A key an earlier write took: fresh values.
                    given = arguments(function, values, first + 100, nulls)
                    await run_one(function, given, nulls)
            values.learn = True
        await transaction.rollback()  # nothing of the probe stays
    finally:
        await conn.close()
    return setup_failures, list(outcomes.values())


if __name__ == "__main__":
    sys.exit(main())
