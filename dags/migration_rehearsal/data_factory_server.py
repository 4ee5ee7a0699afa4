"""An HTTP fake of Data Factory's pipeline-run API (ARM, api-version 2018-06-01) that runs SQL pipelines.

It serves what the real `azure-mgmt-datafactory` client calls (written from Azure's REST
specification `specification/datafactory/.../2018-06-01/datafactory.json`):
  POST .../factories/{f}/pipelines/{p}/createRun          body: the run's parameters -> {runId}
  GET  .../factories/{f}/pipelineruns/{runId}             -> PipelineRun
  POST .../factories/{f}/queryPipelineRuns                body: RunFilterParameters -> {value, continuationToken}
  POST .../factories/{f}/pipelineruns/{runId}/queryActivityruns   -> {value: [ActivityRun], continuationToken}
  POST .../factories/{f}/pipelineruns/{runId}/cancel
and interprets the factory's definitions (the linked services, datasets and pipelines the
`SqlPipelines` construct deploys, as ARM JSON: `fixtures/sql_pipelines_factory.json`): a Lookup
runs its dataset's query, a Script its scripts, on the server the linked service names (a Key Vault
connection string for SqlServer, server and database for AzureSqlMI / AzureSqlDatabase), through
the fake SQL engine (`sql_world`) on the same world. Expressions: `@pipeline().parameters.x`,
`@dataset().x`, `@linkedService().x`, as whole values or `@{...}` inside strings.

Runs move as Data Factory's do, one step per `GET pipelineruns/{id}`: Queued -> InProgress ->
Succeeded | Failed (the SQL runs on the step to the end state); `cancel` ends a Queued run Cancelled at once and
moves an InProgress one to Canceling on its next step, then Cancelled, its activity run Cancelled (PipelineRun.status:
"Queued, InProgress, Succeeded, Failed, Canceling, Cancelled", azure-mgmt-datafactory's models). Whether a batch a
cancel interrupts ran in part is not modelled: here it never ran.
`advance_all()` finishes every run in flight, as time passing would while no worker watches. Runs
live in the world (`dataFactoryRuns`), so a new server or client on the same world sees them, which
is what a worker that died with a run in flight finds again.

Faults (`World.add_fault`): operations createRun, getPipelineRun, queryPipelineRuns,
queryActivityRuns, cancelPipelineRun with the HTTP kinds (throttle, error, slow, and reset: the
server acts, then the connection drops before the answer, so a createRun may have started a run
its caller never heard of); operation
`pipelineRun` with kind `lroFailed` makes the next run end Failed with the fault's message. A pipeline
whose `concurrency` is set refuses a createRun while `max_queued_runs` (Data Factory's 100) of its runs wait beyond
it, with the message Data Factory's users quote (its HTTP status is not documented: 400 BadRequest here). Key
Vault secrets the linked services read live in the world too (`put_secret`). Data Factory's limits (Azure
subscription limits, "Data Factory limits"): an activity run whose payload (its configuration, the SQL in it) is over
896 KB fails with error 2002; one whose `policy.timeout` is below the 10-minute "Minimum timeout for pipeline activity
runs" fails too (what Data Factory itself does with one is not documented: failing is the strict reading). The SQL
command ends at its own timeout (the Lookup source's `queryTimeout`, the Script's `scriptBlockExecutionTimeout`): a
`sqlExecute` fault of kind `slow` makes the next batch take `delay_seconds` (simulated, not slept), and one longer
than its timeout fails the activity with SqlClient's timeout message, the batch not run. Such a try is retried as
the activity's policy says (`retry`, a number or `@int(...)` of a parameter): a new activity run, the batch run again
for its whole timeout; other failures end the run at once, as though they recurred on every try. The activity run's `input` holds
the activity's evaluated `typeProperties`, as Data Factory shows them.

An integration runtime offline (`set_runtime_offline`, a mode of the world until `set_runtime_online`; the runtime a
linked service names in `connectVia`: the self-hosted one of sources and SqlVm targets, never the managed VNet one of
SqlMi and SqlDb targets): a run whose activity connects through it starts as usual (Queued, then InProgress) and its
activity run stays `Queued` on every GET, its SQL not run, as long as the mode holds ("Queue: The elapsed time until
the copy activity actually starts on the integration runtime", and "the copy activity waits long in the queue until
your Self-hosted IR has resource to execute": learn.microsoft.com, data-factory/copy-activity-performance-troubleshooting;
an activity left "Queued ... seemingly endlessly" on a runtime whose capacity was taken: blog.greglow.com 2021-01-06,
"Copy Activities Won't Start (Queued)"). Once it is back, the runs it held run as usual, in the order they were
submitted: the first GET of any of them runs the SQL of every earlier one first. No Microsoft source says whether the
activity's `policy.timeout` counts the time in that queue, so it is not modelled: a held run waits as long as the
runtime is offline, the case in which a batch lands latest (a timeout that counted the queue would end the run Failed,
its SQL never run). Others report an activity on an offline self-hosted runtime failing at once instead, "The
Self-hosted Integration Runtime '<name>' is offline, last connect time is '<time>', Self-hosted Integration Runtime id
is '<id>'." (Azure/Azure-DataFactory#478, a Lookup): `set_runtime_offline(..., activities="fail")` ends such a run
Failed with that message, its SQL not run.

Run it alone: `python -m migration_rehearsal.data_factory_server --world DIR [--port N]`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlparse

from migration_rehearsal import sql_world
from migration_rehearsal.world import HTTP_FAULT_KINDS, LRO_FAULT_KIND, World

API_VERSION = "2018-06-01"
DEFINITIONS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "sql_pipelines_factory.json")
RUNS = "dataFactoryRuns"
SECRETS = "keyVaultSecrets"
RUNTIMES = "dataFactoryRuntimesOffline"  # {runtime name: {"activities": "queue" | "fail", "since": time}}
RUNTIMES_BACK_IN_ANY_ORDER = "dataFactoryRuntimesBackInAnyOrder"  # [runtime name]: set_runtime_online(in_submission_order=False)
OFFLINE_ACTIVITIES = ("queue", "fail")
RUNTIME_OFFLINE = ("The Self-hosted Integration Runtime '%s' is offline, last connect time is '%s', Self-hosted Integration "
                   "Runtime id is '%s'.")
LOOKUP_ROW_LIMIT = 5000
MAX_ACTIVITY_PAYLOAD_BYTES = 896 * 1024
PAYLOAD_TOO_LARGE = ("The payload including configurations on activity/dataSet/linked service is too large. Please check "
                     "if you have settings with very large value and try to reduce its size.")
MIN_ACTIVITY_TIMEOUT = timedelta(minutes=10)
SQL_TIMEOUT_EXPIRED = ("Execution Timeout Expired.  The timeout period elapsed prior to completion of the operation or the "
                       "server is not responding.")
TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<hours>\d\d):(?P<minutes>\d\d):(?P<seconds>\d\d)$")
SOURCE_FOR_DATASET = {"SqlServerTable": "SqlServerSource", "AzureSqlMITable": "SqlMISource", "AzureSqlTable": "AzureSqlSource"}
SERVER_KIND_FOR_LINKED_SERVICE = {"AzureSqlMI": "SqlMi", "AzureSqlDatabase": "SqlDb"}
TERMINAL = ("Succeeded", "Failed", "Cancelled")
PRIVATE_RUN_FIELDS = ("activityRuns", "injectedFailure", "cancelRequested", "heldBy", "submission")  # the fake's own
CANCELLED_BY_USER = "The pipeline run was cancelled by a user."
QUEUE_FULL = ("Pipeline execution throttled. If the concurrency value is set for a pipeline, a maximum of 100 runs "
              "will be queued for execution.")
FACTORY = (
    r"^/subscriptions/(?P<subscription>[^/]+)/resourcegroups/(?P<group>[^/]+)"
    r"/providers/microsoft\.datafactory/factories/(?P<factory>[^/]+)"
)
ROUTES = [
    ("POST", re.compile(FACTORY + r"/pipelines/(?P<pipeline>[^/]+)/createrun$", re.IGNORECASE), "createRun"),
    ("GET", re.compile(FACTORY + r"/pipelineruns/(?P<run>[^/]+)$", re.IGNORECASE), "getPipelineRun"),
    ("POST", re.compile(FACTORY + r"/querypipelineruns$", re.IGNORECASE), "queryPipelineRuns"),
    ("POST", re.compile(FACTORY + r"/pipelineruns/(?P<run>[^/]+)/queryactivityruns$", re.IGNORECASE), "queryActivityRuns"),
    ("POST", re.compile(FACTORY + r"/pipelineruns/(?P<run>[^/]+)/cancel$", re.IGNORECASE), "cancelPipelineRun"),
]
ISO_TIME = re.compile(r"^(?P<seconds>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?(?P<zone>Z|z|[+-]\d\d:?\d\d)?$")
INT_CALL = re.compile(r"^int\((.*)\)$")
EXPRESSION = re.compile(r"^(pipeline\(\)\.parameters|dataset\(\)|linkedService\(\))\.([A-Za-z_][A-Za-z0-9_]*)$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RunFailure(Exception):
    """The activity failed; the message is what Data Factory reports, `code` its error code."""

    def __init__(self, message: str, code: str = "2011"):
        super().__init__(message)
        self.code = code


def put_secret(world: World, name: str, value: str) -> None:
    """A Key Vault secret the linked services can read (a connection string)."""
    with world.transaction() as state:
        state.setdefault(SECRETS, {})[name] = value


def set_runtime_offline(world: World, runtime: str, activities: str = "queue") -> None:
    """The integration runtime `runtime` has no node online until `set_runtime_online`: the activities that connect
    through it wait in its queue (`activities` "queue") or fail at once ("fail"), their SQL not run."""
    if activities not in OFFLINE_ACTIVITIES:
        raise ValueError("activities must be one of %s, got %r" % (", ".join(OFFLINE_ACTIVITIES), activities))
    with world.transaction() as state:
        state.setdefault(RUNTIMES, {})[runtime] = {"activities": activities, "since": _now()}


def set_runtime_online(world: World, runtime: str, in_submission_order: bool = True) -> None:
    """The runtime is back: the runs it held run on their next GET, in the order they were submitted (the first GET of
    any of them runs the SQL of every earlier one first). `in_submission_order` False: each runs on its own next GET
    (or `advance_all`), whatever was submitted before it. Microsoft documents no order: a self-hosted node runs up to
    its `concurrentJobsLimit` jobs at once ("The number of concurrent jobs permitted to run on the integration runtime
    node", azure-mgmt-datafactory `UpdateIntegrationRuntimeNodeRequest`), so a read submitted after a statement may
    end before it."""
    with world.transaction() as state:
        state.setdefault(RUNTIMES, {}).pop(runtime, None)
        any_order = state.setdefault(RUNTIMES_BACK_IN_ANY_ORDER, [])
        if runtime in any_order:
            any_order.remove(runtime)
        if not in_submission_order:
            any_order.append(runtime)


def load_definitions(path: str = DEFINITIONS_PATH) -> Dict[str, Any]:
    with open(path, "r", encoding="utf-8") as handle:
        return json.load(handle)


class DataFactoryServer:
    def __init__(self, world: World, definitions: Optional[Dict[str, Any]] = None, subscription_id: str = "00000000-0000-0000-0000-000000000000",
                 resource_group: str = "rg-migration", factory_name: str = "adf-migration", page_size: int = 50,
                 max_queued_runs: int = 100):
        self.world = world
        self.max_queued_runs = max_queued_runs
        self.definitions = definitions or load_definitions()
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.factory_name = factory_name
        self.page_size = page_size
        self.factory_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DataFactory/factories/%s" % (
            subscription_id, resource_group, factory_name)
        self.requests: List[Tuple[str, str]] = []  # (method, operation) in arrival order
        self._http: Optional[ThreadingHTTPServer] = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        server = self

        class Handler(_Handler):
            fake = server

        self._http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        return "http://127.0.0.1:%d" % self._http.server_address[1]

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def __enter__(self) -> "DataFactoryServer":
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    # -- operations --------------------------------------------------------------------------------

    def create_run(self, pipeline_name: str, parameters: Mapping[str, Any]) -> Dict[str, Any]:
        pipeline = self._pipeline(pipeline_name)
        declared = pipeline.get("parameters") or {}
        unknown = sorted(set(parameters) - set(declared))
        if unknown:
            raise ApiError(400, "BadRequest", "The pipeline %s has no parameter(s) %s" % (pipeline_name, ", ".join(unknown)))
        missing = sorted(name for name, spec in declared.items() if name not in parameters and "defaultValue" not in spec)
        if missing:
            raise ApiError(400, "BadRequest", "Missing value for the required pipeline parameter(s) %s" % ", ".join(missing))
        values = {name: spec.get("defaultValue") for name, spec in declared.items() if "defaultValue" in spec}
        values.update({name: _as_parameter(value) for name, value in parameters.items()})
        fault = self.world.take_fault("pipelineRun", kinds=(LRO_FAULT_KIND,))
        now = _now()
        run_id = str(uuid.uuid4())
        run = {
            "runId": run_id, "runGroupId": run_id, "isLatest": True, "pipelineName": pipeline_name,
            "parameters": values, "invokedBy": {"name": "Manual", "id": uuid.uuid4().hex, "invokedByType": "Manual"},
            "runStart": now, "runEnd": None, "durationInMs": None, "status": "Queued", "message": "",
            "lastUpdated": now, "annotations": [], "runDimensions": {},
            "activityRuns": [], "injectedFailure": fault and (fault.get("message") or "Simulated failure"),
        }
        with self.world.transaction() as state:
            runs = state.setdefault(RUNS, {})
            if pipeline.get("concurrency"):
                in_flight = sum(1 for other in runs.values() if other["pipelineName"] == pipeline_name and other["status"] not in TERMINAL)
                if in_flight >= pipeline["concurrency"] + self.max_queued_runs:
                    raise ApiError(400, "BadRequest", QUEUE_FULL)
            run["submission"] = len(runs) + 1  # the order of the createRuns (the world's file sorts runs by id)
            runs[run_id] = run
        return {"runId": run_id}

    def get_run(self, run_id: str) -> Dict[str, Any]:
        with self.world.reading() as state:  # an ended run moves no more: read alone (a later poke adopting its run)
            run = self._run(state, run_id)
            if run["status"] in TERMINAL:
                return _public_run(run)
        with self.world.transaction() as state:
            run = self._run(state, run_id)
            self._advance(state, run)
            return _public_run(run)

    def advance_all(self) -> None:
        """Finish every run in flight (time passing while no worker polls), but those an offline runtime holds."""
        with self.world.transaction() as state:
            for run in _in_submission_order(state):
                while run["status"] not in TERMINAL and self._advance(state, run):
                    pass

    def runtime_of(self, pipeline_name: str) -> str:
        """The integration runtime the pipeline's activity connects through (its linked service's `connectVia`)."""
        activity = self._pipeline(pipeline_name)["activities"][0]
        if activity["type"] == "Lookup":
            link = self._definition("datasets", activity["typeProperties"]["dataset"]["referenceName"])["linkedServiceName"]
        else:
            link = activity["linkedServiceName"]
        return self._definition("linkedServices", link["referenceName"])["connectVia"]["referenceName"]

    def cancel_run(self, run_id: str) -> None:
        with self.world.transaction() as state:
            run = self._run(state, run_id)
            if run["status"] == "Queued":  # nothing started: cancelled at once
                run["status"], run["message"] = "Cancelled", CANCELLED_BY_USER
                _end(run)
            elif run["status"] == "InProgress":  # its activity is stopped first: Canceling on the next step
                run["cancelRequested"] = True

    def query_runs(self, body: Mapping[str, Any]) -> Dict[str, Any]:
        after, before = _window(body)
        with self.world.reading() as state:
            runs = [run for run in state.get(RUNS, {}).values() if after <= run["lastUpdated"] <= before]
        for query_filter in body.get("filters") or []:
            runs = [run for run in runs if _matches(run, query_filter, {"PipelineName": "pipelineName", "Status": "status", "RunGroupId": "runGroupId"})]
        for order in reversed(body.get("orderBy") or []):
            field = {"RunStart": "runStart", "RunEnd": "runEnd", "PipelineName": "pipelineName", "Status": "status"}.get(order.get("orderBy"))
            if field is None:
                raise ApiError(400, "BadRequest", "orderBy %r is not supported by this fake" % order.get("orderBy"))
            runs.sort(key=lambda run: run[field] or "", reverse=order.get("order") == "DESC")
        return self._page([_public_run(run) for run in runs], body.get("continuationToken"))

    def query_activity_runs(self, run_id: str, body: Mapping[str, Any]) -> Dict[str, Any]:
        after, before = _window(body)
        with self.world.reading() as state:
            activities = [a for a in self._run(state, run_id)["activityRuns"] if after <= a["activityRunStart"] <= before]
        for query_filter in body.get("filters") or []:
            activities = [a for a in activities if _matches(a, query_filter, {"ActivityName": "activityName", "ActivityType": "activityType", "Status": "status"})]
        return self._page(activities, body.get("continuationToken"))

    # -- the run's steps -------------------------------------------------------------------------------

    def _advance(self, state: Dict[str, Any], run: Dict[str, Any]) -> bool:
        """One step of the run; False where it did not move: its activity waits for an offline runtime."""
        if run["status"] == "Queued":
            run["status"] = "InProgress"
            activity = self._pipeline(run["pipelineName"])["activities"][0]
            run["activityRuns"].append(
                {"activityName": activity["name"], "activityType": activity["type"], "activityRunId": str(uuid.uuid4()),
                 "pipelineName": run["pipelineName"], "pipelineRunId": run["runId"], "status": "InProgress",
                 "activityRunStart": _now(), "activityRunEnd": None, "durationInMs": None, "input": {}, "output": {},
                 "error": {"errorCode": "", "message": "", "failureType": "", "target": activity["name"]},
                 "linkedServiceName": "", "userProperties": {}}
            )
            run["lastUpdated"] = _now()
        elif run["status"] == "InProgress" and run.get("cancelRequested"):
            run["status"], run["lastUpdated"] = "Canceling", _now()
        elif run["status"] == "InProgress":
            try:
                runtime = self.runtime_of(run["pipelineName"])
            except (RunFailure, KeyError):  # a broken definition: its run fails as it runs
                runtime = ""
            offline = state.get(RUNTIMES, {}).get(runtime)
            if offline is not None and offline["activities"] == "queue":
                run["activityRuns"][-1]["status"] = "Queued"  # in the runtime's queue; the pipeline run goes on
                run["heldBy"] = runtime
                return False
            if offline is not None:  # activities "fail": at once, whatever the runtime holds
                run["injectedFailure"] = RUNTIME_OFFLINE % (runtime, offline["since"], uuid.uuid5(uuid.NAMESPACE_URL, runtime))
            else:
                self._run_held_before(state, run, runtime)
            self._execute(run)
        elif run["status"] == "Canceling":
            activity_run = run["activityRuns"][-1]
            activity_run.update(status="Cancelled", activityRunEnd=_now())
            activity_run["durationInMs"] = _duration_ms(activity_run["activityRunStart"], activity_run["activityRunEnd"])
            run["status"], run["message"] = "Cancelled", CANCELLED_BY_USER
            _end(run)
        return True

    def _run_held_before(self, state: Dict[str, Any], run: Dict[str, Any], runtime: str) -> None:
        """The runtime is back: the runs it held that were submitted before `run` run their SQL first, and `run` is let
        go from its queue (back in any order: `run` alone)."""
        for other in [] if runtime in state.get(RUNTIMES_BACK_IN_ANY_ORDER, []) else _in_submission_order(state):
            if other is run:
                break
            if other.get("heldBy") == runtime and other["status"] == "InProgress" and not other.get("cancelRequested"):
                other.pop("heldBy")
                other["activityRuns"][-1]["status"] = "InProgress"
                self._execute(other)
        if run.pop("heldBy", None) is not None:
            run["activityRuns"][-1]["status"] = "InProgress"

    def _execute(self, run: Dict[str, Any]) -> None:
        activity_run = run["activityRuns"][-1]
        activity = self._pipeline(run["pipelineName"])["activities"][0]
        retry = False
        try:
            if run["injectedFailure"]:
                raise RunFailure(run["injectedFailure"])
            output = self._run_activity(activity, run["parameters"], activity_run)
            activity_run.update(status="Succeeded", output=output)
            run["status"] = "Succeeded"
        except RunFailure as failure:
            activity_run.update(status="Failed", error={"errorCode": failure.code, "message": str(failure), "failureType": "UserError", "target": activity["name"]})
            retry = str(failure) == SQL_TIMEOUT_EXPIRED and len(run["activityRuns"]) <= self._retries(activity, run["parameters"])
            if not retry:
                run["status"] = "Failed"
                run["message"] = "Operation on target %s failed: %s" % (activity["name"], failure)
        activity_run["activityRunEnd"] = _now()
        activity_run["durationInMs"] = _duration_ms(activity_run["activityRunStart"], activity_run["activityRunEnd"])
        if retry:  # the next try, a new activity run (its retryIntervalInSeconds not waited)
            run["activityRuns"].append(dict(activity_run, activityRunId=str(uuid.uuid4()), status="InProgress",
                                            activityRunStart=_now(), activityRunEnd=None, durationInMs=None, output={},
                                            error={"errorCode": "", "message": "", "failureType": "", "target": activity["name"]}))
            run["lastUpdated"] = _now()
        else:
            _end(run)

    @staticmethod
    def _retries(activity: Mapping[str, Any], parameters: Dict[str, Any]) -> int:
        """The activity policy's `retry`: a number, or an integer expression (`@int(pipeline().parameters.x)`)."""
        value = _evaluate((activity.get("policy") or {}).get("retry", 0), {"pipeline().parameters": parameters})
        try:
            return int(value)
        except (TypeError, ValueError):
            raise RunFailure("The activity's retry %r is not a whole number" % (value,)) from None

    def _run_activity(self, activity: Dict[str, Any], parameters: Dict[str, Any], activity_run: Dict[str, Any]) -> Dict[str, Any]:
        pipeline_scope = {"pipeline().parameters": parameters}
        properties = activity.get("typeProperties") or {}
        if activity["type"] == "Lookup":
            reference = properties["dataset"]
            dataset = self._definition("datasets", reference["referenceName"])
            dataset_scope = {"dataset()": self._arguments(dataset, reference, pipeline_scope)}
            link = dataset["linkedServiceName"]
            expected_source = SOURCE_FOR_DATASET.get(dataset["type"])
            if properties["source"].get("type") != expected_source:
                raise RunFailure("a %s dataset needs a %s source, not %s" % (dataset["type"], expected_source, properties["source"].get("type")))
            scripts = [(_evaluate(properties["source"]["sqlReaderQuery"], pipeline_scope), "Query")]
            sql_timeout = properties["source"].get("queryTimeout", "02:00:00")
            link_scope = dataset_scope
        elif activity["type"] == "Script":
            link = activity["linkedServiceName"]
            scripts = [(_evaluate(block["text"], pipeline_scope), block.get("type", "Query")) for block in properties["scripts"]]
            sql_timeout = properties.get("scriptBlockExecutionTimeout", "02:00:00")
            link_scope = pipeline_scope
        else:
            raise RunFailure("activity type %s is not supported by this fake" % activity["type"])
        activity_run["input"] = _evaluate_all(properties, pipeline_scope)
        _check_limits(activity, [text for text, _ in scripts], pipeline_scope)
        slow = self.world.take_fault("sqlExecute", kinds=("slow",))
        if slow is not None and timedelta(seconds=slow.get("delaySeconds", 2)) > _timespan(_evaluate(sql_timeout, pipeline_scope)):
            raise RunFailure(SQL_TIMEOUT_EXPIRED)
        linked_service = self._definition("linkedServices", link["referenceName"])
        arguments = self._arguments(linked_service, link, link_scope)
        activity_run["linkedServiceName"] = link["referenceName"]
        result_sets = self._run_sql(linked_service, {"linkedService()": arguments}, [text for text, _ in scripts])
        if activity["type"] == "Lookup":
            if len(result_sets) != 1:
                raise RunFailure("The Lookup query must return exactly one result set; it returned %d" % len(result_sets))
            rows = result_sets[0]
            first_row_only = _evaluate(properties.get("firstRowOnly", True), pipeline_scope)
            if first_row_only in (True, "true", "True"):
                return {"firstRow": rows[0]} if rows else {}
            return {"count": min(len(rows), LOOKUP_ROW_LIMIT), "value": rows[:LOOKUP_ROW_LIMIT],
                    "effectiveIntegrationRuntime": linked_service["connectVia"]["referenceName"]}
        return {"resultSetCount": len(result_sets), "recordsAffected": 0,
                "resultSets": [{"rowCount": len(rows), "rows": rows} for rows in result_sets],
                "outputParameters": {}, "outputLogs": "",
                "effectiveIntegrationRuntime": linked_service["connectVia"]["referenceName"]}

    def _run_sql(self, linked_service: Dict[str, Any], scope: Dict[str, Any], texts: List[str]) -> List[List[Dict[str, Any]]]:
        server, database, user, password = self._connection(linked_service, scope)
        try:
            connection = sql_world.SqlEngine(self.world).connect(
                server=server, user=user, password=password, database=database, autocommit=True)
            result_sets = []
            cursor = connection.cursor()
            for text in texts:
                cursor.execute(text)
                while True:
                    if cursor.description:
                        names = [column[0] for column in cursor.description]
                        result_sets.append([dict(zip(names, _json_value(values))) for values in cursor.fetchall()])
                    if not cursor.nextset():
                        break
            connection.close()
            return result_sets
        except sql_world.Error as problem:
            raise RunFailure(str(problem)) from None

    def _connection(self, linked_service: Dict[str, Any], scope: Dict[str, Any]) -> Tuple[str, str, str, str]:
        properties = linked_service["typeProperties"]
        if linked_service["type"] == "SqlServer":
            reference = properties["connectionString"]
            if not isinstance(reference, dict) or reference.get("type") != "AzureKeyVaultSecret":
                raise RunFailure("the SqlServer linked service must read its connection string from Key Vault")
            name = _evaluate(reference["secretName"], scope)
            with self.world.transaction() as state:
                secret = state.get(SECRETS, {}).get(name)
            if secret is None:
                raise RunFailure("The secret %s was not found in the Key Vault" % name)
            parts = _connection_string(secret)
            return parts["server"], parts.get("database", "master"), parts.get("user", ""), parts.get("password", "")
        wanted_kind = SERVER_KIND_FOR_LINKED_SERVICE.get(linked_service["type"])
        if wanted_kind is None:
            raise RunFailure("linked service type %s is not supported by this fake" % linked_service["type"])
        server = _evaluate(properties["server"], scope)
        found = self.world.server(server)
        if found is None or found["kind"] != wanted_kind:
            raise RunFailure("Cannot connect to %s: no %s at that address (managed private endpoint missing or not approved?)" % (server, wanted_kind))
        if properties.get("authenticationType") != "SystemAssignedManagedIdentity":
            raise RunFailure("this fake expects the factory's managed identity to log in")
        return server, _evaluate(properties["database"], scope), "factory-managed-identity", "token"

    def _arguments(self, definition: Dict[str, Any], reference: Dict[str, Any], scope: Dict[str, Any]) -> Dict[str, Any]:
        declared = definition.get("parameters") or {}
        given = reference.get("parameters") or {}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise RunFailure("%s has no parameter(s) %s" % (reference["referenceName"], ", ".join(unknown)))
        arguments = {}
        for name, spec in declared.items():
            if name in given:
                arguments[name] = _evaluate(given[name], scope)
            elif "defaultValue" in spec:
                arguments[name] = spec["defaultValue"]
            else:
                raise RunFailure("%s needs a value for its parameter %s" % (reference["referenceName"], name))
        return arguments

    # -- lookups ------------------------------------------------------------------------------------------

    def _pipeline(self, name: str) -> Dict[str, Any]:
        try:
            return self._definition("pipelines", name)
        except RunFailure:
            raise ApiError(404, "PipelineNotFound", "Pipeline %s does not exist in factory %s" % (name, self.factory_name)) from None

    def _definition(self, kind: str, name: str) -> Dict[str, Any]:
        for key, value in (self.definitions.get(kind) or {}).items():
            if key.lower() == name.lower():
                return value
        raise RunFailure("%s %s does not exist" % (kind[:-1], name))

    def _run(self, state: Dict[str, Any], run_id: str) -> Dict[str, Any]:
        run = state.get(RUNS, {}).get(run_id)
        if run is None:
            raise ApiError(404, "PipelineRunNotFound", "Pipeline run %s does not exist" % run_id)
        return run

    def _page(self, items: List[Any], token: Optional[str]) -> Dict[str, Any]:
        start = int(token or 0)
        page = {"value": items[start:start + self.page_size]}
        if start + self.page_size < len(items):
            page["continuationToken"] = str(start + self.page_size)
        return page


