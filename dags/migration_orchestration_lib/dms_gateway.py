"""Azure Database Migration Service (`sqlMigrationServices`) in plan terms.

The gateway speaks in plan terms (a target database, a source database, an operation id) and hides
the transport (`dms_transport`: the azure-mgmt-datamigration SDK, or ARM REST on Python 3.8).
Every long-running operation (create, cutover, cancel, a managed database's delete) is awaited, at most
`OperationTiming.timeout_seconds`, and its outcome surfaces here: an operation that ends Failed or
Canceled raises `DmsOperationFailed`, one still running at the deadline `DmsOperationTimeout`,
an unreachable or overloaded ARM (after the pipeline's own retries) `DmsUnavailable`. It never
logs request bodies: they carry SQL, file-share and storage-account secrets. It never deletes a
migration resource (a new start sends its create over an ended migration), so the operator role
holds no `databaseMigrations/delete`.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from migration_orchestration_lib.azure_waits import stop_polling
from migration_orchestration_lib.connections import redacting_logger
from migration_orchestration_lib.migration_stage import foreign_because
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.resource_id import ResourceId, comparable_id

log = redacting_logger(__name__)

ONLINE_CAPABLE_KINDS = ("SqlMi", "SqlVm")
# ARM answers these while another operation runs on the resource: waiting helps. DMS's from sqlmigration.json
# (2025-06-30, the error list of every databaseMigrations operation); the last two from Microsoft.Sql's
# ManagedDatabases.json (2023-08-01, ManagedDatabases_Delete).
BUSY_CODES = (
    "OperationInProgress", "MigrationStillValidating", "DeleteMigrationNotAllowedCancelInProgress",
    "DeleteMigrationNotAllowedCutoverInProgress", "DeleteMigrationNotAllowedDeleteInProgress", "SubscriptionOperationInProgress",
    "ConflictingServerOperation", "ManagedInstanceUpdateSloInProgress",
)


class MigrationConflictError(RuntimeError):
    """The target database is busy with a migration this DAG must not adopt."""


class CutoverNotSupportedError(ValueError):
    """SqlDb migrations are offline only: there is nothing to cut over."""


class DmsError(RuntimeError):
    """DMS or ARM did not do what was asked. `code` is ARM's error code when there is one;
    `retryable` says whether trying the same call again later may succeed."""

    retryable = False

    def __init__(self, message: str, code: Optional[str] = None, retryable: Optional[bool] = None):
        super().__init__(message)
        self.code = code
        if retryable is not None:
            self.retryable = retryable


class DmsOperationFailed(DmsError):
    """ARM refused the request, or its long-running operation ended Failed or Canceled."""


class DmsOperationTimeout(DmsError):
    """The long-running operation had not finished at the deadline; it may still finish."""

    retryable = True


class DmsUnavailable(DmsError):
    """ARM could not be reached or kept failing (throttled, 5xx) after the pipeline's retries."""

    retryable = True


class MigrationAbsenceUnproven(DmsError):
    """ARM answered 404 for a target's migration resource, yet `listMigrations` of the migration service lists a
    migration into that target: whether one runs there cannot be read. Retryable: the two agree again once a
    create or delete has settled; one that lasts fails the step at its deadline, nothing acted on."""

    retryable = True


@dataclass(frozen=True)
class ManagedDatabase:
    """A managed instance database read through ARM. `status`: its `properties.status` (the
    ManagedDatabaseStatus enum of Microsoft.Sql's ManagedDatabases.json, extensible: Online, Restoring,
    Offline, Inaccessible, ...), None where ARM reports none."""

    status: Optional[str]


@dataclass(frozen=True)
class OperationTiming:
    """How long an operation is awaited, and how often its status is polled when ARM sends no
    Retry-After."""

    timeout_seconds: float = 900
    polling_interval_seconds: float = 15


@dataclass(frozen=True)
class MigrationTarget:
    """Where a database migration resource lives: the target server's scope plus the database name."""

    kind: str
    subscription_id: str
    resource_group: str
    server_name: str
    database_name: str
    scope: str

    @staticmethod
    def of(plan: MigrationPlan, database: DatabaseMigration) -> "MigrationTarget":
        server = plan.target_of(database)
        return MigrationTarget(
            kind=server.kind,
            subscription_id=server.resource_id.subscription_id,
            resource_group=server.resource_id.resource_group,
            server_name=server.resource_id.name,
            database_name=database.target_database,
            scope=server.resource_id.value,
        )

    def describe(self) -> str:
        return "%s on %s %s" % (self.database_name, self.kind, self.server_name)


