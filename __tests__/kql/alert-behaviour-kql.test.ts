/**
 * What the deployed event alerts and workbook panels return for histories the DAG writes, run over
 * their own windows (issue 14): time in `await_cutover` is not "running long", a waiting run is not
 * "stalled" while its heartbeats arrive, an open window waiting for an approver is told per
 * database with its message, and a rejection or a missed window is told too; a source frozen longer
 * than its database's `expectedMinutes` allows is told until it is migrated or unfrozen.
 */
import { MIGRATION_EVENT_COLUMNS } from '../../lib/monitoring/migration-events';
import { migrationWorkbookContent, workbookQueries } from '../../lib/monitoring/migration-workbook';
import { resourcesOfType, synthObject } from '../helpers/test-stack';
import { monitoring, PLAN_DATABASES } from '../monitoring/monitoring-test-stack';
import { DCR_LOG_ERRORS_COLUMNS } from './kql';
import { isoMinutes, runKql } from './kql-engine';
import { formatDropdown, workbookParameter } from './workbook-parameters';

const WORKBOOK_QUERIES = workbookQueries('contoso-sql');

type Event = {
  TimeGenerated: number;
  RunId: string;
  PlanName: string;
  Database: string;
  Phase: string;
  Status: string;
  DurationSeconds: number;
  Message: string;
  TargetKind: string;
  MigrationOperationId: string;
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-12-01T08:00:00Z');
/** A rollback's message that kept a target its ended migration left (`RolledBackTargetKept`). */
const TARGET_KEPT = 'rolled back, target kept: target Sales is OFFLINE, not RESTORING as a restore that never went live is left: kept';
const RUN = 'scheduled__2026-12-01T08:00:00+00:00';

/** The deployed alerts: each one's query and window, by name. */
const ALERTS = (() => {
  const { stack, monitoring: construct } = monitoring();
  construct.monitorMigrationEvents({ migrationStalledAlert: {}, databases: PLAN_DATABASES });
  return Object.fromEntries(
    Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_scheduled_query_rules_alert_v2')).map((alert: any) => [
      String(alert.name).replace('alert-contoso-sql-', ''),
      { query: alert.criteria[0].query as string, windowMs: isoMinutes(alert.window_duration) * MINUTE },
    ]),
  );
})();

/** The rows an alert's query returns at `now`: Azure runs it over the events inside its window. */
function alertRows(alert: string, events: Event[], now: number): Record<string, unknown>[] {
  const { query, windowMs } = ALERTS[alert];
  const inWindow = events.filter((event) => event.TimeGenerated <= now && event.TimeGenerated > now - windowMs);
  return runKql(query, { tables: { MigrationEvents_CL: eventsTable(inWindow) }, now });
}

function eventsTable(rows: Event[]) {
  return { columns: MIGRATION_EVENT_COLUMNS.map((column) => column.name), rows };
}

const RUN_PICKER = workbookParameter(migrationWorkbookContent('contoso-sql'), 'RunId');

/** The rows a workbook panel shows at `now` with the DAG runs picked in its run dropdown (by default All). */
function workbookRows(panel: keyof typeof WORKBOOK_QUERIES, events: Event[], now: number, runs: 'all' | string[] = 'all'): Record<string, unknown>[] {
  const seen = events.filter((event) => event.TimeGenerated <= now);
  const runIds = formatDropdown(RUN_PICKER, runs, [...new Set(seen.map((event) => event.RunId))]);
  const query = WORKBOOK_QUERIES[panel].replace(/\{TimeRange\}/g, '> ago(7d)').replace(/\{RunId\}/g, runIds);
  return runKql(query, { tables: { MigrationEvents_CL: eventsTable(seen) }, now });
}

/** A history the DAG writes: one database of one run, step by step. */
class History {
  readonly events: Event[] = [];
  constructor(
    private readonly database = 'database_1',
    private readonly targetKind = 'SqlMi',
    private readonly runId = RUN,
  ) {}

  event(at: number, phase: string, status: string, durationSeconds = 0, message = ''): this {
    this.events.push({
      TimeGenerated: at,
      RunId: this.runId,
      PlanName: 'contoso-sql',
      Database: this.database,
      Phase: phase,
      Status: status,
      DurationSeconds: durationSeconds,
      Message: message,
      TargetKind: this.targetKind,
      MigrationOperationId: 'op-1',
    });
    return this;
  }

  /** A step that starts at `from` and pokes every 15 minutes until `to`, as MigrationTask waits. */
  waits(phase: string, from: number, to: number, report?: { status: string; message: string }): this {
    this.event(from, phase, 'Started');
    for (let at = from + 15 * MINUTE; at < to; at += 15 * MINUTE) {
      if (report) this.event(at, phase, report.status, (at - from) / 1000, report.message);
      this.event(at, phase, 'Running', (at - from) / 1000, `waiting: ${phase}`);
    }
    return this;
  }

  step(phase: string, at: number, minutes = 1): this {
    return this.event(at, phase, 'Started').event(at + minutes * MINUTE, phase, 'Succeeded', minutes * 60);
  }
}

