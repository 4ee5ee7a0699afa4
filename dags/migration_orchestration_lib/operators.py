"""The Airflow operators: one task of one database's migration, and the run's outcome.

`MigrationTask` runs a step; when the step must wait (`StepPending`) it gives its worker slot
back and pokes again later: rescheduled (every host) or deferred to a timer in the triggerer
(hosts with one, `MIGRATION_WAIT_MODE=deferrable`). The wait between pokes grows with the time
waited since the first poke, and every wait of a database stops at one deadline: preflight's
start plus the database's `timeoutMinutes`. Every poke that finds it still waiting writes a
`Running` event (the events contract's heartbeat, at least every `max_poke_wait`); a step at work inside
its poke writes it through `StepContext.on_running` (a direct validation's batches: `DatabaseSql.compare`).
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, Sequence

from migration_orchestration_lib import crash_points, cutover_steps, removed_databases
from migration_orchestration_lib.airflow_compat import (
    AIRFLOW_3,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSkipException,
    AirflowTaskTimeout,
    BaseOperator,
    BaseSensorOperator,
    TaskDeferred,
    running_try,
    task_states_of_run,
    time_delta_trigger,
    utc_now,
    will_retry,
)
from migration_orchestration_lib.azure_waits import NoTimeToWait, calls_end_by
from migration_orchestration_lib.daemon_work import DaemonWork
from migration_orchestration_lib.connections import redact, redacting_logger
from migration_orchestration_lib.cutover_windows import iso_utc
from migration_orchestration_lib.dms_gateway import DmsError
from migration_orchestration_lib.events import RoleAssignmentSpreading, build_event_row
from migration_orchestration_lib.plan import MigrationPlan
from migration_orchestration_lib.rollback import HELD_BACK_UNDER_WAY, KEPT_TARGET_OUTCOME, KEPT_TARGET_STATUS, ROLLBACK_TASK, NothingToRollBack
from migration_orchestration_lib.settings import ConfigurationError, Timing
from migration_orchestration_lib.step_context import (
    AWAIT_CUTOVER_TASK,
    CAPACITY_AT_HORIZON,
    DONE_TASK,
    START_MIGRATION_TASK,
    WAITING_FOR_CAPACITY,
    WINDOW_MISSED_KEY,
    CapacityWait,
    CutoverWait,
    StepContext,
    StepFailure,
    StepPending,
    StepResult,
    StillWaiting,
    WindowMissed,
    forgetting_the_first_poke_as_the_try_ends,
)

log = redacting_logger(__name__)

# Failures that retrying cannot fix: fail the task at once (AirflowFailException skips retries).
PERMANENT_FAILURES = (StepFailure, ConfigurationError)
OUTCOME_KEY = "outcome"
# A rollback's try pushes it once its `Failed` event was written (the task, or its failure callback where that can push
# XCom): `run_outcome` writes one for a rollback that failed for good with neither it nor an outcome.
FAILED_EVENT_KEY = "failed_event_written"
# A database's outcome in this run: `done` pushes migrated; `rollback` rolled_back, rolled_back_target_kept
# (`KEPT_TARGET_OUTCOME`), not_started, held back under way (`HELD_BACK_UNDER_WAY`) or waiting (back to replicating after a missed window); `await_cutover` waiting (rehearsal horizon).
WAITING = "waiting"
# Which task pushed a database's outcome in its latest try, by the state of its `done` in the run: done succeeded
# (migrated); the chain was skipped (waiting at a rehearsal's horizon: `await_cutover`, or `start_migration` for one
# waiting for capacity; nothing failed, so the rollback did not run); anything else (a task failed: the rollback ran,
# `one_failed`).
OUTCOME_PUSHER = {"success": "done", "skipped": AWAIT_CUTOVER_TASK}
# Task states after which a database's tasks do nothing more in this run.
ENDED_STATES = frozenset({"success", "skipped", "failed", "upstream_failed", "removed"})


# What azure-core's RetryPolicy itself retries (408, 429, 500, 502, 503, 504), once its own few
# retries are spent (retry_status 3, backoff 0.8 s doubling: seconds; ARM's 429 and 503 carry
# Retry-After, which it honours). ARM throttles per principal and subscription and asks to be
# retried after Retry-After (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
TRANSIENT_HTTP_STATUS = (408, 429, 500, 502, 503, 504)
# run_outcome's reads of DMS for databases removed from the plan where Azure is briefly unavailable (throttled past the
# pipeline's retries, 5xx): `poke_interval` apart. It has no later poke; its read failing fails the run.
OUTCOME_DMS_READS = 4
# The share of a task's execution_timeout its Azure calls leave it to report (its events, its failure; 5 of 20 minutes):
# a wait that would end past it is not begun (`azure_waits.NoTimeToWait`), and run_outcome's reads of DMS still
# unanswered then count as DMS unreadable, rather than the timeout killing the task with no report.
REPORT_SHARE = 0.25
# The least an event write gets once its task's time is spent (the Failed event of an attempt its execution_timeout
# stopped): one short try.
LAST_EVENT_BUDGET = timedelta(seconds=30)


def is_transient_azure_error(error: BaseException) -> bool:
    """Whether a later poke may well succeed where this one met Azure unavailable: the DMS gateway's
    retryable errors (unreachable, throttled, 5xx, an operation still running at its deadline,
    `OperationInProgress`), and azure-core's from other clients (Data Factory): no connection, no
    answer, a throttled / 5xx answer, or a wait longer than the task had left (`NoTimeToWait`); and a role assignment
    that preflight's proof still waits for. azure-core is
    imported only here (parsing loads no Azure SDK)."""
    if isinstance(error, DmsError):
        return bool(error.retryable)
    if isinstance(error, (RoleAssignmentSpreading, NoTimeToWait)):
        return True
    try:
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    except ImportError:
        return False
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return True
    return isinstance(error, HttpResponseError) and getattr(error, "status_code", None) in TRANSIENT_HTTP_STATUS


def read_while_transient(read: Callable[[], Any], attempts: int, pause: timedelta, not_after: Optional[datetime] = None) -> Any:
    """`read()`, again after `pause` where Azure is briefly unavailable (`is_transient_azure_error`), at most `attempts`
    times: for a task that has no later poke to wait it out in. Every read and pause ends by `not_after` (None: no
    bound): a read still unanswered then raises NoAnswerInTime, and none begins that could not end by it."""
    for attempt in range(1, attempts + 1):
        try:
            return read() if not_after is None else _answer_by(read, not_after)
        except Exception as error:
            if (attempt == attempts or not is_transient_azure_error(error)
                    or (not_after is not None and utc_now() + pause >= not_after)):
                raise
            log.warning("%s; reading again in %s", redact(azure_unavailable(error)), pause)
            time.sleep(pause.total_seconds())


class NoAnswerInTime(Exception):
    """A read that had not answered when its task had to go on to report (`read_while_transient`)."""


def _answer_by(read: Callable[[], Any], not_after: datetime) -> Any:
    """`read()` in a thread of its own, waited for until `not_after`: its waits end by then (`azure_waits`), but a
    silent connection holds each try up to `azure_waits.CLIENT_TIMEOUTS`. A read given up on runs on in its daemon
    thread until the task's process ends, and changes nothing."""
    reader = DaemonWork(read, "read-by-deadline")
    if not reader.wait((not_after - utc_now()).total_seconds()):
        raise NoAnswerInTime("no answer by %s, when the task had to go on to report" % not_after.isoformat(timespec="seconds"))
    return reader.result()


