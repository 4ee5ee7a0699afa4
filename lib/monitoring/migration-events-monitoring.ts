import { Token } from 'cdktf';
import { notificationsSchema, planDocumentSchema } from '../plan/document-schema';
import { LONGEST_LOG_ALERT_WINDOW_MINUTES } from '../private/alert-timing';
import { AlertOptions, CreatedLogAlert } from './alerts';
import { cutoverAwaitingApprovalAlert, cutoverPostponedAlert } from './cutover-alerts';
import { eventIngestionDiagnostics, eventIngestionErrorsAlert } from './event-ingestion-errors';
import { MigrationEventIngestion, MigrationEventsTable } from './migration-event-ingestion';
import {
  checkSeesHeartbeat,
  MigrationStatus,
  migrationFailedAlert,
  migrationRunningLongAlert,
  rollbackFailedAlert,
  runningLongWindowMinutes,
} from './migration-events';
import { DEFAULT_STALLED_AFTER_MINUTES, defaultStalledWindowMinutes, migrationStalledAlert } from './migration-stalled';
import {
  DEFAULT_FREEZE_GRACE_MINUTES,
  SOURCE_FROZEN_EVALUATION_MINUTES,
  SourceFreezeSettings,
  sourceFreezeLimits,
  sourceFrozenTooLongAlert,
  sourceFrozenWindowMinutes,
} from './source-frozen';
import { MigrationWorkbook } from './migration-workbook';
import { MonitoringScope } from './monitoring-scope';

/** Options of the "migration run stalled" alert. */
export interface MigrationStalledAlertOptions extends AlertOptions {
  /**
   * Minutes without any event of a run, while some of its databases are in flight, after which
   * the run counts as stalled; more than the DAG's heartbeat interval (15 minutes).
   * @default 30
   */
  readonly silentMinutes?: number;
}

/** Options of the "source frozen too long" alert. */
export interface SourceFrozenTooLongAlertOptions extends AlertOptions {
  /**
   * Minutes a freeze may last past its database's `cutover.expectedMinutes` before the alert fires
   * (0 or more): the DAG's wait steps after a freeze poke up to 15 minutes apart, so a cutover that
   * ended in time may be declared done that much later.
   * @default 15
   */
  readonly graceMinutes?: number;
}