const WINDOW_MESSAGE = 'waiting for the window Sat 2026-12-05 22:00 Europe/Berlin';
const APPROVAL_MESSAGE =
  'window 2026-12-05T21:00:00Z-2026-12-06T03:00:00Z is open; approvers: alice@contoso.com; approve in the Airflow UI or: ' +
  'airflow variables set migration_cutover_approval__database_1 \'{"window":"2026-12-05T21:00:00Z","decision":"approve","by":"alice@contoso.com"}\'';

/** Ready for cutover after 40 minutes of copying, then waiting for Saturday night's window. */
const READY_AT = T0 + 40 * MINUTE;
const WINDOW_OPENS = T0 + 4 * DAY + 13 * HOUR;

function readyThenWaiting(until: number): History {
  return new History()
    .step('preflight', T0)
    .step('start_migration', T0 + 2 * MINUTE)
    .waits('wait_for_migration', T0 + 3 * MINUTE, READY_AT)
    .event(READY_AT, 'wait_for_migration', 'Succeeded', 37 * 60)
    .waits('await_cutover', READY_AT, until, { status: 'WaitingForWindow', message: WINDOW_MESSAGE });
}

/** Waited for the window, approved in it, then froze and cut over: the stretch after the wait. */
function cutoverAfterWaiting(stretchMinutes: number): { events: Event[]; cutoverStart: number } {
  const history = readyThenWaiting(WINDOW_OPENS).event(WINDOW_OPENS, 'await_cutover', 'AwaitingApproval', 0, APPROVAL_MESSAGE);
  const approvedAt = WINDOW_OPENS + 20 * MINUTE;
  history.event(approvedAt, 'await_cutover', 'Approved', 0, 'approved by alice@contoso.com').event(approvedAt, 'await_cutover', 'Succeeded');
  const cutoverStart = approvedAt + MINUTE;
  history.step('freeze_source', cutoverStart).step('final_backup', cutoverStart + 2 * MINUTE, 3).step('cutover', cutoverStart + 6 * MINUTE);
  history.waits('wait_for_completion', cutoverStart + 8 * MINUTE, cutoverStart + stretchMinutes * MINUTE);
  return { events: history.events, cutoverStart };
}

describe('"migration running long" and the cutover wait', () => {
  it.each([
    ['two hours in', T0 + 2 * HOUR],
    ['one day in', T0 + DAY],
    ['three days in', T0 + 3 * DAY],
  ])('does not fire while a database waits for its window (%s)', (_when, now) => {
    expect(alertRows('migration-running-long', readyThenWaiting(now).events, now)).toEqual([]);
  });

  it('does not count the days waited once the cutover runs after the wait', () => {
    const { events, cutoverStart } = cutoverAfterWaiting(30);
    expect(alertRows('migration-running-long', events, cutoverStart + 30 * MINUTE)).toEqual([]);
  });

  it('still fires when the cutover after a wait itself runs longer than longRunningMinutes, timed from the end of the wait', () => {
    const { events, cutoverStart } = cutoverAfterWaiting(90);
    const now = cutoverStart + 90 * MINUTE;
    expect(alertRows('migration-running-long', events, now)).toEqual([
      expect.objectContaining({ Database: 'database_1', RunId: RUN, StartedAt: cutoverStart, RunningMinutes: 90 }),
    ]);
  });

  it('still fires for a migration without a wait that runs over an hour, and not once it is done', () => {
    const running = new History().step('start_migration', T0).waits('wait_for_migration', T0 + MINUTE, T0 + 2 * HOUR);
    expect(alertRows('migration-running-long', running.events, T0 + 2 * HOUR)).toEqual([expect.objectContaining({ Database: 'database_1', StartedAt: T0 })]);
    running.event(T0 + 2 * HOUR, 'wait_for_migration', 'Succeeded').step('validate', T0 + 2 * HOUR).event(T0 + 2 * HOUR + 2 * MINUTE, 'done', 'Succeeded');
    expect(alertRows('migration-running-long', running.events, T0 + 2 * HOUR + 5 * MINUTE)).toEqual([]);
  });

  it('times a run cleared after it ended from its new start, not from the start of the try that ended', () => {
    // Failed and rolled back after two hours; three hours later a person clears the run from preflight (README: When an alert fires).
    const failedAt = T0 + 2 * HOUR;
    const history = new History()
      .step('start_migration', T0)
      .waits('wait_for_migration', T0 + MINUTE, failedAt)
      .event(failedAt, 'wait_for_migration', 'Failed', 7140, 'DMS migration of database_1 ended: migrationStatus=Failed')
      .event(failedAt + 2 * MINUTE, 'rollback', 'RolledBack', 120, 'canceled migration op-1');
    const clearedAt = failedAt + 3 * HOUR;
    history.step('preflight', clearedAt).step('start_migration', clearedAt + 2 * MINUTE).waits('wait_for_migration', clearedAt + 3 * MINUTE, clearedAt + 2 * HOUR);
    expect(alertRows('migration-running-long', history.events, clearedAt + 20 * MINUTE)).toEqual([]);
    expect(alertRows('migration-running-long', history.events, clearedAt + 90 * MINUTE)).toEqual([
      expect.objectContaining({ Database: 'database_1', StartedAt: clearedAt + 2 * MINUTE, RunningMinutes: 88 }),
    ]);
  });
});

