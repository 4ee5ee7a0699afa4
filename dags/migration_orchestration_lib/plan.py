"""The migration plan as the DAG sees it: loaded from JSON (or YAML), defaults filled, guarded.

The TypeScript side (lib/plan) validates plans fully and renders `migration_plan.json` with every
default filled in. This module accepts that rendered form and the input schema with defaults
missing, fills the same defaults, and rejects structurally broken plans with messages that name
the field, so a bad upload shows up as a clear DAG import error instead of a half-built DAG.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

TARGET_KINDS = ("SqlMi", "SqlDb", "SqlVm")
MIGRATION_MODES = ("online", "offline")
SQL_AUTHENTICATIONS = ("SqlAuthentication", "WindowsAuthentication")
DATABASE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
TABLE_NAME_PATTERN = re.compile(r"^[^.\s]+\.[^.\s]+$")

# ARM resource type of each target kind, as it appears in the target server's resourceId.
TARGET_RESOURCE_TYPES = {
    "SqlMi": "microsoft.sql/managedinstances",
    "SqlDb": "microsoft.sql/servers",
    "SqlVm": "microsoft.sqlvirtualmachine/sqlvirtualmachines",
}
RESOURCE_ID_PATTERN = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/(?P<namespace>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)$",
    re.IGNORECASE,
)

DEFAULT_PORT = 1433
DEFAULT_AUTHENTICATION = "SqlAuthentication"
DEFAULT_TIMEOUT_MINUTES = 720
DEFAULT_LONG_RUNNING_MINUTES = 60


class PlanError(ValueError):
    """The plan cannot drive the DAG. `problems` lists every problem found, each naming its field."""

    def __init__(self, source: str, problems: List[str]):
        self.problems = list(problems)
        super().__init__(
            "invalid migration plan %s:\n  - %s" % (source, "\n  - ".join(self.problems))
        )


@dataclass(frozen=True)
class ResourceId:
    subscription_id: str
    resource_group: str
    resource_type: str
    name: str
    value: str

    @staticmethod
    def parse(value: str) -> Optional["ResourceId"]:
        match = RESOURCE_ID_PATTERN.match(value or "")
        if not match:
            return None
        return ResourceId(
            subscription_id=match.group("subscription"),
            resource_group=match.group("resource_group"),
            resource_type=("%s/%s" % (match.group("namespace"), match.group("type"))).lower(),
            name=match.group("name"),
            value=value,
        )


@dataclass(frozen=True)
class BackupFileShare:
    path: str
    connection_id: str


@dataclass(frozen=True)
class SourceServer:
    name: str
    host: str
    port: int
    authentication: str
    connection_id: str
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
    tables: Optional[Tuple[str, ...]]


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

    @property
    def is_online(self) -> bool:
        return self.mode == "online"


@dataclass(frozen=True)
class MigrationPlan:
    name: str
    long_running_minutes: int
    source_servers: Tuple[SourceServer, ...]
    target_servers: Tuple[TargetServer, ...]
    backup_storage: Optional[BackupStorage]
    databases: Tuple[DatabaseMigration, ...]

    def database(self, name: str) -> DatabaseMigration:
        for database in self.databases:
            if database.name == name:
                return database
        raise KeyError("no database named %r in plan %r" % (name, self.name))

    def source_of(self, database: DatabaseMigration) -> SourceServer:
        return next(s for s in self.source_servers if s.name == database.source_server)

    def target_of(self, database: DatabaseMigration) -> TargetServer:
        return next(t for t in self.target_servers if t.name == database.target_server)

    @property
    def database_names(self) -> Tuple[str, ...]:
        return tuple(d.name for d in self.databases)


def default_connection_id(prefix: str, server_name: str) -> str:
    return "mssql_%s_%s" % (prefix, server_name.replace("-", "_"))


def load_plan(path: str) -> MigrationPlan:
    """Read a plan file (JSON, or YAML by extension) and return it with defaults filled."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise PlanError(path, ["cannot read the plan file: %s" % error]) from error
    is_yaml = os.path.splitext(path)[1].lower() in (".yaml", ".yml")
    try:
        if is_yaml:
            import yaml  # Airflow itself depends on PyYAML

            document = yaml.safe_load(text)
        else:
            document = json.loads(text)
    except Exception as error:  # json.JSONDecodeError, yaml.YAMLError
        raise PlanError(
            path, ["the plan file is not valid %s: %s" % ("YAML" if is_yaml else "JSON", error)]
        ) from error
    return parse_plan(document, source=path)


