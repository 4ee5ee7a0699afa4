"""The migration plan as the DAG sees it: the rendered JSON, checked against the shipped JSON Schema.

The TypeScript side (lib/plan) validates plans fully (references, cycles, what each target kind
needs) and renders `migration_plan.json` with every default filled in; the bundle ships the same
JSON Schema beside it (`migration_plan.schema.json`). This module checks the file against that
schema, so a hand-edited or truncated upload is a clear DAG import error naming the field, and
keeps only what the DAG needs to build and run its tasks. It fills no defaults and re-checks no
cross-field rule: one plan model per language.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from migration_orchestration_lib.connections import remember_names
from migration_orchestration_lib.cutover_gate import ApprovalSettings, Approver, CutoverSettings
from migration_orchestration_lib.cutover_windows import window_from_plan
from migration_orchestration_lib.resource_id import ResourceId
from migration_orchestration_lib.table_names import TableName, TableNameError, parse_table_name

SCHEMA_FILE_NAME = "migration_plan.schema.json"
_DAGS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Beside the plan (the bundle), beside the DAG file, then the repository's schema/ (tests, rehearsals).
_SCHEMA_FALLBACKS = (
    os.path.join(_DAGS_DIR, SCHEMA_FILE_NAME),
    os.path.join(os.path.dirname(_DAGS_DIR), "schema", "migration-plan.schema.json"),
)
DEFAULT_PORT = 1433


class PlanError(ValueError):
    """The plan cannot drive the DAG. `problems` lists every problem found, each naming its field."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("invalid migration plan %s:\n  - %s" % (source, "\n  - ".join(self.problems)))


@dataclass(frozen=True)
class BackupFileShare:
    path: str
    connection_id: str

    def file_path(self, name: str) -> str:
        """The UNC path of the file `name` in the share."""
        return self.path.rstrip("\\/") + "\\" + name


@dataclass(frozen=True)
class SourceServer:
    name: str
    host: str
    port: int
    authentication: str
    connection_id: str
    connection_string_secret_name: str  # the Key Vault secret Data Factory's linked service reads
    backup_file_share: Optional[BackupFileShare]

    @property
    def data_source(self) -> str:
        """SQL Server's `host,port` form; the port is left out when it is the default."""
        return self.host if self.port == DEFAULT_PORT else "%s,%d" % (self.host, self.port)


@dataclass(frozen=True)
class TargetServer:
    name: str
    kind: str
    resource_id: ResourceId
    connection_id: str


@dataclass(frozen=True)
class BackupStorage:
    storage_account_resource_id: str
    connection_id: str


@dataclass(frozen=True)
class ValidationSettings:
    row_counts: bool
    checksums: bool
    tables: Optional[Tuple[TableName, ...]]  # the plan's schema.table, read once into pairs


@dataclass(frozen=True)
class DatabaseMigration:
    name: str
    source_server: str
    source_database: str
    target_server: str
    target_database: str
    target_kind: str
    mode: str
    depends_on: Tuple[str, ...]
    validation: ValidationSettings
    timeout_minutes: int
    source_freeze: str  # readOnly | singleUser
    allow_source_writes_during_copy: bool  # SqlDb only
    cutover: CutoverSettings = CutoverSettings()  # windows, expected minutes, approval (resolved)

    @property
    def freezes_source(self) -> bool:
        return self.restores_backups or not self.allow_source_writes_during_copy

    @property
    def is_online(self) -> bool:
        return self.mode == "online"

    @property
    def restores_backups(self) -> bool:
        """SqlMi and SqlVm restore the source's backups; SqlDb copies data."""
        return self.target_kind != "SqlDb"


@dataclass(frozen=True)
class Concurrency:
    max_migrations_per_service: int
    max_migrations_per_source_server: int
    max_sql_steps_per_runtime: int


