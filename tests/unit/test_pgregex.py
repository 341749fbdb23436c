"""PostgreSQL regular expressions as Rust regex patterns: what both engines read alike
is translated, anything else refused with the reason (the CHECK then stays with the
server alone)."""

from __future__ import annotations

import re

import pytest

from sqlc_gen_asyncpg.pgregex import (
    UntranslatableRegexError,
    bracket_set,
    literal,
    rust_pattern,
)


@pytest.mark.parametrize(
    ("pg", "rust"),
    [
        ("^[A-Z]{2,4}-[0-9]+$", "(?s)^[A-Z]{2,4}-[0-9]+$"),
        ("^(image|video)/\\.x$", "(?s)^(image|video)/\\.x$"),
        ("[]a]b{3}", "(?s)[]a]b{3}"),
        ("[^x]", "(?s)[^x]"),
    ],
)
def test_patterns_both_engines_read_alike_are_kept(pg: str, rust: str) -> None:
    assert rust_pattern(pg) == rust


@pytest.mark.parametrize(
    ("pg", "reason"),
    [
        ("\\d+", "the regex escape \\d is not translated"),
        ("(?=a)b", "lookarounds and options are not translated"),
        ("a{x}", "a brace that is not a repetition count"),
        ("a{2,y}", "a brace that is not a repetition count"),
        ("a\x01", "an unprintable character"),
        ("[[:space:]]", "a POSIX class or collating element in brackets"),
        ("[\\n]", "escapes inside brackets"),
        ("[a--z]", "a set operation"),
        ("[abc", "an unclosed bracket"),
    ],
)
def test_patterns_read_differently_are_refused_with_the_reason(pg: str, reason: str) -> None:
    with pytest.raises(UntranslatableRegexError, match=re.escape(reason)):
        rust_pattern(pg)


@pytest.mark.parametrize(
    ("pg", "body"),
    [
        ("[a-z0-9]", "a-z0-9"),
        ("[\\t\\n ]", "\\x{9}\\x{A}\\x{20}"),
        ("[\\u00e9-]", "\\x{E9}\\x{2D}"),
        ("[\\U0001F600x]", "\\x{1F600}x"),
    ],
)
def test_one_bracket_expression_becomes_a_class_body(pg: str, body: str) -> None:
    assert bracket_set(pg) == body


@pytest.mark.parametrize(
    ("pg", "reason"),
    [
        ("abc", "only for one bracket expression"),
        ("[]", "only for one bracket expression"),
        ("[^a]", "of a negated bracket expression"),
        ("[[:alpha:]]", "a POSIX class or collating element"),
        ("[z-a]", "a range out of order"),
        ("[\\q]", "the regex escape \\q is not translated in brackets"),
        ("[\\u12]", "the regex escape \\u is not translated in brackets"),
    ],
)
def test_bracket_sets_that_cannot_be_translated_are_refused(pg: str, reason: str) -> None:
    with pytest.raises(UntranslatableRegexError, match=re.escape(reason)):
        bracket_set(pg)


def test_a_literal_matches_only_itself() -> None:
    word = "a.b*c[d]"
    assert re.fullmatch(literal(word), word)
    assert not re.fullmatch(literal(word), "aXb*c[d]")