@dataclass(frozen=True)
class StartResult:
    migration_operation_id: str
    adopted: bool
    status: MigrationStatus
    # Not adopted, but found in flight after a create DMS refused as busy or whose answer was lost: this
    # call's own create, or one made meanwhile by another attempt of the task or by a person.
    found_after_create: bool = False


class DmsGateway:
    def __init__(
        self,
        transport_for_subscription: Callable[[str], Any],
        migration_service: ResourceId,
        timing: OperationTiming = OperationTiming(),
    ):
        """`transport_for_subscription` returns a `dms_transport.DmsTransport` (or, for
        compatibility, an azure-mgmt-datamigration client, which is wrapped)."""
        self._transport_for_subscription = transport_for_subscription
        self._migration_service = migration_service
        self._timing = timing
        self._transports: Dict[str, Any] = {}
        self._listed: Optional[List[Tuple[str, str, MigrationStatus]]] = None  # the last list, until an operation begins

    @staticmethod
    def connect(
        migration_service: ResourceId,
        credential: Any,
        *,
        transport: Optional[str] = None,
        base_url: Optional[str] = None,
        timing: OperationTiming = OperationTiming(),
        **client_options: Any,
    ) -> "DmsGateway":
        """A gateway on real ARM (or on the contract server at `base_url`); `transport` is
        "sdk", "rest" or None (the SDK when it is importable)."""
        from migration_orchestration_lib.dms_transport import connect_transport

        def transport_for(subscription_id: str) -> Any:
            return connect_transport(
                credential,
                subscription_id,
                transport=transport,
                base_url=base_url,
                polling_interval_seconds=timing.polling_interval_seconds,
                **client_options,
            )

        return DmsGateway(transport_for, migration_service, timing)

    @property
    def migration_service_id(self) -> str:
        return self._migration_service.value

    def integration_runtime_state(self) -> Optional[str]:
        """`Online` when the self-hosted integration runtime can run migrations."""
        service = self._call(
            "read the migration service",
            lambda t: t.get_service(self._migration_service.resource_group, self._migration_service.name),
            self._migration_service.subscription_id,
        )
        return (_as_rest(service).get("properties") or {}).get("integrationRuntimeState")

    def migrations_on_service(self, reuse: bool = False) -> List[Tuple[str, str, MigrationStatus]]:
        """(target scope, target database, status) of the latest migration into every target
        database on the migration service: one ARM call (`listMigrations`), for admission. `reuse`: the list this
        gateway read last (a 404's proof, `current_migration`), where no operation began through it since; a step's
        gateway lives one poke (`StepContext.services`)."""
        if reuse and self._listed is not None:
            return self._listed
        service = self._migration_service
        resources = self._call(
            "list the migrations of the migration service",
            lambda t: t.list_migrations(service.resource_group, service.name),
            service.subscription_id,
        )
        listed = []
        for resource in resources:
            body = _as_rest(resource)
            listed.append((_listed_scope(body), body.get("name") or "", MigrationStatus.from_resource(body)))
        self._listed = listed
        return listed

    def current_migration(self, target: MigrationTarget, reuse_list: bool = False) -> Optional[MigrationStatus]:
        """The most recent migration into the target database, or None if there never was one: ARM answers 404
        for its migration resource, and `listMigrations` of the migration service lists none into it either. A
        404 alone is no proof (ARM's eventual consistency after a create, a routing glitch, a resource moved):
        read as "never was one", a step would create a second migration over the one DMS runs, or a rollback
        would leave it running and hand its frozen source back. Where the list shows one: `MigrationAbsenceUnproven`.
        A migration another service runs is in no list of this one's: a restore's target database is the proof
        there (preflight and start_migration refuse one that exists). `reuse_list`: a 404 is checked against the list
        this gateway read last where no operation began through it since (`migrations_on_service`), not a new one."""
        resource = self._call("read the migration of %s" % target.describe(), lambda t: t.get_migration(target), target.subscription_id)
        if resource is not None:
            return MigrationStatus.from_resource(_as_rest(resource))
        self._check_none_listed(target, reuse_list)
        return None

    def _check_none_listed(self, target: MigrationTarget, reuse_list: bool = False) -> None:
        into = (comparable_id(target.scope), target.database_name.lower())
        listed = [status for scope, name, status in self.migrations_on_service(reuse_list) if (comparable_id(scope), name.lower()) == into]
        if not listed:
            return
        raise MigrationAbsenceUnproven(
            "ARM answers 404 (no migration resource) for the migration into %s, yet listMigrations of migration service %s "
            "lists migration %s (%s) into it: whether one runs there cannot be read, so nothing is started, canceled, "
            "removed or handed back on the 404 alone; poking again until the two agree. Should it last, a person "
            "compares the database migration resource %s/providers/Microsoft.DataMigration/databaseMigrations/%s with "
            "the service's migrations in the Azure portal (moved? its target server renamed or in another subscription? "
            "deleted and created again under its name, the list keeping the old server's migration? then naming another "
            "target database in the plan gets past it)"
            % (target.describe(), self.migration_service_id, listed[0].migration_operation_id, listed[0].migration_status,
               target.scope, target.database_name)
        )

    def status(self, target: MigrationTarget, migration_operation_id: str) -> MigrationStatus:
        resource = self._call(
            "read migration %s of %s" % (migration_operation_id, target.describe()),
            lambda t: t.get_migration(target, migration_operation_id),
            target.subscription_id,
        )
        if resource is None:
            self._check_none_listed(target)
            raise DmsOperationFailed("DMS has no migration %s for %s" % (migration_operation_id, target.describe()), "ResourceNotFound")
        return MigrationStatus.from_resource(_as_rest(resource))

    def start(
        self,
        target: MigrationTarget,
        source_database_name: str,
        build_request: Callable[[], Mapping[str, Any]],
        *,
        last_backup_name: Optional[str] = None,
    ) -> StartResult:
        """Start a migration and await its creation, or adopt the one already in flight for the
        same source database (whichever source server DMS names: `migration_stage.Standing.unmatched_source_server`).
        One DMS still works on but that is not in flight (`MigrationStatus.still_runs_in_dms`: still canceling, or still
        copying though its last ARM operation failed) is neither adopted nor created over: `MigrationConflictError`.
        The 2025-06-30 specification says of a PUT on an existing migration resource only "Updated database migration
        resource" (200) and, among its errors, 409 OperationInProgress: what DMS would do to the copy it still runs is
        not said, and nothing may restart a copy over a target DMS still restores into.

        `build_request` is only called when a migration is really created, so a re-run that adopts
        never fetches secrets. `last_backup_name` (offline SqlMi/SqlVm) names the backup file after
        which DMS completes the migration (`offlineConfiguration.lastBackupName`).

        The target is read again right before the create; a 404 there is checked against the list the step read in
        this poke, after its own read of the target (`current_migration`, `reuse_list`), with no operation begun
        through this gateway since (before, it listed the service again milliseconds later: one more `listMigrations`
        call, every page, per database started).
        """
        existing = self.current_migration(target, reuse_list=True)
        if existing is not None and existing.still_runs_in_dms:
            operation_id = _adoptable(target, source_database_name, existing, self.migration_service_id)
            if not existing.is_in_flight:
                raise MigrationConflictError(
                    "DMS still works on migration %s into %s (%s): %s, so it is not adopted, and no migration is "
                    "created over it while DMS may still restore into the target" % (
                        operation_id, target.describe(), existing.describe(),
                        "it is being canceled" if existing.is_canceling else "it still copies though its last ARM operation failed"))
            log.info("Adopting migration %s already in flight into %s (%s)", operation_id, target.describe(), existing.describe())
            return StartResult(operation_id, adopted=True, status=existing)
        _refuse_a_copy_over_another_completed_copy(target, source_database_name, existing, self.migration_service_id)
        body = _with_last_backup(build_request(), target, last_backup_name)
        what = "create the migration of %s" % target.describe()
        try:
            resource = self._await(what, target, lambda t: t.begin_create(target, body))
        except (DmsUnavailable, DmsOperationFailed) as error:
            # The PUT may have reached DMS before the connection failed (a retried PUT then meets
            # its own migration: 409): continue with that migration rather than fail.
            if isinstance(error, DmsOperationFailed) and error.code not in BUSY_CODES:
                raise
            created = self.current_migration(target)
            if created is None or not created.is_in_flight or _same_operation(created, existing):
                raise
            log.info("Creating the migration of %s failed (%s) but DMS has it: continuing with it", target.describe(), error)
            return StartResult(
                _adoptable(target, source_database_name, created, self.migration_service_id), adopted=False, status=created,
                found_after_create=True,
            )
        status = MigrationStatus.from_resource(_as_rest(resource or {}))
        if not status.migration_operation_id:
            # The create response does not always carry the operation id; the resource does.
            status = self.current_migration(target) or status
        if not status.migration_operation_id:
            raise DmsOperationFailed("DMS accepted the migration of %s but returned no migrationOperationId" % target.describe())
        log.info("Started migration %s of %s (%s)", status.migration_operation_id, target.describe(), status.describe())
        return StartResult(status.migration_operation_id, adopted=False, status=status)

    def cutover(self, target: MigrationTarget, migration_operation_id: str) -> MigrationStatus:
        """Ask DMS to complete an online migration and await the cutover operation; returns the
        status after it (Completing or Succeeded). Raises `DmsOperationFailed` if DMS refuses it
        or the cutover operation fails."""
        if target.kind not in ONLINE_CAPABLE_KINDS:
            raise CutoverNotSupportedError(
                "%s migrations are offline only; %s has no cutover" % (target.kind, target.database_name)
            )
        what = "cut over migration %s of %s" % (migration_operation_id, target.describe())
        try:
            self._await(what, target, lambda t: t.begin_cutover(target, migration_operation_id))
        except DmsOperationFailed as error:
            if error.code != "CutoverNotAllowedMigrationCompleteError":
                raise
        except DmsUnavailable:
            # POST is not retried by the pipeline: the cutover may have reached DMS anyway.
            status = self.status(target, migration_operation_id)
            if not status.cutover_requested:
                raise
            return status
        return self.status(target, migration_operation_id)

    def cancel(self, target: MigrationTarget, migration_operation_id: str) -> MigrationStatus:
        """Cancel a migration and await it; returns the status after it. A migration that already
        ended (Succeeded, Failed, Canceled) is returned as it is: the caller decides."""
        what = "cancel migration %s of %s" % (migration_operation_id, target.describe())
        try:
            self._await(what, target, lambda t: t.begin_cancel(target, migration_operation_id))
        except (DmsOperationFailed, DmsUnavailable) as error:
            status = self.status(target, migration_operation_id)
            if (status.is_in_flight or status.still_copies) and status.migration_status != "Canceling":
                raise
            log.info("Cancel of %s: %s; the migration is %s", target.describe(), error, status.describe())
            return status
        return self.status(target, migration_operation_id)

    def managed_database(self, target: MigrationTarget) -> Optional[ManagedDatabase]:
        """A managed instance database as ARM reports it, None when it does not exist. SqlMi only:
        other targets have no ARM database to read here."""
        _require_managed_instance(target)
        database = self._call("read database %s" % target.describe(), lambda t: t.get_managed_database(target), target.subscription_id)
        if database is None:
            return None
        return ManagedDatabase((_as_rest(database).get("properties") or {}).get("status"))

    def delete_target_database(self, target: MigrationTarget) -> bool:
        """Delete a managed instance database through ARM and await it; False when it was absent.
        The caller decides whether it may be deleted (never a live one)."""
        _require_managed_instance(target)
        if self.managed_database(target) is None:
            return False
        self._await("delete database %s" % target.describe(), target, lambda t: t.begin_delete_managed_database(target))
        return True

    def _transport(self, subscription_id: str) -> Any:
        if subscription_id not in self._transports:
            transport = self._transport_for_subscription(subscription_id)
            if not hasattr(transport, "get_migration"):
                from migration_orchestration_lib.dms_transport_sdk import SdkTransport

                transport = SdkTransport(transport)  # an SDK client, or a stand-in quacking like one
            self._transports[subscription_id] = transport
        return self._transports[subscription_id]

    def _call(self, what: str, call: Callable[[Any], Any], subscription_id: str) -> Any:
        try:
            return call(self._transport(subscription_id))
        except Exception as error:
            raise _translated(error, what) from error

    def _await(self, what: str, target: MigrationTarget, begin: Callable[[Any], Any]) -> Any:
        self._listed = None  # what it changes is in no list read before
        poller = self._call(what, begin, target.subscription_id)
        try:
            result = poller.result(timeout=self._timing.timeout_seconds)
            running = not getattr(poller, "done", lambda: True)()  # (a stand-in's poller may be done by definition)
        except Exception as error:
            raise _translated(error, what) from error
        finally:
            stop_polling(poller)  # done, failed or given up on: no attempt awaits it any more
        if running:
            raise DmsOperationTimeout(
                "could not %s within %s s: DMS still reports it running (%s)"
                % (what, self._timing.timeout_seconds, getattr(poller, "status", lambda: "?")())
            )
        return result


