"""A parser for the part of T-SQL the fake SQL engine (`sql_world`) understands.

Written from the T-SQL grammar (Microsoft's Transact-SQL reference), not from the DAG's statement
builders: statements, expressions and SELECTs are parsed into small tuples that `sql_world`
evaluates against the simulated world. Anything outside this subset raises `NotUnderstood`, so a
statement the DAG starts sending that nobody taught the fake fails loudly instead of passing.

Statements: SET NOCOUNT/LOCK_TIMEOUT, IF [ELSE], BEGIN...END, BEGIN TRY...END TRY BEGIN CATCH...END
CATCH, THROW (bare, in a CATCH block), RAISERROR (with arguments for its %s), RETURN, ALTER DATABASE ... SET <option> [WITH
ROLLBACK IMMEDIATE], BACKUP LOG|DATABASE ... TO DISK = ... [WITH option [= value], ...], RESTORE LABELONLY FROM DISK = ..., DROP DATABASE [IF EXISTS], CREATE TABLE #temp,
DECLARE @table TABLE (...), DECLARE @variable type [= expression], INSERT INTO #temp|@table ... VALUES | SELECT | EXEC ..., EXEC [db.]sys.sp_executesql, EXEC [db.]sys.sp_addextendedproperty |
sp_dropextendedproperty (named arguments), SELECT [DISTINCT] [TOP (n)] ... FROM ... [JOIN ... ON ...]
[CROSS APPLY <table-valued function>(...) AS alias] [WHERE ...] [ORDER BY ...] (FROM a table, view,
#temp or @table variable). `parse_until_cursor` parses the statements of a batch before its first
DECLARE of a cursor (what follows is for `sql_world` to recognise whole).
Expressions: literals, column names, comparisons, AND/OR/NOT, [NOT] IN, IS [NOT] NULL, EXISTS,
scalar subqueries, + and -, `expression COLLATE name`, CASE WHEN ... THEN ... [ELSE ...] END, and function calls
by name (which ones `sql_world` evaluates: CONVERT, ISNULL, SERVERPROPERTY, DB_ID, DB_NAME, SUSER_SNAME,
HAS_PERMS_BY_NAME, HAS_DBACCESS, DATABASE_PRINCIPAL_ID, IS_ROLEMEMBER, SCHEMA_NAME, OBJECT_NAME, QUOTENAME, COUNT(*), COUNT_BIG(*), MAX, MIN, SUM).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple


class NotUnderstood(Exception):
    """T-SQL outside the subset the fake engine interprets."""


@dataclass(frozen=True)
class Token:
    kind: str  # word, ident, string, number, temp, variable, op
    value: Any  # identifiers and words as written; strings decoded; numbers as int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.value.upper() in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>N?'(?:[^']|'')*')
  | (?P<ident>\[(?:[^\]]|\]\])*\])
  | (?P<temp>\#\#?[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<variable>@@?[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<number>\d+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<op><>|!=|<=|>=|[=<>(),.;*+\-])
    """,
    re.VERBOSE | re.DOTALL,
)

KEYWORDS = frozenset(
    """SELECT FROM WHERE JOIN INNER ON AS ORDER BY ASC DESC TOP AND OR NOT IN IS NULL EXISTS IF ELSE
    BEGIN END SET ALTER DATABASE BACKUP LOG TO DISK WITH DROP CREATE TABLE INSERT INTO VALUES EXEC
    EXECUTE RAISERROR RETURN THROW COLLATE CROSS APPLY DISTINCT DECLARE CASE WHEN THEN""".split()
)


@functools.lru_cache(maxsize=128)
def tokenize(sql: str) -> Tuple[Token, ...]:
    """The batch's tokens. Remembered for the latest texts: a rehearsal sends the same batches again at every poke
    (a step's reads of the source and the target), and reading their text was most of the fake engine's parsing."""
    tokens: List[Token] = []
    position = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        if match is None:
            raise NotUnderstood("cannot read T-SQL at: %r" % sql[position:position + 40])
        position = match.end()
        kind = match.lastgroup
        text = match.group()
        if kind in ("space", "comment"):
            continue
        if kind == "string":
            tokens.append(Token("string", text[text.index("'") + 1:-1].replace("''", "'")))
        elif kind == "ident":
            tokens.append(Token("ident", text[1:-1].replace("]]", "]")))
        elif kind == "number":
            tokens.append(Token("number", int(text)))
        else:
            tokens.append(Token(kind, text))
    return tuple(tokens)