/** Props of {@link MigrationMonitoring.monitorMigrationEvents}. */
export interface MigrationEventsMonitoringProps {
  /**
   * A migration that has not ended this many minutes after it started raises "migration running
   * long" (the plan's `notifications.longRunningMinutes`, whose rule bounds it: 5 to 2865).
   * @default 60
   */
  readonly longRunningMinutes?: number;
  /**
   * Overrides of the "migration failed" alert: a step failed for good, or a database was rolled back.
   * @default - severity 1, every 5 minutes over 5 minutes, per database, step, status and message
   */
  readonly migrationFailedAlert?: AlertOptions;
  /**
   * Overrides of the "rollback failed" alert: a rollback failed for good and the DAG stopped there
   * (a source may be left frozen, a migration still running): a person must act.
   * @default - severity 0, every 5 minutes over 5 minutes, per database and message
   */
  readonly rollbackFailedAlert?: AlertOptions;
  /**
   * Overrides of the "migration running long" alert. Its window must be at least the DAG's
   * heartbeat interval (15 minutes) plus its frequency, so every evaluation sees an event of each
   * running migration.
   * @default - severity 2, every 15 minutes, over the shortest allowed window of at least one day
   * and twice `longRunningMinutes`, count > 0, per database
   */
  readonly migrationRunningLongAlert?: AlertOptions;
  /**
   * The "migration run stalled" alert: a run wrote no event for `silentMinutes` while databases
   * are in flight (the only sign of a stopped Airflow on hosts without Azure Monitor signals, such
   * as Fabric). `false` leaves it out.
   * @default - severity 1, every 5 minutes over the shortest allowed window of at least one day and
   * twice `silentMinutes`, per run and its databases in flight
   */
  readonly migrationStalledAlert?: MigrationStalledAlertOptions | false;
  /**
   * The plan's databases (`plan.databases`): the "source frozen too long" alert watches each whose
   * source the DAG freezes (every SqlMi and SqlVm migration, and a SqlDb copy unless
   * `allowSourceWritesDuringCopy`), against its `cutover.expectedMinutes`.
   * @default - none: no "source frozen too long" alert
   */
  readonly databases?: readonly SourceFreezeSettings[];
  /**
   * The "source frozen too long" alert: a source the DAG froze (the applications' downtime) for
   * longer than its database's `cutover.expectedMinutes` plus `graceMinutes`, neither migrated nor
   * unfrozen since. Needs `databases`; `false` leaves it out.
   * @default - severity 1, every 5 minutes over two days, per database
   */
  readonly sourceFrozenTooLongAlert?: SourceFrozenTooLongAlertOptions | false;
  /**
   * Overrides of the "cutover awaiting approval" alert: a database's cutover window is open and it
   * waits for an approver; the notification names the database and carries the event's message
   * (the window, the approvers, where to approve). Its window must hold one heartbeat interval
   * (15 minutes) plus its frequency.
   * @default - severity 3, every 5 minutes over 30 minutes, per database and message, resolved
   * once answered
   */
  readonly cutoverAwaitingApprovalAlert?: AlertOptions;
  /**
   * Overrides of the "cutover postponed" alert: an approver rejected a cutover, or its window closed
   * first; the database keeps replicating and waits for its next window.
   * @default - severity 3, every 5 minutes over 15 minutes, per database, status, step and message
   */
  readonly cutoverPostponedAlert?: AlertOptions;
  /**
   * Overrides of the "event ingestion errors" alert: Azure logged errors of the DAG's uploads to the
   * rule (`DCRLogErrors`, from the rule's diagnostic setting): the events, and every alert on them,
   * are lost while the run goes on.
   * @default - severity 1, every 5 minutes over 2 hours, count > 0, per operation and input stream
   */
  readonly eventIngestionErrorsAlert?: AlertOptions;
  /**
   * Create the two cutover alerts above. A stack turns them off for a plan that gates no cutover
   * (no window, no approval, no `cutover.maxConcurrent`): its DAG never writes those events.
   * @default true
   */
  readonly cutoverAlerts?: boolean;
  /**
   * `existing` for the second and later plans sharing a workspace: the first plan's stack created
   * `MigrationEvents_CL` (and destroying that stack deletes it, with every plan's events); this
   * plan's rule routes to it and creates none. Needs an existing `workspace`.
   * @default 'create'
   */
  readonly eventsTable?: MigrationEventsTable;
  /**
   * Deploy the Azure Monitor workbook that shows each database's status, phase minutes and failures.
   * @default true
   */
  readonly workbook?: boolean;
}

/**
 * The alerts and the workbook on the migration events, and the rule's error log with its alert
 * (what `monitorMigrationEvents` dispatches to).
 */
export class MigrationEventsMonitoring {
  /** The log alerts made, in creation order. */
  public readonly alerts: readonly CreatedLogAlert[];
  /** The workbook, unless turned off. */
  public readonly workbook?: MigrationWorkbook;