def _adoptable(target: MigrationTarget, source_database_name: str, migration: MigrationStatus, migration_service_id: str) -> str:
    """The operation id of a migration in flight this one may continue with: ours (`migration_stage.foreign_because`)."""
    foreign = foreign_because(migration, source_database_name, migration_service_id)
    if foreign is not None:
        raise MigrationConflictError("target database %s on %s is being migrated %s" % (target.database_name, target.server_name, foreign[0]))
    if not migration.migration_operation_id:
        raise DmsOperationFailed("the migration in flight into %s has no migrationOperationId" % target.describe())
    return migration.migration_operation_id


def _refuse_a_copy_over_another_completed_copy(target: MigrationTarget, source_database_name: str,
                                              existing: Optional[MigrationStatus], migration_service_id: str) -> None:
    """A SqlDb target exists before any copy: where DMS's latest migration into it is another's (`foreign_because`) that
    DMS reports Succeeded, the target holds that completed copy, perhaps handed to applications, and a create would copy
    over its rows. The steps refuse it first (`steps._refuse_copying_over_a_completed_migration`); here it is read again
    right before the create, as it may have completed since."""
    if target.kind != "SqlDb" or existing is None or not existing.is_succeeded:
        return
    foreign = foreign_because(existing, source_database_name, migration_service_id)
    if foreign is not None:
        raise MigrationConflictError(
            "target database %s on %s holds migration %s %s, which DMS reports Succeeded: a completed copy, which "
            "applications may use, so no copy is created over it" % (
                target.database_name, target.server_name, existing.migration_operation_id, foreign[0]))