# --- syntax tree ------------------------------------------------------------------------------
# Expressions are tuples: ("lit", value), ("col", (part, ...)), ("var", name), ("star",),
# ("call", NAME, [args]), ("convert", type, expr, style), ("cmp", op, left, right),
# ("in", expr, [exprs] | Select, negated), ("isnull", expr, negated), ("and", l, r), ("or", l, r),
# ("not", e), ("exists", Select), ("subquery", Select), ("neg", e), ("collate", e, name).


@dataclass
class Select:
    items: List[Tuple[Any, Optional[str]]]  # (expression, alias)
    top: Optional[int] = None
    # (name, alias, join condition, arguments): arguments is None for a table or view, the argument
    # expressions of a table-valued function applied to each row so far (CROSS APPLY)
    sources: List[Tuple[Tuple[str, ...], Optional[str], Any, Optional[List[Any]]]] = field(default_factory=list)
    distinct: bool = False
    where: Any = None
    order: List[Tuple[Any, bool]] = field(default_factory=list)  # (expression, descending)


class Parser:
    def __init__(self, sql: str):
        self.tokens = tokenize(sql)
        self.position = 0

    # -- token helpers -----------------------------------------------------------------------

    def peek(self, offset: int = 0) -> Optional[Token]:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise NotUnderstood("the batch ends too early")
        self.position += 1
        return token

    def accept_word(self, *words: str) -> Optional[str]:
        token = self.peek()
        if token is not None and token.is_word(*words):
            self.position += 1
            return token.value.upper()
        return None

    def expect_word(self, *words: str) -> str:
        found = self.accept_word(*words)
        if found is None:
            raise NotUnderstood("expected %s, found %s" % (" or ".join(words), self._describe()))
        return found

    def accept_op(self, *ops: str) -> Optional[str]:
        token = self.peek()
        if token is not None and token.is_op(*ops):
            self.position += 1
            return token.value
        return None

    def expect_op(self, op: str) -> None:
        if self.accept_op(op) is None:
            raise NotUnderstood("expected %r, found %s" % (op, self._describe()))

    def _describe(self) -> str:
        token = self.peek()
        return "the end of the batch" if token is None else repr(token.value)

    def identifier(self) -> str:
        token = self.take()
        if token.kind == "ident" or (token.kind == "word" and token.value.upper() not in KEYWORDS):
            return token.value
        raise NotUnderstood("expected a name, found %r" % (token.value,))

    def multipart_name(self) -> Tuple[str, ...]:
        token = self.peek()
        if token is not None and token.kind in ("temp", "variable"):
            self.position += 1
            return (token.value,)
        parts = [self.identifier()]
        while self.accept_op("."):
            parts.append(self.identifier())
        return tuple(parts)

    def integer(self) -> int:
        negative = self.accept_op("-") is not None
        token = self.take()
        if token.kind != "number":
            raise NotUnderstood("expected a number, found %r" % (token.value,))
        return -token.value if negative else token.value

    # -- statements ---------------------------------------------------------------------------

    def batch(self) -> List[tuple]:
        statements = []
        while self.peek() is not None:
            if self.accept_op(";"):
                continue
            statements.append(self.statement())
        return statements

    def statement(self) -> tuple:
        token = self.peek()
        if token.is_word("SET"):
            return self._set()
        if token.is_word("IF"):
            return self._if()
        if token.is_word("BEGIN"):
            return self._block()
        if token.is_word("RAISERROR"):
            self.take()
            self.expect_op("(")
            message = self.expression()
            self.expect_op(",")
            severity = self.integer()
            self.expect_op(",")
            state = self.integer()
            arguments = []  # substituted for its %s (a local variable or a constant each)
            while self.accept_op(","):
                arguments.append(self.expression())
            self.expect_op(")")
            return ("raiserror", message, severity, state, arguments)
        if token.is_word("RETURN"):
            self.take()
            return ("return",)
        if token.is_word("THROW"):  # only the bare re-throw of a CATCH block
            self.take()
            return ("throw",)
        if token.is_word("ALTER"):
            return self._alter_database()
        if token.is_word("BACKUP"):
            return self._backup()
        if token.is_word("RESTORE"):  # RESTORE LABELONLY FROM DISK = ... only: a media label, nothing restored
            self.take()
            self.expect_word("LABELONLY")
            self.expect_word("FROM")
            self.expect_word("DISK")
            self.expect_op("=")
            return ("restore_labelonly", self.expression())
        if token.is_word("DROP"):
            self.take()
            self.expect_word("DATABASE")
            if_exists = False
            if self.accept_word("IF"):
                self.expect_word("EXISTS")
                if_exists = True
            return ("drop_database", self.identifier(), if_exists)
        if token.is_word("CREATE"):
            return self._create_temp_table()
        if token.is_word("DECLARE"):
            return self._declare()
        if token.is_word("INSERT"):
            return self._insert_values()
        if token.is_word("EXEC", "EXECUTE"):
            return self._exec()
        if token.is_word("SELECT"):
            return ("select", self.select())
        raise NotUnderstood("statement starting with %r" % (token.value,))

    def _set(self) -> tuple:
        self.take()
        option = self.take()
        if option.is_word("NOCOUNT"):
            return ("set_nocount", self.expect_word("ON", "OFF") == "ON")
        if option.is_word("LOCK_TIMEOUT"):
            return ("set_lock_timeout", self.integer())
        raise NotUnderstood("SET %s" % (option.value,))

    def _if(self) -> tuple:
        self.take()
        condition = self.expression()
        then = self._body()
        otherwise: List[tuple] = []
        self.accept_op(";")
        if self.accept_word("ELSE"):
            otherwise = self._body()
        return ("if", condition, then, otherwise)

    def _body(self) -> List[tuple]:
        statement = self.statement()
        return statement[1] if statement[0] == "block" else [statement]

    def _block(self) -> tuple:
        self.expect_word("BEGIN")
        if self.accept_word("TRY"):
            attempt = self._statements_until("TRY")
            self.expect_word("BEGIN")
            self.expect_word("CATCH")
            return ("try", attempt, self._statements_until("CATCH"))
        return ("block", self._statements_until(None))

    def _statements_until(self, kind: Optional[str]) -> List[tuple]:
        """Statements up to END (END TRY / END CATCH when `kind` is given), which it takes."""
        statements = []
        while not (self.peek() is not None and self.peek().is_word("END")):
            if self.peek() is None:
                raise NotUnderstood("BEGIN without END")
            if self.accept_op(";"):
                continue
            statements.append(self.statement())
        self.take()
        if kind is not None:
            self.expect_word(kind)
        return statements

    def _alter_database(self) -> tuple:
        self.take()
        self.expect_word("DATABASE")
        name = self.identifier()
        self.expect_word("SET")
        option = self.identifier().upper()
        termination = None
        if self.accept_word("WITH"):
            termination = " ".join(self.identifier().upper() for _ in range(2))
        return ("alter_database", name, option, termination)

    def _backup(self) -> tuple:
        self.take()
        kind = self.expect_word("LOG", "DATABASE")
        name = self.identifier()
        self.expect_word("TO")
        self.expect_word("DISK")
        self.expect_op("=")
        path = self.expression()
        options: List[str] = []
        valued: dict = {}  # option = value (RETAINDAYS = 3650)
        if self.accept_word("WITH"):
            while True:
                option = self.identifier().upper()
                if self.accept_op("="):
                    valued[option] = self.expression()
                else:
                    options.append(option)
                if not self.accept_op(","):
                    break
        return ("backup", kind, name, path, options, valued)

    def _create_temp_table(self) -> tuple:
        self.take()
        self.expect_word("TABLE")
        token = self.take()
        if token.kind != "temp":
            raise NotUnderstood("CREATE TABLE of a permanent table %r" % (token.value,))
        return ("create_temp", token.value, self._column_definitions())

    def _declare(self) -> tuple:
        """DECLARE @name TABLE (column type [NULL | NOT NULL], ...): a table variable; or DECLARE @name type
        [= expression] [, ...]: scalar variables (NULL unless given a value)."""
        self.take()
        token = self.take()
        if token.kind != "variable":
            raise NotUnderstood("DECLARE of anything but variables (%r)" % (token.value,))
        if self.accept_word("TABLE"):
            return ("declare_table", token.value.lower(), self._column_definitions())
        variables = []
        while True:
            type_name = self._type_name()
            value = self.expression() if self.accept_op("=") else ("lit", None)
            variables.append((token.value.lower(), type_name, value))
            if not self.accept_op(","):
                return ("declare", variables)
            token = self.take()
            if token.kind != "variable":
                raise NotUnderstood("DECLARE of anything but variables (%r)" % (token.value,))

    def at_cursor_declaration(self) -> bool:
        """The next statement DECLAREs a cursor."""
        token, name = self.peek(), self.peek(1)
        return token is not None and token.is_word("DECLARE") and (name is None or name.kind != "variable")

    def _column_definitions(self) -> List[Tuple[str, str]]:
        self.expect_op("(")
        columns = []
        while True:
            name = self.identifier()
            type_name = self._type_name()
            if self.accept_word("NOT"):
                self.expect_word("NULL")
            else:
                self.accept_word("NULL")
            columns.append((name, type_name))
            if not self.accept_op(","):
                break
        self.expect_op(")")
        return columns

    def _insert_values(self) -> tuple:
        self.take()
        self.expect_word("INTO")
        token = self.take()
        if token.kind not in ("temp", "variable"):
            raise NotUnderstood("INSERT into a permanent table %r" % (token.value,))
        self.expect_op("(")
        columns = [self.identifier()]
        while self.accept_op(","):
            columns.append(self.identifier())
        self.expect_op(")")
        if self.peek() is not None and self.peek().is_word("SELECT"):
            return ("insert_select", token.value, columns, self.select())
        if self.peek() is not None and self.peek().is_word("EXEC", "EXECUTE"):  # INSERT ... EXEC: its last result set
            return ("insert_exec", token.value, columns, self._exec())
        self.expect_word("VALUES")
        rows = []
        while True:
            self.expect_op("(")
            values = [self.expression()]
            while self.accept_op(","):
                values.append(self.expression())
            self.expect_op(")")
            rows.append(values)
            if not self.accept_op(","):
                break
        return ("insert_values", token.value, columns, rows)

    def _exec(self) -> tuple:
        self.take()
        name = self.multipart_name()
        procedure = tuple(part.lower() for part in name)
        if len(name) in (2, 3) and procedure[-2:] in (("sys", "sp_addextendedproperty"), ("sys", "sp_dropextendedproperty")):
            # [db].sys.sp_...: the system procedure as it appears in db's sys schema, run in db
            return ("exec_procedure", procedure[-1], self._named_arguments(), name[0] if len(name) == 3 else None)
        if tuple(part.lower() for part in name[-2:]) != ("sys", "sp_executesql") or len(name) > 3:
            raise NotUnderstood("EXEC %s" % ".".join(name))
        database = name[0] if len(name) == 3 else None
        statement = self.expression()
        declaration = None
        arguments = {}
        if self.accept_op(","):
            declaration = self.expression()
            if self.accept_op(","):
                arguments = self._named_arguments()
        return ("exec_sql", database, statement, declaration, arguments)

    def _named_arguments(self) -> dict:
        """@name = expression, ... (a procedure's arguments, by name only)."""
        arguments = {}
        while True:
            token = self.take()
            if token.kind != "variable":
                raise NotUnderstood("procedure arguments must be named, found %r" % (token.value,))
            self.expect_op("=")
            arguments[token.value.lower()] = self.expression()
            if not self.accept_op(","):
                return arguments

    def _type_name(self) -> str:
        name = self.identifier().lower()
        if self.accept_op("("):
            size = "max" if self.accept_word("MAX") else str(self.integer())
            if self.accept_op(","):
                size += ",%d" % self.integer()
            self.expect_op(")")
            return "%s(%s)" % (name, size)
        return name

    # -- SELECT ---------------------------------------------------------------------------------

    def select(self) -> Select:
        self.expect_word("SELECT")
        distinct = self.accept_word("DISTINCT") is not None
        top = None
        if self.accept_word("TOP"):
            self.expect_op("(")
            top = self.integer()
            self.expect_op(")")
        items = [self._select_item()]
        while self.accept_op(","):
            items.append(self._select_item())
        query = Select(items=items, top=top, distinct=distinct)
        if self.accept_word("FROM"):
            name, alias = self._source()
            query.sources.append((name, alias, None, None))
            while True:
                if self.accept_word("CROSS"):
                    self.expect_word("APPLY")
                    name = self.multipart_name()
                    arguments = self._arguments()
                    self.expect_word("AS")
                    query.sources.append((name, self.identifier(), None, arguments))
                elif self.accept_word("JOIN", "INNER"):
                    if self.tokens[self.position - 1].is_word("INNER"):
                        self.expect_word("JOIN")
                    name, alias = self._source()
                    self.expect_word("ON")
                    query.sources.append((name, alias, self.expression(), None))
                else:
                    break
        if self.accept_word("WHERE"):
            query.where = self.expression()
        if self.accept_word("ORDER"):
            self.expect_word("BY")
            while True:
                expression = self.expression()
                descending = self.accept_word("ASC", "DESC") == "DESC"
                query.order.append((expression, descending))
                if not self.accept_op(","):
                    break
        return query

    def _select_item(self) -> Tuple[Any, Optional[str]]:
        expression = self.expression()
        if self.accept_word("AS"):
            return expression, self.identifier()
        return expression, None

    def _source(self) -> Tuple[Tuple[str, ...], Optional[str]]:
        name = self.multipart_name()
        alias = self.identifier() if self.accept_word("AS") else None
        return name, alias

    # -- expressions ----------------------------------------------------------------------------

    def expression(self) -> Any:
        left = self._and()
        while self.accept_word("OR"):
            left = ("or", left, self._and())
        return left

    def _and(self) -> Any:
        left = self._not()
        while self.accept_word("AND"):
            left = ("and", left, self._not())
        return left

    def _not(self) -> Any:
        if self.accept_word("NOT"):
            return ("not", self._not())
        return self._predicate()

    def _predicate(self) -> Any:
        if self.accept_word("EXISTS"):
            self.expect_op("(")
            query = self.select()
            self.expect_op(")")
            return ("exists", query)
        left = self._additive()
        op = self.accept_op("=", "<>", "!=", "<", ">", "<=", ">=")
        if op is not None:
            return ("cmp", "<>" if op == "!=" else op, left, self._additive())
        negated = False
        if self.peek() is not None and self.peek().is_word("NOT") and self.peek(1) is not None and self.peek(1).is_word("IN"):
            self.take()
            negated = True
        if self.accept_word("IN"):
            self.expect_op("(")
            if self.peek() is not None and self.peek().is_word("SELECT"):
                members: Any = self.select()
            else:
                members = [self.expression()]
                while self.accept_op(","):
                    members.append(self.expression())
            self.expect_op(")")
            return ("in", left, members, negated)
        if self.accept_word("IS"):
            is_not = self.accept_word("NOT") is not None
            self.expect_word("NULL")
            return ("isnull", left, is_not)
        return left

    def _additive(self) -> Any:
        left = self._collated()
        while True:
            op = self.accept_op("+", "-")
            if op is None:
                return left
            left = ("arith", op, left, self._collated())

    def _collated(self) -> Any:
        primary = self._primary()
        if self.accept_word("COLLATE"):
            return ("collate", primary, self.identifier())
        return primary

    def _primary(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return ("lit", token.value)
        if token.kind == "number":
            return ("lit", token.value)
        if token.is_op("-"):
            return ("neg", self._primary())
        if token.is_op("*"):
            return ("star",)
        if token.kind == "variable":
            return ("var", token.value.lower())
        if token.kind == "temp":
            return ("col", (token.value,))
        if token.is_op("("):
            if self.peek() is not None and self.peek().is_word("SELECT"):
                query = self.select()
                self.expect_op(")")
                return ("subquery", query)
            inner = self.expression()
            self.expect_op(")")
            return inner
        if token.is_word("NULL"):
            return ("lit", None)
        if token.is_word("CASE"):  # the searched form
            branches = []
            while self.accept_word("WHEN"):
                condition = self.expression()
                self.expect_word("THEN")
                branches.append((condition, self.expression()))
            if not branches:
                raise NotUnderstood("CASE without WHEN (the simple form)")
            otherwise = self.expression() if self.accept_word("ELSE") else ("lit", None)
            self.expect_word("END")
            return ("case", branches, otherwise)
        if token.kind in ("word", "ident"):
            if token.kind == "word" and self.peek() is not None and self.peek().is_op("("):
                return self._call(token.value.upper())
            self.position -= 1
            return ("col", self.multipart_name())
        raise NotUnderstood("expression starting with %r" % (token.value,))

    def _call(self, name: str) -> Any:
        self.expect_op("(")
        if name in ("CONVERT", "CAST"):
            if name == "CAST":
                raise NotUnderstood("CAST (the DAG's statements use CONVERT)")
            type_name = self._type_name()
            self.expect_op(",")
            value = self.expression()
            style = self.integer() if self.accept_op(",") else None
            self.expect_op(")")
            return ("convert", type_name, value, style)
        return ("call", name, self._arguments(opened=True))

    def _arguments(self, opened: bool = False) -> List[Any]:
        """`(expression, ...)` of a call; `opened`: its `(` is taken already."""
        if not opened:
            self.expect_op("(")
        arguments: List[Any] = []
        if not self.accept_op(")"):
            arguments.append(self.expression())
            while self.accept_op(","):
                arguments.append(self.expression())
            self.expect_op(")")
        return arguments


def parse_batch(sql: str) -> List[tuple]:
    return Parser(sql).batch()


def parse_until_cursor(sql: str) -> List[tuple]:
    """The statements of `sql` before its first DECLARE of a cursor."""
    parser = Parser(sql)
    statements = []
    while parser.peek() is not None and not parser.at_cursor_declaration():
        if parser.accept_op(";"):
            continue
        statements.append(parser.statement())
    return statements