describe('"migration run stalled" and the cutover wait', () => {
  it('keeps quiet for a run that waits days for its window while its heartbeats arrive', () => {
    for (const now of [T0 + 2 * HOUR, T0 + 2 * DAY, T0 + 4 * DAY]) {
      expect(alertRows('migration-stalled', readyThenWaiting(now).events, now)).toEqual([]);
    }
  });

  it('fires for a waiting run whose heartbeats stopped (the scheduler is gone), naming the waiting database', () => {
    const stoppedAt = T0 + 2 * DAY;
    const now = stoppedAt + 45 * MINUTE;
    expect(alertRows('migration-stalled', readyThenWaiting(stoppedAt).events, now)).toEqual([
      expect.objectContaining({ RunId: RUN, DatabasesInFlight: 'database_1' }),
    ]);
  });
});

describe('a run lost mid-migration and replaced by a new run (README: "If the run is lost, trigger the DAG again")', () => {
  const lostAt = T0 + 2 * HOUR;
  const NEXT_RUN = 'manual__2026-12-01T11:00:00+00:00';
  const nextRunAt = T0 + 3 * HOUR;
  const lost = () => new History().step('preflight', T0).step('start_migration', T0 + 2 * MINUTE).waits('wait_for_migration', T0 + 3 * MINUTE, lostAt);
  /** The new run adopts the migration in flight and carries on. */
  const adopted = (until: number) =>
    new History('database_1', 'SqlMi', NEXT_RUN)
      .step('preflight', nextRunAt)
      .step('start_migration', nextRunAt + 2 * MINUTE)
      .waits('wait_for_migration', nextRunAt + 3 * MINUTE, until);

  it('the lost run stops being "stalled" once the new run works on its database', () => {
    expect(alertRows('migration-stalled', lost().events, lostAt + 45 * MINUTE)).toEqual([expect.objectContaining({ RunId: RUN })]);
    const now = nextRunAt + HOUR;
    expect(alertRows('migration-stalled', [...lost().events, ...adopted(now).events], now)).toEqual([]);
  });

  it('a run cleared again after the new one ended (README: "clear that whole run from the database\'s preflight") is watched again', () => {
    const doneAt = nextRunAt + 2 * HOUR;
    const next = adopted(doneAt).event(doneAt, 'done', 'Succeeded');
    const clearedAt = doneAt + HOUR;
    const clearedAgain = new History().step('preflight', clearedAt).event(clearedAt + 2 * MINUTE, 'start_migration', 'Started');
    const events = [...lost().events, ...next.events, ...clearedAgain.events];
    expect(alertRows('migration-stalled', events, clearedAt + 45 * MINUTE)).toEqual([expect.objectContaining({ RunId: RUN })]);
  });

  it('the lost run keeps no database "running long" after the new run is done with it', () => {
    const doneAt = nextRunAt + 2 * HOUR;
    const next = adopted(doneAt).event(doneAt, 'wait_for_migration', 'Succeeded').step('validate', doneAt).event(doneAt + 2 * MINUTE, 'done', 'Succeeded');
    expect(alertRows('migration-running-long', [...lost().events, ...next.events], doneAt + 10 * MINUTE)).toEqual([]);
  });
});

describe('a run that ends "back to replicating" after its window closed mid-cutover', () => {
  /** Frozen in the window, the window closed before the cutover was requested: the rollback went back to replicating. */
  function windowMissedMidCutover(): { events: Event[]; endedAt: number } {
    const { events, cutoverStart } = cutoverAfterWaiting(10);
    const endedAt = cutoverStart + 12 * MINUTE;
    const history = new History();
    history.events.push(...events);
    history
      .event(endedAt - MINUTE, 'final_backup', 'WindowMissed', 60, 'the window closed before the cutover was requested')
      .event(endedAt - MINUTE / 2, 'rollback', 'Started')
      .event(endedAt, 'rollback', 'WindowMissed', 30, 'window missed: source writable again; migration keeps replicating');
    return { events: history.events, endedAt };
  }

  it('is an end: no "run stalled" alert once the run is over, and no "running long"', () => {
    const { events, endedAt } = windowMissedMidCutover();
    const later = endedAt + 3 * HOUR;
    expect(alertRows('migration-stalled', events, later)).toEqual([]);
    expect(alertRows('migration-running-long', events, later)).toEqual([]);
  });
});

