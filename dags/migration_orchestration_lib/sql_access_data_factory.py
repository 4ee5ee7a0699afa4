"""SQL access through the stack's own Data Factory: every operation is a pipeline run.

For hosts without network reach to SQL Server (Fabric, an existing Data Factory Airflow): a query
runs as a Lookup activity, a statement as a Script activity, on the pipelines the `SqlPipelines`
construct creates (names and parameters: `contracts/sql_pipelines.json`). Sources and SqlVm targets
are reached through the self-hosted integration runtime, SqlMi and SqlDb targets through managed
private endpoints of the factory's managed virtual network (the route, `routes_from_plan`).

`submit` is idempotent per key: it first looks for a run of the pipeline whose `operationKey`
parameter is the key (`pipeline_runs.query_by_factory`, newest first; begun at or after the
operation's `not_before`, five minutes of clock skew aside, and only runs updated since then are
listed) and adopts it, whatever its status, so a worker that died with a run in flight is followed
by one that waits for that run, and a failed run is reported (not silently repeated) on every poke. Put the try number in the key only
if an Airflow retry should run the SQL again. `result` reads the run (`pipeline_runs.get`): None
while Queued/InProgress/Canceling; the activity's rows when Succeeded
(`activity_runs.query_by_pipeline_run`, Lookup `output.value`, Script `output.resultSets`);
`SqlOperationFailed` with Data Factory's message when Failed or Cancelled. A createRun refused because the
pipeline's queue is full (`QUEUE_FULL_MESSAGE`) is `StepPending`: the step pokes again, within its deadline.
Data Factory's activity limits: a batch over `sql_access.BATCH_PAYLOAD_BUDGET_BYTES` (of the 896 KB an activity run's
payload may hold) is refused before its run starts. A run's SQL command ends at the operation's timeout (`timeout`: the
Lookup's queryTimeout, the Script's scriptBlockExecutionTimeout), its activity at that or `MIN_ACTIVITY_TIMEOUT_SECONDS`,
whichever is longer (`activityTimeout`, the activity's policy timeout): a batch submitted near its deadline holds no
connection past it. Data Factory retries a failed activity (`activityRetries`, SqlPipelines' default 2), each try for
the whole timeout: an operation that may not run again (`rerun_after_failure` false: a timeout that is what is left
until a deadline) is started with 0.

The identity needs only: pipelines/createrun/action, pipelineruns/read, querypipelineruns/action,
pipelineruns/queryactivityruns/action, and the read of each query's result (the construct's custom
role; the repository's docs/permissions.md). azure-mgmt-datafactory is
imported inside methods only (the DAG file is parsed without Azure SDKs).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from migration_orchestration_lib.resource_id import ResourceId
from migration_orchestration_lib.sql_access import (
    BATCH_PAYLOAD_BUDGET_BYTES,
    SqlEndpoint,
    SqlOperation,
    SqlOperationFailed,
    SqlOperationHandle,
    SqlResult,
    batch_payload_bytes,
)
from migration_orchestration_lib.step_context import StepPending

CONTRACT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contracts", "sql_pipelines.json")
OPERATION_KEY, SQL, TIMEOUT, ACTIVITY_TIMEOUT = "operationKey", "sql", "timeout", "activityTimeout"
ACTIVITY_RETRIES = "activityRetries"
RUNNING = ("Queued", "InProgress", "Canceling")
ENDED_BADLY = ("Failed", "Cancelled")
LOOKUP_ROW_LIMIT = 5000
LOOKUP_TIMEOUT_SECONDS = 24 * 3600  # Data Factory ends a Lookup after 24 hours
# "Minimum timeout for pipeline activity runs: 10 min" (Data Factory limits): the activity's policy timeout is never
# shorter. It bounds the activity only: the SQL command keeps the DAG's timeout (no minimum is documented for it).
MIN_ACTIVITY_TIMEOUT_SECONDS = 10 * 60
DEFAULT_ADOPTION_WINDOW = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)  # between the Airflow worker's clock (`not_before`) and Data Factory's (runStart)
FACTORY_TYPE = "Microsoft.DataFactory/factories"
# How Data Factory refuses a createRun while the pipeline (its `concurrency` set) has 100 runs queued ("Maximum queued
# runs per pipeline 100", Azure subscription limits), as its users quote it (MicrosoftDocs/azure-docs#85538: "Pipeline
# execution throttled. If the concurrency value is set for a pipeline, a maximum of 100 runs will be queued for
# execution."). Its HTTP status and error code are not documented: any 4xx answer saying this is the refusal.
QUEUE_FULL_MESSAGE = "Pipeline execution throttled"
MAX_QUEUED_RUNS = 100


@dataclass(frozen=True)
class SqlRoute:
    """How Data Factory reaches an endpoint: a route of the contract and its linked-service arguments."""

    name: str  # selfHosted | managedInstance | sqlDatabase
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineStep:
    pipeline: str
    activity: str
    activity_type: str  # Lookup | Script


class SqlPipelinesContract:
    """`contracts/sql_pipelines.json`: the pipelines per route and their parameters."""

    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        self.routes: Mapping[str, Any] = document["routes"]

    @staticmethod
    def load(path: str = CONTRACT_PATH) -> "SqlPipelinesContract":
        with open(path, "r", encoding="utf-8") as handle:
            return SqlPipelinesContract(json.load(handle))

    def step(self, route: str, statement: bool) -> PipelineStep:
        if route not in self.routes:
            raise ValueError("no Data Factory route %r; known: %s" % (route, ", ".join(sorted(self.routes))))
        kind = "statement" if statement else "query"
        entry = self.routes[route].get(kind)
        if entry is None:
            raise ValueError("route %s has no %s pipeline: statements run on sources and SqlVm targets only" % (route, kind))
        return PipelineStep(entry["pipeline"], entry["activity"], "Script" if statement else "Lookup")

    def step_of_pipeline(self, pipeline: str) -> PipelineStep:
        for route in self.routes:
            for statement in (False, True):
                entry = self.routes[route].get("statement" if statement else "query")
                if entry is not None and entry["pipeline"] == pipeline:
                    return self.step(route, statement)
        raise ValueError("pipeline %s is not one of the SQL pipelines" % pipeline)

    def check_parameters(self, route: str, parameters: Mapping[str, str]) -> None:
        expected = set(self.routes[route]["linkedServiceParameters"])
        if set(parameters) != expected:
            raise ValueError("route %s takes the parameters %s, got %s" % (route, sorted(expected), sorted(parameters)))


class DataFactorySqlAccess:
    """`SqlAccess` as Data Factory pipeline runs (azure-mgmt-datafactory client, or one like it)."""

    def __init__(
        self,
        client: Any,
        factory: ResourceId,
        route_of: Callable[[SqlEndpoint], SqlRoute],
        contract: Optional[SqlPipelinesContract] = None,
        adoption_window: timedelta = DEFAULT_ADOPTION_WINDOW,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self._client = client
        self._factory = factory
        self._route_of = route_of
        self._contract = contract or SqlPipelinesContract.load()
        self._adoption_window = adoption_window
        self._clock = clock

    def submit(self, operation: SqlOperation) -> SqlOperationHandle:
        route = self._route_of(operation.endpoint)
        self._contract.check_parameters(route.name, route.parameters)
        step = self._contract.step(route.name, statement=not operation.returns_rows)
        run_id = self._find_run(step.pipeline, operation) or self._start_run(step, operation, route)
        return SqlOperationHandle(key=operation.key, reference=run_id)

    def submitted(self, operation: SqlOperation) -> bool:
        step = self._contract.step(self._route_of(operation.endpoint).name, statement=not operation.returns_rows)
        return self._find_run(step.pipeline, operation) is not None

    def runs_in_flight(self, endpoint: SqlEndpoint, chosen: Callable[[str], bool]) -> List[str]:
        """`keys_in_flight`'s runs, each "<key> (<status>)", for a message."""
        return ["%s (%s)" % (key, status) for key, status in self.keys_in_flight(endpoint, chosen)]

    def keys_in_flight(self, endpoint: SqlEndpoint, chosen: Callable[[str], bool]) -> List[Tuple[str, str]]:
        """The operation keys, with their status, of the runs on `endpoint`'s server that Data Factory has not ended
        (Queued, InProgress, Canceling), updated in the adoption window, whose key `chosen` picks, on every pipeline of
        its route (a batch that changes the source, a freeze, runs as a Lookup too: it returns the state it left).
        Data Factory filters runs by pipeline and status, not by parameter (RunQueryFilterOperand: PipelineName,
        RunStart, RunEnd, Status; RunQueryFilterOperator: Equals, NotEquals, In, NotIn), so the key and the server (the
        route's linked-service parameters) are matched here. One query (page by page) for the route's pipelines
        together (PipelineName `In`). The permission `submit` uses: querypipelineruns/action."""
        route = self._route_of(endpoint)
        pipelines = [entry["pipeline"] for entry in (self._contract.routes[route.name].get(kind) for kind in ("query", "statement"))
                     if entry is not None]
        now = self._clock()
        found: List[Tuple[str, str]] = []
        for run in self._pipeline_runs(pipelines, now - self._adoption_window, now,
                                       also=[{"operand": "Status", "operator": "In", "values": list(RUNNING)}]):
            parameters = run.parameters or {}
            key = parameters.get(OPERATION_KEY) or ""
            same_server = all(parameters.get(name) == value for name, value in route.parameters.items())
            if run.status in RUNNING and same_server and chosen(key):
                found.append((key, run.status))
        return sorted(found)

    def _pipeline_runs(self, pipelines: Sequence[str], after: datetime, now: datetime, newest_first: bool = False,
                       also: Optional[List[Dict[str, Any]]] = None) -> Iterator[Any]:
        """The runs of `pipelines` updated since `after`, page after page (`queryPipelineRuns`, its continuation token)."""
        token = None
        while True:
            page = self._client.pipeline_runs.query_by_factory(
                self._factory.resource_group,
                self._factory.name,
                _run_filter(after, now + timedelta(days=1), "PipelineName", pipelines, token, newest_first=newest_first, also=also),
            )
            yield from page.value or []
            token = page.continuation_token
            if not token:
                return

    def _start_run(self, step: PipelineStep, operation: SqlOperation, route: SqlRoute) -> str:
        from azure.core.exceptions import AzureError

        timeout = operation.timeout_seconds if step.activity_type == "Script" else min(operation.timeout_seconds, LOOKUP_TIMEOUT_SECONDS)
        size = batch_payload_bytes(operation.sql)
        if size > BATCH_PAYLOAD_BUDGET_BYTES:
            raise SqlOperationFailed(
                "%s: not started: its SQL batch is %d bytes, over the %d a batch may take of Data Factory's 896 KB limit "
                "on an activity run's payload ('Bytes per payload for each activity run'), which would fail the run"
                % (operation.key, size, BATCH_PAYLOAD_BUDGET_BYTES))
        parameters = {OPERATION_KEY: operation.key, SQL: operation.sql, TIMEOUT: timespan(timeout),
                      ACTIVITY_TIMEOUT: timespan(max(timeout, MIN_ACTIVITY_TIMEOUT_SECONDS))}
        if not operation.rerun_after_failure:  # else the pipeline's own (SqlPipelines' activityRetries)
            parameters[ACTIVITY_RETRIES] = "0"
        parameters.update(route.parameters)
        try:
            return self._client.pipelines.create_run(
                self._factory.resource_group, self._factory.name, step.pipeline, parameters=parameters
            ).run_id
        except AzureError as error:
            # createRun is not idempotent: when its answer is lost the run may exist all the same.
            started = self._find_run(step.pipeline, operation)
            if started is not None:
                return started
            if _queue_full(error):
                raise StepPending(
                    "SQL operation %s not started: the queue of Data Factory pipeline %s is full (%d runs waiting beyond "
                    "its concurrency, Data Factory's most); poking again until a place frees. Data Factory said: %s"
                    % (operation.key, step.pipeline, MAX_QUEUED_RUNS, _error_message(error))
                ) from None
            raise

    def result(self, handle: SqlOperationHandle) -> Optional[SqlResult]:
        run = self._client.pipeline_runs.get(self._factory.resource_group, self._factory.name, handle.reference)
        if (run.parameters or {}).get(OPERATION_KEY) != handle.key:
            raise ValueError("pipeline run %s is not the run of operation %s" % (handle.reference, handle.key))
        if run.status in RUNNING:
            return None
        step = self._contract.step_of_pipeline(run.pipeline_name)
        activity = self._activity_run(run, step.activity)
        if run.status in ENDED_BADLY:
            raise SqlOperationFailed(
                "%s: Data Factory run %s of %s %s: %s"
                % (handle.key, run.run_id, run.pipeline_name, run.status.lower(), _failure_message(run, activity))
            )
        if run.status != "Succeeded":
            raise SqlOperationFailed("%s: Data Factory run %s has the unknown status %r" % (handle.key, run.run_id, run.status))
        if activity is None:
            raise SqlOperationFailed("%s: run %s succeeded but has no %s activity run" % (handle.key, run.run_id, step.activity))
        return SqlResult(rows=_rows(activity.output or {}, step, handle.key))

    def _find_run(self, pipeline: str, operation: SqlOperation) -> Optional[str]:
        now = self._clock()
        after = now - self._adoption_window
        if operation.not_before is not None:
            after = max(after, operation.not_before - CLOCK_SKEW)
        for run in self._pipeline_runs([pipeline], after, now, newest_first=True):
            # Listed by lastUpdated: a run begun before `after` may still be updated after it.
            begun_in_time = run.run_start is None or run.run_start >= after
            if (run.parameters or {}).get(OPERATION_KEY) == operation.key and begun_in_time:
                return run.run_id
        return None

    def _activity_run(self, run: Any, activity: str) -> Any:
        started = run.run_start or self._clock() - self._adoption_window
        runs: List[Any] = []
        token = None
        while True:
            page = self._client.activity_runs.query_by_pipeline_run(
                self._factory.resource_group,
                self._factory.name,
                run.run_id,
                _run_filter(started - timedelta(minutes=5), self._clock() + timedelta(days=1), "ActivityName", [activity], token),
            )
            runs.extend(page.value or [])
            token = page.continuation_token
            if not token:
                break
        # Data Factory retries an activity as new activity runs: the last one decides.
        runs.sort(key=lambda item: item.activity_run_start or datetime.min.replace(tzinfo=timezone.utc))
        return runs[-1] if runs else None