  constructor(monitoring: MonitoringScope, events: MigrationEventIngestion, props: MigrationEventsMonitoringProps = {}) {
    const namePrefix = checkedPlanName(monitoring.namePrefix);
    const longRunningMinutes = checkedLongRunningMinutes(props.longRunningMinutes);
    const runningLongWindow = runningLongWindowMinutes(
      longRunningMinutes,
      props.migrationRunningLongAlert?.evaluationFrequencyMinutes ?? 15,
      props.migrationRunningLongAlert?.windowMinutes,
    );

    const alerts = [
      monitoring.alerts.log(migrationFailedAlert(namePrefix, events.table), props.migrationFailedAlert),
      monitoring.alerts.log(rollbackFailedAlert(namePrefix, events.table), props.rollbackFailedAlert),
      monitoring.alerts.log(migrationRunningLongAlert(namePrefix, longRunningMinutes, runningLongWindow, events.table), {
        ...props.migrationRunningLongAlert,
        windowMinutes: runningLongWindow,
      }),
    ];
    if (props.migrationStalledAlert !== false) {
      const { silentMinutes = DEFAULT_STALLED_AFTER_MINUTES, ...options } = props.migrationStalledAlert ?? {};
      const window = options.windowMinutes ?? defaultStalledWindowMinutes(silentMinutes) ?? LONGEST_LOG_ALERT_WINDOW_MINUTES;
      alerts.push(monitoring.alerts.log(migrationStalledAlert(namePrefix, silentMinutes, window, events.table), options));
    }
    if (props.sourceFrozenTooLongAlert !== false) {
      const alert = this.sourceFrozenTooLong(monitoring, namePrefix, events, props);
      if (alert) alerts.push(alert);
    }
    if (props.cutoverAlerts ?? true) {
      const approval = cutoverAwaitingApprovalAlert(namePrefix, events.table);
      checkSeesHeartbeat(
        approval.optionsProp,
        `a waiting database's "${MigrationStatus.AWAITING_APPROVAL}" event`,
        props.cutoverAwaitingApprovalAlert?.windowMinutes ?? approval.windowMinutes,
        props.cutoverAwaitingApprovalAlert?.evaluationFrequencyMinutes ?? approval.evaluationFrequencyMinutes,
      );
      alerts.push(
        monitoring.alerts.log(approval, props.cutoverAwaitingApprovalAlert),
        monitoring.alerts.log(cutoverPostponedAlert(namePrefix, events.table), props.cutoverPostponedAlert),
      );
    }
    eventIngestionDiagnostics(monitoring, events);
    alerts.push(monitoring.alerts.log(eventIngestionErrorsAlert(namePrefix, events), props.eventIngestionErrorsAlert));
    this.alerts = alerts;

    if (props.workbook ?? true) {
      this.workbook = new MigrationWorkbook(monitoring.scope, 'Workbook', {
        resourceGroup: monitoring.resourceGroup,
        location: monitoring.location,
        workspace: monitoring.workspace,
        namePrefix,
        tags: monitoring.tags,
      });
      if (events.table) this.workbook.node.addDependency(events.table);
    }
  }

  /** The alert on the databases whose source the DAG freezes; none where no database's is. */
  private sourceFrozenTooLong(
    monitoring: MonitoringScope,
    namePrefix: string,
    events: MigrationEventIngestion,
    props: MigrationEventsMonitoringProps,
  ): CreatedLogAlert | undefined {
    const { graceMinutes = DEFAULT_FREEZE_GRACE_MINUTES, ...options } = props.sourceFrozenTooLongAlert || {};
    const limits = sourceFreezeLimits(props.databases ?? [], graceMinutes);
    if (limits.limitMinutes.size === 0) {
      if (props.sourceFrozenTooLongAlert) {
        throw new Error(
          props.databases === undefined
            ? 'sourceFrozenTooLongAlert needs databases (plan.databases): the alert watches each database\'s freeze against its cutover.expectedMinutes'
            : 'sourceFrozenTooLongAlert: no database freezes its source (each is a SqlDb copy with allowSourceWritesDuringCopy), so there is no such alert; remove the override',
        );
      }
      return undefined;
    }
    const window = sourceFrozenWindowMinutes(limits, options.evaluationFrequencyMinutes ?? SOURCE_FROZEN_EVALUATION_MINUTES, options.windowMinutes);
    return monitoring.alerts.log(sourceFrozenTooLongAlert(namePrefix, limits, graceMinutes, window, events.table), options);
  }
}

/**
 * The queries read the events whose `PlanName` (the plan's `name`, which the DAG writes) is the
 * namePrefix: one no plan can have would make alerts that never fire, so it is refused.
 */
function checkedPlanName(namePrefix: string): string {
  const checked = planDocumentSchema.shape.name.safeParse(namePrefix);
  if (Token.isUnresolved(namePrefix) || !checked.success) {
    throw new Error(
      `namePrefix "${namePrefix}" is not a plan name (${checked.error?.issues[0].message ?? 'it must be literal text'}): ` +
        `the migration-events alerts and workbook read the events whose PlanName, which the DAG writes, is the namePrefix; pass the plan's name (plan.name)`,
    );
  }
  return namePrefix;
}

/** The plan's rule and default, for callers that pass the value without a plan. */
function checkedLongRunningMinutes(longRunningMinutes: number | undefined): number {
  const checked = notificationsSchema.shape.longRunningMinutes.safeParse(longRunningMinutes);
  if (!checked.success) {
    throw new Error(
      `longRunningMinutes ${checked.error.issues[0].message}: a log alert looks back at most two days (got ${longRunningMinutes})`,
    );
  }
  return checked.data;
}