describe('"source frozen too long": the downtime of a cutover', () => {
  // PLAN_DATABASES: sales (SqlMi) expects 30 minutes, archive (SqlVm) 90, crm (a SqlDb copy that
  // freezes its source) 240, crm_audit (a SqlDb copy that keeps it writable); the grace is 15 minutes.
  const FROZEN_AT = T0 + 2 * HOUR;

  /** Online SqlMi: ready for cutover, then frozen at FROZEN_AT; the final backup's restore takes `restoreMinutes`. */
  function cutover(restoreMinutes: number, database = 'sales', run = RUN): History {
    return new History(database, 'SqlMi', run)
      .step('preflight', T0)
      .step('start_migration', T0 + 2 * MINUTE)
      .waits('wait_for_migration', T0 + 3 * MINUTE, FROZEN_AT - MINUTE)
      .event(FROZEN_AT - MINUTE, 'wait_for_migration', 'Succeeded')
      .event(FROZEN_AT, 'freeze_source', 'Succeeded', 20, 'source Sales frozen (readOnly)')
      .waits('final_backup', FROZEN_AT + MINUTE, FROZEN_AT + (1 + restoreMinutes) * MINUTE);
  }

  /** After the restore: cutover requested, DMS completes, validated, done, `minutes` after the freeze. */
  function doneAfter(history: History, minutes: number): History {
    const done = FROZEN_AT + minutes * MINUTE;
    return history.step('cutover', done - 4 * MINUTE).step('validate', done - 2 * MINUTE).event(done, 'done', 'Succeeded', 1, 'sales migrated and validated');
  }

  it('fires for a freeze longer than expectedMinutes plus the grace, naming the database, since when and its limit', () => {
    const slowRestore = cutover(60);
    expect(alertRows('source-frozen-too-long', slowRestore.events, FROZEN_AT + 44 * MINUTE)).toEqual([]);
    expect(alertRows('source-frozen-too-long', slowRestore.events, FROZEN_AT + 50 * MINUTE)).toEqual([
      { Database: 'sales', FrozenSince: FROZEN_AT, FrozenMinutes: 50, LimitMinutes: 45 },
    ]);
  });

  it('does not fire for a cutover that ended in time, then or later', () => {
    const inTime = doneAfter(cutover(20), 40);
    for (const now of [FROZEN_AT + 40 * MINUTE, FROZEN_AT + 50 * MINUTE, FROZEN_AT + DAY]) {
      expect(alertRows('source-frozen-too-long', inTime.events, now)).toEqual([]);
    }
  });

  it('resolves once a long freeze is over: done, a rollback that unfroze the source, or back to replicating', () => {
    const after = FROZEN_AT + 70 * MINUTE;
    const migrated = doneAfter(cutover(60), 68);
    const rolledBack = cutover(60)
      .event(FROZEN_AT + 61 * MINUTE, 'final_backup', 'Failed', 3600, 'timeoutMinutes (720) passed while waiting')
      .event(after - MINUTE, 'rollback', 'RolledBack', 60, 'canceled migration op-1; source database Sales writable again');
    const backToReplicating = cutover(60)
      .event(FROZEN_AT + 61 * MINUTE, 'final_backup', 'WindowMissed', 3600, 'the window closed before the cutover was requested')
      .event(after - MINUTE, 'rollback', 'WindowMissed', 60, 'window missed; source database Sales writable again');
    const rolledBackTargetKept = cutover(60)
      .event(FROZEN_AT + 61 * MINUTE, 'cutover', 'Failed', 3600, 'cutover refused')
      .event(after - MINUTE, 'rollback', 'RolledBackTargetKept', 60, `${TARGET_KEPT}; source database Sales writable again`);
    for (const { events } of [migrated, rolledBack, backToReplicating, rolledBackTargetKept]) {
      expect(alertRows('source-frozen-too-long', events, FROZEN_AT + 60 * MINUTE)).toHaveLength(1);
      expect(alertRows('source-frozen-too-long', events, after)).toEqual([]);
    }
  });

  it('keeps firing after a rollback that failed: the DAG left the source frozen', () => {
    const keptFrozen = doneAfter(cutover(20), 40);
    keptFrozen.events.pop(); // done failed instead
    keptFrozen
      .event(FROZEN_AT + 40 * MINUTE, 'done', 'Failed', 1, 'DMS no longer reports the migration succeeded')
      .event(FROZEN_AT + 41 * MINUTE, 'rollback', 'Failed', 60, 'source database Sales kept frozen: this run validated migration op-1');
    expect(alertRows('source-frozen-too-long', keptFrozen.events, FROZEN_AT + 50 * MINUTE)).toEqual([expect.objectContaining({ Database: 'sales', FrozenSince: FROZEN_AT })]);
  });

  it("times a freeze a crashed run left from that run's freeze, not from the next run's", () => {
    const crashed = cutover(10);
    const next = new History('sales', 'SqlMi', 'manual__2026-12-01T10:30:00+00:00')
      .step('preflight', FROZEN_AT + 30 * MINUTE)
      .step('start_migration', FROZEN_AT + 32 * MINUTE)
      .event(FROZEN_AT + 34 * MINUTE, 'wait_for_migration', 'Succeeded')
      .event(FROZEN_AT + 35 * MINUTE, 'freeze_source', 'Succeeded', 5, 'source Sales frozen (readOnly)');
    expect(alertRows('source-frozen-too-long', [...crashed.events, ...next.events], FROZEN_AT + 50 * MINUTE)).toEqual([
      expect.objectContaining({ Database: 'sales', FrozenSince: FROZEN_AT, FrozenMinutes: 50 }),
    ]);
  });

  it('does not count a freeze that ended before the current one began', () => {
    const firstTry = cutover(10).event(FROZEN_AT + 20 * MINUTE, 'rollback', 'RolledBack', 60, 'source database Sales writable again');
    const refrozenAt = FROZEN_AT + 3 * HOUR;
    const secondTry = new History('sales', 'SqlMi', 'manual__2026-12-01T13:00:00+00:00').event(refrozenAt, 'freeze_source', 'Succeeded');
    const events = [...firstTry.events, ...secondTry.events];
    expect(alertRows('source-frozen-too-long', events, refrozenAt + 20 * MINUTE)).toEqual([]);
    expect(alertRows('source-frozen-too-long', events, refrozenAt + 50 * MINUTE)).toEqual([expect.objectContaining({ FrozenSince: refrozenAt })]);
  });

  it("takes each database's own expectedMinutes: an offline SQL VM migration and a SqlDb copy frozen for the whole copy", () => {
    const offline = new History('archive', 'SqlVm').step('start_migration', T0).event(FROZEN_AT, 'freeze_source', 'Succeeded').waits('final_backup', FROZEN_AT, FROZEN_AT + 3 * HOUR);
    const copy = new History('crm', 'SqlDb').event(FROZEN_AT, 'start_migration', 'Started', 30, 'starting migration of Crm').waits('wait_for_migration', FROZEN_AT + MINUTE, FROZEN_AT + 5 * HOUR);
    const events = [...offline.events, ...copy.events];
    expect(alertRows('source-frozen-too-long', events, FROZEN_AT + 100 * MINUTE)).toEqual([]);
    expect(alertRows('source-frozen-too-long', events, FROZEN_AT + 110 * MINUTE)).toEqual([expect.objectContaining({ Database: 'archive', LimitMinutes: 105 })]);
    expect(alertRows('source-frozen-too-long', events, FROZEN_AT + 260 * MINUTE).map((row) => [row.Database, row.LimitMinutes])).toEqual([
      ['archive', 105],
      ['crm', 255],
    ]);
  });

  it('never fires for a SqlDb copy that keeps its source writable, nor for a migration before its freeze', () => {
    const writableCopy = new History('crm_audit', 'SqlDb').event(T0, 'start_migration', 'Started', 30, 'starting migration of CrmAudit').waits('wait_for_migration', T0 + MINUTE, T0 + 10 * HOUR);
    const replicating = new History('sales').step('start_migration', T0).waits('wait_for_migration', T0 + MINUTE, T0 + 10 * HOUR);
    expect(alertRows('source-frozen-too-long', [...writableCopy.events, ...replicating.events], T0 + 10 * HOUR)).toEqual([]);
  });

  it("does not fire on another plan's freeze of a database of the same name", () => {
    const otherPlan = cutover(60).events.map((event) => ({ ...event, PlanName: 'fabrikam-sql' }));
    expect(alertRows('source-frozen-too-long', otherPlan, FROZEN_AT + 50 * MINUTE)).toEqual([]);
  });

  it('sees a freeze for two days at most (its window): a longer one leaves it, though the source may still be frozen', () => {
    const stuck = cutover(2 * 24 * 60 + 30);
    expect(alertRows('source-frozen-too-long', stuck.events, FROZEN_AT + 2 * DAY - MINUTE)).toHaveLength(1);
    expect(alertRows('source-frozen-too-long', stuck.events, FROZEN_AT + 2 * DAY + MINUTE)).toEqual([]);
  });
});

