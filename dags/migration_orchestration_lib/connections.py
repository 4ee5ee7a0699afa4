"""Secrets from Airflow connections (backed by Azure Key Vault in the managed Airflow).

Values returned here go into DMS request bodies or SQL logins only: never into logs or XCom.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class ConnectionSecret:
    connection_id: str
    host: Optional[str]
    port: Optional[int]
    login: Optional[str]
    password: Optional[str] = field(repr=False)


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
