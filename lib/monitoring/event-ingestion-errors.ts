import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { AlertSeverity, LogAlertDefinition, splitOn } from './alerts';
import { MigrationEventIngestion } from './migration-event-ingestion';
import { kqlString } from './migration-events';
import { MonitoringScope } from './monitoring-scope';

/**
 * What Azure records of the DAG's uploads to its data collection rule, beside the DAG's own log
 * (MicrosoftDocs/azure-monitor-docs `data-collection/data-collection-monitor.md`, "Monitor and
 * troubleshoot DCR data collection"; `reference/supported-logs/microsoft-insights-datacollectionrules-logs.md`):
 * the rule's resource log category `LogErrors` goes to the table `DCRLogErrors`, one row per Logs
 * Ingestion call answered other than 200/202 (401, 403, 400 on a stream or column, 413, 429), per
 * transformation error, and per batch accepted (204) but not delivered to the table.
 *
 * Not logged there: a malformed call URI's 404 and certain 500s, which cannot be associated with a
 * rule. The rule's metric `ApiCallReceived_Count` ("Logs Ingestion Requests per Min", dimensions
 * `InputStreamId`, `ResponseCode`) counts the calls the rule received by response code, so it misses
 * the same 404, and it never sees a batch accepted and then lost on its way to the table; the log
 * sees both kinds, with Azure's message, so the alert reads the log.
 */
export const DATA_COLLECTION_RULE_ERROR_LOG_CATEGORY = 'LogErrors';

/** Resource-specific table of {@link DATA_COLLECTION_RULE_ERROR_LOG_CATEGORY} (`reference/tables/dcrlogerrors.md`). */
export const DATA_COLLECTION_RULE_ERRORS_TABLE = 'DCRLogErrors';

/**
 * Azure logs an error that persists only a few times each hour, then mutes it until the hour ends:
 * a two-hour window holds the last hour's logged errors until the next hour logs them again, so the
 * alert does not resolve while the rule still refuses the events.
 */
const EVENT_INGESTION_ERRORS_WINDOW_MINUTES = 120;

/** The columns of {@link DATA_COLLECTION_RULE_ERRORS_TABLE} the alert reads, with their types. */
const READ_COLUMNS = 'TimeGenerated: datetime, _ResourceId: string, OperationName: string, InputStreamId: string, Message: string';

/**
 * The errors Azure logged of the rule `dataCollectionRuleId` (any stream, any operation): per
 * operation (`Ingestion`, `Transformation`) and input stream, how many, the latest and its message.
 */
export function eventIngestionErrorsQuery(dataCollectionRuleId: string): string {
  return [
    // A workspace has the table only once Azure logged a first rule error into it; until then a query
    // naming it does not resolve and Azure refuses to create the alert. The fuzzy union with an empty
    // table of the columns read stands in for it meanwhile.
    `union isfuzzy=true ${DATA_COLLECTION_RULE_ERRORS_TABLE}, (datatable(${READ_COLUMNS})[])`,
    // _ResourceId holds the rule's id in lowercase.
    `| where _ResourceId =~ ${kqlString(dataCollectionRuleId)}`,
    '| summarize arg_max(TimeGenerated, Message), Errors = count() by OperationName, InputStreamId',
    '| project OperationName, InputStreamId, Errors, LastErrorAt = TimeGenerated, LastMessage = Message',
  ].join('\n');
}

/** "Migration events refused": Azure logged errors of the DAG's uploads to `dcr-<namePrefix>`. */
export function eventIngestionErrorsAlert(namePrefix: string, ingestion: Pick<MigrationEventIngestion, 'dataCollectionRuleId' | 'dataCollectionRuleName' | 'streamName'>): LogAlertDefinition {
  return {
    id: 'EventIngestionErrorsAlert',
    name: `alert-${namePrefix}-event-ingestion-errors`,
    displayName: `${namePrefix}: migration events refused by ${ingestion.dataCollectionRuleName}`,
    optionsProp: 'eventIngestionErrorsAlert',
    severity: AlertSeverity.ERROR,
    evaluationFrequencyMinutes: 5,
    windowMinutes: EVENT_INGESTION_ERRORS_WINDOW_MINUTES,
    threshold: 0,
    description:
      `Azure logged errors (${DATA_COLLECTION_RULE_ERRORS_TABLE}) of the migration DAG's event uploads to the data collection rule ` +
      `${ingestion.dataCollectionRuleName}: an event refused for good is lost, and with it the migration alerts of plan ${namePrefix} it would raise (the run goes on). ` +
      'LastMessage in the results says why. Check: 403, the Airflow identity lost Monitoring Metrics Publisher on the rule; ' +
      `401, its token (federated credential, client id); 400, the stream ${ingestion.streamName} or a column the rule no longer declares ` +
      '(deploy the stack again); Transformation, the rule\'s transformation and the table MigrationEvents_CL. ' +
      'A malformed URL\'s 404 is not logged: a wrong MIGRATION_EVENTS_RULE_ID, MIGRATION_EVENTS_STREAM or MIGRATION_EVENTS_ENDPOINT ' +
      'in the DAG\'s settings shows only in the task logs (Could not write migration event). The DAG retries 408, 429 and 5xx: ' +
      'where only those were logged, events may have got through (the task logs say Could not write migration event where one did not). ' +
      'Resolves two hours after the last logged error.',
    query: eventIngestionErrorsQuery(ingestion.dataCollectionRuleId),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    dimensions: splitOn('OperationName', 'InputStreamId'),
  };
}

/**
 * The rule's error log to the workspace: `diag-<rule name>`. No `logAnalyticsDestinationType`: the
 * rule's logs have only their resource-specific table, no choice of mode, and Azure answers such a
 * setting's destination type with null, so a `Dedicated` here would show as a change on every plan.
 */
export function eventIngestionDiagnostics(monitoring: MonitoringScope, ingestion: MigrationEventIngestion): MonitorDiagnosticSetting {
  return monitoring.diagnosticSettings.add('EventsRuleDiagnostics', {
    name: `diag-${ingestion.dataCollectionRuleName}`,
    targetResourceId: ingestion.dataCollectionRuleId,
    enabledLog: [{ category: DATA_COLLECTION_RULE_ERROR_LOG_CATEGORY }],
  });
}
