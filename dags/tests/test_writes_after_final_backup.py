"""Writes made on the source after the final log backup are never lost without a step noticing (`task_driver` on the
rehearsal world). A person makes the frozen source writable between final_backup and the cutover (online), the
end of DMS's restore (offline) or done (after validate passed), writes, and freezes it again: validate and done see
a read-only source, and a row count does not see an update. The source's own records (msdb's log backups, the recovery status,
`sys.dm_db_log_stats`) show log after the final backup: the migration is not declared migrated, and no target that
may hold writes, nor the source, is removed."""
from __future__ import annotations

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver
from world_view import WorldView

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").


def setup(directory, mode, target, airflow_of=None):
    document = plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)])
    if airflow_of:
        document["airflow"] = load_plan_document(airflow_of)["airflow"]
    plan = parse_plan(document)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(directory, plan.database("db"), plan)


class WritesBefore(RunDriver):
    """A run in which, right before `task` first runs, a person makes the source writable, updates a row (its count
    unchanged) and makes it read-only again, as the DAG's freeze left it."""

    def __init__(self, dag, world, task):
        super().__init__(dag, world.observe)
        self.world, self.task, self.table = world, "db." + task, None

    def _run_task(self, task, first_try=1):
        if task.task_id == self.task and self.table is None:
            self.table = unfreeze_write_refreeze(self.world)
        return super()._run_task(task, first_try)


def unfreeze_write_refreeze(world):
    source = world.source()
    assert source["readOnly"], "frozen by the DAG before the person's write"
    world.world.update_database("sql01", "Sales", readOnly=False)
    table = sorted(source["tables"])[0]
    rows = [list(row) for row in source["tables"][table]["rows"]]
    rows[0][1] = "written after the final backup"
    world.world.set_table("sql01", "Sales", table, source["tables"][table]["columns"], rows)
    world.world.update_database("sql01", "Sales", readOnly=True)
    return table


def assert_kept_frozen_for_a_person(run, states, world):
    """done refused after validate passed: the rollback keeps the source frozen, holding the write, and the target,
    and fails saying why (not "run again to declare it": a run again refuses too)."""
    assert "keeps the source frozen" in run.errors["db.done"], run.errors["db.done"]
    assert states["db.rollback"] == "failed", states
    assert "its done refused to declare it" in run.errors["db.rollback"], run.errors["db.rollback"]
    assert "run again to declare it" not in run.errors["db.rollback"]
    assert world.source()["readOnly"], "kept frozen for a person"
    assert world.target() is not None and world.target()["state"] == "ONLINE"


CASES = [
    ("online", "mi-prod", "cutover", None),
    ("online", "mi-prod", "cutover", "fabric_host.json"),
    ("online", "mi-prod", "wait_for_completion", None),
    ("offline", "mi-prod", "wait_for_migration", None),
    ("offline", "vm-prod", "wait_for_migration", None),
    ("offline", "mi-prod", "wait_for_migration", "fabric_host.json"),
    ("online", "mi-prod", "done", None),
    ("offline", "vm-prod", "done", None),
    ("offline", "mi-prod", "done", "fabric_host.json"),
]


@pytest.mark.parametrize("mode, target, before, airflow_of", CASES,
                         ids=["online-before-cutover", "online-before-cutover-dataFactory", "online-after-cutover",
                              "offline-SqlMi", "offline-SqlVm", "offline-SqlMi-dataFactory",
                              "online-after-validate", "offline-SqlVm-after-validate", "offline-SqlMi-after-validate-dataFactory"])
def test_a_write_between_the_final_backup_and_the_cutover_is_never_declared_migrated(rehearsal_world, mode, target, before, airflow_of):
    dag, world = setup(rehearsal_world, mode, target, airflow_of)
    run = WritesBefore(dag, world, before)
    states = run.run_database("db")

    assert run.table is not None, "the person wrote"
    assert run.outcome("db") != "migrated", "declared migrated without the write made after the final backup"
    failed = [task for task, state in states.items() if state == "failed"]
    assert failed, states
    step = failed[0]
    assert step == ("db." + before if before in ("cutover", "done") else "db.validate"), (states, run.errors)
    if before == "done":
        assert states["db.validate"] == "success", "compared before the write"
    assert "written after the final log backup" in run.errors[step], run.errors[step]
    assert "LSN" in run.errors[step]
    assert world.source() is not None, "the source is never removed"
    assert world.source()["tables"][run.table]["rows"][0][1] == "written after the final backup"
    if before == "done":  # validated in this run: a lost attempt of done could still declare it, so a person decides
        assert_kept_frozen_for_a_person(run, states, world)
    else:
        assert states["db.rollback"] == "success", run.errors
        assert world.source_writable(), "handed back to the applications, with the write"
    if before != "cutover":  # DMS restored the final backup and brought the target online: it stays
        assert world.target() is not None and world.target()["state"] == "ONLINE", "a target that went live is kept"