def azure_unavailable(error: BaseException) -> str:
    """The `Running` event's message for a poke that waits out a transient Azure error."""
    return "Azure unavailable, poking again: %s: %s" % (type(error).__name__, error)


def attempt_end_of(execution_timeout: Optional[timedelta]) -> Optional[datetime]:
    """When `execution_timeout` stops an attempt begun now (None: no bound): its event writes wait no longer."""
    return utc_now() + execution_timeout if execution_timeout else None


def calls_left_of(execution_timeout: Optional[timedelta]) -> Optional[float]:
    """How long an attempt's Azure calls may wait: its execution_timeout but REPORT_SHARE (None: no bound)."""
    return None if not execution_timeout else execution_timeout.total_seconds() * (1 - REPORT_SHARE)


def next_poke_in(waited: timedelta, timing: Timing) -> timedelta:
    """Half the time waited so far, between the first and the longest poke interval.

    Computed from elapsed time, not from a poke counter (which Airflow 2.6.3 restarts at every
    reschedule), so the pokes thin out the same way on every Airflow version.
    """
    return min(timing.max_poke_wait, max(timing.poke_interval, waited / 2))


class SecretRedactedError(Exception):
    """A step's failure whose text quoted a secret, raised again with that secret taken out."""


def secret_free(error: BaseException) -> BaseException:
    """`error` as Airflow may log it, traceback and exception chain included: where its own text quotes a
    secret, a SecretRedactedError with that text redacted; where only an exception it was raised from or
    while handling does (a driver's error quoting its connection string), `error` without its chain."""
    if redact(str(error)) != str(error):
        return SecretRedactedError("%s: %s" % (type(error).__name__, redact(str(error))))
    if any(redact(str(earlier)) != str(earlier) for earlier in _chain_of(error)):
        error.__cause__ = error.__context__ = None
        error.__suppress_context__ = True
    return error


