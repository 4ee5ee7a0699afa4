import { ITerraformDependable } from 'cdktf';
import { requirePlanName } from '../private/required-fields';
import { AlertSeverity, LogAlertDefinition, splitOn } from './alerts';
import { eventsTableDependency, kqlList, migrationEventsSource, MigrationPhase, MigrationStatus } from './migration-events';

/**
 * People are told when a cutover waits for them (issue 14): the DAG's `await_cutover` step writes
 * `AwaitingApproval` at least every heartbeat interval while a window is open and no approver has
 * answered, its message naming the window, the approvers and where to approve; `Rejected` and
 * `WindowMissed` when a window passes without a cutover (the database keeps replicating).
 */

/** Statuses of the cutover gate that are news to someone: the cutover did not happen in a window. */
export const CUTOVER_POSTPONED_STATUSES: readonly string[] = [MigrationStatus.REJECTED, MigrationStatus.WINDOW_MISSED];

/**
 * Per run and database, the latest report of the cutover gate (the generic `Started`/`Running`
 * events of the step say nothing about approval); rows where it asks for an approver.
 */
export function cutoverAwaitingApprovalQuery(planName: string): string {
  requirePlanName('cutoverAwaitingApprovalQuery', planName, "cutoverAwaitingApprovalQuery('contoso-sql')");
  const s = MigrationStatus;
  return [
    migrationEventsSource(planName),
    `| where Phase == "${MigrationPhase.AWAIT_CUTOVER}" and Status !in ("${s.STARTED}", "${s.RUNNING}")`,
    '| summarize arg_max(TimeGenerated, Status, Message) by RunId, Database',
    `| where Status == "${s.AWAITING_APPROVAL}"`,
    '| project Database, Message, RunId, LastAskedAt = TimeGenerated',
  ].join('\n');
}

/** Every rejected cutover and every missed window, one row each, whichever step reported it. */
export function cutoverPostponedQuery(planName: string): string {
  requirePlanName('cutoverPostponedQuery', planName, "cutoverPostponedQuery('contoso-sql')");
  return [
    migrationEventsSource(planName),
    `| where Status in ${kqlList(CUTOVER_POSTPONED_STATUSES)}`,
    '| project TimeGenerated, Database, Status, Phase, Message, RunId',
  ].join('\n');
}

/**
 * The shortest window that always holds one heartbeat of a waiting database, with one evaluation of
 * slack for ingestion (a longer one keeps a dead run's last request alive longer; the stalled-run
 * alert reports that run).
 */
export const AWAITING_APPROVAL_WINDOW_MINUTES = 30;

/** "Cutover awaiting approval" (severity 3): a window is open and only an approver's yes is missing. */
export function cutoverAwaitingApprovalAlert(namePrefix: string, eventsTable: ITerraformDependable | undefined): LogAlertDefinition {
  return {
    id: 'CutoverAwaitingApprovalAlert',
    name: `alert-${namePrefix}-cutover-awaiting-approval`,
    displayName: `${namePrefix}: cutover awaiting approval`,
    optionsProp: 'cutoverAwaitingApprovalAlert',
    severity: AlertSeverity.INFORMATIONAL,
    evaluationFrequencyMinutes: 5,
    windowMinutes: AWAITING_APPROVAL_WINDOW_MINUTES,
    threshold: 0,
    description:
      `A database of plan ${namePrefix} is ready to cut over in an open window and waits for an approver. ` +
      'The alert names the database and carries the event Message: the window, who may approve and where ' +
      '(the Airflow UI, or the `airflow variables set migration_cutover_approval__<database> ...` command it gives). ' +
      'It resolves by itself once someone answered or the window passed.',
    query: cutoverAwaitingApprovalQuery(namePrefix),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    // The message of an `AwaitingApproval` event names the window, the approvers and how to approve;
    // a new window is a new message, so a new notification, and its heartbeats repeat the same one.
    dimensions: splitOn('Database', 'Message'),
    dependsOn: eventsTableDependency(eventsTable),
  };
}

/** "Cutover postponed" (severity 3): rejected, or a window missed; the database keeps replicating. */
export function cutoverPostponedAlert(namePrefix: string, eventsTable: ITerraformDependable | undefined): LogAlertDefinition {
  return {
    id: 'CutoverPostponedAlert',
    name: `alert-${namePrefix}-cutover-postponed`,
    displayName: `${namePrefix}: cutover rejected or window missed`,
    optionsProp: 'cutoverPostponedAlert',
    severity: AlertSeverity.INFORMATIONAL,
    evaluationFrequencyMinutes: 5,
    // Three evaluations see each event, so one that is ingested late is still seen; a stateful
    // alert notifies once for them.
    windowMinutes: 15,
    threshold: 0,
    description:
      `A database of plan ${namePrefix} did not cut over in its window: an approver rejected it, or the window closed first. ` +
      'Nothing was rolled back: the database keeps replicating (a frozen source was made writable again) and waits for its next window. ' +
      'The notification names the Database, Status, Phase and Message. Phase await_cutover: this run waits for the next window itself. ' +
      'Phase start_migration (a SqlDb copy), freeze_source, final_backup, cutover or rollback: the run ended for that database; trigger the DAG again before the next window (the new run waits for it). ' +
      'Phase wait_for_migration or wait_for_completion: an offline copy or a requested cutover finished after its window closed (once the source is frozen it is not stopped); tell the application owners.',
    query: cutoverPostponedQuery(namePrefix),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    // A rejection and a missed window are told apart; the step says whether the run still waits.
    dimensions: splitOn('Database', 'Status', 'Phase', 'Message'),
    dependsOn: eventsTableDependency(eventsTable),
  };
}