describe('"cutover awaiting approval"', () => {
  const asked = () => readyThenWaiting(WINDOW_OPENS).waits('await_cutover', WINDOW_OPENS, WINDOW_OPENS + HOUR, { status: 'AwaitingApproval', message: APPROVAL_MESSAGE });

  it('fires per database with the message naming the window, the approvers and where to approve', () => {
    const rows = alertRows('cutover-awaiting-approval', asked().events, WINDOW_OPENS + HOUR);
    expect(rows).toEqual([expect.objectContaining({ Database: 'database_1', Message: APPROVAL_MESSAGE })]);
  });

  it('is quiet while the database only waits for its window, and once an approver answered', () => {
    expect(alertRows('cutover-awaiting-approval', readyThenWaiting(WINDOW_OPENS).events, WINDOW_OPENS)).toEqual([]);
    const answered = asked().event(WINDOW_OPENS + HOUR, 'await_cutover', 'Approved', 3600, 'approved by alice@contoso.com');
    expect(alertRows('cutover-awaiting-approval', answered.events, WINDOW_OPENS + HOUR + 5 * MINUTE)).toEqual([]);
  });
});

describe('"cutover postponed" and the workbook', () => {
  const rejectedAt = WINDOW_OPENS + HOUR;
  const rejected = () =>
    readyThenWaiting(WINDOW_OPENS)
      .event(WINDOW_OPENS, 'await_cutover', 'AwaitingApproval', 0, APPROVAL_MESSAGE)
      .event(rejectedAt, 'await_cutover', 'Rejected', 0, 'rejected by alice@contoso.com; waiting for the next window')
      .event(rejectedAt + 15 * MINUTE, 'await_cutover', 'WaitingForWindow', 0, WINDOW_MESSAGE);

  it('fires for a rejection, with its status and message', () => {
    expect(alertRows('cutover-postponed', rejected().events, rejectedAt + 5 * MINUTE)).toEqual([
      expect.objectContaining({ Database: 'database_1', Status: 'Rejected', Message: 'rejected by alice@contoso.com; waiting for the next window' }),
    ]);
  });

  it('lists the databases waiting for a window or an approval with their latest status, message and times', () => {
    const other = new History('database_2').step('start_migration', T0).event(T0 + HOUR, 'done', 'Succeeded');
    const now = rejectedAt + 20 * MINUTE;
    expect(workbookRows('waitingForCutover', [...rejected().events, ...other.events], now)).toEqual([
      { Database: 'database_1', Status: 'WaitingForWindow', WaitingSince: READY_AT, LastEvent: rejectedAt + 15 * MINUTE, Message: WINDOW_MESSAGE, RunId: RUN },
    ]);
    expect(workbookRows('cutoversPostponed', rejected().events, now)).toEqual([expect.objectContaining({ Database: 'database_1', Status: 'Rejected', Phase: 'await_cutover' })]);
  });

  it('shows every DAG run by default, and only the runs picked in the run dropdown', () => {
    const earlier = 'manual__2026-11-30T08:00:00+00:00';
    const retried = new History().step('start_migration', T0 - DAY).events.map((event) => ({ ...event, RunId: earlier }));
    const events = [...retried, ...new History().step('start_migration', T0).events];
    const runsShown = (runs?: string[]) => workbookRows('statusByDatabase', events, T0 + HOUR, runs).map((row) => row.RunId);
    expect(runsShown().sort()).toEqual([earlier, RUN]);
    expect(runsShown([RUN])).toEqual([RUN]);
    expect(runsShown([earlier, RUN]).sort()).toEqual([earlier, RUN]);
  });

  it('counts a waiting step once in the minutes per database, not once per heartbeat', () => {
    const { events, cutoverStart } = cutoverAfterWaiting(30);
    const [row] = workbookRows('statusByDatabase', events, cutoverStart + 30 * MINUTE);
    const stepMinutes = events.filter((e) => ['Succeeded', 'Failed', 'RolledBack'].includes(e.Status)).reduce((total, e) => total + e.DurationSeconds / 60, 0);
    expect(row.Minutes).toBeCloseTo(stepMinutes, 0);
  });

  it('counts a step once though its Started arrived minutes after its first poke (preflight waiting for its event proof)', () => {
    const proofWaited = new History().event(T0 + 8 * MINUTE, 'preflight', 'Started', 480).event(T0 + 10 * MINUTE, 'preflight', 'Succeeded', 600);
    const [row] = workbookRows('statusByDatabase', proofWaited.events, T0 + HOUR);
    expect(row.Minutes).toBeCloseTo(10, 1);
  });
});