def raise_secret_free(error: BaseException) -> NoReturn:
    """Raise the exception being handled, `error`, as `secret_free` leaves it."""
    kept = secret_free(error)
    if kept is error:
        raise error
    raise kept from None


def _chain_of(error: BaseException) -> List[BaseException]:
    """Every exception `error` was raised from or while handling, however deep."""
    found: List[BaseException] = []
    pending = [error.__cause__, error.__context__]
    while pending:
        earlier = pending.pop()
        if earlier is not None and all(earlier is not seen for seen in found) and earlier is not error:
            found.append(earlier)
            pending += [earlier.__cause__, earlier.__context__]
    return found


class MigrationTask(BaseSensorOperator):
    """Runs one step of one database; waits without a worker slot; writes one event per outcome."""

    ui_color = "#dbe9f6"

    def __init__(
        self,
        *,
        plan: MigrationPlan,
        database_name: str,
        phase: str,
        step: Callable[[StepContext], StepResult],
        timing: Timing,
        **kwargs: Any
    ) -> None:
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("execution_timeout", timing.step_timeout)
        kwargs.setdefault("timeout", timedelta(minutes=plan.database(database_name).timeout_minutes).total_seconds())
        super().__init__(poke_interval=timing.poke_interval.total_seconds(), **kwargs)
        self.plan = plan
        self.database_name = database_name
        self.phase = phase
        self.step = step
        self.timing = timing

    def poke(self, context: Any) -> bool:  # pragma: no cover - execute() drives the step
        raise NotImplementedError("MigrationTask runs its step from execute()")

    def execute(self, context: Any, first_poke: Optional[str] = None) -> Any:
        with calls_end_by(calls_left_of(self.execution_timeout)):
            return self._run_step(context, first_poke)

    def _run_step(self, context: Any, first_poke: Optional[str]) -> Any:
        ctx = StepContext(self.plan, self.plan.database(self.database_name), context, self.timing, self.phase)
        first = ctx.first_poke_of_this_try(first_poke)
        with forgetting_the_first_poke_as_the_try_ends(ctx.forget_first_poke_of_this_try, (AirflowRescheduleException, TaskDeferred)):
            return self._poke(ctx, first)

    def _poke(self, ctx: StepContext, first: datetime) -> Any:
        ctx.attempt_ends = attempt_end_of(self.execution_timeout)
        ctx.on_started = lambda message, must_arrive=False: self._emit(ctx, "Started", message, first, must_arrive)
        ctx.on_running = lambda message: self._emit(ctx, "Running", message, first)
        try:
            result = self.step(ctx)
        except CutoverWait as waiting:
            return self._wait_for_cutover(ctx, waiting, first)
        except CapacityWait as full:
            return self._wait_for_capacity(ctx, full, first)
        except StepPending as pending:
            return self._wait(ctx, str(pending), first)
        except NothingToRollBack as skip:
            ctx.task_instance.xcom_push(key=OUTCOME_KEY, value="not_started")
            raise AirflowSkipException(str(skip))
        except StillWaiting as still:
            self._emit(ctx, "WaitingForWindow", str(still), first)
            ctx.task_instance.xcom_push(key=OUTCOME_KEY, value=WAITING)
            raise AirflowSkipException(str(still))
        except WindowMissed as missed:
            self._miss_window(ctx, missed, first)
        except AirflowTaskTimeout as error:  # a BaseException from Airflow 2.10 on: `Exception` misses it
            self._report_failure(ctx, error, first)
            raise_secret_free(error)
        except Exception as error:
            self._remember_secrets(ctx)
            if is_transient_azure_error(error):
                return self._wait_out(ctx, error, first)
            self._report_failure(ctx, error, first)
            raise_secret_free(error)
        self._emit(ctx, result.status, result.message, first)
        log.info("%s %s: %s", self.database_name, self.phase, result.message)
        if isinstance(result.return_value, str) and self.phase in ("done", ROLLBACK_TASK):
            ctx.task_instance.xcom_push(key=OUTCOME_KEY, value=result.return_value)
        crash_points.after_side_effects(self.database_name, self.phase, os.environ)
        return result.return_value

    def resume(self, context: Any, event: Any = None, first_poke: Optional[str] = None) -> Any:
        """Where a deferred wait comes back: poke again."""
        return self.execute(context, first_poke=first_poke)

    def _remember_secrets(self, ctx: StepContext) -> None:
        """The database's secrets, so that `redact` knows them in this task's process (Airflow runs each
        task in its own: a step that never fetched the storage key still meets an error quoting it)."""
        try:
            source, target = self.plan.source_of(ctx.database), self.plan.target_of(ctx.database)
            holders = [source, target, source.backup_file_share, self.plan.backup_storage]
            for connection_id in sorted({holder.connection_id for holder in holders if holder is not None}):
                ctx.services.connections.get(connection_id)  # a ConnectionSecret remembers its password
        except Exception as error:  # never hide the step's own failure
            log.warning("Could not read the connections of %s to redact their secrets: %s", self.database_name, type(error).__name__)

    def _wait(self, ctx: StepContext, reason: str, first: datetime, waiting: Optional[str] = None) -> None:
        """`waiting`: what the step waits for, as a WindowMissed would say it (default `reason`)."""
        reason = redact(ctx.with_what_it_did(reason))  # an Azure error waited out may quote a secret: logged and raised below
        if ctx.freeze_not_begun:  # before the freeze the deadline counts as a window's close: no failure, no cancel
            try:
                cutover_steps.check_room_before_freeze(ctx, redact(waiting or reason))
            except WindowMissed as missed:
                self._miss_window(ctx, missed, first)
        now = utc_now()
        deadline = None if self.phase == ROLLBACK_TASK else ctx.deadline()
        if (now - first).total_seconds() > self.timeout:  # this task's own bound (preflight, rollback)
            deadline = now
        if deadline is not None and now >= deadline:
            message = "timeoutMinutes (%d) passed while waiting: %s" % (ctx.database.timeout_minutes, reason)
            self._emit(ctx, "Failed", message, first)
            raise AirflowFailException("%s %s: %s" % (self.database_name, self.phase, message))
        delay = next_poke_in(now - first, self.timing)
        if deadline is not None:
            delay = min(delay, deadline - now)
        # The heartbeat of the events contract: every poke of a waiting step says it still runs.
        self._emit(ctx, "Running", "waiting: %s" % reason, first)
        log.info("%s %s: waiting (%s); next poke in %s", self.database_name, self.phase, reason, delay)
        self._poke_again(now, delay, first)

    def _wait_for_capacity(self, ctx: StepContext, full: CapacityWait, first: datetime) -> None:
        """Waits for a place in DMS as for anything else (`_wait`). In a rehearsal (a clock with a horizon), where only
        time can free a place (every one held by databases of the plan waiting at their gates, or whose tasks in this
        run have ended: replicating, rejected at every window, left by a rollback; or by migrations of no database of
        the plan, another plan's or a person's, which the world's DMS moves on only when they are read, and no task of
        the run reads them), the simulated clock drives the wait: it counts as waiting, not on its way to its gate
        (other gates go on meanwhile, the clock jumps), and at the horizon the database ends not started, nothing
        failed (skipped, `WAITING_FOR_CAPACITY`), rather than poking until its real `timeoutMinutes` (a rehearsal ran
        ~12 h so). Each poke still reads DMS: a place freed by hand meanwhile admits it."""
        clock = ctx.services.clock
        horizon = clock.horizon()
        if horizon is None:
            return self._wait(ctx, str(full), first)
        if not self._only_time_frees(ctx, full.holders):
            clock.goes_on(self.database_name)  # on its way: the clock waits for it (a holder's progress may free a place)
        else:
            clock.wait(self.database_name, None, for_capacity=True)  # not a gate's poke: the stall guard counts it apart
            if clock.now() >= horizon:
                clock.release(self.database_name)
                held = ["%s (replicating in DMS, no cutover of theirs before the horizon)" % ", ".join(full.holders)] if full.holders else []
                if full.unplanned:
                    held.append("%d migration(s) of no database of the plan (another plan's or a person's: nothing in a "
                                "rehearsal ends them)" % full.unplanned)
                message = (
                    "waiting for capacity on %s %s at its horizon %s (MIGRATION_SIMULATE_UNTIL): %s, held by %s; "
                    "%s was not started"
                    % (full.where, CAPACITY_AT_HORIZON, iso_utc(horizon), str(full).split(": ", 1)[-1],
                       " and ".join(held) or "-", ctx.database.source_database))
                self._emit(ctx, "Running", message, first)
                ctx.task_instance.xcom_push(key=OUTCOME_KEY, value=WAITING_FOR_CAPACITY)
                raise AirflowSkipException(message)
        return self._wait(ctx, str(full), first)

    @staticmethod
    def _only_time_frees(ctx: StepContext, holders: Sequence[str]) -> bool:
        """Whether each of `holders` waits at its gate (the clock's) or has ended in this run (its `done` and its
        rollback, the last of its tasks): no holder's progress can free a place, only time (or the horizon) can."""
        left = set(holders) - ctx.services.clock.waiting()
        if not left:
            return True
        states = task_states_of_run(ctx.airflow_context)
        return all(states.get("%s.%s" % (name, task)) in ENDED_STATES for name in left for task in (DONE_TASK, ROLLBACK_TASK))

    def _wait_out(self, ctx: StepContext, error: Exception, first: datetime) -> None:
        """Azure briefly unavailable: this poke waits like any other and the next one does what is
        still missing (every step is idempotent), within the database's deadline. Failing would spend
        the task's retries in minutes and let rollback cancel days of replication."""
        reason = azure_unavailable(error)  # redacted where it is logged and written (`_wait`, the event row)
        if self.phase == AWAIT_CUTOVER_TASK:  # no deadline while it waits for its window
            return self._wait_for_cutover(ctx, CutoverWait("Running", reason), first)
        return self._wait(ctx, reason, first, "Azure unavailable (%s: %s)" % (type(error).__name__, error))

    def _wait_for_cutover(self, ctx: StepContext, waiting: CutoverWait, first: datetime) -> None:
        """await_cutover waits as long as the windows and approvers require (no deadline: a plan may
        wait days for Saturday night); each poke's event says why (the heartbeat, every poke)."""
        now = utc_now()
        delay = next_poke_in(now - first, self.timing)
        if waiting.until is not None:
            delay = max(timedelta(0), min(delay, waiting.until - ctx.services.clock.now()))
        delay = max(delay, waiting.pace)
        self._emit(ctx, waiting.status, str(waiting), first)
        log.info("%s %s: %s (%s); next poke in %s", self.database_name, self.phase, waiting.status, waiting, delay)
        self._poke_again(now, delay, first)

    def _poke_again(self, now: datetime, delay: timedelta, first: datetime) -> None:
        """Give the worker slot back until the next poke: deferred where a triggerer runs, else rescheduled."""
        if self.timing.deferrable:
            self.defer(trigger=time_delta_trigger(delay), method_name="resume", kwargs={"first_poke": first.isoformat()})
        raise AirflowRescheduleException(now + delay)

    def _miss_window(self, ctx: StepContext, missed: WindowMissed, first: datetime) -> None:
        """Not a failure of the migration: the rollback task goes back to replicating."""
        self._emit(ctx, "WindowMissed", str(missed), first)
        ctx.push_for_this_run(WINDOW_MISSED_KEY, str(missed))
        raise AirflowFailException(str(missed)) from missed

    def _report_failure(self, ctx: StepContext, error: BaseException, first: datetime) -> None:
        """The step's failure as an event (Retrying while Airflow retries it); a failure no retry can fix
        fails the task at once."""
        permanent = isinstance(error, PERMANENT_FAILURES)
        retrying = will_retry(ctx.task_instance, error) and not permanent
        message = "%s: %s" % (type(error).__name__, error)
        if isinstance(error, AirflowTaskTimeout):
            message += " (the attempt ran longer than its execution_timeout (%s) and was stopped)" % self.execution_timeout
        message = ctx.with_what_it_did(message)
        self._emit(ctx, "Retrying" if retrying else "Failed", message, first)
        if permanent:
            kept = secret_free(error)
            raise AirflowFailException(redact(str(error))) from (error if kept is error else None)

    def _emit(self, ctx: StepContext, status: str, message: str, first: datetime, must_arrive: bool = False) -> None:
        if status == "Failed":
            self.failure_reported = True  # read by `report_a_lost_rollback` in this process
        written = write_event(
            must_arrive,
            ctx.attempt_ends,
            run_id=ctx.run_id,
            plan_name=self.plan.name,
            database=self.database_name,
            phase=self.phase,
            status=status,
            duration_seconds=max(0.0, (utc_now() - first).total_seconds()),
            message=message,
            target_kind=ctx.database.target_kind,
            migration_operation_id=ctx.operation_id,
        )
        if status == "Failed" and written and self.phase == ROLLBACK_TASK:
            _mark_failed_event_written(ctx.task_instance)


