"""TRANSITIONAL, until lib/plan renders `airflow.host` and `airflow.sqlAccess` (CONTRACTS.md): the
repository schema with those two fields, so the tests can use plans that carry them. Used by
conftest.py; delete once the plan schema has them.
"""
from __future__ import annotations


def schema_with_contract_fields(schema: dict) -> dict:
    airflow = schema["properties"]["airflow"]
    if "host" in airflow["properties"]:
        return schema
    airflow["properties"]["host"] = {"type": "string", "enum": ["kubernetes", "dataFactory", "fabric", "external"]}
    airflow["properties"]["sqlAccess"] = {"type": "string", "enum": ["direct", "dataFactory"]}
    airflow.pop("required", None)
    return schema
