"""PostgreSQL regular expressions as pydantic (Rust regex) patterns, where both
engines read the pattern alike; anything else is refused with the reason."""

from __future__ import annotations


class UntranslatableRegexError(ValueError):
    """The pattern uses syntax the two engines read differently (or Rust lacks)."""


def literal(word: str) -> str:
    """`word` as a regex matching only itself, in syntax both engines read alike."""
    return "".join(f"\\{c}" if c in _META else c for c in word)


_META = set("\\.^$|?*+()[]{}-&~#")
# Escapes PostgreSQL's ARE and Rust's regex read the same way: an escaped
# punctuation character stands for itself.
_ESCAPABLE = set(".^$|?*+()[]{}\\/-")


def rust_pattern(pg_pattern: str) -> str:
    """The pydantic (Rust regex) pattern matching what `col ~ pg_pattern` matches.

    Both are searches (unanchored unless the pattern anchors itself); `^`/`$` are
    the text's ends in both (no newline mode). PostgreSQL's `.` and negated
    brackets match a newline, Rust's `.` does not without `(?s)`. Only syntax
    read alike by both is accepted: literals, `.`, `^`, `$`, `|`, groups,
    quantifiers, bracket expressions of literals and ranges, and escaped
    punctuation. Class shorthands (\\d, \\w, \\s) and POSIX classes ([[:space:]])
    depend on the database's collation, lookarounds and back-references are not
    in Rust's regex: such patterns are refused.
    """
    index = 0
    while index < len(pg_pattern):
        char = pg_pattern[index]
        if char == "\\":
            following = pg_pattern[index + 1 : index + 2]
            if following not in _ESCAPABLE:
                raise UntranslatableRegexError(f"the regex escape \\{following} is not translated")
            index += 2
            continue
        if char == "[":
            index = _bracket_end(pg_pattern, index)
            continue
        if char == "(" and pg_pattern[index + 1 : index + 2] == "?":
            raise UntranslatableRegexError(
                "the regex uses (?...): lookarounds and options are not translated"
            )
        if char == "{":
            close = pg_pattern.find("}", index)
            low, _, high = pg_pattern[index + 1 : close].partition(",")
            if close < 0 or not low.isdigit() or not (high == "" or high.isdigit()):
                raise UntranslatableRegexError(
                    "the regex has a brace that is not a repetition count"
                )
            index = close + 1
            continue
        if not char.isprintable():
            raise UntranslatableRegexError("the regex holds an unprintable character")
        index += 1
    return "(?s)" + pg_pattern


def _bracket_end(pattern: str, start: int) -> int:
    """The index after the bracket expression that starts at `start`."""
    index = start + 1
    if pattern[index : index + 1] == "^":
        index += 1
    if pattern[index : index + 1] == "]":
        index += 1  # a leading ] is a literal in both
    while index < len(pattern):
        char = pattern[index]
        if char == "[":
            raise UntranslatableRegexError(
                "the regex uses a POSIX class or collating element in brackets"
            )
        if char == "\\":
            raise UntranslatableRegexError(
                "the regex escapes inside brackets, which the engines read differently"
            )
        if char in "&~-" and pattern[index + 1 : index + 2] == char:
            raise UntranslatableRegexError("the regex has a set operation Rust's regex would read")
        if char == "]":
            return index + 1
        index += 1
    raise UntranslatableRegexError("the regex has an unclosed bracket")