def parse_plan(document: Any, source: str = "<plan>") -> MigrationPlan:
    """Turn a plan document into a `MigrationPlan`, or raise `PlanError` listing every problem."""
    problems: List[str] = []
    if not isinstance(document, dict):
        raise PlanError(source, ["the plan must be an object, got %s" % type(document).__name__])

    name = _string(document, "name", "name", problems)
    notifications = document.get("notifications") or {}
    long_running = notifications.get("longRunningMinutes", DEFAULT_LONG_RUNNING_MINUTES)
    if not _positive_int(long_running):
        problems.append("notifications.longRunningMinutes must be a positive integer")

    source_servers = _parse_source_servers(_list(document, "sourceServers", problems), problems)
    target_servers = _parse_target_servers(_list(document, "targetServers", problems), problems)
    backup_storage = _parse_backup_storage(document.get("backupStorage"), problems)
    databases = _parse_databases(
        _list(document, "databases", problems), source_servers, target_servers, problems
    )
    if not problems and not databases:
        problems.append("databases must list at least one database")
    if not problems:
        _check_backup_locations(databases, source_servers, backup_storage, problems)
        _check_dependencies(databases, problems)
    if problems:
        raise PlanError(source, problems)
    return MigrationPlan(
        name=name,
        long_running_minutes=int(long_running),
        source_servers=tuple(source_servers.values()),
        target_servers=tuple(target_servers.values()),
        backup_storage=backup_storage,
        databases=tuple(databases),
    )


def _parse_source_servers(items: List[Any], problems: List[str]) -> Dict[str, SourceServer]:
    servers: Dict[str, SourceServer] = {}
    for index, item in enumerate(items):
        field = "sourceServers[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s must be an object" % field)
            continue
        name = _string(item, "name", field + ".name", problems)
        host = _string(item, "host", field + ".host", problems)
        port = item.get("port", DEFAULT_PORT)
        if not _positive_int(port) or port > 65535:
            problems.append("%s.port must be an integer between 1 and 65535" % field)
        authentication = item.get("authentication", DEFAULT_AUTHENTICATION)
        if authentication not in SQL_AUTHENTICATIONS:
            problems.append("%s.authentication must be one of %s" % (field, ", ".join(SQL_AUTHENTICATIONS)))
        share = item.get("backupFileShare")
        backup_file_share = None
        if share is not None:
            if not isinstance(share, dict):
                problems.append("%s.backupFileShare must be an object" % field)
            else:
                backup_file_share = BackupFileShare(
                    path=_string(share, "path", field + ".backupFileShare.path", problems),
                    connection_id=_string(
                        share, "connectionId", field + ".backupFileShare.connectionId", problems
                    ),
                )
        if name in servers:
            problems.append("%s.name %r is used by another source server" % (field, name))
        if name:
            servers[name] = SourceServer(
                name=name,
                host=host,
                port=port if isinstance(port, int) else DEFAULT_PORT,
                authentication=authentication,
                connection_id=item.get("connectionId") or default_connection_id("source", name),
                backup_file_share=backup_file_share,
            )
    return servers


