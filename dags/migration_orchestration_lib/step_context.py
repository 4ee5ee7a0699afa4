"""What a step sees when its task runs: the plan entry, its services, and this run's XComs.

Steps decide from DMS and SQL state (see `migration_stage`), never from the run's task states (but for whether
preflight ran since the run was last cleared: `StepContext.preflight_ran`): XCom carries only this run's deadline
and what its preflight found (the migration's stage, the source frozen by the DAG or not), and informational
return values.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from migration_orchestration_lib.airflow_compat import first_poke_at, running_try, task_instance_row, task_state_in_run, utc_now
from migration_orchestration_lib.connections import redact, redacting_logger
from migration_orchestration_lib.dms_gateway import MigrationTarget
from migration_orchestration_lib.events import MAX_MESSAGE_LENGTH
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan, SourceServer, TargetServer
from migration_orchestration_lib.settings import Timing

PREFLIGHT_TASK = "preflight"
VALIDATE_TASK = "validate"
VALIDATED = "validated"  # validate's return value: it passed in this run
AWAIT_CUTOVER_TASK = "await_cutover"
DEADLINE_KEY = "deadline"
STAGE_KEY = "stage"  # preflight's return value: where the migration stood when this run began,
SOURCE_FROZEN_KEY = "sourceFrozen"  # ... and whether the DAG's freeze held the source then
ACCESS_BEFORE_FREEZE_KEY = "accessBeforeFreeze"  # ... and the access it recorded before any freeze, [readOnly, userAccess]
MIGRATION_KEY = "migration"  # ... and the operation id of the migration it found not ended (`StepContext.remembered_migration`)
CLOSES_KEY = "closes"  # await_cutover's return value: the window's close (ISO UTC), None without windows
WINDOW_KEY = "window"  # ... and the window's opening (ISO UTC), None without windows
WINDOW_MISSED_KEY = "window_missed"  # XCom of the step that ended the database's run as "back to replicating"
# XCom of an await_cutover that failed because no cutover window can start the cutover any more: the rollback
# leaves an active migration replicating (`rollback`). Both pushed marked with this run's preflight
# (`StepContext.push_for_this_run`): an earlier try's, before the run was cleared from its preflight, counts no more.
NO_WINDOW_LEFT_KEY = "no_window_left"
# XCom of a done that refused because the source was logged after the final backup, or a copy's freeze (`steps.done`), pushed marked with
# this run's preflight too: the rollback, which keeps a validated migration's source frozen, says why.
LOGGED_AFTER_VALIDATE_KEY = "logged_after_validate"
DONE_TASK = "done"
START_MIGRATION_TASK = "start_migration"
CUTOVER_TASK = "cutover"
FREEZE_SOURCE_TASK = "freeze_source"
# start_migration's XCom: the operation id of the migration DMS created for this run's own request (not
# one it adopted): the record that lets rollback cancel a doubtful migration (`migration_stage.Standing`).
CREATED_MIGRATION_KEY = "created_migration"
# start_migration's durable record (`services.records`, an Airflow Variable) of the migration it created or adopted,
# marked with the run and its pass (`StepContext.record_started_migration`).
STARTED_MIGRATION_PREFIX = "migration_started__"
# The rollback's XCom, pushed first on every poke: this run's preflight deadline, the run has begun undoing the
# database since that preflight (`StepContext.rollback_began`).
ROLLBACK_BEGAN_KEY = "began"
# The freezing steps' XCom: the SQL operation key prefixes (`operation_key_prefix`) of every freeze the task may
# have submitted in this run, its earlier tries' included (`StepContext.sql_key_prefixes_of_every_try`). Through
# Data Factory a freeze runs on after the try that submitted it stopped: the rollback awaits each one submitted
# (`rollback._await_freezes_in_flight`). A run from before the list holds one prefix, a string.
FREEZE_SUBMITTED_KEY = "freeze_submitted"
# Every step's record (`services.records`) of when its running try first poked (`first_poke_of_try`); preflight's also
# says that its `Started` event arrived (`StepContext.record_started_event`). Deleted as the try ends.
FIRST_POKE_PREFIX = "migration_first_poke__"
# The states a task instance holds in its run until it starts (a clear resets it to None), or when it never will.
NOT_STARTED_STATES = (None, "scheduled", "queued", "upstream_failed", "skipped", "removed")


log = redacting_logger(__name__)


def first_poke_key(plan_name: str, database: str, task_name: str) -> str:
    return "%s%s__%s__%s" % (FIRST_POKE_PREFIX, plan_name, database, task_name)


def first_poke_of_try(records: Callable[[], Any], key: str, context: Mapping[str, Any], carried: Optional[str] = None) -> datetime:
    """When the running try of a task first poked: `carried` (ISO), the first poke a deferral or park took along in its
    kwargs; else the record the try's first poke wrote under `key` in `records()`, marked with the run and the try's
    number, which reschedules keep; else Airflow's account (`first_poke_at`), recorded so. Airflow 3 records a
    reschedule as it happens (execution API `ti_update_state`: `timezone.utcnow()`), at the first poke's end: counted
    from it, every duration, timeout and grace was short by the first poke's length (a DMS create, a batch). Without a
    readable record (a try begun before it, the records unreachable) Airflow's account, as before; `records` is called
    here so that services that cannot be built fail the step itself, which reports it."""
    if carried:
        return datetime.fromisoformat(carried)
    try:
        store = records()
        recorded = record_of_this_try(store.get(key), context)
        if recorded.get("firstPoke"):
            return datetime.fromisoformat(recorded["firstPoke"])
        first = first_poke_at(context)
        store.put(key, json.dumps(dict(this_try(context), firstPoke=first.isoformat()), separators=(",", ":"), sort_keys=True))
        return first
    except Exception as error:  # Airflow's account counts short; failing the poke for it would spend a retry
        log.warning("Could not read or write the record %s of this try's first poke (%s: %s); counting from Airflow's",
                    key, type(error).__name__, error)
        return first_poke_at(context)


def this_try(context: Mapping[str, Any]) -> Dict[str, Any]:
    """What marks a record as this try's: the run, the try's number and, where Airflow gives one, the row of the
    task instance or run (`task_instance_row`). A run deleted and triggered again under its run id numbers its tries
    from 1 again, and a try of the deleted run that never ended in its code (marked failed or success by hand while
    it waited) left its record, marked with the same run and try number."""
    marks: Dict[str, Any] = {"run": context.get("run_id"), "try": running_try(context["ti"])}
    row = task_instance_row(context)
    if row is not None:
        marks["row"] = row
    return marks


def record_of_this_try(stored: Optional[str], context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record `stored` (JSON; ValueError where it is not) where it is marked as this try's (`this_try`); else {}."""
    recorded = json.loads(stored or "{}")
    if isinstance(recorded, Mapping) and all(recorded.get(key) == value for key, value in this_try(context).items()):
        return recorded
    return {}