describe('"migration failed" and "rollback failed": what the person on call is told', () => {
  const copying = () => new History().step('preflight', T0).step('start_migration', T0 + 2 * MINUTE).waits('wait_for_migration', T0 + 3 * MINUTE, T0 + HOUR);
  const ROLLED_BACK = 'canceled migration op-1; target Sales restoring, created by this migration: removed; source Sales writable again';

  it('names the database, the step that failed and why', () => {
    const failed = copying().event(T0 + HOUR, 'wait_for_migration', 'Failed', 3420, 'DMS migration of database_1 ended: migrationStatus=Failed, error=restore failed');
    expect(alertRows('migration-failed', failed.events, T0 + HOUR + MINUTE)).toEqual([
      expect.objectContaining({ Database: 'database_1', Phase: 'wait_for_migration', Status: 'Failed', Message: expect.stringMatching(/restore failed/) }),
    ]);
  });

  it('fires for a database rolled back after a step that wrote no Failed event (its worker was killed on its last try)', () => {
    const killed = copying().event(T0 + HOUR, 'rollback', 'Started').event(T0 + HOUR + 2 * MINUTE, 'rollback', 'RolledBack', 120, ROLLED_BACK);
    expect(alertRows('migration-failed', killed.events, T0 + HOUR + 3 * MINUTE)).toEqual([
      expect.objectContaining({ Database: 'database_1', Phase: 'rollback', Status: 'RolledBack', Message: ROLLED_BACK }),
    ]);
  });

  it('fires for a rollback that kept a target its ended migration left, and counts it as an end, not a migration running on', () => {
    const kept = copying()
      .event(T0 + HOUR, 'wait_for_migration', 'Failed', 3420, 'DMS migration of database_1 ended: migrationStatus=Failed')
      .event(T0 + HOUR + 2 * MINUTE, 'rollback', 'RolledBackTargetKept', 120, TARGET_KEPT);
    expect(alertRows('migration-failed', kept.events, T0 + HOUR + 3 * MINUTE)).toEqual([
      expect.objectContaining({ Phase: 'wait_for_migration', Status: 'Failed' }),
      expect.objectContaining({ Database: 'database_1', Phase: 'rollback', Status: 'RolledBackTargetKept', Message: TARGET_KEPT }),
    ]);
    expect(alertRows('rollback-failed', kept.events, T0 + HOUR + 3 * MINUTE)).toEqual([]);
    expect(alertRows('migration-running-long', kept.events, T0 + 3 * HOUR)).toEqual([]);
    expect(alertRows('migration-stalled', kept.events, T0 + 3 * HOUR)).toEqual([]);
  });

  it('tells a failed rollback (a person must act) apart from a failed step the DAG rolled back', () => {
    const keptFrozen = 'canceled nothing; source database Sales kept frozen: an earlier run declared migration op-1 migrated';
    const history = copying()
      .event(T0 + HOUR, 'validate', 'Failed', 60, 'validation of database_1 failed: 2 tables differ')
      .event(T0 + HOUR + MINUTE, 'rollback', 'Failed', 30, keptFrozen);
    const now = T0 + HOUR + 2 * MINUTE;
    expect(alertRows('rollback-failed', history.events, now)).toEqual([expect.objectContaining({ Database: 'database_1', Message: keptFrozen })]);
    expect(alertRows('migration-failed', history.events, now)).toEqual([expect.objectContaining({ Phase: 'validate', Status: 'Failed' })]);
  });
});