def _parse_target_servers(items: List[Any], problems: List[str]) -> Dict[str, TargetServer]:
    servers: Dict[str, TargetServer] = {}
    for index, item in enumerate(items):
        field = "targetServers[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s must be an object" % field)
            continue
        name = _string(item, "name", field + ".name", problems)
        kind = item.get("kind")
        if kind not in TARGET_KINDS:
            problems.append("%s.kind must be one of %s" % (field, ", ".join(TARGET_KINDS)))
        raw_id = _string(item, "resourceId", field + ".resourceId", problems)
        resource_id = ResourceId.parse(raw_id)
        if raw_id and resource_id is None:
            problems.append("%s.resourceId is not an ARM resource id: %r" % (field, raw_id))
        elif resource_id and kind in TARGET_KINDS and resource_id.resource_type != TARGET_RESOURCE_TYPES[kind]:
            problems.append(
                "%s.resourceId must be a %s resource for kind %s, got %s"
                % (field, TARGET_RESOURCE_TYPES[kind], kind, resource_id.resource_type)
            )
        if name in servers:
            problems.append("%s.name %r is used by another target server" % (field, name))
        if name and resource_id and kind in TARGET_KINDS:
            servers[name] = TargetServer(
                name=name,
                kind=kind,
                resource_id=resource_id,
                connection_id=item.get("connectionId") or default_connection_id("target", name),
            )
    return servers


def _parse_backup_storage(item: Any, problems: List[str]) -> Optional[BackupStorage]:
    if item is None:
        return None
    if not isinstance(item, dict):
        problems.append("backupStorage must be an object")
        return None
    return BackupStorage(
        storage_account_resource_id=_string(
            item, "storageAccountResourceId", "backupStorage.storageAccountResourceId", problems
        ),
        connection_id=_string(item, "connectionId", "backupStorage.connectionId", problems),
    )


def _parse_databases(
    items: List[Any],
    source_servers: Mapping[str, SourceServer],
    target_servers: Mapping[str, TargetServer],
    problems: List[str],
) -> List[DatabaseMigration]:
    databases: List[DatabaseMigration] = []
    seen = set()
    for index, item in enumerate(items):
        field = "databases[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s must be an object" % field)
            continue
        name = _string(item, "name", field + ".name", problems)
        if name and not DATABASE_NAME_PATTERN.match(name):
            problems.append("%s.name %r may only hold letters, digits and underscores" % (field, name))
        if name in seen:
            problems.append("%s.name %r is used by another database" % (field, name))
        seen.add(name)

        source = item.get("source")
        target = item.get("target")
        if not isinstance(source, dict):
            problems.append("%s.source must be an object with server and database" % field)
            source = {}
        if not isinstance(target, dict):
            problems.append("%s.target must be an object with server" % field)
            target = {}
        source_server = _string(source, "server", field + ".source.server", problems)
        source_database = _string(source, "database", field + ".source.database", problems)
        if source_server and source_server not in source_servers:
            problems.append("%s.source.server %r is not in sourceServers" % (field, source_server))
        target_server_name = _string(target, "server", field + ".target.server", problems)
        target_server = target_servers.get(target_server_name)
        if target_server_name and target_server is None:
            problems.append("%s.target.server %r is not in targetServers" % (field, target_server_name))
        kind = target_server.kind if target_server else None
        if target.get("kind") is not None and kind is not None and target["kind"] != kind:
            problems.append(
                "%s.target.kind %r does not match target server %r of kind %s"
                % (field, target["kind"], target_server_name, kind)
            )
        mode = item.get("mode") or ("offline" if kind == "SqlDb" else "online")
        if mode not in MIGRATION_MODES:
            problems.append("%s.mode must be online or offline" % field)
        elif kind == "SqlDb" and mode == "online":
            problems.append("%s.mode online is not supported for SqlDb targets (offline only)" % field)

        depends_on = item.get("dependsOn", [])
        if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
            problems.append("%s.dependsOn must be a list of database names" % field)
            depends_on = []
        validation = _parse_validation(item.get("validation"), field + ".validation", problems)
        timeout_minutes = item.get("timeoutMinutes", DEFAULT_TIMEOUT_MINUTES)
        if not _positive_int(timeout_minutes):
            problems.append("%s.timeoutMinutes must be a positive integer" % field)
            timeout_minutes = DEFAULT_TIMEOUT_MINUTES

        databases.append(
            DatabaseMigration(
                name=name,
                source_server=source_server,
                source_database=source_database,
                target_server=target_server_name,
                target_database=target.get("database") or source_database,
                target_kind=kind or "",
                mode=mode,
                depends_on=tuple(depends_on),
                validation=validation,
                timeout_minutes=int(timeout_minutes),
            )
        )
    return databases


