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


# Escapes for one character inside PostgreSQL's brackets: \t and friends, and
# \uwxyz / \Ustuvwxyz by code point.
_CHARACTER_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_CODE_POINT_DIGITS = {"u": 4, "U": 8}


def bracket_set(pg_pattern: str) -> str:
    """The body of a Rust character class holding the characters of a PostgreSQL
    regex that is one bracket expression `[...]` of literals, ranges and character
    escapes: `col !~ '[...]'` (none of them) is then `^[^body]*$`.

    Every character of the body is written as a `\\x{...}` escape but ASCII letters
    and digits, so no character means something else to Rust (`-`, `^`, `&&`).
    """
    if not (pg_pattern.startswith("[") and pg_pattern.endswith("]")) or len(pg_pattern) < 3:
        raise UntranslatableRegexError("`!~` is translated only for one bracket expression")
    body = pg_pattern[1:-1]
    if body.startswith("^"):
        raise UntranslatableRegexError("`!~` of a negated bracket expression is not translated")
    characters: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "[" or char == "]":
            raise UntranslatableRegexError(
                "the regex uses a POSIX class or collating element in brackets"
            )
        if char == "\\":
            char, index = _escaped(body, index)
        else:
            index += 1
        characters.append(char)
    items: list[str] = []
    position = 0
    while position < len(characters):
        if characters[position : position + 1] != ["-"] and (
            position + 2 < len(characters) and characters[position + 1] == "-"
        ):
            low, high = characters[position], characters[position + 2]
            if ord(low) > ord(high):
                raise UntranslatableRegexError("the regex has a range out of order")
            items.append(f"{_class_char(low)}-{_class_char(high)}")
            position += 3
        else:
            items.append(_class_char(characters[position]))
            position += 1
    return "".join(items)


def _escaped(body: str, index: int) -> tuple[str, int]:
    """The character a backslash escape at `index` stands for, and the index after it."""
    letter = body[index + 1 : index + 2]
    if letter in _CHARACTER_ESCAPES:
        return _CHARACTER_ESCAPES[letter], index + 2
    digits = _CODE_POINT_DIGITS.get(letter)
    if digits is not None:
        code = body[index + 2 : index + 2 + digits]
        if len(code) == digits and all(c in "0123456789abcdefABCDEF" for c in code):
            return chr(int(code, 16)), index + 2 + digits
    raise UntranslatableRegexError(f"the regex escape \\{letter} is not translated in brackets")


def _class_char(char: str) -> str:
    return char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):X}}}"
