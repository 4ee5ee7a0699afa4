"""Secrets from Airflow connections (backed by Azure Key Vault in the managed Airflow).

Values returned here go into DMS request bodies or SQL logins only: never into logs or XCom.
Every password a `ConnectionSecret` holds is remembered in this process (with its URL, base64 and escaped
encodings), so that `redact` can take it out of text a server sent back (an error that quotes the
request it refused) before that text reaches an event, a log line or a task's error. `redact` also blanks
the secrets text can carry that the DAG never held: the Password, Pwd, AccountKey and client secret values
of connection strings (Data Factory's, read from Key Vault; braced or quoted values whole), of queries, of
environment variables and of `key: value` lines (YAML, a printed mapping, an HTTP header), under a key so named or
ending so (`adminPassword`, `client-secret`, `x-api-key`, `token` where it is a key), a command line's flag's argument
(`--password x`, sqlcmd's `-P x`, az's `-p x`, `az keyvault secret set --value x`, PowerShell's
`ConvertTo-SecureString 'x'`, piped too; quoted in a shell's pieces, on a line continued by `\\` or a backtick), an
XML element's text, JSON members named like a secret (in a JSON string too), a URL's password, an Authorization header or bearer token an HTTP error quotes, a SAS signature and a JWT. Every module logs through `redacting_logger`, so no log line of the package needs to remember to redact. Each remembered
form is also given to Airflow's own secrets masker, so that Airflow masks it in what it writes itself
(a task's log and the traceback of its failure, whoever logged the line).
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set
from urllib.parse import quote, quote_plus

REDACTED = "***"
_known_secrets: Set[str] = set()
# Names the DAG writes before a `:` in its own messages (`<database>: no window can start its cutover ...`), lower case.
_known_names: Set[str] = set()
_known_lock = threading.Lock()
MIN_SECRET_LENGTH = 4  # shorter values would blank ordinary words
BASE64_CORE_MIN_LENGTH = 8  # a shorter run of base64 characters could be an ordinary word
_SECRET_KEY = r"password|pwd|account[_-]?key|shared[_-]?access[_-]?key|shared[_-]?access[_-]?signature|secret|api[_-]?key"
# What text a server, an SDK, a driver or a command line sends back can carry without the DAG having handed the secret
# out: a secret's key, named like a secret or ending so (`adminPassword`, `MSSQL_SA_PASSWORD`, `client-secret`,
# `x-api-key`; not `PasswordExpiry`), in one of the shapes below, each a named group that `_separator` reads. The
# value after its key's separator is on the key's line (`password:` alone leaves the next line to YAML's rule).
_SECRET_OR_TOKEN = r"(?:%s|token)" % _SECRET_KEY
_QUOTE = r"""\\?["']"""  # a quote, escaped too (in a JSON string)
# Blanks between a flag and its argument, on the lines a command goes on to too: bash's and sqlcmd's `\`, cmd's `^`
# and PowerShell's backtick at a line's end continue it.
_CONTINUATION = r"[\\`^](?:\r\n|\r|\n)"
_BLANKS = r"[ \t]+(?:" + _CONTINUATION + r"[ \t]*)*"
# A parameter's `(ConvertTo-SecureString 'x' ...)` or `('x' | ConvertTo-SecureString ...)`: the string is the cmdlet's.
_SECURE_STRING_PARAMETER = (r"[ \t]*(?:" + _CONTINUATION + r"[ \t]*)*"
                            r"\((?:[^)\r\n]{0,256}?\|[ \t]*)?ConvertTo-SecureString\b")
_KEY_SHAPES = {
    # A URL's query or a form body (an OAuth token request; ARM's `$skiptoken`): its value ends at the next '&' ('&' in
    # it is %26).
    "query": r"(?P<query>[?&](?:\$|%24)?\w*?" + _SECRET_OR_TOKEN + "=)",
    # `key=` (a connection string, an environment variable, an XML attribute) or `key:` (YAML, a printed mapping, JSON
    # or a repr, `\"` escaped in a JSON string too), spaced or not, its name quoted or not (PowerShell's hashtable).
    # `token` (`sas_token`, `X-Auth-Token`) is a key before `=`, but before `:` only where it starts a line, follows
    # `{` `,` `;` or is quoted (`_starts_a_key`): prose writes `Unable to obtain access token: <the reason>`. Prose's
    # "Password did not match" is not a key.
    "key": r"(?<![?&])(?:%s|(?P<token>token))(?:%s)?\s*(?:=|(?P<colon>:))[ \t]*" % (_SECRET_KEY, _QUOTE),
    # A command line's flag and its argument (`--password x`, `--sas-token x`, PowerShell's `-Password x`, in a list's
    # repr `'--password', 'x'`); on their lines only (`_LINES_OF_FLAG`): sqlcmd's and bcp's `-P x` or `-Px`, which
    # they read alike, az's `-p x` (not a `-p` that begins a key: `-password:`), an az secret command's `--value x`,
    # ConvertTo-SecureString's `-String x`.
    "flag": (r"(?<![\w-])(?:--?[\w-]*?" + _SECRET_OR_TOKEN
             + r"|(?P<short_flag>(?-i:-P)|(?![\w-]*?" + _SECRET_OR_TOKEN + "(?:" + _QUOTE + r")?\s*[=:])(?-i:-p))"
             + r"|(?P<line_flag>--value|-string))"
             + r"(?P<flag>(?!" + _SECURE_STRING_PARAMETER + ")"
             + "(?:" + _BLANKS + "|" + _QUOTE + r",[ \t]*(?=" + _QUOTE + ")"
             + r"|(?(short_flag)(?=\S)|(?!))|(?(line_flag)=|(?!))))"),
    # ConvertTo-SecureString's string (`'x'`, after its switches too).
    "positional": (r"(?<![\w-])ConvertTo-SecureString(?:" + _BLANKS + r"-(?:AsPlainText|Force)\b)*(?P<positional>"
                   + _BLANKS + r")(?![\s|;#)-]|" + _CONTINUATION + ")"),
    # An XML element (`<Password>x<`).
    "element": r"(?P<element><(?:[\w.-]+:)?[\w.-]*?" + _SECRET_OR_TOKEN + ">)",
}
# In this order: the first shape that matches. Each begins with one of the characters looked ahead for first (what a
# position that holds none is passed over for, at the cost of one test).
_VALUE_KEY = re.compile(r"(?=[?&<\-pastc])(?:%s)" % "|".join(_KEY_SHAPES.values()), re.IGNORECASE)
# The flags that hold a secret only on a command's line: sqlcmd's and bcp's `-P` (elsewhere a port's: scp's), az's `-p`
# (`az login -p`; elsewhere `scp -p` keeps times), the `--value` of an az command about a secret (`az keyvault secret set`;
# `--value` elsewhere is a setting's), ConvertTo-SecureString's `-String`: (command, a word its line must also hold).
# az's `-p` is a password's in most of its commands (`az login`, `az sql server create`, `az mysql flexible-server
# create`, `az functionapp config container set`, ...; azure-cli's _params.py): all of them but those where it is the
# App Service plan's (`az webapp create`, `az functionapp create`, `az logicapp create`).
_AZ = re.compile(r"(?i)\baz\b")
_AZ_BUT_AN_APP_S_CREATE = re.compile(r"(?i)\baz\b(?![ \t]+(?:webapp|functionapp|logicapp)[ \t]+create\b)")
_LINES_OF_FLAG = {"-P": (re.compile(r"(?i)\b(?:sqlcmd|bcp)\b"), None), "-p": (_AZ_BUT_AN_APP_S_CREATE, None),
                  "--value": (_AZ, re.compile(r"(?i)\bsecret\b")),
                  "-string": (re.compile(r"(?i)\bConvertTo-SecureString\b"), None)}
_LINE_BREAK = re.compile(r"(?<![\\`^\r])\n|(?<![\\`^])\r")  # not one that continues a command's line
_CONTINUATION_MARK = re.compile(_CONTINUATION)
# A flag's argument or ConvertTo-SecureString's string that prose writes, followed by a word: `Use --password to set
# it`, `ConvertTo-SecureString : Cannot bind ...` (PowerShell's error). Each shorter than MIN_SECRET_LENGTH: no secret.
_PROSE_ARGUMENTS = {"to", "is", "as", "or", "and", "for", "the", "in", "on", "of", "if", "was", "not", "are", "be",
                    "it", "by", "at", "an", "a", "can", "may", "has", ":"}
_A_WORD_FOLLOWS = re.compile(r"[ \t][^\W\d_]{2,}(?=[\s.,;:!?]|\Z)")  # one space, then a word of letters only
# What prose writes after a `token:` that starts a line (`token: refreshed at 10:00`): one of these words, then words
# only (of letters as prose writes them: lower case, Capitalised, or a short upper-case one (`UTC`); or of digits:
# `10:00`, `1.2`; a full stop or comma after one; never both in one word, nor letters in mixed case, as a token mixes
# them: `expired abc123`, `expired AbCdEf`) to the line's end: no token, nor anything else a line holds (a flag, a
# quote, a key: the line is blanked as ever).
_PROSE_AFTER_TOKEN = {"refreshed", "renewed", "expired", "expires", "revoked", "missing", "invalid", "acquired",
                      "obtained", "cached", "requested", "received", "is", "was", "has", "not", "will"}
_WORD = re.compile(r"[^\W\d_]+")
_WORDS_TO_THE_LINE_END = re.compile(r"(?:[ \t]+(?:[A-Z]?[a-z]{1,20}|[A-Z]{1,6}|\d+(?:[:.]\d+)*)[.,;!?]?)+[ \t]*(?=[\r\n]|\Z)")
_LINE_BREAK_BEFORE = re.compile(r"`?(?:\r\n|\r|\n)\Z")  # (searched with an end: \Z is there)
_PIPED_TO_SECURE_STRING = re.compile(r"(?i)\|\s*ConvertTo-SecureString\b")  # a pipe at a line's end goes on below
_NAME = re.compile(r"[\w.$-]*")
# A connection string's value {braced, with }} inside}, "quoted" or 'quoted' (a quote inside doubled, or escaped by a
# backslash as a Python repr writes it; a backslash before a doubled quote, YAML's or SQL's `'a\''b'`, does not close
# it: a leak is worse than a repr's `'a\''` blanked on to its next quote); in a JSON string (a `"` open before its
# key), \"quoted\" too.
# One never closed (a text cut short) runs to the end: it may be all secret, and a value that must close before the
# end would be looked for again from every key, in time squared (the JSON one stops at the JSON string's end).
_ENCLOSED_VALUE = re.compile(r"""\{(?:[^}]|\}\})*(?:\}|\Z)|"(?:[^"\\]|""|\\""|\\[\s\S])*(?:"|\\?\Z)"""
                             r"""|'(?:[^'\\]|''|\\''|\\[\s\S])*(?:'|\\?\Z)""")
# In a JSON string each of the value's characters is escaped once more: `\"` is a quote, `\\` a backslash that escapes
# what follows it (a JSON body or a repr quoted in an error's message).
_JSON_ESCAPED_QUOTED_VALUE = re.compile(r"""\\"(?:\\"\\"|\\\\(?:\\[\s\S]|[^\\"])?|\\[^\\"]|[^\\"])*(?:\\"|(?="|\\?\Z))"""
                                        r"""|'(?:''|\\\\''|\\\\(?:\\[\s\S]|[^\\"])?|\\[^\\]|[^\\'"])*(?:'|(?="|\\?\Z))""")
# Where a bare value ends at the latest, by its key's separator: a connection string's at ';' or the line's end, a
# query's at '&', '#' or a space, a `key: value`'s at the line's end (YAML's value may hold ';'; and may go on below it:
# `_yaml_value_end`).
_BARE_VALUE_END = {"=": re.compile(r"[;\r\n]|\Z"), "&": re.compile(r"[&#\s]|\Z"), ":": re.compile(r"[\r\n]|\Z"),
                   " ": re.compile(r"\s|\Z"), "<": re.compile(r"<|\Z")}
# A piece of a shell word after its first (`'a'"'"'b'`, `'a'\''b'`): quoted as a shell quotes, on one line.
_SHELL_PIECE = re.compile(r"""'[^'\r\n]*'|"(?:[^"\\\r\n]|\\[^\r\n])*"|\\'""")
_INDENT = re.compile(r"[ \t]*")
_NEXT_LINE = re.compile(r"(?:\r\n|\r|\n)([ \t]*)([^\r\n]*)")
# What may follow a quote that closes the text quoting a value: a space or the end, or `,` `:` `)` `}` `]` and then a
# space, the end or a quote (`'...', x`, `"...","`, `"..."}`), a full stop before a space or the end, or the other quote
# (`"...'...'"`). Not the same quote: `''` is a quote inside a value quoted so.
_AFTER_CLOSING_QUOTE = {quote: re.compile(r"""[,:)}\]]*\.?(?:\s|\Z|%s)|[,:)}\]]+['"]""" % other)
                        for quote, other in (("'", '"'), ('"', "'"))}
_QUOTE_OR_LINE_END = re.compile(r"""['"\r\n]""")
_SECRET_PATTERNS = [
    # A JSON or Python-repr member named like a secret, or ending so (a request body, an SDK model: ARM's
    # administratorLoginPassword, storageAccountKey), its quoted value (to the end where it never closes).
    re.compile(r"""(?is)(["'][\w-]*?(?:%s|accesstoken|access_token|refresh_token|sastoken|sas_token)["']\s*:\s*)("(?:[^"\\]|\\.)*(?:"|\Z)|'(?:[^'\\]|\\.)*(?:'|\Z))"""
               % _SECRET_KEY),
    # An HTTP header quoted back: Authorization: Bearer ..., 'Authorization': 'SharedKey ...'.
    re.compile(r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)"""),
    re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9\-._~+/]+=*)"),
    # A URL's password (`mssql://svc:...@sql01/db`: an Airflow connection's URI, a SQLAlchemy URL), to the last '@'
    # before its path, query or fragment (one the password holds unencoded too).
    re.compile(r"(?i)((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^\s/?#:@]*:)([^\s/?#]+)(?=@)"),
    # A SAS token's signature in a URL or a query string.
    re.compile(r"(?i)([?&;]sig=)([^&\s'\"]+)"),
    # A JWT (an Entra ID access token, a federated token).
    re.compile(r"()(\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)"),
]


def remember_secret(value: Optional[str]) -> None:
    """`value` (and its URL, base64 and escaped encodings) is a secret: `redact` takes it out of any text from now on."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, quote(value, safe=""), quote_plus(value)} | _escaped(value) | _base64_cores(value)
    forms = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
    with _known_lock:
        new_forms = forms - _known_secrets
        _known_secrets.update(forms)
    _mask_in_airflow(new_forms)  # once per process: on Airflow 3 each call is also a message to the supervisor


def remember_names(names: Iterable[str]) -> None:
    """The plan's, its databases' and servers' names: never a secret's key before `:`, though one may end like one
    (`PaymentToken`, `AppSecret`, `PartnerApiKey`), so the DAG's `<name>: <what to do>` keeps its text. A name that is
    a key word alone (`secret`, `token`) stays a key."""
    with _known_lock:
        _known_names.update(name.lower() for name in names if name)


def _a_known_name(text: str, key: "re.Match[str]") -> bool:
    """Whether the key `key` found before `:` ends a longer name the DAG knows (`remember_names`)."""
    if not _known_names:
        return False
    start = key.start()
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.-$"):
        start -= 1
    word = _NAME.match(text, start).group(0)
    return start < key.start() and word.lower() in _known_names


def _mask_in_airflow(forms: Set[str]) -> None:
    from migration_orchestration_lib.airflow_compat import mask_secret

    try:
        for form in sorted(forms):
            mask_secret(form)
    except Exception as error:  # a custom logging config without Airflow's masker (2.x): `redact` still works
        logging.getLogger(__name__).warning("Airflow's secrets masker did not take a secret: %s", type(error).__name__)


def _escaped(value: str) -> Set[str]:
    """`value` as a server or a library quotes it back escaped: in JSON (a request body), a Python repr (an
    SDK model), a connection string's braced or quoted value (`}}`, `""`, `''`)."""
    return {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1],
            value.replace("}", "}}"), value.replace('"', '""'), value.replace("'", "''")}


def _base64_cores(value: str) -> Set[str]:
    """The characters every base64 encoding of a text holding `value` shares, whatever precedes it (three
    alignments) and follows it: a server may echo a request body encoded (a blob, a SAS, a JSON token)."""
    cores = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(("\0" * offset + value).encode("utf-8")).decode("ascii")
            # the first group mixes with what precedes; the last one (or two) with what follows
            core = encoded[4 if offset else 0:][:-4]
            if len(core) >= BASE64_CORE_MIN_LENGTH:
                cores.add(core)
    return cores


def redact(text: Any) -> Any:
    """`text` without any remembered secret nor a connection string's secret value; not text: as is."""
    if not isinstance(text, str):
        return text
    with _known_lock:
        known = sorted(_known_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _without_piped_secure_strings(_without_key_values(text))
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_redacted_value, text)
    return text


def _without_key_values(text: str) -> str:
    """`text` without the value of any secret key of a connection string, a URL's query, a form body or `key: value`."""
    quotes = _Quotes(text)
    command_lines = {flag: _CommandLines(text, *patterns) for flag, patterns in _LINES_OF_FLAG.items()}
    bare_ends = {separator: _BareEnds(text, pattern) for separator, pattern in _BARE_VALUE_END.items()}
    kept: List[str] = []
    copied = position = 0
    # Where the lines below a bare `key: value` that YAML reads as its value end (`_yaml_value_end`): blanked whole, the
    # keys in them read as ever (a quoted value never closed there still runs on to the text's end).
    blanked_to = 0
    while True:
        key = _VALUE_KEY.search(text, position)
        if key is None:
            _keep(kept, text, copied, len(text), blanked_to)
            return "".join(kept)
        start = position = key.end()
        line_flag = key.group("short_flag") or (key.group("line_flag") or "").lower()
        if line_flag and not command_lines[line_flag].holds(key.start()):
            position = key.start() + 1  # a key may begin within it: `-PWD=`
            continue
        separator = _separator(key)
        # an argument on a line a command went on to (`sqlcmd \<newline> -P x`, `-p \<newline> x`) ends on its line,
        # closed or not, and the keys in and after it read as they did before continued lines were read
        continued = separator == " " and ("\n" in key.group() or "\r" in key.group()
                                          or (line_flag and command_lines[line_flag].continued_before(key.start())))
        if key.group("token") and key.group("colon") and (not _starts_a_key(text, key.start())
                                                          or _prose_after_token(text, key.start(), start)):
            continue
        if separator == ":" and _a_known_name(text, key):
            continue
        open_quote = quotes.open_at(start)
        enclosed_end = bare_ends[":"].after(start) if continued else len(text)
        enclosed = None if separator in "&<" else (
            (quotes.in_code_string() and _JSON_ESCAPED_QUOTED_VALUE.match(text, start, enclosed_end))
            or _ENCLOSED_VALUE.match(text, start, enclosed_end))
        end = enclosed.end() if enclosed else quotes.bare_value_end(start, bare_ends[separator].after(start), open_quote)
        if (separator == " " and not enclosed and text[start - 1] in " \t"
                and text[start:end].lower() in _PROSE_ARGUMENTS and _A_WORD_FOLLOWS.match(text, end)):
            continue
        # a command line's argument: quoted pieces on (a key in those read too, as in a bare argument; one whose first
        # piece a value blanked already holds is skipped as ever: each piece is read once)
        shell_word = enclosed and end > copied and (separator == " " or _a_flags_key(text, key.start()))
        if shell_word:  # (its first piece read as a repr reads it, or as a shell does: `'a\'` closes in a shell)
            end = max(_shell_word_end(text, end, open_quote), _shell_word_end(text, start, open_quote))
            shell_word = end > enclosed.end()
        if start < end <= copied:  # a key in a value blanked already, hers within it
            continue
        if end > max(start, copied):  # (a value a key in an earlier value began was blanked to `copied`)
            masked = _masked(text[start:end]) if start >= copied else REDACTED
            _keep(kept, text, copied, max(start, copied), blanked_to)
            if not (kept and kept[-1] == REDACTED and masked == REDACTED):
                kept.append(masked)
            copied = end
            # a flag's, an element's or a query's value ends before a key in it (`--password password: x`) ends hers
            position = start if (separator in " &<" and not enclosed) or shell_word or continued else end
            if not continued:
                quotes.skip_to(end)
        if separator == ":" and not enclosed and end == bare_ends[":"].after(start) and key.start() >= blanked_to:
            value_end = _yaml_value_end(text, key.start(), end)  # one within those lines ends no later
            if value_end > end:
                if end == start:  # all of the value is below its key: from its first line's text
                    below = max(_first_text_below(text, end), copied)
                    _keep(kept, text, copied, below, blanked_to)
                    copied = position = below
                blanked_to = value_end


def _prose_after_token(text: str, key_start: int, start: int) -> bool:
    """Whether the value of a `token:` from `start` is prose: a word `_PROSE_AFTER_TOKEN` holds, words to the line's
    end, and no line below that YAML would read as more of it (`_yaml_value_end`)."""
    word = _WORD.match(text, start)
    line_end = word and word.group().lower() in _PROSE_AFTER_TOKEN and _WORDS_TO_THE_LINE_END.match(text, word.end())
    return bool(line_end) and _yaml_value_end(text, key_start, line_end.end()) == line_end.end()


def _a_flags_key(text: str, at: int) -> bool:
    """Whether the key at `at` ends a command line's flag (`--password=`, `--admin-password=`)."""
    while at > 0 and (text[at - 1].isalnum() or text[at - 1] in "_-"):
        at -= 1
    return text.startswith("-", at)


def _shell_word_end(text: str, end: int, open_quote: str) -> int:
    """Where a shell word whose quoted pieces from `end` on end: quoted pieces follow one another with no space between
    (`'a'"'"'b'`, `'a'\\''b'`; each closed on its line), but for a quote of the kind the text opened before the key
    (`open_quote`): that one closes the text (`"run.sh --password 'x'" failed`)."""
    while True:
        piece = _SHELL_PIECE.match(text, end)
        if piece is None or text[end] == open_quote[:1]:
            return end
        end = piece.end()


def _separator(key: "re.Match[str]") -> str:
    """What ends the bare value after `key`: a query's `&`, a flag's space, an element's `<`, a `key: value`'s line end,
    a connection string's `;` (as `_BARE_VALUE_END` keys them)."""
    for group, separator in (("query", "&"), ("flag", " "), ("positional", " "), ("element", "<"), ("colon", ":")):
        if key.group(group) is not None:
            return separator
    return "="


def _starts_a_key(text: str, at: int) -> bool:
    """Whether the word holding `at` (a `token` before `:`) is a key, not prose: quoted, or starting a line (indented,
    after a YAML list's `- `; in a JSON string after `\\n` too) or a quoted text, or after `{` `,` `;` (a flow mapping,
    a repr). Read back over that word and its line's indent only."""
    while at > 0 and (text[at - 1].isalnum() or text[at - 1] in "_-"):
        at -= 1
    if at > 0 and text[at - 1] in "'\"":
        return True
    at = _before_blanks(text, at)
    if text[at - 1:at] == "-" and text[at:at + 1] in (" ", "\t"):
        at = _before_blanks(text, at - 1)
    return at == 0 or text[at - 1] in "\r\n{,;'\"" or text[at - 2:at] in ("\\n", "\\r")


def _without_piped_secure_strings(text: str) -> str:
    """`text` without the string a pipeline hands ConvertTo-SecureString (`'x' | ConvertTo-SecureString -AsPlainText`),
    read back from the pipe no further than its line's start or the pipe before it; from a pipe that begins a line, on
    the line above (PowerShell's backtick before it, or PowerShell 7.4's pipe that begins a line)."""
    kept: List[str] = []
    copied = floor = 0
    for pipe in _PIPED_TO_SECURE_STRING.finditer(text):
        end = _before_blanks(text, pipe.start())
        line_break = _LINE_BREAK_BEFORE.search(text, max(end - 3, 0), end)
        if line_break:
            end = _before_blanks(text, line_break.start())
        floor = max(floor, text.rfind("\n", floor, end) + 1, text.rfind("\r", floor, end) + 1)
        start = _piped_value_start(text, floor, end)
        if start < end and text[start:end] != REDACTED:
            kept += [text[copied:start], _masked(text[start:end])]
            copied = end
        floor = pipe.end()
    return "".join(kept) + text[copied:]


def _piped_value_start(text: str, floor: int, end: int) -> int:
    """Where the value that ends at `end` begins, `floor` at the earliest: a quoted one's opening quote (one doubled
    inside is the value's, in double quotes one after a backtick too; none opened it: all from `floor` may be secret),
    a bare one's first character after a space or `(` `=` `;` `{` `,`."""
    quote = text[end - 1:end]
    if quote not in ("'", '"') or end - 1 <= floor:
        start = end
        while start > floor and not text[start - 1].isspace() and text[start - 1] not in "(=;{,":
            start -= 1
        return start
    at = end - 1
    while True:
        at = text.rfind(quote, floor, at)
        if at < 0:
            return floor
        if not (at > floor and (text[at - 1] == quote or (quote == '"' and text[at - 1] == "`"))):
            return at
        at -= 1


def _before_blanks(text: str, at: int) -> int:
    while at > 0 and text[at - 1] in " \t":
        at -= 1
    return at


class _CommandLines:
    """Whether a position is on a line that runs `command` before it (and holds `word` after the command: `secret`),
    where a flag of `_LINES_OF_FLAG` holds a secret, found in logarithmic time."""

    def __init__(self, text: str, command: "re.Pattern[str]", word: "Optional[re.Pattern[str]]") -> None:
        self.text, self.command, self.word = text, command, word
        self.commands: Optional[List[int]] = None
        self.words: List[int] = []
        self.line_breaks: List[int] = []
        self.continuations: Optional[List[int]] = None

    def holds(self, at: int) -> bool:
        if self.commands is None:
            self.commands = [command.start() for command in self.command.finditer(self.text)]
            self.words = [word.start() for word in self.word.finditer(self.text)] if self.word else []
            self.line_breaks = [line_break.start() for line_break in _LINE_BREAK.finditer(self.text)]
        before = bisect_left(self.commands, at)
        if before == 0:
            return False
        command = self.commands[before - 1]
        next_break = bisect_left(self.line_breaks, command)
        line_end = self.line_breaks[next_break] if next_break < len(self.line_breaks) else len(self.text)
        if line_end < at:
            return False
        word = bisect_left(self.words, command)
        return self.word is None or (word < len(self.words) and self.words[word] < line_end)

    def continued_before(self, at: int) -> bool:
        """Whether the command's line that holds `at` (`holds`) went on to another line before it (`sqlcmd \\`)."""
        if self.continuations is None:
            self.continuations = [mark.start() for mark in _CONTINUATION_MARK.finditer(self.text)]
        command = self.commands[bisect_left(self.commands, at) - 1]
        continuation = bisect_left(self.continuations, command)
        return continuation < len(self.continuations) and self.continuations[continuation] < at


def _keep(kept: List[str], text: str, copied: int, start: int, blanked_to: int) -> None:
    """Appends to `kept` the text from `copied` to `start`, but for the part before `blanked_to`: *** (one already at
    its end covers it)."""
    if copied < min(start, blanked_to) and not (kept and kept[-1] == REDACTED):
        kept.append(REDACTED)
    if max(copied, blanked_to) < start:
        kept.append(text[max(copied, blanked_to):start])


def _yaml_value_end(text: str, key_start: int, line_end: int) -> int:
    """Where a `key: value` whose bare value runs to its line's end (`line_end`) ends, as YAML reads it: with the last
    of the lines below indented more than its key's line (blank lines among them too). There go a block scalar's lines
    (`password: |`), a value below its key's tag, anchor or comment (`password: !!str |`, `password:  # rotated`) and
    a plain value folded onto more lines (PyYAML folds one with spaces at 80 characters)."""
    line_start = key_start  # looked for from the key back (not from the text's start: once per line, not per key)
    while line_start > 0 and text[line_start - 1] not in "\r\n":
        line_start -= 1
    indent = _INDENT.match(text, line_start).end() - line_start
    end = position = line_end
    while True:
        line = _NEXT_LINE.match(text, position)
        if line is None or (line.group(2) and len(line.group(1)) <= indent):
            return end
        position = line.end()
        if line.group(2):
            end = position


def _first_text_below(text: str, line_end: int) -> int:
    """Where the text of the first line below `line_end` that holds any (a blank line's spaces aside) begins."""
    while True:
        line = _NEXT_LINE.match(text, line_end)
        if line.group(2):
            return line.start(2)
        line_end = line.end()


class _BareEnds:
    """Where a bare value from a position ends at the latest, each ';' or line end (a query's '&', '#' or space) looked
    for once: the keys between two of them share it."""

    def __init__(self, text: str, pattern: "re.Pattern[str]") -> None:
        self.text, self.pattern, self.last = text, pattern, -1

    def after(self, start: int) -> int:
        if self.last < start:
            self.last = self.pattern.search(self.text, start).start()
        return self.last


def _redacted_value(match: "re.Match[str]") -> str:
    """The match with its last group (the secret value) redacted."""
    return match.group(0)[: match.start(match.lastindex or 0) - match.start(0)] + _masked(match.group(match.lastindex or 0))


def _masked(value: str) -> str:
    """`value` redacted, a quoted one keeping its quotes (a closing one only where it had one)."""
    quoted = value[:1] in ("'", '"') and len(value) > 1
    closing = value[0] if quoted and value.endswith(value[0]) else ""
    return value[0] + REDACTED + closing if quoted else REDACTED


class _Quotes:
    """The quotes of a text, read forward once (each lookup in logarithmic time), for where a bare value ends (one
    neither braced nor quoted): at ';' (a query's at '&'), or at a quote closing the quote the text opened before its key
    (a call's `connect('<connection string>', ...)`, a JSON string) where the quotes of that kind after it on its line
    pair up. A quote that no quote before the key opened is the secret's: the value runs on (was: cut at a quote before
    a space)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.open: List[str] = []  # the quotes open at `position` on its line, the innermost last; prose's doubled
        self.open_count = dict.fromkeys(("'", '"', "''", '""'), 0)
        self.closing: Dict[str, List[int]] = {}  # an open quote (as `open_at` gives it) -> where it may close

    def open_at(self, position: int) -> str:
        """The innermost quote open at `position` (the values `skip_to` passed over aside), doubled where prose opened
        it (`using '...`: not escaping the quote inside) rather than code (`('...`, `: "...`); "" where none is."""
        for mark in _QUOTE_OR_LINE_END.finditer(self.text, self.position, position):
            at, quote = mark.start(), mark.group()
            if quote in "\r\n":
                self.open.clear()
                self.open_count = dict.fromkeys(self.open_count, 0)
            elif self._backslashed(at):
                continue
            elif (self.open_count[quote] or self.open_count[quote * 2]) and self._may_close(at):
                while True:
                    closed = self.open.pop()
                    self.open_count[closed] -= 1
                    if closed[0] == quote:
                        break
            elif self._may_open(at):
                self.open.append(quote if self._opened_by_code(at) else quote * 2)
                self.open_count[self.open[-1]] += 1
        self.position = max(self.position, position)
        return self.open[-1] if self.open else ""

    def in_code_string(self) -> bool:
        """Whether code opened a `"` (a JSON string, a repr) still open where `open_at` was: `\"` in it is a quote."""
        return self.open_count['"'] > 0

    def skip_to(self, position: int) -> None:
        """A value ends at `position`: its quotes are the secret's, not the text's."""
        self.position = max(self.position, position)

    def bare_value_end(self, start: int, end: int, open_quote: str) -> int:
        """Where the bare value from `start` ends, `end` at the latest, `open_quote` (`open_at`) open before its key:
        at the first quote that may close it; where prose opened it (`using '<connection string>' failed`: prose does
        not escape that quote in the secret), at the last, and at `end` where that is a connection string's next ';'."""
        if not open_quote or (len(open_quote) == 2 and self.text.startswith(";", end)):
            return end
        closing = self._closing(open_quote)
        first, after_last = bisect_left(closing, start), bisect_left(closing, end)
        if first == after_last:
            return end
        return closing[first] if len(open_quote) == 1 else closing[after_last - 1]

    def _closing(self, open_quote: str) -> List[int]:
        """Where the open quote may close: one a backslash does not escape (in code; prose does not escape), followed
        by what follows a closing quote, and after it on its line its kind paired up (one that may open, then one that
        may close) or none. A quote inside a word is none of them."""
        if open_quote not in self.closing:
            quote, code = open_quote[0], len(open_quote) == 1
            lines: List[List[int]] = [[]]
            for mark in _QUOTE_OR_LINE_END.finditer(self.text):
                at = mark.start()
                if mark.group() in "\r\n":
                    lines.append([])
                elif mark.group() == quote and not (code and self._backslashed(at)):
                    if self._may_open(at) or self._may_close(at):
                        lines[-1].append(at)
            closing = []
            for line in lines:
                pairs_from = [False] * len(line) + [True]  # whether line[index:] is pairs
                for index in range(len(line) - 2, -1, -1):
                    pairs_from[index] = (self._may_open(line[index]) and self._may_close(line[index + 1])
                                         and pairs_from[index + 2])
                closing += [at for index, at in enumerate(line)
                            if pairs_from[index + 1] and _AFTER_CLOSING_QUOTE[quote].match(self.text, at + 1)]
            self.closing[open_quote] = closing
        return self.closing[open_quote]

    def _backslashed(self, at: int) -> bool:
        backslashes = 0
        while at > backslashes and self.text[at - backslashes - 1] == "\\":
            backslashes += 1
        return backslashes % 2 == 1

    def _may_open(self, at: int) -> bool:
        return at == 0 or self.text[at - 1].isspace() or self.text[at - 1] in "([{,:='\""

    def _may_close(self, at: int) -> bool:
        return at + 1 == len(self.text) or self.text[at + 1].isspace() or self.text[at + 1] in ".,:;!?)]}='\""

    def _opened_by_code(self, at: int) -> bool:
        """Whether the quote at `at` follows a line's start, `(`, `[`, `{` or `,`, or a quoted name's `:` or `=` (JSON's
        `"name": "`, a repr's `'name': '`), spaces aside; not `name: '` nor `name='`, which prose writes too."""
        at = _before_blanks(self.text, at)
        if at > 0 and self.text[at - 1] in ":=":
            at = _before_blanks(self.text, at - 1)
            return at > 0 and self.text[at - 1] in "'\""
        return at == 0 or self.text[at - 1] in "([{,\r\n"


class _RedactingFilter(logging.Filter):
    """Takes every known secret out of a record's message, its arguments merged in first."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when the record is formatted
            return True
        record.msg, record.args = redact(message), None
        return True


def redacting_logger(name: str) -> logging.Logger:
    """The logger `name`, its records redacted (a logger's filters do not reach its children: one per module)."""
    logger = logging.getLogger(name)
    if not any(isinstance(existing, _RedactingFilter) for existing in logger.filters):
        logger.addFilter(_RedactingFilter())
    return logger


@dataclass(frozen=True)
class ConnectionSecret:
    connection_id: str
    host: Optional[str]
    port: Optional[int]
    login: Optional[str]
    password: Optional[str] = field(repr=False)
    # The connection's extra `trust_server_certificate`: encrypt without checking the server's certificate (a
    # self-signed one): direct SQL (`sql_access_direct.FreeTdsTls`) and DMS (`migration_request`).
    trust_server_certificate: bool = False
    # The connection's extra `authentication`: None logs in with its login and password; AZURE_IDENTITY with an Entra
    # ID token of the DAG's identity, no login nor password (direct SQL, `sql_access_direct`).
    authentication: Optional[str] = None

    def __post_init__(self) -> None:
        remember_secret(self.password)


class AirflowConnections:
    def get(self, connection_id: str) -> ConnectionSecret:
        from migration_orchestration_lib.airflow_compat import get_connection

        connection = get_connection(connection_id)
        return ConnectionSecret(
            connection_id=connection_id,
            host=connection.host,
            port=connection.port,
            login=connection.login,
            password=connection.password,
            trust_server_certificate=trust_server_certificate_of(connection_id, connection.extra_dejson),
            authentication=authentication_of(connection_id, connection),
        )


TRUST_SERVER_CERTIFICATE = "trust_server_certificate"
TRUSTED_CERTIFICATE_WARNING = ("Connection %s trusts %s's TLS certificate (extra trust_server_certificate): encrypted, "
                               "but not checked against a CA nor its host name; a host in the path could read the login")


def trust_server_certificate_of(connection_id: str, extra: Any) -> bool:
    """The extra's `trust_server_certificate`: true or false, as JSON or as a URI's query gives it ("true", "false")."""
    value = (extra or {}).get(TRUST_SERVER_CERTIFICATE, False) if isinstance(extra, dict) else False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    from migration_orchestration_lib.settings import ConfigurationError

    raise ConfigurationError("Airflow connection %s: extra.%s must be true or false, got %r"
                     % (connection_id, TRUST_SERVER_CERTIFICATE, redact(value)))


AUTHENTICATION = "authentication"
# The extra's one value: direct SQL logs in with an Entra ID token of the DAG's identity (its DefaultAzureCredential)
AZURE_IDENTITY = "azure_identity"


def authentication_of(connection_id: str, connection: Any) -> Optional[str]:
    """The extra's `authentication`: None (the connection's login and password) or AZURE_IDENTITY, whose connection
    holds neither a login nor a password (the token is the login) and checks the server's certificate."""
    extra = connection.extra_dejson
    value = extra.get(AUTHENTICATION) if isinstance(extra, dict) else None
    if value is None:
        return None
    from migration_orchestration_lib.settings import ConfigurationError

    if value != AZURE_IDENTITY:
        raise ConfigurationError("Airflow connection %s: extra.%s must be %r (an Entra ID token of the DAG's identity) "
                                 "or absent (the connection's login and password), got %r"
                                 % (connection_id, AUTHENTICATION, AZURE_IDENTITY, redact(str(value))))
    held = [name for name in ("login", "password") if getattr(connection, name, None)]
    if held:
        raise ConfigurationError("Airflow connection %s: extra.%s %s logs in with the DAG's Entra ID token, not a SQL "
                                 "login: remove the connection's %s" % (connection_id, AUTHENTICATION, AZURE_IDENTITY,
                                                                        " and ".join(held)))
    if trust_server_certificate_of(connection_id, extra):
        raise ConfigurationError("Airflow connection %s: extra.%s %s always checks the server's certificate (python-tds "
                                 "has no unchecked TLS): remove extra.%s, and add the server's CA to the workers' bundle "
                                 "(SSL_CERT_FILE) if it is not a public one" % (connection_id, AUTHENTICATION,
                                                                                AZURE_IDENTITY, TRUST_SERVER_CERTIFICATE))
    return AZURE_IDENTITY