@pytest.mark.parametrize("mode, target, before", [("online", "mi-prod", "validate"), ("offline", "vm-prod", "validate"),
                                                   ("offline", "vm-prod", "done")],
                         ids=["online", "offline-SqlVm", "offline-SqlVm-after-validate"])
def test_a_person_who_only_unfreezes_and_refreezes_without_writing_stops_the_migration(rehearsal_world, mode, target, before):
    """SQL Server logs SET READ_WRITE and SET READ_ONLY (the world does: `logged_option_changes`), so a source made
    writable and frozen again after the final backup shows log after it, written or not, and nothing tells the two
    apart: the migration is refused and handed back, as after a write."""
    dag, world = setup(rehearsal_world, mode, target)

    class Toggle(RunDriver):
        toggled = False

        def _run_task(self, task, first_try=1):
            if task.task_id == "db." + before and not self.toggled:
                self.toggled = True
                world.world.update_database("sql01", "Sales", readOnly=False)
                world.world.update_database("sql01", "Sales", readOnly=True)
            return super()._run_task(task, first_try)

    run = Toggle(dag, world.observe)
    states = run.run_database("db")
    assert run.outcome("db") != "migrated", "the thaw is log after the final backup"
    assert "written after the final log backup" in run.errors["db." + before], run.errors
    if before == "done":
        assert_kept_frozen_for_a_person(run, states, world)
    else:
        assert states["db.rollback"] == "success" and world.source_writable(), run.errors


def _source_version(world, version):
    with world.world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = version


@pytest.mark.airflow26
@pytest.mark.parametrize("log_backup", [True, False], ids=["log-backed-up-after", "not-backed-up"])
def test_a_source_without_sys_dm_db_log_stats_is_judged_by_its_later_log_backups(rehearsal_world, log_backup):
    """SQL Server 2014 (major version 12) has no sys.dm_db_log_stats (error 208, caught): the log's end is unread, so
    only a log backup taken after the final one shows the write (msdb, and where the next log backup starts). Without
    one the write goes unseen there, as before: the check only adds refusals, it never stops a migration it cannot judge."""
    dag, world = setup(rehearsal_world, "offline", "vm-prod")

    class OldSource(RunDriver):
        table = None

        def _run_task(self, task, first_try=1):
            if task.task_id == "db.validate" and self.table is None:
                _source_version(world, 12)
                self.table = unfreeze_write_refreeze(world)
                if log_backup:  # a person's log backup job, outside the share
                    world.world.take_backup("sql01", "Sales", "LOG", "D:\\Backup\\Sales_job.trn")
            return super()._run_task(task, first_try)

    run = OldSource(dag, world.observe)
    run.run_database("db")
    if log_backup:
        assert run.outcome("db") != "migrated"
        assert "a later log backup reaches LSN" in run.errors["db.validate"], run.errors
    else:
        assert run.outcome("db") == "migrated", run.errors



@pytest.mark.parametrize("mode, target", [("online", "mi-prod"), ("offline", "vm-prod")], ids=["online", "offline-SqlVm"])
def test_the_log_backups_of_an_earlier_database_of_that_name_do_not_stop_the_migration(rehearsal_world, mode, target):
    """msdb keeps the backup history of every database a server had under a name: one dropped, or this one before it
    was restored to an earlier point, whose LSNs ran further than this database's have. Such a log backup, outside
    the share (DMS never sees it), says nothing about writes to this database after its final backup: only log
    backups with the final backup's database_guid count."""
    dag, world = setup(rehearsal_world, mode, target)

    class EarlierHistory(RunDriver):
        added = False

        def _run_task(self, task, first_try=1):
            if task.task_id == "db.freeze_source" and not self.added:
                self.added = True
                earlier = world.world.take_backup("sql01", "Sales", "FULL", "D:\\Backup\\Sales_before_restore.bak")
                with world.world.transaction() as state:
                    for share in state["backups"].values():
                        for backup in share:
                            if backup["path"] == earlier["path"]:
                                backup.update(type="LOG", firstLsn=earlier["lastLsn"] + 10 ** 9,
                                              lastLsn=earlier["lastLsn"] + 2 * 10 ** 9,
                                              databaseGuid="0E0E0E0E-0000-4000-8000-000000000001")
            return super()._run_task(task, first_try)

    run = EarlierHistory(dag, world.observe)
    run.run_database("db")
    assert run.added, "the earlier database's history was added"
    assert run.outcome("db") == "migrated", run.errors


ROUTINE_JOB_FILES = ("\\\\backup01\\team\\Sales\\Sales_routine_1.trn", "D:\\Backup\\Sales_routine_2.trn")


