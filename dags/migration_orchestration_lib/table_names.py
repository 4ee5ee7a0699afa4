"""A table as SQL Server names it: a (schema, table) pair, never a dotted string.

A dotted string is ambiguous: `a.b.c` is table `b.c` of schema `a` or table `c` of schema `a.b`. So the
DAG reads the plan's `schema.table` once (`parse_table_name`, where it reads the plan) and keeps the
pair through the fingerprint batches, their comparison and the check of a copy's deployed schema. Only
messages and records show a table as text (`str`): `schema.table`, a part that is not a regular
identifier in brackets with `]` doubled (`[a.b].c`, `dbo.[my table]`), which `parse_table_name` reads back.

Two names are one where SQL Server's case-insensitive comparison says so (`folded`): letter case aside,
and trailing spaces aside, as its comparison pads the shorter string (`'abc' = 'abc  '`). `counterparts`
pairs one database's tables with another's so: a case-sensitive database may hold two tables folding to one
name, each its own.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

# SQL Server's regular identifier: a letter, _, @ or # first, then letters, digits, _, @, # or $.
_REGULAR_IDENTIFIER = re.compile(r"(?:[^\W\d]|[@#])[\w@#$]*\Z")
_BRACKETED = re.compile(r"\[((?:[^\]]|\]\])+)\]")
FORM = "schema.table, each part a regular identifier (dbo.Orders) or in brackets with ] doubled ([a.b].[Order Lines])"


class TableNameError(ValueError):
    """Text that is not `schema.table`."""


class TableName(NamedTuple):
    schema: str
    table: str

    def __str__(self) -> str:
        return "%s.%s" % (display_part(self.schema), display_part(self.table))


def display_part(part: str) -> str:
    """A part as written in T-SQL: bare where it is a regular identifier, else in brackets, `]` doubled."""
    return part if _REGULAR_IDENTIFIER.match(part) else "[%s]" % part.replace("]", "]]")


def parse_table_name(text: str) -> TableName:
    """`schema.table` (what `str(TableName)` writes) into its pair; `TableNameError` where it is not one."""
    if not isinstance(text, str):
        raise TableNameError("must be %s, got %r" % (FORM, text))
    parts: List[str] = []
    position = 0
    while True:
        bracketed = _BRACKETED.match(text, position)
        if bracketed:
            parts.append(bracketed.group(1).replace("]]", "]"))
            position = bracketed.end()
        else:
            end = text.find(".", position)
            end = len(text) if end < 0 else end
            if not _REGULAR_IDENTIFIER.match(text[position:end]):
                raise TableNameError("must be %s, got %r" % (FORM, text))
            parts.append(text[position:end])
            position = end
        if position == len(text):
            break
        if text[position] != ".":
            raise TableNameError("must be %s, got %r" % (FORM, text))
        position += 1
    if len(parts) != 2:
        raise TableNameError("must be %s, got %r" % (FORM, text))
    return TableName(parts[0], parts[1])


def folded(name: Tuple[str, str]) -> Tuple[str, str]:
    """The pair as a case-insensitive SQL Server comparison sees it: letter case and trailing spaces aside."""
    return (_fold(name[0]), _fold(name[1]))


def _fold(part: str) -> str:
    return part.rstrip(" ").lower()


def loosely_folded(name: TableName) -> Tuple[str, str]:
    """A listed name as the loosest collation compares it to a table's (validation's batch matches them in the
    database's): letter case, accents, widths, letters a Windows collation expands (N'œ' = N'oe', as N'ß' = N'ss'),
    letters of no decomposition an accent-insensitive one may take for their base (ø, ł), characters of no weight
    (a soft hyphen) and trailing spaces aside. The plan lists names in ASCII only, so a table named with such letters
    is listed in their plain spelling. Looser than `folded`: where a match only refuses more (preflight's masks)."""
    def part(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                       if not unicodedata.combining(c) and unicodedata.category(c) != "Cf").translate(_SPELLED_OUT).rstrip(" ")
    return part(name.schema), part(name.table)


# Letters NFKD leaves whole, as plain letters (after casefold: lower case).
_SPELLED_OUT = str.maketrans({"æ": "ae", "œ": "oe", "þ": "th", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h",
                              "ŧ": "t", "ı": "i", "ƀ": "b", "ɨ": "i", "ʉ": "u"})


def counterparts(mine: Iterable[TableName], theirs: Iterable[TableName]) -> Dict[TableName, Optional[TableName]]:
    """Each of `mine` with its table among `theirs` (None: it has none there): the one of its exact name, else the
    one folding to its name (`folded`: a copy's schema deployed in another spelling) where it is also the one of
    `mine` folding so. Two of `mine` differing only in case (a case-sensitive database) are two tables: one
    table of `theirs` is never both, and a name of `theirs` folding to both is neither's (which it is cannot
    be told)."""
    mine, theirs = list(mine), list(theirs)
    exact = set(theirs)
    alike: Dict[Tuple[str, str], List[TableName]] = {}
    for name in theirs:
        alike.setdefault(folded(name), []).append(name)
    mine_alike = Counter(folded(name) for name in mine)
    found: Dict[TableName, Optional[TableName]] = {}
    for name in mine:
        candidates = alike.get(folded(name), [])
        one_each = len(candidates) == 1 and mine_alike[folded(name)] == 1
        found[name] = name if name in exact else candidates[0] if one_each else None
    return found
