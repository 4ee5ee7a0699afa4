import { TerraformStack } from 'cdktf';
import { IDataFactory } from '../../lib/core/references';
import { CustomMetricAlertProps } from '../../lib/monitoring/custom-alerts';
import { DATA_FACTORY_METRIC_NAMESPACE } from '../../lib/monitoring/data-factory-signals';
import { MigrationMonitoring, MigrationMonitoringProps } from '../../lib/monitoring/migration-monitoring';
import { SourceFreezeSettings } from '../../lib/monitoring/source-frozen';
import { testStack } from '../helpers/test-stack';

export type MonitoringTestProps = Omit<MigrationMonitoringProps, 'resourceGroup'>;

export const BASE_PROPS: MonitoringTestProps = {
  namePrefix: 'contoso-sql',
  emails: ['dba@contoso.example', 'oncall@contoso.example'],
};

/** The `let` statements the stalled and running-long queries of plan contoso-sql begin with: the events of its latest run. */
export const LATEST_RUN_EVENTS_OF_CONTOSO_SQL: readonly string[] = [
  'let allRuns = MigrationEvents_CL | where PlanName == "contoso-sql"',
  '| extend IsEnd = Status in ("Failed", "RolledBack", "RolledBackTargetKept") or (Phase in ("done", "rollback") and Status == "Succeeded") or (Phase == "rollback" and Status == "WindowMissed");',
  'let events = allRuns',
  '| join kind=leftouter (allRuns',
  '    | summarize arg_max(TimeGenerated, RunId) by PlanName',
  '    | project PlanName, LatestRunId = RunId',
  '    ) on PlanName',
  '| where RunId == LatestRunId',
  '| project TimeGenerated, RunId, Database, Phase, Status, DurationSeconds, IsEnd;',
];

/** A `MigrationMonitoring` alone in a test stack. */
export function monitoring(props: Partial<MonitoringTestProps> = {}): { stack: TerraformStack; monitoring: MigrationMonitoring } {
  const { stack, resourceGroup } = testStack();
  const construct = new MigrationMonitoring(stack, 'monitoring', { ...BASE_PROPS, ...props, resourceGroup });
  return { stack, monitoring: construct };
}

/** An existing factory, as a literal: anything with `id` and `name` fits `IDataFactory`. */
export const FACTORY: IDataFactory = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.DataFactory/factories/adf-contoso-sql',
  name: 'adf-contoso-sql',
};

/**
 * A custom metric alert on {@link FACTORY}: failed pipeline runs (`PipelineFailedRuns`, Total, in
 * MicrosoftDocs/azure-reference-other `supported-metrics/.../microsoft-datafactory-factories-metrics-include.md`).
 */
export const PIPELINE_FAILURES_ALERT: CustomMetricAlertProps = {
  kind: 'metric',
  resource: FACTORY,
  severity: 2,
  description: 'Data Factory pipeline runs failed.',
  metricNamespace: DATA_FACTORY_METRIC_NAMESPACE,
  metricName: 'PipelineFailedRuns',
  aggregation: 'Total',
  operator: 'GreaterThan',
  threshold: 0,
};

/** An existing storage account holding a factory's DAGs. */
export const DAG_STORAGE_ACCOUNT_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.Storage/storageAccounts/stdag';

/**
 * Databases of a plan as the "source frozen too long" alert reads them: an online SqlMi migration
 * (30 minutes expected), an offline SqlVm one (90), a SqlDb copy that freezes its source for the
 * whole copy (240) and one that keeps it writable.
 */
export const PLAN_DATABASES: readonly SourceFreezeSettings[] = [
  { name: 'sales', target: { kind: 'SqlMi' }, allowSourceWritesDuringCopy: false, cutover: { expectedMinutes: 30 } },
  { name: 'hr', target: { kind: 'SqlMi' }, allowSourceWritesDuringCopy: false, cutover: { expectedMinutes: 30 } },
  { name: 'archive', target: { kind: 'SqlVm' }, allowSourceWritesDuringCopy: false, cutover: { expectedMinutes: 90 } },
  { name: 'crm', target: { kind: 'SqlDb' }, allowSourceWritesDuringCopy: false, cutover: { expectedMinutes: 240 } },
  { name: 'crm_audit', target: { kind: 'SqlDb' }, allowSourceWritesDuringCopy: true, cutover: { expectedMinutes: 30 } },
];