@dataclass(frozen=True)
class MigrationPlan:
    name: str
    sql_access: str  # direct | dataFactory
    concurrency: Concurrency
    source_servers: Tuple[SourceServer, ...]
    target_servers: Tuple[TargetServer, ...]
    backup_storage: Optional[BackupStorage]
    databases: Tuple[DatabaseMigration, ...]
    max_concurrent_cutovers: Optional[int] = None  # the plan's cutover.maxConcurrent

    def is_gated(self, database: DatabaseMigration) -> bool:
        """Whether the database waits in `await_cutover` (a window, an approval, or the plan's
        maxConcurrent for a database whose migration freezes its source); others keep their chain."""
        cutover = database.cutover
        return bool(cutover.windows) or cutover.approval.required or (
            self.max_concurrent_cutovers is not None and database.freezes_source
        )

    @cached_property
    def _databases_by_name(self) -> Dict[str, DatabaseMigration]:
        return {database.name: database for database in self.databases}

    def database(self, name: str) -> DatabaseMigration:
        # A lookup, not a scan: every task of every database asks at parse time.
        found = self._databases_by_name.get(name)
        if found is None:
            raise KeyError("no database named %r in plan %r" % (name, self.name))
        return found

    def source_of(self, database: DatabaseMigration) -> SourceServer:
        return next(s for s in self.source_servers if s.name == database.source_server)

    def target_of(self, database: DatabaseMigration) -> TargetServer:
        return next(t for t in self.target_servers if t.name == database.target_server)

    @property
    def database_names(self) -> Tuple[str, ...]:
        return tuple(d.name for d in self.databases)


