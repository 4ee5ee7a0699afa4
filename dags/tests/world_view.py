"""The tests' view of the rehearsal world (dags/migration_rehearsal), for task-level runs."""
from __future__ import annotations

import json
import os
from urllib.parse import quote

# What a person's client sends (the DMS contract server takes any bearer token).
DATA_MIGRATION_API_VERSION = "2025-06-30"
PERSON_AUTHORIZATION = {"Authorization": "Bearer a-person-with-their-own-rights"}


def set_rehearsal_clock(directory, now: str) -> None:
    """Move the rehearsal world's simulated clock to `now` (ISO UTC)."""
    from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE

    path = os.path.join(str(directory), CLOCK_FILE)
    with open(path) as file:
        state = json.load(file)
    state["now"] = now
    with open(path, "w") as file:
        json.dump(state, file)


class WorldView:
    """One database's part of the rehearsal world, watched between pokes (`observe`)."""

    def __init__(self, directory, database, plan):
        from migration_rehearsal.world import World

        self.directory = str(directory)
        self.world = World(self.directory)
        self.plan = plan
        self.database = database
        self.target_server = plan.target_of(self.database).resource_id.name
        self.was_online = False
        self.online_target_deleted = False
        self.most_migrations_in_flight = 0

    def observe(self, task_id):
        target = self.target()
        if target is not None and target["state"] == "ONLINE":
            self.was_online = True
        elif target is None and self.was_online and self.database.restores_backups:
            self.online_target_deleted = True
        self.most_migrations_in_flight = max(self.most_migrations_in_flight, sum(
            1 for operation in self.operations() if operation.get("migrationStatus") in ("Creating", "InProgress", "Completing", "Canceling")
        ))

    def fault_after(self, after_task, operation, kind, **fault):
        """An observer for RunDriver: it observes, and right after `after_task` first pokes, the world
        fails the next requests of `operation` with `kind` (`fault`: count, status, ...), once.
        `self.injected` says whether it did."""
        self.injected = False

        def observe(task_id):
            self.observe(task_id)
            if task_id == after_task and not self.injected:
                self.injected = True
                self.world.add_fault(operation, kind, **fault)

        return observe

    def refusing_the_cutover_then_taking_the_target_offline(self):
        """An observer for RunDriver: DMS refuses the cutover for good (after `final_backup`), and once `cutover` failed
        with the target still RESTORING, a person takes it OFFLINE (the rollback keeps it: not RESTORING)."""
        refuse_the_cutover = self.fault_after(
            "%s.final_backup" % self.database.name, "cutover", "error", count=20, status=400, code="BadRequest",
            message="cutover refused")

        def observe(task_id):
            refuse_the_cutover(task_id)
            if task_id == "%s.cutover" % self.database.name and self.target() is not None and self.target()["state"] == "RESTORING":
                self.world.update_database(self.target_server, self.database.target_database, state="OFFLINE")

        return observe

    def target(self):
        return self.world.database(self.target_server, self.database.target_database)

    def source(self):
        return self.world.database("sql01", self.database.source_database)

    def source_writable(self):
        source = self.source()
        return not source["readOnly"] and source["userAccess"] == "MULTI_USER"

    def operations(self):
        records = self.world.snapshot()["databaseMigrations"]
        return [op for key, record in records.items() if key.endswith("/" + self.database.target_database.lower()) for op in record["operations"]]

    def cancel_slowly(self, plan):
        """A person cancels the database's latest migration through the plan's service; DMS goes on reporting it
        Canceling for the next 50 reads (the `stillCanceling` fault)."""
        from migration_orchestration_lib.dms_gateway import MigrationTarget
        from migration_orchestration_lib.rehearsal import rehearsal_services

        operation = self.operations()[-1]
        self.world.add_fault("cancel", "stillCanceling", count=50, database=self.database.target_database)
        rehearsal_services(plan).dms.cancel(MigrationTarget.of(plan, self.database), operation["migrationOperationId"])

    def delete_migration_resource(self):
        """A person deletes the DMS migration resource of the database's target after its migration ended
        (`DatabaseMigrationsSqlMi_Delete`, ..._SqlDb_, ..._SqlVm_: the portal, `az datamigration`), and DMS forgets
        the migration. The DAG never deletes one (its role may not), so this is the person's own ARM request to the
        DMS contract server the run used, awaited through its `Azure-AsyncOperation` monitor."""
        import requests

        from migration_orchestration_lib import rehearsal

        base_url = rehearsal._server_url(self.directory, "dms", os.environ)
        path = "%s/providers/Microsoft.DataMigration/databaseMigrations/%s" % (
            self.plan.target_of(self.database).resource_id.value, quote(self.database.target_database, safe=""))
        response = requests.delete(base_url + path, params={"api-version": DATA_MIGRATION_API_VERSION}, headers=PERSON_AUTHORIZATION, timeout=30)
        assert response.status_code == 202, "DMS did not accept the delete: %s %s" % (response.status_code, response.text)
        for _ in range(50):
            status = requests.get(response.headers["Azure-AsyncOperation"], headers=PERSON_AUTHORIZATION, timeout=30).json()
            if status["status"] != "InProgress":
                assert status["status"] == "Succeeded", status
                return
        raise AssertionError("the delete never ended: %s" % status)

    def fail_the_last_arm_operation(self):
        """The database's latest migration still copies (InProgress) while its last ARM operation reads Failed."""
        with self.world.transaction() as state:
            for key, record in state["databaseMigrations"].items():
                if key.endswith("/" + self.database.target_database.lower()):
                    record["operations"][-1]["provisioningState"] = "Failed"
