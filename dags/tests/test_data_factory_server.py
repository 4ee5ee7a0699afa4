"""The fake Data Factory pipeline-run API, driven by the real azure-mgmt-datafactory client, and the
Data Factory SQL access on the paths the shared behavioural tests do not reach."""
from __future__ import annotations

import copy
import dataclasses
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("azure.mgmt.datafactory")

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError  # noqa: E402

from migration_orchestration_lib import sql_statements  # noqa: E402
from migration_orchestration_lib.dms_transport import StaticTokenCredential  # noqa: E402
from migration_orchestration_lib.sql_access import BATCH_PAYLOAD_BUDGET_BYTES, SqlOperationFailed  # noqa: E402
from migration_orchestration_lib.step_context import StepPending  # noqa: E402
from migration_orchestration_lib.settings import ConfigurationError, resource_id_from  # noqa: E402
from migration_orchestration_lib.sql_access_data_factory import (  # noqa: E402
    DataFactorySqlAccess,
    FACTORY_TYPE,
    SqlPipelinesContract,
    data_factory_client,
    timespan,
)
from migration_rehearsal.data_factory_server import QUEUE_FULL, DataFactoryServer, load_definitions  # noqa: E402
from sql_access_setup import DataFactoryImplementation, estate, finish, query, route_of, source, statement  # noqa: E402

pytestmark = pytest.mark.airflow26
PIPELINE = "migration_sql_query_self_hosted"


@pytest.fixture
def adf(tmp_path):
    implementation = DataFactoryImplementation(estate(str(tmp_path / "world")))
    yield implementation
    implementation.close()


def client_of(server):
    return data_factory_client(server.subscription_id, StaticTokenCredential(), server.base_url, retry_backoff_factor=0.01)


def state_sql():
    return sql_statements.database_state("Sales")


def run_parameters(key="k", sql=None):
    return {"operationKey": key, "sql": sql or state_sql(), "timeout": "0.01:00:00", "activityTimeout": "0.01:00:00",
            "connectionStringSecretName": "sql01-connection-string"}


def test_a_run_goes_queued_in_progress_succeeded_and_its_lookup_holds_the_rows(adf):
    client, server = client_of(adf.server), adf.server
    run_id = client.pipelines.create_run(server.resource_group, server.factory_name, PIPELINE, parameters=run_parameters()).run_id
    statuses = [client.pipeline_runs.get(server.resource_group, server.factory_name, run_id).status for _ in range(3)]
    assert statuses == ["InProgress", "Succeeded", "Succeeded"]
    activities = client.activity_runs.query_by_pipeline_run(
        server.resource_group, server.factory_name, run_id,
        {"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2100-01-01T00:00:00Z"}).value
    assert [(a.activity_name, a.activity_type, a.status) for a in activities] == [("Query", "Lookup", "Succeeded")]
    assert activities[0].output["value"][0]["state_desc"] == "ONLINE" and activities[0].output["count"] == 1


