"""The CHECKs' patterns are read by Rust's regex, as they were translated for it:
Python's `re` would let `$` match before a final newline (PostgreSQL's `~` does not)
and so accept a part number the database refuses."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import TypeAdapter, ValidationError

from chip_quality_queries import parts
from chip_quality_queries._runtime import Check, RowModel
from chip_quality_queries.models import PARTS_PART_NUMBER_CHECK, PartType


def test_params_models_choose_rust_regex() -> None:
    assert RowModel.model_config.get("regex_engine") == "rust-regex"
    parts.CreatePartParams(part_number="PCB-1", part_name="x", part_type=PartType.PCB)
    with pytest.raises(ValidationError, match="parts_part_number_check"):
        parts.CreatePartParams(part_number="PCB-1\n", part_name="x", part_type=PartType.PCB)


def test_keyword_adapters_read_patterns_as_rust_does() -> None:
    number: TypeAdapter[str] = TypeAdapter(Annotated[str, PARTS_PART_NUMBER_CHECK])
    assert number.validate_python("PCB-1") == "PCB-1"
    with pytest.raises(ValidationError):
        number.validate_python("PCB-1\n")
    ended: TypeAdapter[str] = TypeAdapter(Annotated[str, Check("c", pattern="(?s)^a$")])
    with pytest.raises(ValidationError):
        ended.validate_python("a\n")