def _translated(error: Exception, what: str) -> Exception:
    """azure-core's exceptions (from either transport) as the gateway's."""
    if isinstance(error, (DmsError, MigrationConflictError, CutoverNotSupportedError)):
        return error
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    from migration_orchestration_lib.azure_waits import NoTimeToWait

    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return DmsUnavailable("could not %s: ARM did not answer (%s)" % (what, error))
    if isinstance(error, NoTimeToWait):
        return DmsUnavailable("could not %s: %s" % (what, error))
    status_code = getattr(error, "status_code", None) or getattr(getattr(error, "response", None), "status_code", None)
    code, message = _arm_error(error)
    if code is not None and status_code == 200:
        # the operation's own status document: the long-running operation ended Failed/Canceled
        return DmsOperationFailed("could not %s: the operation ended %s: %s: %s" % (what, _lro_status(error), code, message), code)
    if status_code is not None and (status_code == 429 or status_code >= 500):
        return DmsUnavailable("could not %s: ARM answered %s %s: %s" % (what, status_code, code, message), code)
    if status_code is not None:
        return DmsOperationFailed(
            "could not %s: ARM answered %s %s: %s" % (what, status_code, code, message), code, retryable=code in BUSY_CODES
        )
    return error


def _arm_error(error: Exception):
    response = getattr(error, "response", None)
    try:
        body = response.json() if response is not None else None
    except Exception:
        body = None
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        return body["error"].get("code"), body["error"].get("message")
    model = getattr(error, "error", None)
    return getattr(model, "code", None), getattr(model, "message", None) or str(error)