class _Handler(BaseHTTPRequestHandler):
    fake: DataFactoryServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK wait

    def log_message(self, *_args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            operation, match = self._route(method, url.path)
            self.fake.requests.append((method, operation))
            if parse_qs(url.query).get("api-version") != [API_VERSION]:
                raise ApiError(400, "InvalidApiVersionParameter", "The api-version must be %s" % API_VERSION)
            if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                raise ApiError(401, "AuthenticationFailed", "Authentication failed: no bearer token")
            if (match.group("subscription"), match.group("group").lower(), match.group("factory").lower()) != (
                    self.fake.subscription_id, self.fake.resource_group.lower(), self.fake.factory_name.lower()):
                raise ApiError(404, "ResourceNotFound", "The factory %s was not found" % match.group("factory"))
            fault = self._fault(operation)
            if fault == "answered":
                return
            body = json.loads(raw or b"{}")
            answer = self._answer(operation, match, body)
            if fault == "reset":  # the server acted; the answer is lost on the way back
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(200, answer)
        except ApiError as problem:
            self._send(problem.status, {"error": {"code": problem.code, "message": problem.message}})
        except (ValueError, KeyError) as problem:
            self._send(400, {"error": {"code": "BadRequest", "message": str(problem)}})

    def _route(self, method: str, path: str):
        for route_method, pattern, operation in ROUTES:
            match = pattern.match(path)
            if match and method == route_method:
                return operation, match
        raise ApiError(404, "NotFound", "No route for %s %s" % (method, path))

    def _answer(self, operation: str, match: Any, body: Any) -> Dict[str, Any]:
        if operation == "createRun":
            return self.fake.create_run(match.group("pipeline"), body)
        if operation == "getPipelineRun":
            return self.fake.get_run(match.group("run"))
        if operation == "queryPipelineRuns":
            return self.fake.query_runs(body)
        if operation == "queryActivityRuns":
            return self.fake.query_activity_runs(match.group("run"), body)
        self.fake.cancel_run(match.group("run"))
        return {}

    def _fault(self, operation: str) -> Optional[str]:
        """None (no fault), "reset" (act, then drop the connection) or "answered" (an error was sent)."""
        fault = self.fake.world.take_fault(operation, kinds=HTTP_FAULT_KINDS)
        if fault is None:
            return None
        if fault["kind"] == "slow":
            time.sleep(fault.get("delaySeconds", 2))
            return None
        if fault["kind"] == "reset":
            return "reset"
        if fault["kind"] == "throttle":
            self._send(429, {"error": {"code": "TooManyRequests", "message": "Too many requests"}},
                       {"Retry-After": str(fault.get("retryAfterSeconds", 1))})
        else:
            self._send(fault.get("status", 500), {"error": {"code": fault.get("code") or "InternalServerError",
                                                            "message": fault.get("message") or "Simulated server error"}})
        return "answered"

    def _send(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


# --- helpers ------------------------------------------------------------------------------------------


def _check_limits(activity: Mapping[str, Any], texts: List[str], scope: Mapping[str, Mapping[str, Any]]) -> None:
    payload = len(json.dumps(activity, ensure_ascii=False).encode("utf-8")) + sum(
        len(json.dumps(text, ensure_ascii=False).encode("utf-8")) for text in texts)
    if payload > MAX_ACTIVITY_PAYLOAD_BYTES:
        raise RunFailure(PAYLOAD_TOO_LARGE, code="2002")
    timeout = _evaluate((activity.get("policy") or {}).get("timeout", "0.12:00:00"), scope)
    if _timespan(timeout) < MIN_ACTIVITY_TIMEOUT:
        raise RunFailure("The activity timeout %s is below Data Factory's minimum of 10 minutes" % timeout)


def _timespan(value: Any) -> timedelta:
    match = TIMESPAN.match(str(value))
    if match is None:
        raise RunFailure("The timeout %r is not a timespan d.hh:mm:ss" % (value,))
    return timedelta(**{name: int(number or 0) for name, number in match.groupdict().items()})


def _evaluate_all(value: Any, scope: Mapping[str, Mapping[str, Any]]) -> Any:
    """A definition with every expression in it evaluated (a plain object's values one by one)."""
    if isinstance(value, dict) and value.get("type") != "Expression":
        return {name: _evaluate_all(item, scope) for name, item in value.items()}
    if isinstance(value, list):
        return [_evaluate_all(item, scope) for item in value]
    return _evaluate(value, scope)


def _evaluate(value: Any, scope: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(value, dict):
        if value.get("type") != "Expression":
            raise RunFailure("a value object must be an Expression, got %r" % (value,))
        return _evaluate_expression(value["value"], scope)
    if isinstance(value, str) and value.startswith("@") and not value.startswith("@@"):
        if value.startswith("@{"):
            return re.sub(r"@\{([^}]*)\}", lambda m: str(_reference(m.group(1), scope)), value)
        return _evaluate_expression(value, scope)
    if isinstance(value, str) and "@{" in value:
        return re.sub(r"@\{([^}]*)\}", lambda m: str(_reference(m.group(1), scope)), value)
    return value


def _evaluate_expression(text: str, scope: Mapping[str, Mapping[str, Any]]) -> Any:
    if not text.startswith("@"):
        raise RunFailure("an expression must start with @: %r" % text)
    if text.startswith("@{"):
        return _evaluate(text, scope)
    call = INT_CALL.match(text[1:].strip())
    if call is not None:
        value = _reference(call.group(1), scope)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise RunFailure("The function 'int' was invoked with a parameter that is not valid: %r" % (value,)) from None
    return _reference(text[1:], scope)


def _reference(text: str, scope: Mapping[str, Mapping[str, Any]]) -> Any:
    match = EXPRESSION.match(text.strip())
    if match is None:
        raise RunFailure("The expression '%s' is not supported by this fake" % text)
    owner, name = match.groups()
    if owner not in scope:
        raise RunFailure("The expression '%s' cannot be used here (no %s in this scope)" % (text, owner))
    if name not in scope[owner]:
        raise RunFailure("The expression '%s' names an undefined parameter %s" % (text, name))
    return scope[owner][name]


def _connection_string(text: str) -> Dict[str, str]:
    aliases = {"server": "server", "data source": "server", "address": "server", "addr": "server",
               "database": "database", "initial catalog": "database", "user id": "user", "uid": "user",
               "user": "user", "password": "password", "pwd": "password"}
    parts: Dict[str, str] = {}
    for item in text.split(";"):
        if "=" in item:
            key, value = item.split("=", 1)
            if key.strip().lower() in aliases:
                parts[aliases[key.strip().lower()]] = value.strip()
    if "server" not in parts:
        raise RunFailure("the connection string names no server")
    parts["server"] = re.sub(r"^tcp:", "", parts["server"], flags=re.IGNORECASE)
    return parts


def _matches(item: Mapping[str, Any], query_filter: Mapping[str, Any], fields: Mapping[str, str]) -> bool:
    field = fields.get(query_filter.get("operand"))
    if field is None:
        raise ApiError(400, "BadRequest", "filter operand %r is not supported by this fake" % query_filter.get("operand"))
    values = [str(v).lower() for v in query_filter.get("values") or []]
    found = str(item.get(field)).lower() in values
    operator = query_filter.get("operator")
    if operator in ("Equals", "In"):
        return found
    if operator in ("NotEquals", "NotIn"):
        return not found
    raise ApiError(400, "BadRequest", "filter operator %r is not known" % operator)


def _window(body: Mapping[str, Any]) -> Tuple[str, str]:
    try:
        after, before = _parse_time(body["lastUpdatedAfter"]), _parse_time(body["lastUpdatedBefore"])
    except KeyError as missing:
        raise ApiError(400, "BadRequest", "%s is required" % missing) from None
    return _format_time(after), _format_time(before)


def _public_run(run: Mapping[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in run.items() if key not in PRIVATE_RUN_FIELDS}


def _in_submission_order(state: Mapping[str, Any]) -> List[Dict[str, Any]]:
    return sorted(state.get(RUNS, {}).values(), key=lambda run: run.get("submission", 0))


def _end(run: Dict[str, Any]) -> None:
    run["runEnd"] = run["lastUpdated"] = _now()
    run["durationInMs"] = _duration_ms(run["runStart"], run["runEnd"])


def _as_parameter(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _json_value(values: Any) -> List[Any]:
    converted = []
    for value in values:
        if isinstance(value, bytes):
            raise RunFailure("A Lookup/Script output cannot hold a ByteArray column")
        if isinstance(value, datetime):
            value = value.isoformat()
        converted.append(value)
    return converted


def _now() -> str:
    return _format_time(datetime.now(timezone.utc))


def _format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime:
    """ISO 8601 as clients send it (any number of fraction digits; Z or an offset)."""
    match = ISO_TIME.match(text.strip())
    if match is None:
        raise ValueError("not an ISO 8601 time: %r" % text)
    fraction = (match.group("fraction") or "").ljust(6, "0")[:6]
    zone = match.group("zone")
    offset = timezone.utc if zone in (None, "Z", "z") else timezone(
        (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:])))
    return datetime.strptime(match.group("seconds"), "%Y-%m-%dT%H:%M:%S").replace(
        microsecond=int(fraction), tzinfo=offset).astimezone(timezone.utc)


def _duration_ms(start: str, end: str) -> int:
    return int((_parse_time(end) - _parse_time(start)) / timedelta(milliseconds=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world", required=True, help="the rehearsal world's directory")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--definitions", default=DEFINITIONS_PATH)
    arguments = parser.parse_args()
    server = DataFactoryServer(World(arguments.world), load_definitions(arguments.definitions))
    print("%s %s" % (server.start(arguments.port), server.factory_id), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
