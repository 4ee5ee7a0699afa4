"""What every ARM request and response of the contract server shares: errors, bodies, headers."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

DATA_MIGRATION_API_VERSION = "2025-06-30"
# Microsoft.Sql managed databases: the GA versions clients use (azure-mgmt-sql 3.0.1 still sends
# the 2020-11-01-preview one).
SQL_API_VERSIONS = ("2023-08-01", "2021-11-01", "2020-11-01-preview")


class ApiError(Exception):
    """An ARM error response: `{"error": {"code", "message"}}` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: Optional[Mapping[str, str]] = None):
        super().__init__("%s %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, str]
    body: Any
    base_url: str
    params: Dict[str, str] = field(default_factory=dict)

    def api_version(self, *allowed: str) -> str:
        version = self.query.get("api-version")
        if not version:
            raise ApiError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        if version not in allowed:
            raise ApiError(
                400,
                "InvalidApiVersionParameter",
                "The api-version '%s' is invalid. The supported versions are '%s'." % (version, "','".join(allowed)),
            )
        return version

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() == "true"

    def absolute(self, path: str) -> str:
        return self.base_url + path


@dataclass
class Response:
    status: int
    body: Any = None
    headers: Dict[str, str] = field(default_factory=dict)


def error_body(code: str, message: str) -> Dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def new_id() -> str:
    return str(uuid.uuid4())