class RoutineLogBackups(RunDriver):
    """A run in which, right before `task` first runs, the team's own log backup job (not the migration's share: DMS
    never sees it) backs the source up twice; with `write`, a person first unfreezes, writes and refreezes it."""

    def __init__(self, dag, world, task, write, version):
        super().__init__(dag, world.observe)
        self.world, self.task, self.write, self.version = world, "db." + task, write, version
        self.log_end_before = None

    def _run_task(self, task, first_try=1):
        if task.task_id == self.task and self.log_end_before is None:
            _source_version(self.world, self.version)
            self.log_end_before = self.world.source()["lsn"]
            if self.write:
                unfreeze_write_refreeze(self.world)
            for path in ROUTINE_JOB_FILES:
                self.world.world.take_backup("sql01", "Sales", "LOG", path)
        return super()._run_task(task, first_try)


ROUTINE_CASES = [("online", "mi-prod", "cutover", 16), ("offline", "vm-prod", "validate", 16), ("offline", "vm-prod", "validate", 12)]
ROUTINE_IDS = ["online", "offline-SqlVm", "offline-SqlVm-2014"]


# done reads the log again after validate passed: the job may run between the two as well.
QUIET_ROUTINE_CASES = ROUTINE_CASES + [("online", "mi-prod", "done", 16), ("offline", "vm-prod", "done", 12)]
QUIET_ROUTINE_IDS = ROUTINE_IDS + ["online-after-validate", "offline-SqlVm-2014-after-validate"]


@pytest.mark.parametrize("mode, target, before, version", QUIET_ROUTINE_CASES, ids=QUIET_ROUTINE_IDS)
def test_a_routine_log_backup_job_after_the_final_backup_of_a_frozen_source_does_not_stop_the_migration(
        rehearsal_world, mode, target, before, version):
    """SQL Server writes no log record into a read-only database: a log backup of the frozen source holds nothing
    (first_lsn = last_lsn = the final backup's last_lsn) and its log's end stays there, so the team's routine log
    backups after the final backup show no write (on SQL Server 2014 msdb is the only signal)."""
    dag, world = setup(rehearsal_world, mode, target)
    run = RoutineLogBackups(dag, world, before, write=False, version=version)
    run.run_database("db")

    assert run.log_end_before is not None, "the routine job ran"
    assert run.outcome("db") == "migrated", run.errors
    routine = [b for b in world.world.backups("sql01", "Sales") if b["path"] in ROUTINE_JOB_FILES]
    assert [(b["firstLsn"], b["lastLsn"]) for b in routine] == [(run.log_end_before, run.log_end_before)] * 2
    assert world.source()["lsn"] == run.log_end_before


@pytest.mark.parametrize("mode, target, before, version", ROUTINE_CASES, ids=ROUTINE_IDS)
def test_a_routine_log_backup_after_an_unfreeze_write_refreeze_still_stops_the_migration(
        rehearsal_world, mode, target, before, version):
    """The person's SET READ_WRITE, write and SET READ_ONLY are three log records past the final backup's last_lsn: the
    routine log backup that holds them ends right after them (last_lsn = that LSN + 3), and the step names it; the
    read-only source's backups add none."""
    dag, world = setup(rehearsal_world, mode, target)
    run = RoutineLogBackups(dag, world, before, write=True, version=version)
    run.run_database("db")

    step = "db." + before
    assert run.outcome("db") != "migrated", "declared migrated without the write made after the final backup"
    assert "written after the final log backup" in run.errors[step], run.errors
    assert "a later log backup reaches LSN %d" % (run.log_end_before + 3) in run.errors[step], run.errors[step]
    assert world.source()["tables"] and world.source_writable(), "handed back to the applications, with the write"


@pytest.mark.parametrize("mode, target, airflow_of", [("online", "mi-prod", None), ("offline", "vm-prod", None),
                                                      ("offline", "mi-prod", "fabric_host.json")],
                         ids=["online", "offline-SqlVm", "offline-SqlMi-dataFactory"])
def test_a_run_again_after_dones_worker_was_lost_declares_the_validated_migration(rehearsal_world, mode, target, airflow_of):
    """The rollback of a run whose done was lost after validate passed keeps the source frozen and says "run again to
    declare it": the next run's freeze, final backup and done log nothing new into the read-only source, so its done's
    read of the log does not refuse the migration."""
    from task_driver import WorkerCrashed

    dag, world = setup(rehearsal_world, mode, target, airflow_of)
    first = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        first.run_database("db", crash_after="validate")
    assert first._run_task(dag.get_task("db.rollback")) == "failed"
    assert "run again to declare it" in first.errors["db.rollback"], first.errors
    assert not world.source_writable()

    again = RunDriver(dag, world.observe)
    again.run_database("db")
    assert again.outcome("db") == "migrated", again.errors