def _lro_status(error: Exception) -> str:
    try:
        return error.response.json().get("status") or "Failed"  # type: ignore[union-attr]
    except Exception:
        return "Failed"


def _with_last_backup(request: Mapping[str, Any], target: MigrationTarget, last_backup_name: Optional[str]) -> Dict[str, Any]:
    body = copy.deepcopy(dict(request))
    if last_backup_name is None:
        return body
    properties = body.setdefault("properties", {})
    offline = properties.get("offlineConfiguration") or {}
    if target.kind not in ONLINE_CAPABLE_KINDS or not offline.get("offline"):
        raise ValueError(
            "lastBackupName is for offline SqlMi and SqlVm migrations; %s is %s %s"
            % (target.database_name, "online" if target.kind in ONLINE_CAPABLE_KINDS else "a", target.kind)
        )
    properties["offlineConfiguration"] = dict(offline, lastBackupName=last_backup_name)
    return body


def _same_operation(current: MigrationStatus, before: Optional[MigrationStatus]) -> bool:
    return before is not None and current.migration_operation_id == before.migration_operation_id


def _require_managed_instance(target: MigrationTarget) -> None:
    if target.kind != "SqlMi":
        raise ValueError("%s is a %s target: only SqlMi databases are ARM resources here" % (target.database_name, target.kind))


def _listed_scope(body: Mapping[str, Any]) -> str:
    """The target's id of a listed migration: `properties.scope`, which the specification does not require
    (`DatabaseMigrationBaseProperties` requires only `kind`), else the head of the resource's own id."""
    scope = (body.get("properties") or {}).get("scope")
    if scope:
        return scope
    head = re.split(r"/providers/Microsoft\.DataMigration/databaseMigrations/", body.get("id") or "", flags=re.IGNORECASE)
    return head[0] if len(head) == 2 else ""


def _as_rest(resource: Any) -> Mapping[str, Any]:
    """SDK models and REST bodies alike become the REST body shape."""
    if isinstance(resource, Mapping):
        return resource
    if resource is None:
        return {}
    return resource.serialize(keep_readonly=True)