def forget_first_poke_of_try(records: Callable[[], Any], key: str) -> None:
    """The try ended (succeeded, failed, skipped): its record of its first poke must not become a later try's, which
    Airflow may give the same run and try number (2.6.3's `dag.test()` counts no tries; a run deleted and triggered
    again under its run id starts at try 1 again)."""
    delete_scratch_record(records, key, "this try's first poke")


def delete_scratch_record(records: Callable[[], Any], key: str, what: str) -> None:
    """A record whose absence reads as its empty value ends: deleted, not emptied, so that no Variable is left per
    database and task for good. Failing to delete fails nothing: it is logged (the record counts only where it was
    written: its try, its run and pass)."""
    try:
        records().delete(key)
    except Exception as error:
        log.warning("Could not delete the record %s of %s (%s: %s)", key, what, type(error).__name__, error)


@contextmanager
def forgetting_the_first_poke_as_the_try_ends(forget: Callable[[], None], going_on: Tuple[type, ...]) -> Iterator[None]:
    """Runs a poke; unless it ends in one of `going_on` (a reschedule, a deferral, a park: the try goes on), the try
    ended (succeeded, failed, skipped) and `forget()` clears its record of its first poke."""
    try:
        yield
    except going_on:
        raise
    except BaseException:
        forget()
        raise
    forget()