def _mark_failed_event_written(ti: Any) -> None:
    """FAILED_EVENT_KEY, pushed after the event: a worker lost between the two leaves a second `Failed`, not none."""
    try:
        ti.xcom_push(key=FAILED_EVENT_KEY, value=True)
    except Exception as error:  # run_outcome then writes a second Failed: better than failing over the mark
        log.warning("Could not mark the Failed event of %s written: %s", ti.task_id, redact(str(error)))


LOST_ROLLBACK = (
    "the rollback's worker was lost on its last try before it ended (killed: out of memory, a node or pod gone, or "
    "no heartbeat), or it failed without writing its event (%s): whether it finished is unknown. The source database "
    "%s may still be frozen, a DMS migration of it into %s on %s may still run and the target may be left RESTORING. "
    "Clear the failed rollback task of %s: it reads DMS and SQL Server again and does only what is still missing"
)


def report_a_lost_rollback(context: Mapping[str, Any]) -> None:
    """`on_failure_callback` of every rollback task: a rollback that failed for good without writing its `Failed`
    event writes one (`rollback-failed` fires). Airflow runs it in the task's process after a failure there, and in
    the DAG processor for a task whose worker died (2.x: a zombie, with `exception` the scheduler's message; 3.x: no
    heartbeat, apache/airflow#53058, where 3.1 calls it on a try that will be retried too). It writes one event and
    reads and marks this try's XCom: it never rolls back again nor touches a database. Prompt where it works; where it
    cannot write (a DAG processor without Azure identity) or is not called (3.x: the task's process alone killed, its
    supervisor reporting it failed, apache/airflow#60858), `run_outcome` writes the event once the run's tasks ended."""
    task, ti, cause = context["task"], context["ti"], context.get("exception")
    if getattr(task, "failure_reported", False):
        return  # the task wrote its Failed itself
    in_its_process = isinstance(cause, BaseException)  # there Airflow calls it only on a failure for good
    if not in_its_process and running_try(ti) <= (getattr(ti, "max_tries", 0) or 0):
        return  # Airflow runs it again
    try:
        ended = ti.xcom_pull(task_ids=task.task_id, key=OUTCOME_KEY) or ti.xcom_pull(task_ids=task.task_id, key=FAILED_EVENT_KEY)
    except Exception as error:  # the event matters more than the read
        log.warning("Could not read the outcome of %s: %s", task.task_id, redact(str(error)))
        ended = None
    if ended:
        return  # the try wrote its Failed, or its end event (RolledBack, WindowMissed) and its outcome, then its worker died
    cause = "%s: %s" % (type(cause).__name__, cause) if in_its_process else cause or "no heartbeat"
    written = write_lost_rollback(context["run_id"], task.plan, task.database_name, cause)
    if written and (in_its_process or not AIRFLOW_3):  # Airflow 3's DAG processor cannot push XCom
        _mark_failed_event_written(ti)


