"""Python names from SQL names: snake_case, PascalCase, singular class names, escaping."""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable

# Words of a name: an acronym's plural is one word (`BookISBNs`: Book, ISBNs).
_WORD = re.compile(r"[A-Z]{2,}s(?![a-z])|[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+|[0-9]+")

# Attributes of pydantic.BaseModel (v2, with v1's deprecated ones) that a field
# must not shadow: pydantic refuses such a model when it is defined.
_BASEMODEL_ATTRIBUTES = frozenset(
    {
        "construct",
        "copy",
        "dict",
        "fields",
        "from_orm",
        "json",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "update_forward_refs",
        "validate",
        "model_computed_fields",
        "model_config",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_extra",
        "model_fields",
        "model_fields_set",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
    }
)
_BUILTINS = frozenset(dir(builtins))

# Names a generated function uses itself, which a keyword argument of the same
# name would break: its first argument (`db`, `conn`), the iterator's `prefetch`,
# its locals (mypy refuses a parameter rebound to another type), and the runtime
# helpers its body calls. The local for a command status is `command_status`,
# not `status`, so that the common column `status` keeps its name.
_USED_BY_GENERATED_FUNCTIONS = frozenset(
    {
        "db",
        "conn",
        "prefetch",
        "cache",  # a cached query's result cache, its answer, the result it keeps
        "lookup",
        "from_cache",
        "fetched",
        "result_cache",
        "value",
        "record",
        "records",
        "command_status",
        "error",
        "query_failed",
        "build_row",
        "validate_rows",
        "affected_rows",
        "transaction_on",
        "db_value",
    }
)

# The lower-case names a query module imports (from the runtime, and `annotations`).
_IMPORTED_BY_QUERY_MODULES = frozenset(
    {
        "annotations",
        "query_failed",
        "build_row",
        "validate_rows",
        "affected_rows",
        "transaction_on",
        "missing_row",
        "db_value",
        "result_cache",
    }
)


def words(name: str) -> list[str]:
    return _WORD.findall(name)


def snake_case(name: str) -> str:
    return "_".join(word.lower() for word in words(name))


def pascal_case(name: str) -> str:
    return "".join(word[:1].upper() + word[1:].lower() for word in words(name))


def constant_case(name: str) -> str:
    return snake_case(name).upper()