describe('a workspace shared with another plan', () => {
  /** The same history, written by another plan's DAG into the same table. */
  const ofOtherPlan = (events: Event[]): Event[] => events.map((event) => ({ ...event, PlanName: 'fabrikam-sql' }));

  it('the failure alert of one plan does not fire on another plan\'s failed step, and fires on its own', () => {
    const failed = new History().step('start_migration', T0).event(T0 + 5 * MINUTE, 'wait_for_migration', 'Failed', 180, 'DMS: restore failed');
    expect(alertRows('migration-failed', ofOtherPlan(failed.events), T0 + 6 * MINUTE)).toEqual([]);
    expect(alertRows('migration-failed', failed.events, T0 + 6 * MINUTE)).toEqual([expect.objectContaining({ Database: 'database_1' })]);
  });

  it('no alert of one plan fires on what would raise it in another plan', () => {
    const running = new History().step('start_migration', T0).waits('wait_for_migration', T0 + MINUTE, T0 + 2 * HOUR);
    expect(alertRows('migration-running-long', ofOtherPlan(running.events), T0 + 2 * HOUR)).toEqual([]);
    const stoppedAt = T0 + 2 * DAY;
    expect(alertRows('migration-stalled', ofOtherPlan(readyThenWaiting(stoppedAt).events), stoppedAt + 45 * MINUTE)).toEqual([]);
    const asked = readyThenWaiting(WINDOW_OPENS).waits('await_cutover', WINDOW_OPENS, WINDOW_OPENS + HOUR, { status: 'AwaitingApproval', message: APPROVAL_MESSAGE });
    expect(alertRows('cutover-awaiting-approval', ofOtherPlan(asked.events), WINDOW_OPENS + HOUR)).toEqual([]);
    const rejected = readyThenWaiting(WINDOW_OPENS).event(WINDOW_OPENS + HOUR, 'await_cutover', 'Rejected', 0, 'rejected by alice@contoso.com');
    expect(alertRows('cutover-postponed', ofOtherPlan(rejected.events), WINDOW_OPENS + HOUR + 5 * MINUTE)).toEqual([]);
    const rollbackFailed = new History().step('start_migration', T0).event(T0 + 5 * MINUTE, 'rollback', 'Failed', 60, 'source kept frozen');
    expect(alertRows('rollback-failed', ofOtherPlan(rollbackFailed.events), T0 + 6 * MINUTE)).toEqual([]);
    expect(alertRows('rollback-failed', rollbackFailed.events, T0 + 6 * MINUTE)).toHaveLength(1);
  });

  it('the workbook shows only its own plan\'s databases and runs', () => {
    const own = new History('database_1').step('start_migration', T0);
    const other = ofOtherPlan(new History('database_9').step('start_migration', T0).event(T0 + 2 * MINUTE, 'preflight', 'Failed', 1, 'x').events).map(
      (event) => ({ ...event, RunId: 'manual__fabrikam' }),
    );
    const events = [...own.events, ...other];
    // The panels the test engine evaluates (it has no round() aggregate or bin()); the contract test checks every query's source.
    for (const panel of ['runs', 'statusByDatabase', 'failures', 'waitingForCutover', 'cutoversPostponed'] as const) {
      const shown = workbookRows(panel, events, T0 + HOUR);
      expect(shown.filter((row) => row.Database === 'database_9' || row.RunId === 'manual__fabrikam')).toEqual([]);
    }
    expect(workbookRows('statusByDatabase', events, T0 + HOUR).map((row) => row.Database)).toEqual(['database_1']);
  });
});

