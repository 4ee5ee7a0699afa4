"""Secrets from Airflow connections (backed by Azure Key Vault in the managed Airflow).

Values returned here go into DMS request bodies or SQL logins only: never into logs or XCom.
Every password a `ConnectionSecret` holds is remembered in this process (with its URL, base64 and escaped
encodings), so that `redact` can take it out of text a server sent back (an error that quotes the
request it refused) before that text reaches an event, a log line or a task's error. `redact` also blanks
the secrets text can carry that the DAG never held: the Password, Pwd, AccountKey and client secret values
of connection strings (Data Factory's, read from Key Vault; braced or quoted values whole), JSON members
named like a secret, an Authorization header or bearer token an HTTP error quotes, a SAS signature and a
JWT. Every module logs through `redacting_logger`, so no log line of the package needs to remember to redact. Each remembered
form is also given to Airflow's own secrets masker, so that Airflow masks it in what it writes itself
(a task's log and the traceback of its failure, whoever logged the line).
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Optional, Set
from urllib.parse import quote, quote_plus

REDACTED = "***"
_known_secrets: Set[str] = set()
_known_lock = threading.Lock()
MIN_SECRET_LENGTH = 4  # shorter values would blank ordinary words
BASE64_CORE_MIN_LENGTH = 8  # a shorter run of base64 characters could be an ordinary word
_SECRET_KEY = r"password|pwd|accountkey|sharedaccesskey|sharedaccesssignature|client_?secret"
# What text a server, an SDK or a driver sends back can carry without the DAG having handed the secret out.
# A quote in a bare value; one followed by a space or the end, or by `,` `:` `)` `}` `]` (any of them) and then a space,
# the end or a quote, closes the text holding the value (`'...', x`, `"...","`, `"..."}`).
_QUOTE_INSIDE = r"['\"](?![,:)}\]]*(?:\s|\Z)|[,:)}\]]+['\"])"
_SECRET_PATTERNS = [
    # A URL's query or a form body (an OAuth token request): its value ends at the next '&' ('&' in it is %26).
    re.compile(r"(?i)([?&](?:%s)=)((?:[^&#\s'\"]|%s)+)" % (_SECRET_KEY, _QUOTE_INSIDE)),
    # A connection string's value (not a query's, above): {braced, with }} inside}, "quoted", 'quoted', \"quoted\" in a
    # JSON string, or bare up to the next ';', a quote inside it too. A braced or quoted value never closed (a text cut
    # short) runs to the end: it may be all secret, and a value that must close before the end would be looked for
    # again from every key, in time squared (the JSON one stops at the JSON string's end).
    re.compile(r"(?i)(?<![?&])\b(%s)(\s*=\s*)(\{(?:[^}]|\}\})*(?:\}|\Z)|\"(?:[^\"]|\"\")*(?:\"|\Z)|'(?:[^']|'')*(?:'|\Z)"
               r"|\\\"(?:\\\"\\\"|[^\\\"]|\\[^\"])*(?:\\\"|(?=\"|\Z))|(?:[^;\r\n'\"]|%s)+)" % (_SECRET_KEY, _QUOTE_INSIDE)),
    # A JSON or Python-repr member named like a secret (a request body, an SDK model), its quoted value (to the end
    # where it never closes).
    re.compile(r"""(?is)(["'](?:%s|accesstoken|access_token|refresh_token|sastoken|sas_token)["']\s*:\s*)("(?:[^"\\]|\\.)*(?:"|\Z)|'(?:[^'\\]|\\.)*(?:'|\Z))"""
               % _SECRET_KEY),
    # An HTTP header quoted back: Authorization: Bearer ..., 'Authorization': 'SharedKey ...'.
    re.compile(r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)"""),
    re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9\-._~+/]+=*)"),
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
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_redacted_value, text)
    return text


def _redacted_value(match: "re.Match[str]") -> str:
    """The match with its last group (the secret value) redacted, a quoted value keeping its quotes (a closing one
    only where it had one)."""
    value = match.group(match.lastindex or 0)
    quoted = value[:1] in ("'", '"') and len(value) > 1
    closing = value[0] if quoted and value.endswith(value[0]) else ""
    return match.group(0)[: match.start(match.lastindex or 0) - match.start(0)] + (value[0] + REDACTED + closing if quoted else REDACTED)


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
        )