def query_class_name(query: str) -> str:
    """The stem of a query's classes (`<stem>Row`, `<stem>Params`), in the query's own
    casing: `UpdateBookISBN` -> `UpdateBookISBN` (PEP 8: acronyms stay capitals),
    `list_lots` -> `ListLots`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", query))


def _listed(words: str) -> frozenset[str]:
    """The words of a whitespace-separated list."""
    return frozenset(words.split())


def _pairs(pairs: str) -> dict[str, str]:
    """`a/b c/d` -> {a: b, c: d}."""
    return {a: b for a, _, b in (pair.partition("/") for pair in pairs.split())}


# English singular and plural, for class names (`warehouses` -> Warehouse) and list
# parameters (`title` -> titles): the regular rules, and the exceptions below.
# Singular/plural pairs the rules would get wrong, read both ways:
_IRREGULAR = _pairs("""
    person/people child/children man/men woman/women foot/feet tooth/teeth mouse/mice
    goose/geese ox/oxen datum/data metadatum/metadata criterion/criteria
    phenomenon/phenomena bacterium/bacteria stratum/strata erratum/errata
    alumnus/alumni nucleus/nuclei stimulus/stimuli knife/knives wife/wives life/lives
    leaf/leaves half/halves shelf/shelves wolf/wolves calf/calves thief/thieves
    loaf/loaves scarf/scarves hoof/hooves dwarf/dwarves elf/elves self/selves
    quiz/quizzes hero/heroes potato/potatoes tomato/tomatoes echo/echoes veto/vetoes
    volcano/volcanoes torpedo/torpedoes embargo/embargoes mosquito/mosquitoes
    domino/dominoes buffalo/buffaloes cargo/cargoes tornado/tornadoes crisis/crises
    oasis/oases emphasis/emphases axis/axes synopsis/synopses neurosis/neuroses
    psychosis/psychoses
    """)
_SINGULAR_OF = {plural: singular for singular, plural in _IRREGULAR.items()} | {
    "indices": "index",
    "vertices": "vertex",
    "matrices": "matrix",
    "appendices": "appendix",
    "zeroes": "zero",
}
# Singular and plural alike (words ending in ss, us and is are singular too: class,
# status, bus, analysis), and singulars ending in s whose plural adds es.
_SAME = _listed(
    """series species news sheep fish deer moose scissors headquarters kudos chaos ethos
    cosmos pathos yes equipment information"""
)
_ENDING_IN_S = _listed("gas alias bias atlas canvas lens christmas")
# Singulars in -ie and -e whose plurals the rules would read as -y's and -es's.
_IE = _listed(
    """tie lie pie die cookie movie zombie calorie brownie selfie rookie goalie smoothie
    pixie prairie sortie genie hoodie freebie newbie birdie necktie veggie beanie bookie
    junkie"""
)
_E = _listed(
    """niche cliche quiche psyche creche fiche microfiche avalanche douche shoe horseshoe
    toe canoe hoe foe oboe woe tiptoe use fuse abuse excuse accuse amuse muse ruse refuse
    recluse misuse disuse reuse peruse diffuse infuse obtuse"""
)


def singular(word: str) -> str:
    """English singular of a table name's last word: parts -> part, warehouses ->
    warehouse, people -> person, series -> series, dies -> die. A word that is
    singular already stays as it is: analysis, status, bus, class, alias."""
    lower = word.lower()
    if lower in _SINGULAR_OF:
        return _SINGULAR_OF[lower]
    if (
        not lower.endswith("s")
        or lower.endswith(("ss", "us", "is"))
        or lower in _SAME
        or lower in _ENDING_IN_S
    ):
        return word
    return _singular(lower)


def _singular(lower: str) -> str:
    """The singular of a word that ends in s and is not singular already."""
    if lower.endswith("ies"):
        stem = lower[:-3]
        return lower[:-1] if len(stem) < 2 or f"{stem}ie" in _IE else f"{stem}y"
    if not lower.endswith("es") or lower[:-1] in _E:
        return lower[:-1]
    if lower.endswith(("yses", "theses", "gnoses")):
        return f"{lower[:-2]}is"  # analyses, hypotheses, diagnoses
    if lower[:-2] in _ENDING_IN_S or lower.endswith(("sses", "xes", "zzes", "tzes", "shes", "oes")):
        return lower[:-2]
    if lower.endswith("uses"):  # statuses, buses, but houses, causes, masseuses
        return lower[:-1] if lower.endswith(("ouses", "auses", "euses")) else lower[:-2]
    if lower.endswith("ches"):  # matches, beaches, but caches, headaches
        cache = lower.endswith("aches") and not lower.endswith(("eaches", "oaches"))
        return lower[:-1] if cache else lower[:-2]
    return lower[:-1]


def plural(word: str) -> str:
    """English plural of a word: title -> titles, id -> ids, status -> statuses,
    category -> categories, person -> people; a plural stays as it is (ids)."""
    lower = word.lower()
    if not word or lower in _SAME or lower in _SINGULAR_OF:
        return word
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if singular(word) != word:
        return word  # a plural already
    if lower.endswith("is"):
        return f"{word[:-2]}es"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return f"{word}es"
    if lower.endswith("y") and lower[-2:-1] not in ("", "a", "e", "i", "o", "u"):
        return f"{word[:-1]}ies"
    return f"{word}s"


def class_name_for_table(table: str) -> str:
    parts = words(table)
    if parts:
        parts[-1] = singular(parts[-1])
    return pascal_case("_".join(parts))


def function_name(query: str) -> str:
    """A query's function: its name in snake_case, with a trailing underscore where it
    would shadow a keyword, a builtin or a helper the module imports: `List` ->
    `list_`, `In` -> `in_`, `GetLot` -> `get_lot`."""
    name = snake_case(query)
    if (
        keyword.iskeyword(name)
        or keyword.issoftkeyword(name)
        or name in _BUILTINS
        or name in _IMPORTED_BY_QUERY_MODULES
    ):
        return name + "_"
    return name


def field_name(column: str) -> str:
    """A model field for a column; keywords and BaseModel attributes get a trailing underscore."""
    name = snake_case(column) if not column.isidentifier() else column
    if keyword.iskeyword(name) or name in _BASEMODEL_ATTRIBUTES:
        return name + "_"
    return name


def parameter_name(column: str, *, keyword_argument: bool) -> str:
    """A query parameter's name; keywords, builtins (`id`, `type`) and BaseModel
    attributes (a Params model's fields) get a trailing underscore, and so do the
    names a generated function uses itself (`db`, `value`) when the parameter
    is one of its keyword arguments."""
    name = snake_case(column)
    if (
        keyword.iskeyword(name)
        or keyword.issoftkeyword(name)
        or name in _BUILTINS
        or name in _BASEMODEL_ATTRIBUTES
        or (keyword_argument and name in _USED_BY_GENERATED_FUNCTIONS)
    ):
        return name + "_"
    return name


def enum_members(values: Iterable[str]) -> list[str]:
    """Member names for an enum's values, in their order, all different.

    A value's name is the value in CONSTANT_CASE (`in progress` -> IN_PROGRESS). A
    value without an ASCII letter or digit is named by its characters' Unicode
    names (`#` -> NUMBER_SIGN, `<=` -> LESS_THAN_SIGN_EQUALS_SIGN; the empty string
    is EMPTY). A value whose name an earlier value took is spelled out, every
    character other than a letter or digit by its Unicode name (`in-progress` after
    `in_progress` -> IN_HYPHEN_MINUS_PROGRESS); values that differ in case only
    (`Low`, `low`) leave the later one VALUE_<position>, as sqlc's Go output does.
    A name that would start with a digit gets V_ in front.
    """
    members: list[str] = []
    for position, value in enumerate(values, start=1):
        member = constant_case(value) or _spelled(value) or "EMPTY"
        if member in members:
            member = _spelled(value)
        if member[:1].isdigit() or keyword.iskeyword(member):
            member = f"V_{member}"
        if member in members:
            member = f"VALUE_{position}"
        members.append(member)
    return members


def _spelled(value: str) -> str:
    """`a-b` -> A_HYPHEN_MINUS_B: runs of ASCII letters and digits in capitals, any other
    character by its Unicode name (`U+0009` style for one without a name)."""
    parts: list[str] = []
    run = ""
    for char in value:
        if char.isascii() and char.isalnum():
            run += char.upper()
            continue
        if run:
            parts.append(run)
            run = ""
        name = unicodedata.name(char, "") or f"U{ord(char):04X}"
        parts.append("_".join(_NOT_ALNUM.split(name)))
    if run:
        parts.append(run)
    return "_".join(parts)


_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def is_placeholder(name: str) -> bool:
    """Whether sqlc gave a parameter no name of a column: none, or its Go output's
    stand-ins `dollar_1` and `column_1`."""
    return not name or _PLACEHOLDER.fullmatch(name) is not None


_PLACEHOLDER = re.compile(r"(?:dollar|column)_[0-9]+")


def adapter_name(annotation: str) -> str:
    """The constant naming a TypeAdapter of a Python annotation, read as a type:
    `list[Widget]` -> `_WIDGET_LIST`, `int | None` -> `_INT_OR_NONE`,
    `list[Range[int]]` -> `_INT_RANGE_LIST`; the classes asyncpg reads inet and cidr
    as are named after those types: `IPv4Network | IPv6Network | None` -> `_CIDR_OR_NONE`."""
    return "_" + _type_words(ast.parse(annotation, mode="eval").body)


# The union of the ipaddress classes of one PostgreSQL type, named after the type.
_UNION_WORDS = (
    ("INET", ("IPv4Address", "IPv6Address", "IPv4Interface", "IPv6Interface")),
    ("CIDR", ("IPv4Network", "IPv6Network")),
)


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*_union_members(node.left), *_union_members(node.right)]
    return [node]


def _type_words(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return _CLASS_WORD.sub("_", node.id).upper()
    if isinstance(node, ast.Attribute):
        return _type_words(ast.Name(node.attr))
    if isinstance(node, ast.Constant) and node.value is None:
        return "NONE"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        words = [_type_words(member) for member in _union_members(node)]
        for word, classes in _UNION_WORDS:
            spelled = [_type_words(ast.Name(name)) for name in classes]
            at = next(
                (i for i in range(len(words)) if words[i : i + len(spelled)] == spelled), None
            )
            if at is not None:
                words[at : at + len(spelled)] = [word]
        return "_OR_".join(words)
    if isinstance(node, ast.Subscript):
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        arguments = "_AND_".join(_type_words(item) for item in items)
        return f"{arguments}_{_type_words(node.value)}"
    raise ValueError(f"not a type annotation: {ast.unparse(node)}")


# Between a lower-case letter or digit and an upper-case one: NaiveDatetime, IPv4Address.
_CLASS_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
