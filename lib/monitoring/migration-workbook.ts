import { ApplicationInsightsWorkbook } from '@cdktf/provider-azurerm/lib/application-insights-workbook';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import { stableGuid } from '../private/stable-guid';
import { CUTOVER_POSTPONED_STATUSES } from './cutover-alerts';
import { IN_PROGRESS_STATUSES, kqlList, MIGRATION_EVENTS_TABLE, migrationEventsSource, MigrationPhase, MigrationStatus, ROLLED_BACK_STATUSES } from './migration-events';

/** Props of {@link MigrationWorkbook}. */
export interface MigrationWorkbookProps {
  /** Where the workbook is created. */
  readonly resourceGroup: IResourceGroup;
  /** Azure region of the workbook. */
  readonly location: string;
  /** Workspace holding the migration-events table; the workbook queries it. */
  readonly workspace: ILogAnalyticsWorkspace;
  /** The plan name: part of the display name and of the workbook's stable GUID. */
  readonly namePrefix: string;
  /**
   * Tags on the workbook.
   * @default {}
   */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Workbook parameter holding the time range every query is filtered by. */
const TIME_RANGE = 'TimeRange';
/** Workbook parameter selecting DAG runs; "All" formats as `"*"` (its `selectAllValue`), a selection as `"<run id>"`. */
const RUN_ID = 'RunId';

/** What the cutover gate says while a database still waits. */
const WAITING_STATUSES = [
  MigrationStatus.WAITING_FOR_WINDOW,
  MigrationStatus.AWAITING_APPROVAL,
  ...CUTOVER_POSTPONED_STATUSES,
];

const RUN_FILTER = `| where TimeGenerated {${TIME_RANGE}} | where "*" in ({${RUN_ID}}) or RunId in ({${RUN_ID}})`;

/** The KQL behind each workbook panel of plan `planName` (its events only), exported so tests can read what the workbook shows. */
export function workbookQueries(planName: string) {
  const events = migrationEventsSource(planName);
  return {
    /** The DAG runs in the time range, newest first (the run picker). */
    runs: `${events} | where TimeGenerated {${TIME_RANGE}} | summarize Started = min(TimeGenerated) by RunId | order by Started desc | project RunId`,
    /** Per database: latest phase and status, failures, minutes spent, last message. */
    statusByDatabase: [
      events,
      RUN_FILTER,
      // A heartbeat's (or a cutover gate report's) DurationSeconds is the step's time so far, which its end event counts again.
      `| summarize arg_max(TimeGenerated, Phase, Status, Message), Failures = countif(Status == "Failed"), Seconds = sumif(DurationSeconds, Status !in ${kqlList(IN_PROGRESS_STATUSES)}) by RunId, Database, TargetKind`,
      '| project Database, TargetKind, Phase, Status, Failures, Minutes = round(Seconds / 60.0, 1), LastEvent = TimeGenerated, Message, RunId',
      '| order by Database asc',
    ].join('\n'),
    /** Minutes per database and phase, for finished steps. */
    durationByPhase: [
      events,
      RUN_FILTER,
      `| where Status in ${kqlList([MigrationStatus.SUCCEEDED, MigrationStatus.FAILED, ...ROLLED_BACK_STATUSES])}`,
      '| summarize Minutes = round(sum(DurationSeconds) / 60.0, 1) by Database, Phase',
    ].join('\n'),
    /** Every failed or rolled-back step with its message, newest first. */
    failures: [
      events,
      RUN_FILTER,
      `| where Status in ${kqlList([MigrationStatus.FAILED, ...ROLLED_BACK_STATUSES])}`,
      '| project TimeGenerated, Database, Phase, Status, Message, MigrationOperationId, RunId',
      '| order by TimeGenerated desc',
    ].join('\n'),
    /**
     * Databases waiting for a cutover window or an approver: per run, the database's latest event
     * apart from heartbeats is a report of the cutover gate that is not a yes (a rejection or a
     * missed window means it waits for the next window).
     */
    waitingForCutover: [
      events,
      RUN_FILTER,
      `| where Status != "${MigrationStatus.RUNNING}"`,
      `| summarize arg_max(TimeGenerated, Phase, Status, Message), WaitingSince = minif(TimeGenerated, Phase == "${MigrationPhase.AWAIT_CUTOVER}") by RunId, Database`,
      `| where Phase == "${MigrationPhase.AWAIT_CUTOVER}" and Status in ${kqlList(WAITING_STATUSES)}`,
      '| project Database, Status, WaitingSince, LastEvent = TimeGenerated, Message, RunId',
      '| order by WaitingSince asc',
    ].join('\n'),
    /** Every rejected cutover and missed window with its message, newest first. */
    cutoversPostponed: [
      events,
      RUN_FILTER,
      `| where Status in ${kqlList(CUTOVER_POSTPONED_STATUSES)}`,
      '| project TimeGenerated, Database, Status, Phase, Message, RunId',
      '| order by TimeGenerated desc',
    ].join('\n'),
    /** Events per 5 minutes by status. */
    timeline: [events, RUN_FILTER, '| summarize Events = count() by bin(TimeGenerated, 5m), Status'].join('\n'),
  } as const;
}

function queryPanel(name: string, title: string, query: string, visualization: string): Record<string, unknown> {
  return {
    type: 3,
    name,
    content: {
      version: 'KqlItem/1.0',
      title,
      query,
      size: 0,
      queryType: 0,
      resourceType: 'microsoft.operationalinsights/workspaces',
      visualization,
    },
  };
}

/** The workbook document (Notebook/1.0): migration progress per database from the events table. */
export function migrationWorkbookContent(planName: string): Record<string, unknown> {
  const queries = workbookQueries(planName);
  return {
    version: 'Notebook/1.0',
    items: [
      {
        type: 1,
        name: 'title',
        content: { json: `## Database migration: ${planName}\nOne row per database of the selected run, from the DAG's ${MIGRATION_EVENTS_TABLE} events.` },
      },
      {
        type: 9,
        name: 'parameters',
        content: {
          version: 'KqlParameterItem/1.0',
          parameters: [
            { id: 'time-range', version: 'KqlParameterItem/1.0', name: TIME_RANGE, type: 4, isRequired: true, value: { durationMs: 604800000 } },
            {
              id: 'run-id',
              version: 'KqlParameterItem/1.0',
              name: RUN_ID,
              label: 'DAG run',
              type: 2,
              isRequired: true,
              // "All" formats as selectAllValue, and a selection quoted and joined, on multi-select
              // dropdowns (MicrosoftDocs/azure-monitor-docs visualize/workbooks-dropdowns.md).
              multiSelect: true,
              quote: '"',
              delimiter: ',',
              query: queries.runs,
              queryType: 0,
              resourceType: 'microsoft.operationalinsights/workspaces',
              typeSettings: { additionalResourceOptions: ['value::all'], selectAllValue: '*', showDefault: false },
              value: ['value::all'],
              defaultValue: 'value::all',
            },
          ],
        },
      },
      queryPanel('status-by-database', 'Status per database', queries.statusByDatabase, 'table'),
      queryPanel('duration-by-phase', 'Minutes per phase', queries.durationByPhase, 'barchart'),
      queryPanel('waiting-for-cutover', 'Waiting for a cutover window or an approval', queries.waitingForCutover, 'table'),
      queryPanel('cutovers-postponed', 'Cutovers rejected or windows missed', queries.cutoversPostponed, 'table'),
      queryPanel('failures', 'Failures and rollbacks', queries.failures, 'table'),
      queryPanel('timeline', 'Events over time', queries.timeline, 'timechart'),
    ],
    fallbackResourceIds: [],
    $schema: 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json',
  };
}

/** An Azure Monitor workbook showing each database's migration progress: status, phase, duration, failures. */
export class MigrationWorkbook extends Construct {
  /** The `azurerm_application_insights_workbook` resource. */
  public readonly workbook: ApplicationInsightsWorkbook;

  constructor(scope: Construct, id: string, props: MigrationWorkbookProps) {
    super(scope, id);
    this.workbook = new ApplicationInsightsWorkbook(this, 'Workbook', {
      name: stableGuid(`migration-workbook/${props.namePrefix}`),
      displayName: `Database migration: ${props.namePrefix}`,
      description: 'Migration progress per database from the migration-events table',
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      category: 'workbook',
      // Azure rejects source ids with upper-case letters.
      sourceId: Fn.lower(props.workspace.id),
      dataJson: JSON.stringify(migrationWorkbookContent(props.namePrefix)),
      tags: props.tags,
    });
  }
}