def load_plan(path: str) -> MigrationPlan:
    """Read a rendered plan file and check it against the schema shipped beside it."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise PlanError(path, ["cannot read the plan file: %s" % error]) from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PlanError(path, ["the plan file is not valid JSON: %s" % error]) from error
    beside = os.path.join(os.path.dirname(os.path.abspath(path)), SCHEMA_FILE_NAME)
    return parse_plan(document, source=path, schema_path=beside if os.path.exists(beside) else None)


def parse_plan(document: Any, source: str = "<plan>", schema_path: Optional[str] = None) -> MigrationPlan:
    """Turn a rendered plan into a `MigrationPlan`, or raise `PlanError` listing every problem."""
    problems = schema_problems(document, load_schema(schema_path))
    if problems:
        raise PlanError(source, problems)
    unreadable: List[str] = []
    try:
        plan = _build(document, unreadable)
    except KeyError as missing:
        raise PlanError(
            source,
            ["%s is missing: the DAG reads plans rendered by renderMigrationPlan, which fills every default" % missing],
        ) from missing
    if unreadable:
        raise PlanError(source, unreadable)
    remember_names([plan.name] + [named.name for named in plan.databases + plan.source_servers + plan.target_servers])
    return plan


def load_schema(path: Optional[str] = None) -> Mapping[str, Any]:
    candidates = [path] if path else [p for p in _SCHEMA_FALLBACKS if os.path.exists(p)]
    if not candidates:
        raise PlanError("schema", ["%s not found beside the plan or the DAG file" % SCHEMA_FILE_NAME])
    with open(candidates[0], "r", encoding="utf-8") as handle:
        return json.load(handle)


def schema_problems(document: Any, schema: Mapping[str, Any]) -> List[str]:
    """Every schema violation as `field.path: message`, in document order."""
    from jsonschema import Draft202012Validator  # Airflow depends on jsonschema

    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return ["%s: %s" % (_field_path(error.absolute_path), error.message) for error in errors]


def _field_path(path: Sequence[Any]) -> str:
    text = ""
    for part in path:
        text += "[%d]" % part if isinstance(part, int) else (".%s" % part if text else str(part))
    return text or "(plan)"


def _build(document: Mapping[str, Any], unreadable: List[str]) -> MigrationPlan:
    """The plan; a value the schema lets through but the DAG cannot read is added to `unreadable`."""
    airflow, concurrency = document["airflow"], document["concurrency"]
    storage = document.get("backupStorage")
    return MigrationPlan(
        name=document["name"],
        sql_access=airflow["sqlAccess"],
        concurrency=Concurrency(
            max_migrations_per_service=concurrency["maxMigrationsPerService"],
            max_migrations_per_source_server=concurrency["maxMigrationsPerSourceServer"],
            max_sql_steps_per_runtime=concurrency["maxSqlStepsPerRuntime"],
        ),
        source_servers=tuple(_source_server(item) for item in document["sourceServers"]),
        target_servers=tuple(
            TargetServer(
                name=item["name"],
                kind=item["kind"],
                resource_id=_resource_id(item["resourceId"]),
                connection_id=item["connectionId"],
            )
            for item in document["targetServers"]
        ),
        backup_storage=None
        if storage is None
        else BackupStorage(storage_account_resource_id=storage["storageAccountResourceId"], connection_id=storage["connectionId"]),
        databases=tuple(_database(item, "databases[%d]" % index, unreadable) for index, item in enumerate(document["databases"])),
        max_concurrent_cutovers=(document.get("cutover") or {}).get("maxConcurrent"),
    )


def _resource_id(value: str) -> ResourceId:
    parsed = ResourceId.parse(value)
    if parsed is None:
        raise KeyError("an ARM resource id, got %r" % value)
    return parsed


def _source_server(item: Mapping[str, Any]) -> SourceServer:
    share = item.get("backupFileShare")
    return SourceServer(
        name=item["name"],
        host=item["host"],
        port=item["port"],
        authentication=item["authentication"],
        connection_id=item["connectionId"],
        connection_string_secret_name=item["connectionStringSecretName"],
        backup_file_share=None if share is None else BackupFileShare(path=share["path"], connection_id=share["connectionId"]),
    )


def _database(item: Mapping[str, Any], path: str, unreadable: List[str]) -> DatabaseMigration:
    validation = item["validation"]
    tables = validation.get("tables")
    return DatabaseMigration(
        name=item["name"],
        source_server=item["source"]["server"],
        source_database=item["source"]["database"],
        target_server=item["target"]["server"],
        target_database=item["target"]["database"],
        target_kind=item["target"]["kind"],
        mode=item["mode"],
        depends_on=tuple(item["dependsOn"]),
        validation=ValidationSettings(
            row_counts=validation["rowCounts"],
            checksums=validation["checksums"],
            tables=None if tables is None else _table_names(tables, path + ".validation.tables", unreadable),
        ),
        timeout_minutes=item["timeoutMinutes"],
        source_freeze=item["sourceFreeze"],
        allow_source_writes_during_copy=item["allowSourceWritesDuringCopy"],
        cutover=_cutover(item.get("cutover")),
    )


def _table_names(texts: Sequence[str], path: str, unreadable: List[str]) -> Tuple[TableName, ...]:
    """The plan's `schema.table` names as (schema, table) pairs, read here once (a dotted string is ambiguous)."""
    names = []
    for index, text in enumerate(texts):
        try:
            names.append(parse_table_name(text))
        except TableNameError as problem:
            unreadable.append("%s[%d]: %s" % (path, index, problem))
    return tuple(names)


def _cutover(item: Optional[Mapping[str, Any]]) -> CutoverSettings:
    """A database's resolved cutover; absent (a plan rendered before cutover windows): ungated."""
    if not item:
        return CutoverSettings()
    approval = item["approval"]
    return CutoverSettings(
        windows=tuple(window_from_plan(window) for window in item["windows"]),
        expected_minutes=item["expectedMinutes"],
        approval=ApprovalSettings(
            required=approval["required"],
            approvers=tuple(map(_approver, approval.get("approvers", ()))),
            channel=approval["channel"],
        ),
    )


def _approver(item: Any) -> Approver:
    """An approver as the plan writes it: the Airflow user name, or `{id, name}` with a name to show people."""
    return Approver(item) if isinstance(item, str) else Approver(item["id"], item["name"])