def test_clearing_the_rollback_that_kept_a_validated_migrations_source_frozen_fails_again_and_a_run_again_declares_it(
        rehearsal_world):
    """The rollback-failed row's "Validated in this run: trigger the DAG again (clearing the task fails again)", both
    halves: the failed `rollback` cleared runs again and fails again with the same words, changing nothing (the target
    live, the source frozen); the DAG triggered again declares that same migration, the source left read-only."""
    from migration_orchestration_lib.handoffs import handoff_key
    from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
    from task_driver import WorkerCrashed

    dag, world = setup(rehearsal_world, "online", "mi-prod")
    first = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        first.run_database("db", crash_after="validate")
    assert first._run_task(dag.get_task("db.rollback")) == "failed"
    refused = first.errors["db.rollback"]
    assert "kept frozen: this run validated migration" in refused and "run again to declare it" in refused, refused

    assert first.clear_task("db", "rollback") == "failed"
    assert first.errors["db.rollback"] == refused and first.tries["db.rollback"] == 2
    [operation] = world.operations()
    assert operation["migrationStatus"] == "Succeeded" and world.target()["state"] == "ONLINE"
    assert not world.source_writable() and not world.online_target_deleted
    records = FileRecords(str(rehearsal_world), RECORDS_FILE)
    assert not records.get(handoff_key(operation["migrationOperationId"])), "declared by a rollback"

    again = RunDriver(dag, world.observe)
    again.run_database("db")
    assert again.outcome("db") == "migrated", again.errors
    assert [op["migrationOperationId"] for op in world.operations()] == [operation["migrationOperationId"]]
    assert records.get(handoff_key(operation["migrationOperationId"])) and not world.source_writable()


def results_of(monkeypatch, step):
    """The messages `step` (a key of `steps.STEPS`) returns in this test, each as it returns it."""
    from migration_orchestration_lib import steps

    said = []
    run_step = steps.STEPS[step]

    def saying(ctx):
        result = run_step(ctx)
        said.append(str(result.message))
        return result

    monkeypatch.setitem(steps.STEPS, step, saying)
    return said


@pytest.mark.parametrize("mode, target, airflow_of", [("online", "mi-prod", None), ("offline", "mi-prod", "fabric_host.json")],
                         ids=["online", "offline-SqlMi-dataFactory"])
def test_done_declares_with_a_note_where_the_sources_log_end_is_refused(rehearsal_world, mode, target, airflow_of, monkeypatch):
    """VIEW SERVER STATE taken from the DAG's source login after validate passed: done cannot read the log's end
    (sys.dm_db_log_stats refused, caught), finds no later log backup, and declares the migration, saying what it did
    not read, as validate does."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    said = results_of(monkeypatch, "done")
    dag, world = setup(rehearsal_world, mode, target, airflow_of)

    class Refused(RunDriver):
        def _run_task(self, task, first_try=1):
            if task.task_id == "db.done":
                world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["CONTROL"], "msdb": ["SELECT"]})
            return super()._run_task(task, first_try)

    run = Refused(dag, world.observe)
    run.run_database("db")
    assert run.outcome("db") == "migrated", run.errors
    assert len(said) == 1 and "the source's log end is unread" in said[0], said


@pytest.mark.airflow26
def test_a_cutover_names_the_sources_hidden_row_among_the_causes_of_its_unread_log_end(rehearsal_world, monkeypatch):
    """The source server hardened after the final backup (VIEW ANY DATABASE revoked from public, the DAG's source
    login left with rights in the database and msdb alone): the cutover's read of the source's log end joins
    sys.dm_db_log_stats to the source's row in sys.databases, which the login no longer sees, so it reads unread and
    only later log backups are looked for. Was: the note named VIEW SERVER STATE alone, which the login still holds,
    sending a person after the wrong grant. validate then refuses the hidden source, naming the grant."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    said = results_of(monkeypatch, "cutover")
    dag, world = setup(rehearsal_world, "online", "mi-prod")

    class Hardened(RunDriver):
        def _run_task(self, task, first_try=1):
            if task.task_id == "db.cutover":
                world.world.revoke_view_any_database_from_public("sql01")
                world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONTROL"], "msdb": ["SELECT"]})
            return super()._run_task(task, first_try)

    run = Hardened(dag, world.observe)
    states = run.run_database("db")
    assert len(said) == 1 and "the source's log end is unread" in said[0] and "VIEW ANY DATABASE" in said[0], said
    assert states["db.validate"] == "failed" and "GRANT VIEW ANY DATABASE TO [%s]" % REHEARSAL_LOGIN in run.errors["db.validate"]
    assert run.outcome("db") != "migrated"
