"""Databases removed from the plan while their migration was under way: no task is left to finish or undo it.

Airflow marks the tasks of a database removed from the plan `removed`, in a running run too: no
rollback runs for it, so a source the DAG froze stays read-only and its DMS migration goes on. So
`run_outcome` (the run's last task, one run at a time: the record's only writer) keeps the plan's
databases of each run in the record `migration_plan_databases__<plan>` = `[{"database",
"sourceServer", "sourceDatabase", "targetKind", "migrated"}]` and compares them with the plan it
runs with. A listed database is stranded when no database of the plan names its source any more, letter case aside (a
renamed entry keeps its source, and its tasks carry on), no run declared it migrated, and its
source's record of the access before a freeze (`source_freeze`) is still there: a migration under
way (only the rollback's unfreeze clears that record). `run_outcome` then writes a `rollback`
`Failed` event for it (the rollback-failed alert: a person must act) and fails the run, saying what
to do; it stays listed, and reported by every run, until its record is cleared. A database added and
removed between the ends of two runs was never listed, and is not seen. A removed database whose name another
entry took since (`b` renamed `a`) is judged by its source, never by that entry's outcome.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from migration_orchestration_lib.plan import MigrationPlan
from migration_orchestration_lib.source_freeze import record_key

PLAN_DATABASES_PREFIX = "migration_plan_databases__"


@dataclass(frozen=True)
class ListedDatabase:
    name: str
    source_server: str
    source_database: str
    target_kind: str
    migrated: bool

    @property
    def source(self) -> tuple:
        """The source as SQL Server names it: letter case aside (`SALES` is `Sales`)."""
        return self.source_server, self.source_database.lower()


def plan_databases_key(plan_name: str) -> str:
    return PLAN_DATABASES_PREFIX + plan_name


def find_stranded(records: Any, plan: MigrationPlan, outcome_of: Callable[[str], Optional[str]]) -> List[ListedDatabase]:
    """The listed databases stranded outside `plan`; lists this run's databases (and the stranded) for the next run.
    `outcome_of(name)`: the database's outcome in this run (`migrated`, ...), for a removed one too (not read for
    one whose name another database of the plan took since: that task group's outcome is the other's)."""
    key = plan_databases_key(plan.name)
    earlier = [_from_json(item) for item in json.loads(records.get(key) or "[]")]
    migrated_before = {listed.source for listed in earlier if listed.migrated}
    listed = [
        ListedDatabase(
            database.name, database.source_server, database.source_database, database.target_kind,
            migrated=outcome_of(database.name) == "migrated"
            or (database.source_server, database.source_database.lower()) in migrated_before,
        )
        for database in plan.databases
    ]
    in_plan = {entry.source for entry in listed}
    names = set(plan.database_names)
    stranded = [
        entry for entry in earlier
        if entry.source not in in_plan and not entry.migrated and records.get(record_key(entry))
        # Its task group's outcome, unless another database of the plan (another source) took its name.
        and (entry.name in names or outcome_of(entry.name) != "migrated")
    ]
    records.put(key, json.dumps([_to_json(entry) for entry in listed + stranded], separators=(",", ":")))
    return stranded


def stranded_message(records: Any, database: ListedDatabase) -> str:
    key = record_key(database)
    return (
        "%s (source database %s on %s) was removed from the plan while its migration was under way: no task of the "
        "DAG finishes or undoes it any more, so its source may stay frozen and its DMS migration goes on. Put it back "
        "in the plan and run again (each step starts from where DMS and SQL Server stand: it carries on, or its "
        "rollback undoes it); or undo it yourself (cancel its DMS migration, give the source back the access recorded "
        "before the freeze, %s) and then clear the record: airflow variables set %s ''"
        % (database.name, database.source_database, database.source_server, shlex.quote(records.get(key) or ""), key)
    )


def _from_json(item: Any) -> ListedDatabase:
    return ListedDatabase(
        item["database"], item["sourceServer"], item["sourceDatabase"], item["targetKind"], bool(item["migrated"])
    )


def _to_json(entry: ListedDatabase) -> dict:
    return {
        "database": entry.name,
        "sourceServer": entry.source_server,
        "sourceDatabase": entry.source_database,
        "targetKind": entry.target_kind,
        "migrated": entry.migrated,
    }