def write_lost_rollback(run_id: str, plan: MigrationPlan, database_name: str, cause: str, not_after: Optional[datetime] = None) -> bool:
    """The `rollback` / `Failed` event of a rollback whose end is unknown (LOST_ROLLBACK); whether it was written."""
    database = plan.database(database_name)
    return write_event(
        not_after=not_after, run_id=run_id, plan_name=plan.name, database=database_name, phase=ROLLBACK_TASK, status="Failed",
        duration_seconds=0.0, target_kind=database.target_kind, migration_operation_id=None,
        message=redact(LOST_ROLLBACK % (
            cause, database.source_database, database.target_database, database.target_server, database_name)),
    )


def _event_name(database: str, phase: str, status: str) -> str:
    return "%s %s / %s" % (database, phase, status)


def write_event(must_arrive: bool = False, not_after: Optional[datetime] = None, **fields: Any) -> bool:
    """One row of the events table (`build_event_row`'s fields); whether it was written: reporting never fails a
    migration. But a row that `must_arrive` (preflight's first, before anything is started or frozen) is proven: an
    upload that fails raises (`LogsIngestionEventWriter.prove`), for without events no alert can fire. `not_after`: when
    the task's execution_timeout stops it; the upload waits no longer (but for LAST_EVENT_BUDGET)."""
    from migration_orchestration_lib.services import event_writer_from_environment

    budget = None if not_after is None else max(LAST_EVENT_BUDGET, not_after - utc_now())
    if must_arrive:  # its duration: since the first poke of this try, the time a role assignment had to apply
        waited = timedelta(seconds=fields["duration_seconds"])
        event_writer_from_environment(os.environ).prove(build_event_row(**fields), waited, budget)
        return True
    try:  # a writer swallows an upload that failed (False): a rollback's `Failed` is then not marked written
        return bool(event_writer_from_environment(os.environ).write(build_event_row(**fields), budget))
    except AirflowTaskTimeout:  # execution_timeout struck while reporting (an Exception before Airflow 2.10)
        raise
    except Exception as error:
        log.warning("Could not emit migration event %s/%s: %s", fields["database"], fields["phase"], error)
        return False


