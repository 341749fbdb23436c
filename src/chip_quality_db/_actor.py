"""The rule for an acting user's name, mirrored by the audit trigger (migration …000900).

An actor must name someone a reviewer can read: at least one visible character,
and none of the characters that hide or disguise text: controls (Cc), format
characters (Cf: zero-width spaces and joiners, bidi overrides such as U+202E),
separators other than the plain space (Zs, Zl, Zp: no-break, em or ideographic
spaces, line and paragraph separators) and lone surrogates (Cs, which cannot
reach the database anyway). It is stored in Unicode NFC, so "é" typed two ways
is one actor. The migration lists the same characters as of Unicode 14 (this
Python's unicodedata). The same rule, without the NFC step, is the database's rule
for names: name_is_clean (migration 20261207000100), which the CHECKs of the name
and identifier columns call. tests/audit/test_attribution.py holds the three
together.
"""

from __future__ import annotations

import unicodedata

from ._errors import InvalidActorError

FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
# audit_log_actor_check (and idempotency_keys_actor_check): char_length(actor) <= 200.
# Checked here too, so a long name is InvalidActorError before any SQL runs rather
# than a CHECK violation naming an audit_log partition.
MAX_ACTOR_LENGTH = 200


def forbidden_in_actor(char: str) -> bool:
    """Whether `char` may not appear in an actor (a plain space may)."""
    return char != " " and unicodedata.category(char) in FORBIDDEN_CATEGORIES


def check_actor(actor: str) -> str:
    """`actor` in NFC, or InvalidActorError saying what is wrong with it."""
    normalized = unicodedata.normalize("NFC", actor)
    if not normalized.strip(" "):
        raise InvalidActorError(
            "actor must name someone: it is empty or only spaces", sqlstate="CQ002"
        )
    if len(normalized) > MAX_ACTOR_LENGTH:
        raise InvalidActorError(
            f"actor is {len(normalized)} characters long: at most {MAX_ACTOR_LENGTH}",
            sqlstate="CQ002",
        )
    bad = sorted({f"U+{ord(c):04X}" for c in normalized if forbidden_in_actor(c)})
    if bad:
        raise InvalidActorError(
            "actor holds invisible or control characters "
            f"({', '.join(bad)}): it must name someone a reviewer can read",
            sqlstate="CQ002",
        )
    return normalized