def _queue_full(error: Exception) -> bool:
    status = getattr(error, "status_code", None)
    return status is not None and 400 <= status < 500 and QUEUE_FULL_MESSAGE.lower() in _error_message(error).lower()


def _error_message(error: Exception) -> str:
    """The service's own message where azure-core parsed one (ARM's `error.message`), else the exception's text."""
    return getattr(getattr(error, "error", None), "message", None) or str(error)


def _run_filter(after: datetime, before: datetime, operand: str, values: Sequence[str], token: Optional[str],
                newest_first: bool = False, also: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """RunFilterParameters as its REST JSON: azure-mgmt-datafactory 9.x and 10.x both take it (their
    model classes differ: `values` became `values_property` in 10.0). Runs whose `operand` is any of `values` (Equals for one, In for more)."""
    body: Dict[str, Any] = {
        "lastUpdatedAfter": _iso(after),
        "lastUpdatedBefore": _iso(before),
        "filters": [{"operand": operand, "operator": "Equals" if len(values) == 1 else "In", "values": list(values)}] + list(also or []),
    }
    if newest_first:
        body["orderBy"] = [{"orderBy": "RunStart", "order": "DESC"}]
    if token:
        body["continuationToken"] = token
    return body


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rows(output: Mapping[str, Any], step: PipelineStep, key: str) -> List[Mapping[str, Any]]:
    if step.activity_type == "Lookup":
        rows = list(output.get("value") or [])
        if len(rows) >= LOOKUP_ROW_LIMIT:
            raise SqlOperationFailed(
                "%s: the Lookup returned %d rows, Data Factory's limit: the result may be cut off" % (key, len(rows))
            )
        return rows
    if output.get("outputTruncated"):
        raise SqlOperationFailed("%s: the Script activity's output was cut off (over its size limit)" % key)
    result_sets = output.get("resultSets") or []
    return list(result_sets[-1].get("rows") or []) if result_sets else []


def _failure_message(run: Any, activity: Any) -> str:
    error = getattr(activity, "error", None) or {}
    return run.message or (error.get("message") if isinstance(error, dict) else str(error)) or "no message"


def timespan(seconds: int) -> str:
    """Data Factory's d.hh:mm:ss."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return "%d.%02d:%02d:%02d" % (days, hours, minutes, seconds)


def routes_from_plan(plan: Any, connections: Any) -> Callable[[SqlEndpoint], SqlRoute]:
    """The route to each of the plan's servers.

    Sources and SqlVm targets: self-hosted, with the Key Vault secret holding the server's
    connection string (`sourceServers[].connectionStringSecretName`, default `<name>-connection-string`;
    for a SqlVm target `<target name>-connection-string`). SqlMi / SqlDb targets: the host of the
    target's Airflow connection and the endpoint's database, logged in with the factory's identity.
    """
    sources = {s.name: getattr(s, "connection_string_secret_name", None) or default_secret_name(s.name) for s in plan.source_servers}
    targets = {t.name: t for t in plan.target_servers}

    def route_of(endpoint: SqlEndpoint) -> SqlRoute:
        if endpoint.role == "source":
            return SqlRoute("selfHosted", {"connectionStringSecretName": sources[endpoint.server_name]})
        target = targets[endpoint.server_name]
        if target.kind == "SqlVm":
            return SqlRoute("selfHosted", {"connectionStringSecretName": default_secret_name(target.name)})
        host = connections.get(target.connection_id).host
        route = "managedInstance" if target.kind == "SqlMi" else "sqlDatabase"
        return SqlRoute(route, {"serverName": host, "databaseName": endpoint.database})

    return route_of


def default_secret_name(server_name: str) -> str:
    return "%s-connection-string" % server_name


def data_factory_client(subscription_id: str, credential: Any = None, base_url: Optional[str] = None, **options: Any) -> Any:
    """`DataFactoryManagementClient` with the workload's identity (or the given credential).

    A plain-HTTP `base_url` (the rehearsal's fake) must be a loopback address and gets the DMS
    transport's loopback token policy: azure-core refuses bearer tokens over HTTP otherwise.
    """
    from azure.mgmt.datafactory import DataFactoryManagementClient

    from migration_orchestration_lib.azure_waits import client_options
    from migration_orchestration_lib.dms_transport import loopback_bearer_token_policy, require_loopback

    options = client_options("Data Factory", options)
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    if base_url:
        options["base_url"] = base_url
        if base_url.lower().startswith("http://"):
            require_loopback(base_url)
            options["authentication_policy"] = loopback_bearer_token_policy(credential)
    return DataFactoryManagementClient(credential, subscription_id, **options)