class EventsNotWritten(Exception):
    """run_outcome's report whose events the Logs Ingestion API did not take: not an AirflowFailException, so that
    Airflow retries run_outcome, whose retry writes them again."""


class RunOutcomeOperator(BaseOperator):
    """The run's only leaf: fails the run when any database did not finish, whatever rolled back.

    Reads each database's outcome from XCom (`done` pushes `migrated`, `rollback` pushes
    `rolled_back` or `not_started`), from the task that pushed it in the database's latest try:
    `OUTCOME_PUSHER`, by the run's task states (`task_states_of_run`). Its verdict fails the run for good
    (AirflowFailException), but for an event it could not write (`EventsNotWritten`); that, and any other error (a timeout,
    a metadata read), Airflow retries: a retry reads the run again and writes its events again, changing nothing else.
    """

    ui_color = "#e8e8e8"

    def __init__(
        self,
        *,
        database_names: Sequence[str],
        depends_on: Optional[Mapping[str, Sequence[str]]] = None,
        plan: Optional[MigrationPlan] = None,
        **kwargs: Any,
    ) -> None:
        """`plan`: look for databases removed from it mid-migration (`removed_databases`); the DAG always gives it."""
        super().__init__(**kwargs)
        self.database_names = list(database_names)
        self.depends_on = {name: list((depends_on or {}).get(name, ())) for name in self.database_names}
        self.plan = plan

    def execute(self, context: Any) -> Any:
        with calls_end_by(calls_left_of(self.execution_timeout)):
            return self._report(context)

    def _report(self, context: Any) -> Any:
        ti = context["ti"]
        ends = attempt_end_of(self.execution_timeout)
        states = task_states_of_run(context)

        def outcome_of(name: str) -> Optional[str]:
            """The outcome its latest try pushed, by the state of its `done` in the run: Airflow clears a task's XComs
            only when it runs again, so in a run cleared from `validate` whose `validate` fails this time, `done`
            (upstream_failed) keeps the `migrated` of the earlier try, and a rollback skipped by its trigger rule
            keeps its own earlier outcome."""
            task = OUTCOME_PUSHER.get(states.get("%s.done" % name), ROLLBACK_TASK)
            pushed = ti.xcom_pull(task_ids="%s.%s" % (name, task), key=OUTCOME_KEY)
            if not pushed and task == AWAIT_CUTOVER_TASK:  # skipped before its gate: waiting for capacity at the horizon
                pushed = ti.xcom_pull(task_ids="%s.%s" % (name, START_MIGRATION_TASK), key=OUTCOME_KEY)
            return pushed or None

        outcomes = {name: outcome_of(name) for name in self.database_names}
        unwritten: List[str] = []  # the events the Logs Ingestion API did not take
        self._report_lost_rollbacks(context, states, ends, unwritten)
        stranded = self._report_stranded(context, outcome_of, ends, unwritten)
        self._hold_behind_waiting(outcomes)
        migrated = [n for n in self.database_names if outcomes[n] == "migrated"]
        waiting = [n for n in self.database_names if outcomes[n] == WAITING]
        no_capacity = [n for n in self.database_names if outcomes[n] == WAITING_FOR_CAPACITY]
        capacity = ("; not started, waiting for capacity when the rehearsal ended: %s" % ", ".join(no_capacity)) if no_capacity else ""
        removed = "" if not stranded else " %d database(s) removed from the plan mid-migration: %s" % (
            len(stranded), " ".join(stranded))
        if len(migrated) + len(waiting) + len(no_capacity) == len(self.database_names):
            if removed:
                self._fail("migration run failed:" + removed, unwritten)
            log.info(
                "%d database(s) migrated: %s; %d waiting for the next cutover window (replicating): %s%s",
                len(migrated), ", ".join(migrated) or "-", len(waiting), ", ".join(waiting) or "-", capacity,
            )
            return migrated
        rolled_back = [n for n in self.database_names if outcomes[n] == "rolled_back"]
        target_kept = [n for n in self.database_names if outcomes[n] == KEPT_TARGET_OUTCOME]
        held = [n for n in self.database_names if outcomes[n] == "not_started"]
        under_way = [n for n in self.database_names if outcomes[n] == HELD_BACK_UNDER_WAY]
        rollback_failed = [n for n in self.database_names if outcomes[n] is None]
        self._fail(
            "migration run failed: %d of %d database(s) not migrated. rolled back: %s; %snot started "
            "(a dependency failed or waits): %s; %srollback failed or incomplete: %s; migrated: %s; waiting for the next "
            "cutover window (replicating): %s"
            % (
                len(self.database_names) - len(migrated),
                len(self.database_names),
                ", ".join(rolled_back) or "-",
                "rolled back, target kept (a person drops it before the next run: see the rollback's %s event): %s; " % (
                    KEPT_TARGET_STATUS, ", ".join(target_kept)) if target_kept else "",
                ", ".join(held) or "-",
                "held back with its migration under way in DMS, nothing undone (a run in which what it depends on "
                "migrates goes on with it: see its rollback's Succeeded event): %s; " % ", ".join(under_way) if under_way else "",
                ", ".join(rollback_failed) or "-",
                ", ".join(migrated) or "-",
                ", ".join(waiting) or "-",
            )
            + capacity + removed,
            unwritten,
        )

    @staticmethod
    def _fail(message: str, unwritten: Sequence[str]) -> NoReturn:
        """The run failed: for good, unless an event of this report did not reach Log Analytics (its alert would not
        fire): then for Airflow to retry run_outcome, which writes the events again (one it did write, twice)."""
        if unwritten:
            raise EventsNotWritten(
                "%s. %d event(s) of this report did not reach Log Analytics (see the warnings above): %s. run_outcome "
                "fails so that Airflow retries it: a retry reads the run again and writes them (it changes nothing "
                "else); once its retries are spent, clear run_outcome when the Logs Ingestion API takes events again"
                % (message, len(unwritten), "; ".join(unwritten)))
        raise AirflowFailException(message)

    def _report_lost_rollbacks(self, context: Any, states: Mapping[str, str], ends: Optional[datetime], unwritten: List[str]) -> None:
        """The `Failed` event of each rollback that failed for good in this run with neither its own `Failed` (nor its
        callback's, where that could mark it: FAILED_EVENT_KEY) nor an outcome: its worker lost where the callback
        wrote nothing (a DAG processor without Azure identity) or was not called (apache/airflow#60858). Here, on a
        worker with the DAG's identity, every host and version. Each event not written is added to `unwritten`."""
        if self.plan is None:
            return
        ti = context["ti"]
        for name in self.database_names:
            task_id = "%s.%s" % (name, ROLLBACK_TASK)
            if states.get(task_id) != "failed":
                continue
            if ti.xcom_pull(task_ids=task_id, key=FAILED_EVENT_KEY) or ti.xcom_pull(task_ids=task_id, key=OUTCOME_KEY):
                continue
            log.error("%s failed with no Failed event: reporting its end unknown", task_id)
            if not write_lost_rollback(context["run_id"], self.plan, name, "run_outcome found it failed with no event", ends):
                unwritten.append(_event_name(name, ROLLBACK_TASK, "Failed"))

    def _report_stranded(
        self, context: Any, outcome_of: Callable[[str], Optional[str]], ends: Optional[datetime], unwritten: List[str]
    ) -> List[str]:
        """What to do about each database removed from the plan mid-migration, each also written as an event (added to
        `unwritten` where it was not). `ends`: when the task's execution_timeout stops it (its reads of DMS leave
        REPORT_SHARE of it for the report)."""
        if self.plan is None:
            return []
        from migration_orchestration_lib.services import records_for

        plan = self.plan

        def migrations_in_dms() -> Any:  # read only where a removed database may have left one running
            from migration_orchestration_lib.services import dms_for

            dms = dms_for(plan, os.environ)
            reads_end = None if ends is None else ends - self.execution_timeout * REPORT_SHARE
            return read_while_transient(dms.migrations_on_service, OUTCOME_DMS_READS, Timing.for_environment(os.environ).poke_interval, reads_end)

        records = records_for(os.environ)
        messages = []
        for stranded in removed_databases.find_stranded(records, plan, outcome_of, migrations_in_dms):
            message = redact(removed_databases.stranded_message(records, stranded))
            log.error(message)
            messages.append(message)
            # Not known to be stranded (no record, DMS unreadable): the run fails, and its event warns without an alert.
            unchecked = bool(stranded.unread) and not stranded.record
            status = "Retrying" if unchecked else "Failed"
            written = write_event(
                not_after=ends, run_id=context["run_id"], plan_name=plan.name, database=stranded.database.name, phase=ROLLBACK_TASK,
                status=status, duration_seconds=0.0, message=message,
                target_kind=stranded.database.target_kind,
                migration_operation_id=stranded.migration.migration_operation_id if stranded.migration else None,
            )
            if not written:
                unwritten.append(_event_name(stranded.database.name, ROLLBACK_TASK, status))
        return messages

    def _hold_behind_waiting(self, outcomes: Dict[str, Optional[str]]) -> None:
        """A database without an outcome behind a waiting one never began (its tasks were skipped at a
        rehearsal's horizon): it waits too; so does one not started behind a waiting one (whose window closed
        after its freeze: back to replicating) and nothing but migrated or waiting ones. Repeated until nothing
        changes, for chains of dependencies."""
        changed = True
        while changed:
            changed = False
            for name, dependencies in self.depends_on.items():
                held = outcomes[name] is None or (
                    outcomes[name] == "not_started"
                    and all(outcomes.get(d) in ("migrated", WAITING, WAITING_FOR_CAPACITY) for d in dependencies)
                )
                if held and any(outcomes.get(d) in (WAITING, WAITING_FOR_CAPACITY) for d in dependencies):
                    outcomes[name], changed = WAITING, True