def test_runs_are_checked_like_data_factory_checks_them(adf):
    client, server = client_of(adf.server), adf.server
    with pytest.raises(HttpResponseError, match="no parameter"):
        client.pipelines.create_run(server.resource_group, server.factory_name, PIPELINE, parameters=dict(run_parameters(), extra="1"))
    # azurerm deploys every parameter with a default (""): a run that leaves sql out runs nothing, and fails
    run_id = client.pipelines.create_run(server.resource_group, server.factory_name, PIPELINE, parameters={"operationKey": "k", "connectionStringSecretName": "sql01-connection-string"}).run_id
    for _ in range(2):
        run = client.pipeline_runs.get(server.resource_group, server.factory_name, run_id)
    assert (run.status, run.message) == ("Failed", "Operation on target Query failed: The Lookup query must return exactly one result set; it returned 0")
    with pytest.raises(ResourceNotFoundError):
        client.pipelines.create_run(server.resource_group, server.factory_name, "no_such_pipeline", parameters={})
    with pytest.raises(ResourceNotFoundError):
        client.pipeline_runs.get(server.resource_group, server.factory_name, "00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize("api_version, token, status", [("2017-09-01-preview", "Bearer x", 400), ("2018-06-01", None, 401)])
def test_requests_need_the_api_version_and_a_token(adf, api_version, token, status):
    url = "%s%s/queryPipelineRuns?api-version=%s" % (adf.server.base_url, adf.server.factory_id, api_version)
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Authorization": token} if token else {})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == status


def test_a_run_in_flight_is_found_on_a_later_page_and_adopted(tmp_path):
    implementation = DataFactoryImplementation(estate(str(tmp_path / "world")))
    implementation.server.page_size = 2
    try:
        access = implementation.access()
        wanted = query("wanted", source(), state_sql())
        handle = access.submit(wanted)
        for n in range(5):  # newer runs push it to the third page
            access.submit(query("other-%d" % n, source(), state_sql()))
        assert implementation.access().submit(wanted) == handle
        assert implementation.operations_started() == 6
    finally:
        implementation.close()


def test_a_run_that_ended_while_no_worker_watched_is_adopted(adf):
    backup = statement("tail", source(), sql_statements.backup_log("Sales", "\\\\share\\Sales_tail.trn"))
    handle = adf.access().submit(backup)
    adf.server.advance_all()
    successor = adf.access()
    assert successor.submit(backup) == handle
    assert sql_statements.parse_backups(successor.result(handle).rows)[0].file_name == "Sales_tail.trn"
    assert adf.operations_started() == 1


def test_a_run_begun_before_the_operations_not_before_is_not_taken_for_it(adf):
    """A DAG run deleted and triggered again under its run id numbers its tries from 1 again: its keys recur. The
    earlier run's freeze, which its rollback undid since, must not be read as this run's (before, it was adopted:
    the source reported frozen, writable)."""
    earlier = query("run:sales:freeze_source:1:freeze", source(), state_sql())
    first = finish(adf.access(), earlier)
    old = next(iter(adf.world.snapshot()["dataFactoryRuns"]))
    an_hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with adf.world.transaction() as state:  # the deleted DAG run's, an hour before this try began
        state["dataFactoryRuns"][old].update(runStart=an_hour_ago, runEnd=an_hour_ago, lastUpdated=an_hour_ago)
    again = dataclasses.replace(earlier, not_before=datetime.now(timezone.utc))
    access = adf.access()
    assert not access.submitted(again)
    handle = access.submit(again)
    assert handle.reference != old and adf.operations_started() == 2
    assert access.submit(again) == handle  # its own run is found again on the next poke
    assert finish(access, again, handle=handle).rows == first.rows
    # Without a not_before (an earlier try's key), the newest run of the key within the adoption window
    assert adf.access().submit(earlier) == handle


def test_a_cancelled_run_fails_the_operation(adf):
    access = adf.access()
    handle = access.submit(query("cancel-me", source(), state_sql()))
    client_of(adf.server).pipeline_runs.cancel(adf.server.resource_group, adf.server.factory_name, handle.reference)
    with pytest.raises(SqlOperationFailed, match="cancelled: The pipeline run was cancelled by a user"):
        access.result(handle)


def test_a_run_cancelled_in_progress_reads_canceling_first_and_the_operation_waits_for_its_end(adf):
    """Data Factory's PipelineRun.status has Canceling between a cancel and Cancelled ("Queued, InProgress, Succeeded,
    Failed, Canceling, Cancelled"): a run whose activity is executing is stopped first. Was: the fake ended every
    cancelled run Cancelled at once, so the access's reading of Canceling as still running was never exercised."""
    access, client, server = adf.access(), client_of(adf.server), adf.server
    handle = access.submit(query("cancel-in-flight", source(), state_sql()))
    assert client.pipeline_runs.get(server.resource_group, server.factory_name, handle.reference).status == "InProgress"
    client.pipeline_runs.cancel(server.resource_group, server.factory_name, handle.reference)
    assert access.result(handle) is None  # Canceling: not ended yet
    with pytest.raises(SqlOperationFailed, match="cancelled: The pipeline run was cancelled by a user"):
        access.result(handle)
    activities = client.activity_runs.query_by_pipeline_run(
        server.resource_group, server.factory_name, handle.reference,
        {"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2100-01-01T00:00:00Z"}).value
    assert [a.status for a in activities] == ["Cancelled"]


def test_an_injected_run_failure_carries_its_message(adf):
    adf.world.add_fault("pipelineRun", "lroFailed", message="The self-hosted integration runtime is offline")
    with pytest.raises(SqlOperationFailed, match="Operation on target Query failed: The self-hosted integration runtime is offline"):
        finish(adf.access(), query("offline", source(), state_sql()))


@pytest.mark.parametrize("fault", [dict(kind="throttle", retry_after_seconds=0), dict(kind="error", status=503), dict(kind="reset")])
@pytest.mark.parametrize("operation", ["createRun", "getPipelineRun", "queryPipelineRuns", "queryActivityRuns"])
def test_transient_http_faults_cost_at_most_a_poke_and_never_a_second_run(adf, fault, operation):
    adf.world.add_fault(operation, **fault)
    access = adf.access()
    wanted = query("retried", source(), state_sql())
    rows = None
    for _poke in range(6):
        try:
            rows = finish(access, wanted).rows
            break
        except AzureError:
            continue
    assert rows[0]["database_name"] == "Sales"
    assert adf.world.faults() == []
    runs = adf.world.snapshot()["dataFactoryRuns"].values()
    assert [run["parameters"]["operationKey"] for run in runs] == ["retried"]


def runs_of(adf):
    return [run["parameters"]["operationKey"] for run in adf.world.snapshot().get("dataFactoryRuns", {}).values()]


def test_a_run_refused_while_the_pipelines_queue_is_full_waits_and_starts_once_a_place_frees(adf):
    """Data Factory queues at most 100 runs of a pipeline beyond its concurrency and refuses more. Before, the refusal
    failed the step (a freeze or final backup failing so rolled its migration back); now the step pokes again."""
    adf.server.max_queued_runs = 1  # 100 on Data Factory
    access = adf.access()
    for n in range(5):  # the pipeline's concurrency (4) and one queued
        access.submit(query("earlier-%d" % n, source(), state_sql()))
    wanted = query("wanted", source(), state_sql())
    for _poke in range(2):
        with pytest.raises(StepPending, match="SQL operation wanted not started: the queue of Data Factory pipeline %s is full "
                           r"\(100 runs .*poking again until a place frees.*Pipeline execution throttled" % PIPELINE):
            access.submit(wanted)
    assert "wanted" not in runs_of(adf)
    adf.server.advance_all()  # the earlier runs end: their places free
    assert finish(access, wanted).rows[0]["database_name"] == "Sales"
    assert runs_of(adf).count("wanted") == 1


@pytest.mark.parametrize("status, code, message", [
    (429, "TooManyRequests", QUEUE_FULL),  # the same refusal, were it a 429 (azure-core retries no 429 of a POST)
    (409, "Conflict", QUEUE_FULL),
])
def test_the_queue_full_refusal_waits_whatever_its_4xx_status(adf, status, code, message):
    adf.world.add_fault("createRun", "error", count=1, status=status, code=code, message=message)
    with pytest.raises(StepPending, match="the queue of Data Factory pipeline %s is full" % PIPELINE):
        adf.access().submit(query("wanted", source(), state_sql()))
    assert adf.world.faults() == []


@pytest.mark.parametrize("status, code, message", [
    (400, "BadRequest", "The pipeline migration_sql_query_self_hosted is disabled"),
    (403, "AuthorizationFailed", "does not have authorization to perform action 'Microsoft.DataFactory/factories/pipelines/createrun/action'"),
    (500, "InternalServerError", QUEUE_FULL),  # a 5xx is an outage, waited out as every other (operators)
])
def test_another_refusal_of_a_run_still_fails_the_operation(adf, status, code, message):
    adf.world.add_fault("createRun", "error", count=4 if status == 500 else 1, status=status, code=code, message=message)
    with pytest.raises(HttpResponseError, match=code):
        adf.access().submit(query("refused", source(), state_sql()))
    assert runs_of(adf) == [] and adf.world.faults() == []


def test_a_lookup_at_data_factorys_row_limit_is_not_taken_as_complete(adf):
    adf.world.put_database("sql01", "Wide", tables={"dbo.T%04d" % n: {"columns": [], "rows": []} for n in range(5001)})
    with pytest.raises(SqlOperationFailed, match="5000 rows, Data Factory's limit"):
        finish(adf.access(), query("wide", source(), sql_statements.user_tables("Wide")))


def test_a_lookup_must_return_exactly_one_result_set(adf):
    two = state_sql() + "\n" + state_sql()
    with pytest.raises(SqlOperationFailed, match="exactly one result set; it returned 2"):
        finish(adf.access(), query("two-sets", source(), two))


def test_statements_go_to_routes_that_have_a_statement_pipeline_only(adf):
    access = adf.access()
    from sql_access_setup import target

    with pytest.raises(ValueError, match="managedInstance has no statement pipeline"):
        access.submit(statement("drop-mi", target("mi-prod"), sql_statements.drop_database("Sales")))


def test_a_pipeline_with_an_unknown_expression_fails_its_run(tmp_path):
    definitions = load_definitions()
    broken = copy.deepcopy(definitions)
    broken["pipelines"][PIPELINE]["activities"][0]["typeProperties"]["source"]["sqlReaderQuery"]["value"] = "@concat(pipeline().parameters.sql, ';')"
    world = estate(str(tmp_path / "world"))
    with DataFactoryServer(world, broken) as server:
        implementation = DataFactoryImplementation.__new__(DataFactoryImplementation)
        implementation.world, implementation.server = world, server
        with pytest.raises(SqlOperationFailed, match="is not supported by this fake"):
            finish(implementation.access(), query("expr", source(), state_sql()))


def test_the_definitions_follow_the_shared_contract():
    contract = SqlPipelinesContract.load()
    definitions = load_definitions()
    for route, entry in contract.routes.items():
        linked_service = definitions["linkedServices"][entry["linkedService"]]
        assert linked_service["type"] == entry["linkedServiceType"]
        assert set(linked_service["parameters"]) == set(entry["linkedServiceParameters"])
        assert definitions["datasets"][entry["dataset"]]["linkedServiceName"]["referenceName"] == entry["linkedService"]
        for kind in ("query", "statement"):
            if kind not in entry:
                continue
            pipeline = definitions["pipelines"][entry[kind]["pipeline"]]
            assert set(pipeline["parameters"]) == set(contract.document["runParameters"]) | set(entry["linkedServiceParameters"])
            assert [(a["name"], a["type"]) for a in pipeline["activities"]] == [
                (entry[kind]["activity"], "Script" if kind == "statement" else "Lookup")]
    for pipeline in definitions["pipelines"].values():
        assert pipeline["activities"][0]["policy"]["timeout"] == {"value": "@pipeline().parameters.activityTimeout", "type": "Expression"}


def test_factory_ids_and_timespans():
    def factory(value):
        return resource_id_from({"MIGRATION_DATA_FACTORY_ID": value}, "MIGRATION_DATA_FACTORY_ID", FACTORY_TYPE)

    adf = factory("/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataFactory/factories/adf-x")
    assert (adf.subscription_id, adf.resource_group, adf.name) == ("s", "rg", "adf-x")
    for wrong in ("/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/adf-x"):
        with pytest.raises(ConfigurationError, match="MIGRATION_DATA_FACTORY_ID must be the ARM id of a Microsoft.DataFactory/factories"):
            factory(wrong)  # a permanent failure: the task is not retried
    assert [timespan(s) for s in (59, 3600, 90061)] == ["0.00:00:59", "0.01:00:00", "1.01:01:01"]


def test_a_plain_http_endpoint_must_be_loopback():
    with pytest.raises(ValueError, match="loopback"):
        data_factory_client("s", StaticTokenCredential(), "http://factory.example.com")


def test_the_access_refuses_a_handle_of_another_operation(adf):
    access = adf.access()
    handle = access.submit(query("one", source(), state_sql()))
    from migration_orchestration_lib.sql_access import SqlOperationHandle

    with pytest.raises(ValueError, match="not the run of operation two"):
        access.result(SqlOperationHandle(key="two", reference=handle.reference))
    assert isinstance(access, DataFactorySqlAccess) and route_of(source()).name == "selfHosted"


def test_data_factory_fails_a_run_over_its_payload_limit_or_below_its_minimum_timeout(adf):
    """Data Factory limits: 'Bytes per payload for each activity run 896 KB' (error 2002) and 'Minimum timeout for
    pipeline activity runs 10 min'."""
    client, server = client_of(adf.server), adf.server
    too_large = state_sql() + "\n-- " + "x" * (896 * 1024)
    for parameters, message in ((run_parameters(sql=too_large), "The payload including configurations on activity"),
                                (dict(run_parameters(), activityTimeout="0.00:01:00"), "below Data Factory's minimum of 10 minutes")):
        run_id = client.pipelines.create_run(server.resource_group, server.factory_name, PIPELINE, parameters=parameters).run_id
        for _ in range(2):
            run = client.pipeline_runs.get(server.resource_group, server.factory_name, run_id)
        assert run.status == "Failed" and message in run.message
    assert client.pipeline_runs.get(server.resource_group, server.factory_name, client.pipelines.create_run(
        server.resource_group, server.factory_name, PIPELINE, parameters=dict(run_parameters(), activityTimeout="0.00:10:00")).run_id)


def test_a_batch_over_the_payload_budget_is_refused_before_a_run_starts(adf):
    """Started, its run would fail (error 2002) after Data Factory queued it; refused, the message names the limit."""
    too_large = state_sql() + "\n-- " + "x" * BATCH_PAYLOAD_BUDGET_BYTES
    with pytest.raises(SqlOperationFailed, match=r"over the \d+ a batch may take of Data Factory's 896 KB limit"):
        adf.access().submit(query("too-large", source(), too_large))
    assert runs_of(adf) == []


def test_a_batch_submitted_near_its_deadline_ends_its_sql_there_its_activity_at_data_factorys_minimum(adf):
    """A fingerprint batch submitted 60 s before its deadline: its SQL command (the Lookup's queryTimeout) ends after
    60 s, and only the activity's policy timeout gets Data Factory's 10-minute minimum. Before, the one `timeout`
    parameter fed both, so the SQL could hold a SINGLE_USER source's one connection 10 minutes, past the deadline."""
    operation = dataclasses.replace(query("near-deadline", source(), state_sql()), timeout_seconds=60, rerun_after_failure=False)
    assert finish(adf.access(), operation).rows[0]["state_desc"] == "ONLINE"
    [run] = adf.world.snapshot()["dataFactoryRuns"].values()
    assert (run["parameters"]["timeout"], run["parameters"]["activityTimeout"]) == ("0.00:01:00", "0.00:10:00")
    assert run["activityRuns"][-1]["input"]["source"]["queryTimeout"] == "0.00:01:00"

    adf.world.add_fault("sqlExecute", "slow", delay_seconds=120)
    with pytest.raises(SqlOperationFailed, match="Execution Timeout Expired"):
        finish(adf.access(), dataclasses.replace(operation, key="near-deadline-slow"))


def test_a_batch_that_may_not_run_again_is_not_retried_after_its_timeout(adf):
    """Data Factory retries a failed activity as its policy says (SqlPipelines' activityRetries, 2 by default), each try
    for the whole timeout: a fingerprint batch whose timeout is what is left until its deadline ran again after it, up
    to twice, holding the source's connection (a SINGLE_USER source's only one) past the deadline. Started with
    `activityRetries` 0, its run fails at the deadline; any other batch keeps the pipeline's retries."""
    access = adf.access()
    adf.world.add_fault("sqlExecute", "slow", delay_seconds=120)
    retried = dataclasses.replace(query("may-run-again", source(), state_sql()), timeout_seconds=60)
    assert finish(access, retried).rows[0]["state_desc"] == "ONLINE"
    adf.world.add_fault("sqlExecute", "slow", delay_seconds=120)
    with pytest.raises(SqlOperationFailed, match="Execution Timeout Expired"):
        finish(access, dataclasses.replace(retried, key="may-not-run-again", rerun_after_failure=False))
    runs = {run["parameters"]["operationKey"]: run for run in adf.world.snapshot()["dataFactoryRuns"].values()}
    assert [a["status"] for a in runs["may-run-again"]["activityRuns"]] == ["Failed", "Succeeded"]
    assert runs["may-run-again"]["parameters"]["activityRetries"] == "2"  # the pipeline's default: the DAG named none
    assert [a["status"] for a in runs["may-not-run-again"]["activityRuns"]] == ["Failed"]
    assert runs["may-not-run-again"]["parameters"]["activityRetries"] == "0"


def test_a_statement_ends_at_its_own_timeout_not_data_factorys_activity_minimum(adf):
    """The Script's scriptBlockExecutionTimeout takes the operation's timeout as the Lookup's queryTimeout does."""
    operation = dataclasses.replace(statement("near-deadline", source(), "SELECT 1 AS done;"), timeout_seconds=90,
                                    rerun_after_failure=False)
    adf.world.add_fault("sqlExecute", "slow", delay_seconds=120)
    with pytest.raises(SqlOperationFailed, match="Execution Timeout Expired"):
        finish(adf.access(), operation)
    [run] = adf.world.snapshot()["dataFactoryRuns"].values()
    assert run["activityRuns"][-1]["input"]["scriptBlockExecutionTimeout"] == "0.00:01:30"
    assert run["parameters"]["activityTimeout"] == "0.00:10:00"


def test_a_long_table_list_is_fingerprinted_through_data_factory_in_batches_within_its_payload_limit(adf, monkeypatch):
    """One batch listing 4,999 tables of long names is about 1.3 MB, over Data Factory's 896 KB: its run failed
    (error 2002) at validate, after the migration went live. In parts within the budget, every table is
    fingerprinted. Scaled down (the fake SQL engine takes minutes over thousands of tables): a 64 KB limit, a 48 KB
    budget, 400 tables (about 100 KB in one batch)."""
    from test_validation import long_names, plan_with
    from migration_orchestration_lib import validation
    from migration_rehearsal import data_factory_server

    monkeypatch.setattr(data_factory_server, "MAX_ACTIVITY_PAYLOAD_BYTES", 64 * 1024)
    monkeypatch.setattr(validation, "BATCH_PAYLOAD_BUDGET_BYTES", 48 * 1024)
    tables = long_names(400)
    adf.world.put_database("sql01", "Wide", tables={"%s.%s" % table: {"columns": [], "rows": []} for table in tables})
    plan, database = plan_with(0, rowCounts=True, checksums=False, tables=tables)
    database = dataclasses.replace(database, source_server="sql01", source_database="Wide")
    access = adf.access()
    fingerprints = []
    for operation in validation.validation_operations(plan, database, "validate"):
        if operation.endpoint.role == "source":
            fingerprints += sql_statements.parse_fingerprints(finish(access, operation).rows)
    assert sorted((f.table.schema, f.table.table) for f in fingerprints) == sorted(tables)
    assert all(f.error is None and f.row_count == 0 for f in fingerprints)


def activity_statuses(client, server, run_id):
    return [a.status for a in client.activity_runs.query_by_pipeline_run(
        server.resource_group, server.factory_name, run_id,
        {"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2100-01-01T00:00:00Z"}).value]


def test_a_run_on_an_offline_self_hosted_runtime_waits_queued_then_runs_in_submission_order_once_it_is_back(adf):
    """The runtime its linked service connects through (`connectVia`) has no node: the activity waits in its queue, its
    SQL not run, on every GET; once the runtime is back the runs it held run in the order they were submitted. A SqlMi
    target goes through the managed VNet runtime: unaffected."""
    from migration_rehearsal.data_factory_server import set_runtime_offline, set_runtime_online
    from sql_access_setup import target

    client, server, access = client_of(adf.server), adf.server, adf.access()
    runtime = server.runtime_of(PIPELINE)
    assert runtime == load_definitions()["linkedServices"]["ls_migration_sql_self_hosted"]["connectVia"]["referenceName"]
    assert server.runtime_of("migration_sql_query_managed_instance") != runtime
    set_runtime_offline(adf.world, runtime)
    first = access.submit(statement("first", source(), "ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;"))
    second = access.submit(query("second", source(), state_sql()))
    for _ in range(5):
        assert access.result(first) is None and access.result(second) is None
    assert client.pipeline_runs.get(server.resource_group, server.factory_name, first.reference).status == "InProgress"
    assert activity_statuses(client, server, first.reference) == ["Queued"]
    assert adf.world.database("sql01", "Sales")["readOnly"] is False, "its SQL not run"
    adf.server.advance_all()  # time passing does not take it out of the queue
    assert activity_statuses(client, server, second.reference) == ["Queued"]
    assert finish(access, query("on-the-managed-vnet", target("mi-prod"), state_sql())).rows == []  # no Sales there

    set_runtime_online(adf.world, runtime)
    # The later run is read first: the earlier one's SQL runs first all the same
    assert finish(access, query("second", source(), state_sql()), handle=second).rows[0]["is_read_only"] in (True, 1)
    assert finish(access, statement("first", source(), ""), handle=first) is not None
    assert activity_statuses(client, server, first.reference) == ["Succeeded"]


def count_calls(operations, name):
    """Counts the calls of an SDK operation (`[n]`, updated as they are made)."""
    made, call = [0], getattr(operations, name)

    def counted(*args, **kwargs):
        made[0] += 1
        return call(*args, **kwargs)

    setattr(operations, name, counted)
    return made


def test_a_runtime_back_in_any_order_runs_each_held_run_on_its_own_read_and_runs_in_flight_lists_them(adf):
    """`set_runtime_online(in_submission_order=False)`: a node runs up to its concurrentJobsLimit jobs at once, so a read
    submitted after a statement may end first: the later run read first runs its SQL alone. `runs_in_flight` lists the
    runs not ended on a server's pipelines (a query and a statement), by the key its caller picks."""
    from migration_rehearsal.data_factory_server import set_runtime_offline, set_runtime_online
    from sql_access_setup import target

    access, server = adf.access(), adf.server
    runtime = server.runtime_of(PIPELINE)
    set_runtime_offline(adf.world, runtime)
    first = access.submit(statement("run1:db:freeze_source:1:freeze", source(), "ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;"))
    read = access.submit(query("run1:db:rollback:1:source-state", source(), state_sql()))
    second = access.submit(query("run2:db:preflight:1:source-facts", source(), state_sql()))
    assert access.result(first) is None and access.result(read) is None and access.result(second) is None
    queries = count_calls(access._client.pipeline_runs, "query_by_factory")
    assert access.runs_in_flight(source(), lambda key: key.startswith("run1:")) == [
        "run1:db:freeze_source:1:freeze (InProgress)", "run1:db:rollback:1:source-state (InProgress)"]
    assert queries == [1], "one queryPipelineRuns for the route's query and statement pipelines together (was: one each)"
    assert access.runs_in_flight(target("mi-prod"), lambda key: True) == [], "another server's runs are not its"

    set_runtime_online(adf.world, runtime, in_submission_order=False)
    assert finish(access, query("run2:db:preflight:1:source-facts", source(), state_sql()), handle=second).rows[0]["is_read_only"] in (False, 0)
    assert adf.world.database("sql01", "Sales")["readOnly"] is False, "the earlier freeze not run yet"
    assert access.runs_in_flight(source(), lambda key: not key.startswith("run2:")) == [
        "run1:db:freeze_source:1:freeze (InProgress)", "run1:db:rollback:1:source-state (InProgress)"]
    adf.server.advance_all()
    assert adf.world.database("sql01", "Sales")["readOnly"] is True
    assert access.runs_in_flight(source(), lambda key: True) == []


def test_a_run_on_an_offline_self_hosted_runtime_can_be_cancelled_while_it_waits(adf):
    from migration_rehearsal.data_factory_server import set_runtime_offline, set_runtime_online

    access, client, server = adf.access(), client_of(adf.server), adf.server
    set_runtime_offline(adf.world, server.runtime_of(PIPELINE))
    handle = access.submit(statement("freeze", source(), "ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;"))
    assert access.result(handle) is None
    client.pipeline_runs.cancel(server.resource_group, server.factory_name, handle.reference)
    with pytest.raises(SqlOperationFailed, match="cancelled"):
        finish(access, statement("freeze", source(), ""), handle=handle)
    set_runtime_online(adf.world, server.runtime_of(PIPELINE))
    adf.server.advance_all()
    assert adf.world.database("sql01", "Sales")["readOnly"] is False, "a cancelled run never runs its SQL"


def test_an_activity_on_an_offline_self_hosted_runtime_may_fail_at_once_as_others_report(adf):
    """Azure/Azure-DataFactory#478: "Operation on target LookupTables failed: The Self-hosted Integration Runtime
    '[IR-Name]' is offline, last connect time is '...', Self-hosted Integration Runtime id is '[Id]'." """
    from migration_rehearsal.data_factory_server import set_runtime_offline

    runtime = adf.server.runtime_of(PIPELINE)
    set_runtime_offline(adf.world, runtime, activities="fail")
    with pytest.raises(SqlOperationFailed, match=r"Operation on target Statement failed: The Self-hosted Integration Runtime "
                                                  r"'%s' is offline, last connect time is '.+', Self-hosted Integration "
                                                  r"Runtime id is '.+'\." % runtime):
        finish(adf.access(), statement("freeze", source(), "ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;"))
    assert adf.world.database("sql01", "Sales")["readOnly"] is False
    with pytest.raises(ValueError, match="activities must be one of"):
        set_runtime_offline(adf.world, runtime, activities="later")
