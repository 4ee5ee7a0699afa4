"""TRANSITIONAL, until lib/plan renders the plan fields CONTRACTS.md adds (airflow.host,
airflow.sqlAccess, concurrency, databases[].sourceFreeze, databases[].allowSourceWritesDuringCopy):
the repository schema plus those fields, and a rendered plan completed with their defaults.
Used by conftest.py and scripts/rehearse.sh; delete once the plan branch is merged.

    python dags/tests/contract_fields.py BUNDLE_DIR   # completes migration_plan.json and its schema there
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "migration-plan.schema.json"
POSITIVE = {"type": "integer", "minimum": 1}


def schema_with_contract_fields(schema: dict) -> dict:
    if "concurrency" in schema["properties"]:
        return schema
    airflow = schema["properties"]["airflow"]
    airflow["properties"] = {
        "host": {"type": "string", "enum": ["kubernetes", "dataFactory", "fabric", "external"]},
        "sqlAccess": {"type": "string", "enum": ["direct", "dataFactory"]},
    }
    airflow.pop("required", None)
    schema["properties"]["concurrency"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: POSITIVE for name in ("maxMigrationsPerService", "maxMigrationsPerSourceServer", "maxSqlStepsPerRuntime")},
    }
    database = schema["properties"]["databases"]["items"]["properties"]
    database["sourceFreeze"] = {"type": "string", "enum": ["readOnly", "singleUser"]}
    database["allowSourceWritesDuringCopy"] = {"type": "boolean"}
    return schema


def plan_with_contract_fields(plan: dict) -> dict:
    if "concurrency" in plan:
        return plan
    plan["airflow"] = {"host": "kubernetes", "sqlAccess": "direct"}
    plan["concurrency"] = {"maxMigrationsPerService": 10, "maxMigrationsPerSourceServer": 2, "maxSqlStepsPerRuntime": 4}
    for database in plan["databases"]:
        database.setdefault("sourceFreeze", "readOnly")
        database.setdefault("allowSourceWritesDuringCopy", False)
    return plan


if __name__ == "__main__":
    bundle = Path(sys.argv[1])
    for name, complete in (("migration_plan.schema.json", schema_with_contract_fields), ("migration_plan.json", plan_with_contract_fields)):
        path = bundle / name
        path.write_text(json.dumps(complete(json.loads(path.read_text())), indent=2) + "\n")