describe("the event ingestion errors alert, on Azure's DCRLogErrors rows", () => {
  const RULE_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.Insights/dataCollectionRules/dcr-contoso-sql';
  const OTHER_RULE_ID = RULE_ID.replace('dcr-contoso-sql', 'dcr-fabrikam-sql');
  const STREAM = 'Custom-MigrationEvents_CL';
  type Logged = { TimeGenerated: number; _ResourceId: string; OperationName: string; InputStreamId: string; Message: string };

  /** The deployed query with its rule reference as Terraform resolves it. */
  const resolvedQuery = ALERTS['event-ingestion-errors'].query.replace(/\$\{azurerm_monitor_data_collection_rule\.[^}]+\.id\}/, RULE_ID);

  /** The alert's rows at `now`, over the rows in its window. */
  function refusals(rows: Logged[], now: number) {
    const { windowMs } = ALERTS['event-ingestion-errors'];
    const inWindow = rows.filter((row) => row.TimeGenerated <= now && row.TimeGenerated > now - windowMs);
    return runKql(resolvedQuery, { tables: { DCRLogErrors: { columns: Object.keys(DCR_LOG_ERRORS_COLUMNS), rows: inWindow } }, now });
  }

  /** A row as Azure writes it: `_ResourceId` in lowercase. */
  const logged = (at: number, message: string, ruleId = RULE_ID, operation = 'Ingestion'): Logged => ({
    TimeGenerated: at,
    _ResourceId: ruleId.toLowerCase(),
    OperationName: operation,
    InputStreamId: STREAM,
    Message: message,
  });

  it('reports the role removed mid-run: per operation and stream, how many, the latest message', () => {
    const rows = [logged(T0, 'Forbidden (403) first'), logged(T0 + 5 * MINUTE, 'Forbidden (403) latest')];
    expect(refusals(rows, T0 + 10 * MINUTE)).toEqual([
      { OperationName: 'Ingestion', InputStreamId: STREAM, Errors: 2, LastErrorAt: T0 + 5 * MINUTE, LastMessage: 'Forbidden (403) latest' },
    ]);
  });

  it("still reports an error Azure muted for the rest of its hour, until the next hour logs it again", () => {
    const rows = [logged(T0 + 5 * MINUTE, 'Forbidden (403)')];
    expect(refusals(rows, T0 + HOUR + 10 * MINUTE)).toHaveLength(1);
    expect(refusals(rows, T0 + 2 * HOUR + 6 * MINUTE)).toEqual([]);
  });

  it("ignores another plan's rule sharing the workspace", () => {
    expect(refusals([logged(T0, 'Forbidden (403)', OTHER_RULE_ID)], T0 + MINUTE)).toEqual([]);
  });

  it('reports nothing, and runs, in a workspace Azure never logged a rule error into (no DCRLogErrors table)', () => {
    expect(runKql(resolvedQuery, { tables: {}, now: T0 })).toEqual([]);
  });
});

describe('the KQL engine the tests above run on', () => {
  const world = (rows: Record<string, any>[]) => ({ tables: { T: { columns: Object.keys(rows[0] ?? {}), rows } }, now: 0 });

  it('keeps unmatched rows of a left outer join, with the clashing right columns renamed', () => {
    const rows = runKql('T | join kind=leftouter (T | where b > 1 | summarize m = max(b) by a) on a', world([{ a: 'x', b: 1 }, { a: 'y', b: 2 }]));
    expect(rows).toEqual([
      { a: 'x', b: 1, a1: null, m: null },
      { a: 'y', b: 2, a1: 'y', m: 2 },
    ]);
  });

  it('skips nulls in aggregates and keeps the row of the largest value in arg_max', () => {
    const rows = runKql('T | summarize arg_max(t, s), lo = min(v), n = countif(isnull(v)) by g', world([{ g: 1, t: 1, s: 'a', v: null }, { g: 1, t: 3, s: 'b', v: 5 }, { g: 1, t: 2, s: 'c', v: 4 }]));
    expect(rows).toEqual([{ g: 1, t: 3, s: 'b', lo: 4, n: 1 }]);
  });

  it('compares strings with =~ whatever their case', () => {
    expect(runKql('T | where s =~ "/A/b"', world([{ s: '/a/B' }, { s: '/a/c' }]))).toEqual([{ s: '/a/B' }]);
  });

  it('unions the legs with the columns of all, a fuzzy union skipping a table that does not exist', () => {
    const tables = { T: { columns: ['s', 'n'], rows: [{ s: 'a', n: 1 }] } };
    expect(runKql('union isfuzzy=true Missing, T, (datatable(s: string, x: long)[])', { tables, now: 0 })).toEqual([{ s: 'a', n: 1, x: null }]);
    expect(() => runKql('union Missing, T', { tables, now: 0 })).toThrow(/no table Missing/);
  });

  it('refuses KQL outside the subset it knows instead of guessing', () => {
    expect(() => runKql('T | take 1', world([]))).toThrow(/unsupported operator TakeOperator/);
    expect(() => runKql('T | extend x = tolower(s)', world([{ s: 'A' }]))).toThrow(/unsupported function tolower\(\)/);
  });
});
