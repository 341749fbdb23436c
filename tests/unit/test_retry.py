"""retry(): which errors it retries, how often, and that it gives up."""

from __future__ import annotations

import pytest

from chip_quality_db import (
    AlreadyExistsError,
    DatabaseError,
    RetryableError,
    UnavailableError,
    retry,
)


class Flaky:
    """Fails with the given errors in turn, then returns how many calls it took."""

    def __init__(self, *errors: DatabaseError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.calls


async def test_retryable_and_unavailable_errors_are_retried_until_success() -> None:
    operation = Flaky(RetryableError("deadlock detected"), UnavailableError("connection lost"))
    assert await retry(operation, first_delay=0.001) == 3


async def test_other_errors_are_raised_at_once() -> None:
    operation = Flaky(AlreadyExistsError("part PCB-1 exists"))
    with pytest.raises(AlreadyExistsError):
        await retry(operation, first_delay=0.001)
    assert operation.calls == 1


async def test_it_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    operation = Flaky(*(UnavailableError(f"down {i}") for i in range(5)))
    with pytest.raises(UnavailableError, match="down 2"):
        await retry(operation, attempts=3, first_delay=0.001)
    assert operation.calls == 3


async def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        await retry(Flaky(), attempts=0)