class StepFailure(Exception):
    """A failure that retrying cannot fix (wrong configuration, bad data, DMS gave up): fail fast.
    Its text is redacted when it is made: it is often built from a server's error text."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(redact(arg) for arg in args))


class ForeignMigration(StepFailure):
    """DMS's migration in flight into the target database is not this plan's (`migration_stage`): the
    step fails; the rollback leaves that migration and its target alone."""

    def __init__(self, description: str):
        super().__init__("%s: not this plan's to touch; let it end, or cancel it where it runs, then run again" % description)
        self.description = description


class SourceHidden(StepFailure):
    """Master's sys.databases on the source server shows the DAG's login no row of the source database, and that login
    may not see every row (`DatabaseSql.source_state`): whether it exists, and frozen or not, cannot be read. A step
    acting on the source fails on it; the rollback leaves the source as it is (`rollback._source_state`)."""


class StepPending(Exception):
    """The step waits for something outside Airflow (DMS, a SQL operation, capacity): poke again later."""


# A rehearsal's horizon passed while start_migration waited for capacity that nothing in the run could free any more
# (`MigrationTask._wait_for_capacity`): the database's outcome (not started, nothing failed); its last event, a
# start_migration Running, says CAPACITY_AT_HORIZON after the place it waited for.
WAITING_FOR_CAPACITY = "waiting_for_capacity"
CAPACITY_AT_HORIZON = "when the rehearsal ended"


class CapacityWait(StepPending):
    """start_migration waits for a place in DMS (`concurrency`): `where` the limit is reached (source server X, the
    migration service); `holders`: the plan's databases whose migrations DMS still runs; `unplanned`: how many it runs
    of no database of the plan. A rehearsal ends the wait at its horizon once nothing in the run can free a place
    (`MigrationTask._wait_for_capacity`); the real DAG waits as for any StepPending."""

    def __init__(self, message: str, where: str, holders: Sequence[str] = (), unplanned: int = 0):
        super().__init__(message)
        self.where, self.holders, self.unplanned = where, tuple(holders), unplanned


class CutoverWait(StepPending):
    """await_cutover waits (no window fits, approval awaited or rejected, maxConcurrent): the poke's
    event says `status`, and nothing changes by time alone before `until` (None: the next poke); `pace`: the least
    real time before the next poke (`SimulatedClock.wait`)."""

    def __init__(self, status: str, message: str, until: Optional[datetime] = None, pace: timedelta = timedelta(0)):
        super().__init__(message)
        self.status, self.until, self.pace = status, until, pace


class StillWaiting(Exception):
    """A rehearsal's horizon passed while await_cutover waited: the task skips itself, the
    database is reported waiting (replicating), not failed."""


class WindowMissed(StepFailure):
    """The cutover window no longer holds the cutover: the database goes back to replicating
    (rollback does not cancel) and waits for the next window in a later run."""


@dataclass(frozen=True)
class StepResult:
    message: str
    return_value: Any = None
    status: str = "Succeeded"


@dataclass
class StepContext:
    plan: MigrationPlan
    database: DatabaseMigration
    airflow_context: Mapping[str, Any]
    timing: Timing
    task_name: str  # keys this task's SQL operations apart from every other task's (see `sql`)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # A step's `Started` event: start_migration's; preflight's with must_arrive (the alerts' proof, before anything is done)
    on_started: Callable[..., None] = lambda message, must_arrive=False: None
    on_running: Callable[[str], None] = lambda message: None  # a `Running` heartbeat of work inside this poke
    _services: Any = None
    _sql: Any = None
    operation_id: Optional[str] = None  # the DMS migration this step saw, for its event
    first_poke: Optional[datetime] = None  # when this try of the task first poked (real time)
    attempt_ends: Optional[datetime] = None  # when execution_timeout stops this poke: its event writes wait no longer
    # A gated freezing step saw, in this poke, no freeze submitted by this try and the source not frozen by the DAG:
    # until it submits one, its waits end with WindowMissed once the cutover no longer fits (`cutover_steps`).
    freeze_not_begun: bool = False
    freeze_begun: Optional[bool] = None  # this poke's reading of whether a freeze began (`steps._freeze_begun`)
    # What the step did so far in this run (the rollback's `Actions`, across its pokes and tries): a wait or a failure
    # whose message does not say it all (an unexpected SQL error, a transient Azure error waited out) says it after
    # the message (`with_what_it_did`), so that a person reads what is left undone.
    done_so_far: List[str] = field(default_factory=list)

    def with_what_it_did(self, message: str) -> str:
        """`message` followed by `done_so_far` where it leaves any of it unsaid (a failure built from the list says it).
        An event keeps `MAX_MESSAGE_LENGTH` characters of its message: a long error text gives way to what was done."""
        if all(done in message for done in self.done_so_far):
            return message
        said = " (this %s so far: %s)" % (self.task_name, "; ".join(self.done_so_far))
        room = MAX_MESSAGE_LENGTH - len(said)
        if len(message) > room:
            message = message[:max(0, room - 3)] + "..."
        return message + said

    @property
    def services(self) -> Any:
        if self._services is None:
            from migration_orchestration_lib.services import services_for

            self._services = services_for(self.plan, self.environ)
        return self._services

    def first_poke_of_this_try(self, carried: Optional[str] = None) -> datetime:
        """`first_poke_of_try`, recorded in `services.records`; it is `first_poke` from now on."""
        self.first_poke = first_poke_of_try(lambda: self.services.records, self._first_poke_key(), self.airflow_context, carried)
        return self.first_poke

    def forget_first_poke_of_this_try(self) -> None:
        forget_first_poke_of_try(lambda: self.services.records, self._first_poke_key())

    @property
    def sql(self) -> Any:
        """`DatabaseSql` keyed to this run, database, task and try: Data Factory runs are adopted by
        key, so a task reading SQL state must never find another task's earlier result."""
        if self._sql is None:
            from migration_orchestration_lib.database_sql import DatabaseSql

            self._sql = DatabaseSql(self.services.sql_access, self._sql_key_prefix(running_try(self.task_instance)), self.first_poke)
        return self._sql

    def afresh(self, purpose: str) -> str:
        """`purpose` for a SQL read that a later poke of this try must make again: Data Factory adopts an operation
        by key, and its run ends after the poke that started it, so a later poke must meet the same key. The key
        changes once per `Timing.fresh_read_period` (was: once per the longest wait between two pokes, which pokes
        that far apart always crossed: each started a run, none read one, and the step waited until its deadline)."""
        return "%s:%d" % (purpose, int(utc_now().timestamp() // self.timing.fresh_read_period.total_seconds()))

    def sql_key_prefixes_of_every_try(self) -> List[str]:
        """The key prefix `sql` has in each try of this task in this run, from the first through the running one
        (Airflow clears a try's XComs when the next starts; these find what an earlier try submitted)."""
        return [self._sql_key_prefix(number) for number in range(1, running_try(self.task_instance) + 1)]

    def _sql_key_prefix(self, try_number: int) -> str:
        from migration_orchestration_lib.database_sql import operation_key_prefix

        return operation_key_prefix(self.run_id, self.database.name, self.task_name, try_number)

    @property
    def target(self) -> MigrationTarget:
        return MigrationTarget.of(self.plan, self.database)

    @property
    def source_server(self) -> SourceServer:
        return self.plan.source_of(self.database)

    @property
    def target_server(self) -> TargetServer:
        return self.plan.target_of(self.database)

    @property
    def run_id(self) -> str:
        return self.airflow_context["run_id"]

    @property
    def task_instance(self) -> Any:
        return self.airflow_context["ti"]

    def task_id(self, task_name: str) -> str:
        return "%s.%s" % (self.database.name, task_name)

    def how_to_run_again(self) -> str:
        """What a person does to go on with this database once this run's rollback has undone it: said alike by every
        step that stands down for it."""
        return "clear this run from %s with its downstream tasks (its preflight looks again), or trigger a new DAG run" % (
            self.task_id(PREFLIGHT_TASK))

    def deadline(self) -> Optional[datetime]:
        """When this run gives up waiting on this database: preflight's start + `timeoutMinutes`
        (after await_cutover: its end + `timeoutMinutes`)."""
        for task in (AWAIT_CUTOVER_TASK, PREFLIGHT_TASK):  # after a cutover wait, the gate's own
            facts = self.task_instance.xcom_pull(task_ids=self.task_id(task)) or {}
            value = facts.get(DEADLINE_KEY) if isinstance(facts, Mapping) else None
            if value:
                return datetime.fromisoformat(value)
        return None

    def window_closes(self) -> Optional[datetime]:
        """The close of the window await_cutover went in (None: ungated, or no windows)."""
        value = self._cutover_fact(CLOSES_KEY)
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    def window_opening(self) -> Optional[str]:
        """The opening (ISO UTC) of the window await_cutover went in (None: ungated, or no windows)."""
        return self._cutover_fact(WINDOW_KEY)

    def cutover_gate_passed(self) -> bool:
        """Whether this run's await_cutover let the cutover go (its return value carries the deadline)."""
        facts = self.task_instance.xcom_pull(task_ids=self.task_id(AWAIT_CUTOVER_TASK))
        return isinstance(facts, Mapping) and DEADLINE_KEY in facts

    def _cutover_fact(self, key: str) -> Optional[str]:
        facts = self.task_instance.xcom_pull(task_ids=self.task_id(AWAIT_CUTOVER_TASK)) or {}
        return facts.get(key) if isinstance(facts, Mapping) else None

    def preflight_passed(self) -> bool:
        """Whether this run's preflight passed on this database (it returns the deadline)."""
        return bool(self.preflight_facts())

    def preflight_facts(self) -> Mapping[str, Any]:
        """What this run's preflight found (empty: it did not pass): DEADLINE_KEY, STAGE_KEY, SOURCE_FROZEN_KEY,
        ACCESS_BEFORE_FREEZE_KEY (where it recorded one)."""
        facts = self.task_instance.xcom_pull(task_ids=self.task_id(PREFLIGHT_TASK)) or {}
        return facts if isinstance(facts, Mapping) and DEADLINE_KEY in facts else {}

    def validated(self) -> bool:
        """Whether this run's validate passed on this database (DMS had completed the migration)."""
        return self.task_instance.xcom_pull(task_ids=self.task_id(VALIDATE_TASK)) == VALIDATED

    def created_in_this_run(self, operation_id: Optional[str]) -> bool:
        """Whether this run's start_migration created DMS migration `operation_id` (not adopted it)."""
        created = self.task_instance.xcom_pull(task_ids=self.task_id(START_MIGRATION_TASK), key=CREATED_MIGRATION_KEY)
        return bool(operation_id) and created == operation_id

    def remembered_migration(self) -> Optional[Tuple[str, str]]:
        """(operation id, where) of a DMS migration into the target that this run recorded, an earlier try's included
        (None: none): the one its start_migration created or adopted (its XComs, or, for a later try of it, whose start
        cleared them, its record of this pass: `record_started_migration`), its cutover requested, or its preflight
        found not ended. Airflow clears a task's XComs only when it runs again: a task not run since the run was cleared
        from it (from preflight, say) holds those of the pass before, whose rollback may have ended that migration
        and a person deleted it since; they count no more."""
        for task, key in ((START_MIGRATION_TASK, CREATED_MIGRATION_KEY), (START_MIGRATION_TASK, "return_value"), (CUTOVER_TASK, "return_value")):
            found = self.task_instance.xcom_pull(task_ids=self.task_id(task), key=key)
            if (isinstance(found, str) and found
                    and task_state_in_run(self.airflow_context, self.task_id(task)) not in NOT_STARTED_STATES):
                return found, "the XCom %s of %s" % (key, self.task_id(task))
        found = self._started_migration_of_this_pass()
        if found:
            return found, "the Airflow Variable %s" % self._started_migration_key()
        found = self.preflight_facts().get(MIGRATION_KEY)
        return (found, "the XCom of %s" % self.task_id(PREFLIGHT_TASK)) if found else None

    def record_started_migration(self, operation_id: str) -> None:
        """start_migration's record of the migration it created or adopted where its next try still reads it (Airflow
        clears the task's XComs as that try starts, and right after a create ARM's GET and list may both miss it):
        marked with this run and this pass (its preflight's deadline), it counts for them only, so one left behind
        blocks no later run or pass. Preflight drops it as a pass begins (`drop_started_migration`)."""
        self.put_record_of_this_pass(self._started_migration_key(), migration=operation_id)

    def drop_started_migration(self) -> None:
        delete_scratch_record(lambda: self.services.records, self._started_migration_key(), "the migration the pass before started")

    def _started_migration_of_this_pass(self) -> Optional[str]:
        found = self.record_of_this_pass(self._started_migration_key()).get("migration")
        return found if isinstance(found, str) and found else None

    def put_record_of_this_pass(self, key: str, **fields: Any) -> None:
        """A record (`services.records`, an Airflow Variable) a later poke or try of this run and pass reads
        (`record_of_this_pass`): Airflow clears a task's XComs at each poke. Marked with this run and this pass (its
        preflight's deadline), it counts for them only, so one left behind misleads no later run or pass."""
        value = dict(fields, run=self.run_id, **{PREFLIGHT_TASK: self.preflight_facts().get(DEADLINE_KEY, "")})
        self.services.records.put(key, json.dumps(value, separators=(",", ":"), sort_keys=True))

    def record_of_this_pass(self, key: str) -> Mapping[str, Any]:
        """The record `put_record_of_this_pass` wrote under `key` in this run and pass; {} where it is another run's or
        pass's, absent or unreadable."""
        try:
            record = json.loads(self.services.records.get(key) or "{}")
        except ValueError:
            return {}
        deadline = self.preflight_facts().get(DEADLINE_KEY)
        if not isinstance(record, Mapping) or not deadline or record.get("run") != self.run_id or record.get(PREFLIGHT_TASK) != deadline:
            return {}
        return record

    def _started_migration_key(self) -> str:
        return "%s%s__%s" % (STARTED_MIGRATION_PREFIX, self.plan.name, self.database.name)

    def started_event_arrived(self) -> bool:
        """Whether an earlier poke of this try of the task stored its `Started` event (`record_started_event`). Airflow
        clears a task's XComs at every poke of a rescheduled try: the mark is in the try's record of its first poke (an
        Airflow Variable marked with the run and the try's number, which reschedules keep; not Airflow's account of the
        first poke: Airflow 3 has none on the first poke, and then gives the time of the first reschedule)."""
        try:
            return record_of_this_try(self.services.records.get(self._first_poke_key()), self.airflow_context).get("startedEvent") is True
        except ValueError:
            return False

    def record_started_event(self) -> None:
        value = dict(this_try(self.airflow_context), startedEvent=True)
        if self.first_poke is not None:
            value["firstPoke"] = self.first_poke.isoformat()
        self.services.records.put(self._first_poke_key(), json.dumps(value, separators=(",", ":"), sort_keys=True))

    def _first_poke_key(self) -> str:
        return first_poke_key(self.plan.name, self.database.name, self.task_name)

    def rollback_began(self) -> bool:
        """Whether this run's rollback began undoing the database after this run's preflight passed (its deadline,
        the same in both XComs: a preflight run again since, the run cleared from it, makes a new one). A step a
        person cleared alone after the rollback would act on what the rollback left."""
        began = self.task_instance.xcom_pull(task_ids=self.task_id("rollback"), key=ROLLBACK_BEGAN_KEY)
        return bool(began) and began == self.preflight_facts().get(DEADLINE_KEY)

    def push_for_this_run(self, key: str, message: str) -> None:
        """This task's XCom `key`, marked with this run's preflight (its deadline, as `rollback_began`): Airflow clears
        a task's XComs only when it runs again, so in a run cleared from its preflight what an earlier try pushed stays
        until then; `pulled_for_this_run` ignores it."""
        self.task_instance.xcom_push(key=key, value={PREFLIGHT_TASK: self.preflight_facts().get(DEADLINE_KEY, ""), "message": message})

    def pulled_for_this_run(self, task_name: str, key: str) -> str:
        """What task `task_name` pushed as `key` (`push_for_this_run`) since this run's preflight passed (empty: nothing,
        or an earlier try's before the run was cleared from its preflight). A string: pushed by a version before the mark."""
        found = self.task_instance.xcom_pull(task_ids=self.task_id(task_name), key=key)
        if isinstance(found, Mapping) and found.get(PREFLIGHT_TASK) == self.preflight_facts().get(DEADLINE_KEY, ""):
            return found.get("message") or ""
        return found if isinstance(found, str) else ""

    def preflight_ran(self) -> bool:
        """Whether this run's preflight started on this database since the run was last cleared from it (a held
        database's never does): its `started` XCom, and its state in the run one that only running it reaches. Airflow
        clears a task's XComs only when it runs again: in a run cleared with downstream tasks whose preflight was
        held back (upstream_failed) this time, the XCom of its earlier try is still there. Airflow 3.4 keeps a task's
        XComs per attempt: a try of preflight that failed into a retry, the retry then marked failed by a person, left
        its `started` with its archived attempt and the task's XCom empty (3.3 keeps it): there preflight failed and
        the record of the database's current run, which preflight writes first (`current_run`), names this run. Was:
        the rollback took it for a database this run never worked on and skipped, reported "not started", no event."""
        state = task_state_in_run(self.airflow_context, self.task_id(PREFLIGHT_TASK))
        if state in NOT_STARTED_STATES:
            return False
        if self.task_instance.xcom_pull(task_ids=self.task_id(PREFLIGHT_TASK), key="started"):
            return True
        from migration_orchestration_lib.current_run import current_run_key

        return state == "failed" and self.services.records.get(current_run_key(self.plan.name, self.database.name)) == self.run_id