def _parse_validation(item: Any, field: str, problems: List[str]) -> ValidationSettings:
    if item is None:
        item = {}
    if not isinstance(item, dict):
        problems.append("%s must be an object" % field)
        item = {}
    row_counts = item.get("rowCounts", True)
    checksums = item.get("checksums", False)
    for key, value in (("rowCounts", row_counts), ("checksums", checksums)):
        if not isinstance(value, bool):
            problems.append("%s.%s must be true or false" % (field, key))
    tables = item.get("tables")
    if tables is not None:
        if not isinstance(tables, list) or not all(
            isinstance(t, str) and TABLE_NAME_PATTERN.match(t) for t in tables
        ):
            problems.append("%s.tables must be a list of schema.table names" % field)
            tables = None
        else:
            tables = tuple(tables)
    return ValidationSettings(row_counts=row_counts is True, checksums=checksums is True, tables=tables)


def _check_backup_locations(
    databases: List[DatabaseMigration],
    source_servers: Mapping[str, SourceServer],
    backup_storage: Optional[BackupStorage],
    problems: List[str],
) -> None:
    """SqlMi and SqlVm restore from backups: DMS needs the source's share and a storage account."""
    for index, database in enumerate(databases):
        if database.target_kind not in ("SqlMi", "SqlVm"):
            continue
        if source_servers[database.source_server].backup_file_share is None:
            problems.append(
                "databases[%d] goes to %s, so source server %r needs backupFileShare"
                % (index, database.target_kind, database.source_server)
            )
        if backup_storage is None:
            problems.append(
                "databases[%d] goes to %s, so the plan needs backupStorage" % (index, database.target_kind)
            )


def _check_dependencies(databases: List[DatabaseMigration], problems: List[str]) -> None:
    names = {d.name for d in databases}
    for index, database in enumerate(databases):
        for dependency in database.depends_on:
            if dependency == database.name:
                problems.append("databases[%d].dependsOn: %r depends on itself" % (index, dependency))
            elif dependency not in names:
                problems.append("databases[%d].dependsOn: unknown database %r" % (index, dependency))
    if problems:
        return
    cycle = find_dependency_cycle({d.name: d.depends_on for d in databases})
    if cycle:
        problems.append("databases[].dependsOn: dependency cycle %s" % " -> ".join(cycle))


def find_dependency_cycle(graph: Mapping[str, Tuple[str, ...]]) -> Optional[List[str]]:
    """Return one cycle as a path (first node repeated at the end), or None. Iterative DFS."""
    visiting, done = set(), set()
    for root in graph:
        if root in done:
            continue
        stack = [(root, iter(graph[root]))]
        path = [root]
        visiting.add(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                visiting.discard(node)
                done.add(node)
            elif child in visiting:
                return path[path.index(child):] + [child]
            elif child not in done:
                visiting.add(child)
                path.append(child)
                stack.append((child, iter(graph[child])))
    return None


def _string(item: Mapping[str, Any], key: str, field: str, problems: List[str]) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append("%s is required (a non-empty string)" % field)
        return ""
    return value


def _list(item: Mapping[str, Any], key: str, problems: List[str]) -> List[Any]:
    value = item.get(key)
    if not isinstance(value, list):
        problems.append("%s is required (a list)" % key)
        return []
    return value


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
