"""Secrets from Airflow connections (backed by Azure Key Vault in the managed Airflow).

Values returned here go into DMS request bodies or SQL logins only: never into logs or XCom.
Every password a `ConnectionSecret` holds is remembered in this process, so that `redact` can take it
out of text a server sent back (an error that quotes the request it refused) before that text reaches
an event, a log line or a task's error; `redact` also blanks the Password, Pwd and AccountKey values of
connection strings (Data Factory's, read from Key Vault, the DAG never holds).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Optional, Set
from urllib.parse import quote, quote_plus

REDACTED = "***"
_known_secrets: Set[str] = set()
_known_lock = threading.Lock()
MIN_SECRET_LENGTH = 4  # shorter values would blank ordinary words
_CONNECTION_STRING_SECRET = re.compile(
    r"(?i)\b(password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)(\s*=\s*)([^;\s'\"]+)"
)


def remember_secret(value: Optional[str]) -> None:
    """`value` (and its URL encodings) is a secret: `redact` takes it out of any text from now on."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _known_lock:
        _known_secrets.update({value, quote(value, safe=""), quote_plus(value)})


def redact(text: Any) -> Any:
    """`text` without any remembered secret nor a connection string's secret value; not text: as is."""
    if not isinstance(text, str):
        return text
    with _known_lock:
        known = sorted(_known_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _CONNECTION_STRING_SECRET.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


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
        from airflow.hooks.base import BaseHook

        connection = BaseHook.get_connection(connection_id)
        return ConnectionSecret(
            connection_id=connection_id,
            host=connection.host,
            port=connection.port,
            login=connection.login,
            password=connection.password,
        )
