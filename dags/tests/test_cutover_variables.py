"""The approval record in real Airflow Variables (channel airflowVariable, and what the HITL channel
writes): the command an AwaitingApproval event prints, run in a shell against a real Airflow, is the
record a task reads through `cutover_services` (the Task SDK on Airflow 3, the metadata database on
2.x); a record a task writes is what Airflow holds afterwards. The handoff record (`handoffs`) goes
the same way."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import register_for_dag_test
from orm_blocked import blocked_in_tasks
from migration_orchestration_lib.airflow_compat import DAG, BaseOperator, timezone
from migration_orchestration_lib.cutover_gate import ApprovalRecord, approval_command, approval_variable, parse_record
from migration_orchestration_lib.cutover_services import AirflowVariableApprovals, AirflowVariableRecords
from migration_orchestration_lib.handoffs import handoff_key

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.airflow210, pytest.mark.airflow26]

WINDOW = "2026-12-05T21:00:00Z"
APPROVER = "Alice O'Brien (DBA)"  # spaces and a quote: the printed command must still be one shell word per argument
READ = {}


class ReadAndWriteApprovals(BaseOperator):
    def execute(self, context):
        store = AirflowVariableApprovals()
        READ["database_1"] = store.get("database_1")
        READ["missing"] = store.get("database_9")
        store.put("database_2", ApprovalRecord(window=WINDOW, decision="reject", by=APPROVER))


def test_the_printed_command_is_the_record_a_task_reads_and_a_task_writes_a_record_airflow_keeps():
    command = approval_command("database_1", WINDOW, APPROVER)
    airflow_bin = str(Path(sys.executable).parent)
    done = subprocess.run(
        ["bash", "-c", command], env={**os.environ, "PATH": airflow_bin + os.pathsep + os.environ["PATH"]},
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    with DAG("approval_records", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        ReadAndWriteApprovals(task_id="read_and_write")
    register_for_dag_test(dag)
    with blocked_in_tasks():
        dag.test()

    assert parse_record(READ["database_1"]) == (ApprovalRecord(window=WINDOW, decision="approve", by=APPROVER), None)
    assert READ["missing"] is None
    from airflow.models import Variable

    written, why = parse_record(Variable.get(approval_variable("database_2")))
    assert (written, why) == (ApprovalRecord(window=WINDOW, decision="reject", by=APPROVER), None)


class DeclareAndReadHandoff(BaseOperator):
    def execute(self, context):
        store = AirflowVariableRecords()
        READ["handoff before"] = store.get(handoff_key("3f0c5e4e-0000-4000-8000-000000000001"))
        store.put(handoff_key("3f0c5e4e-0000-4000-8000-000000000001"), "contoso-sql/database_1")
        READ["handoff after"] = store.get(handoff_key("3f0c5e4e-0000-4000-8000-000000000001"))
        store.put("migration_source_before_freeze__sql01__Sales", "")  # cleared by an unfreeze
        READ["cleared"] = store.get("migration_source_before_freeze__sql01__Sales")


def test_a_handoff_a_task_declares_is_kept_by_airflow_and_read_back():
    with DAG("handoff_records", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        DeclareAndReadHandoff(task_id="declare")
    register_for_dag_test(dag)
    with blocked_in_tasks():
        dag.test()

    assert READ["handoff before"] is None
    assert READ["handoff after"] == "contoso-sql/database_1"
    assert READ["cleared"] == "", "a cleared record is not a missing one (`source_freeze.unknown_freeze`)"
    from airflow.models import Variable

    assert Variable.get("migration_migrated__3f0c5e4e-0000-4000-8000-000000000001") == "contoso-sql/database_1"


# Record keys holding a database name SQL Server allows (any character in a delimited identifier): each
# beside the key the Task SDK's URL `variables/{key}` would turn it into on Airflow 3 (a query, a fragment,
# an escape decoded by the API server, a dot segment removed by httpx).
KEYS_APART = (
    "migration_current_run__p__Sales",
    "migration_current_run__p__Sales?x",
    "migration_current_run__p__Sales#x",
    "migration_current_run__p__50 off",
    "migration_current_run__p__50%20off",
    "migration_current_run__p__50%2520off",
    "migration_current_run__p__a/b",
    "migration_current_run__p__a/../b",
    "migration_current_run__p__b",
    "migration_current_run__p__a/./b",
    "migration_current_run__p__a//b",
    "migration_current_run__p__a/",
    "migration_current_run__p__a",
)


class WriteAndReadKeysApart(BaseOperator):
    def execute(self, context):
        from migration_orchestration_lib.airflow_compat import get_variable, set_variable

        for number, key in enumerate(KEYS_APART):
            set_variable(key, "value %d" % number)
        READ["keys apart"] = [get_variable(key) for key in KEYS_APART]
        READ["from the environment"] = get_variable("migration_current_run__p__Env")


@pytest.mark.airflow31
def test_records_whose_keys_a_url_would_misread_are_written_and_read_apart(monkeypatch):
    # The Task SDK asks its secrets backends first: an ordinary key still finds its environment variable.
    monkeypatch.setenv("AIRFLOW_VAR_MIGRATION_CURRENT_RUN__P__ENV", "from the environment")
    with DAG("records_apart", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        WriteAndReadKeysApart(task_id="write_and_read")
    register_for_dag_test(dag)
    with blocked_in_tasks():
        dag.test()

    expected = {key: "value %d" % number for number, key in enumerate(KEYS_APART)}
    read = dict(zip(KEYS_APART, READ["keys apart"]))
    assert {key: value for key, value in read.items() if value != expected[key]} == {}, "read back through the task"
    from airflow.models import Variable

    held = {key: Variable.get(key, None) for key in KEYS_APART}
    assert {key: value for key, value in held.items() if value != expected[key]} == {}, "each under its own key in the metadata database"
    assert READ["from the environment"] == "from the environment"


def test_every_ordinary_record_key_goes_to_the_task_sdk_as_it_is():
    from migration_orchestration_lib.airflow_compat import sdk_variable_key

    ordinary = [
        handoff_key("3f0c5e4e-0000-4000-8000-000000000001"),
        approval_variable("Sales DB (2024)"),
        "migration_source_before_freeze__sql01.contoso.com,1433__Sales_v1.2",
        "migration_plan_started__plan-1",
        "migration_current_run__p__a/b",
        "migration_current_run__p__Ünïcode [x] +;=@&$!'*",
    ]
    assert [sdk_variable_key(key) for key in ordinary] == ordinary
    assert sdk_variable_key("migration_current_run__p__50%20off/../x?y#z") == (
        "migration_current_run__p__50%2520off%2F%2E%2E%2Fx%3Fy%23z"
    )


# A scratch record beside a key its URL would be misread as (`sdk_variable_key`): deleting one must leave the other.
SCRATCH, NEIGHBOUR = "migration_first_poke__p__50%20off__preflight", "migration_first_poke__p__50 off__preflight"


class DeleteScratchRecords(BaseOperator):
    def execute(self, context):
        records = AirflowVariableRecords()
        for key in (SCRATCH, NEIGHBOUR, "migration_started__p__Sales"):
            records.put(key, '{"run":"r"}')
        AirflowVariableApprovals().put("Sales", ApprovalRecord(window=WINDOW, decision="approve", by=APPROVER))
        records.delete(SCRATCH)
        records.delete("migration_started__p__Sales")
        records.delete("migration_started__p__never_written")  # no error: nothing to delete
        AirflowVariableApprovals().clear("Sales")  # consumed
        READ["deleted"] = [records.get(SCRATCH), records.get("migration_started__p__Sales"), AirflowVariableApprovals().get("Sales")]


@pytest.mark.airflow31
def test_a_scratch_record_a_task_deletes_leaves_no_variable_and_reads_as_none():
    """A finished run leaves no Variable per database and task for its scratch records (the first poke of a try, the
    migration a pass started, a cutover's admission, a consumed approval): the Task SDK's `Variable.delete` on Airflow 3,
    the metadata database's on 2.x; a missing key is no error, and a key sent percent-encoded deletes only itself."""
    with DAG("scratch_records", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        DeleteScratchRecords(task_id="delete")
    register_for_dag_test(dag)
    with blocked_in_tasks():
        dag.test()

    assert READ["deleted"] == [None, None, None]
    from airflow.models import Variable

    held = {key: Variable.get(key, None) for key in (SCRATCH, NEIGHBOUR, "migration_started__p__Sales", approval_variable("Sales"))}
    assert held == {SCRATCH: None, NEIGHBOUR: '{"run":"r"}', "migration_started__p__Sales": None, approval_variable("Sales"): None}
