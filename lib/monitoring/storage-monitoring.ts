import { AlertOptions, AlertSeverity, CreatedMetricAlert, MetricAlertDefinition } from './alerts';
import { MonitoringScope } from './monitoring-scope';
import { platformMetricAlert } from './platform-metrics';

/** Metric namespace of a storage account's account-level platform metrics. */
export const STORAGE_ACCOUNT_METRIC_NAMESPACE = 'Microsoft.Storage/storageAccounts';

/** Props of {@link MigrationMonitoring.monitorBackupStorage}. */
export interface BackupStorageMonitoringProps {
  /**
   * Overrides of the backup storage availability alert (`alert-<namePrefix>-backup-storage-availability`, metric
   * `Availability` of the account, Azure Monitor Baseline Alerts' settings); `threshold` is the percent of requests
   * served under which it fires.
   * @default - severity 1, every 5 minutes over 5 minutes, average under 90 percent
   */
  readonly backupStorageAvailabilityAlert?: AlertOptions;
}

/**
 * Backup storage availability under `percent` (severity 1): DMS stages the SqlMi and SqlVm backups in this account
 * and restores from it through the window. Azure Monitor Baseline Alerts' `Availability` alert
 * (`services/Storage/storageAccounts/alerts.yaml`: average under 90, every 5 minutes over 5 minutes); the metric is
 * billable requests over applicable requests, "including those that produced unexpected errors", and "all unexpected
 * errors result in reduced availability" (MicrosoftDocs/azure-reference-other
 * `azure-monitor-ref/supported-metrics/includes/microsoft-storage-storageaccounts-metrics-include.md`). The account
 * may be in another subscription or region: a rule on one resource names it by id (docs/monitoring.md).
 */
export function backupStorageAvailabilityAlert(namePrefix: string, percent: number = 90): MetricAlertDefinition {
  return platformMetricAlert({
    id: 'BackupStorageAvailabilityAlert',
    name: `alert-${namePrefix}-backup-storage-availability`,
    optionsProp: 'backupStorageAvailabilityAlert',
    severity: AlertSeverity.ERROR,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 5,
    threshold: percent,
    description:
      `The backup storage account of plan ${namePrefix} served fewer than ${percent} percent of its requests: DMS cannot stage or restore the backups in it, and the SqlMi and SqlVm migrations stop progressing. ` +
      "Check Azure Service Health for Storage in its region and the account's network rules.",
    metricNamespace: STORAGE_ACCOUNT_METRIC_NAMESPACE,
    metricName: 'Availability',
    aggregation: 'Average',
    operator: 'LessThan',
  });
}

/** The backup storage account's availability alert (what `monitorBackupStorage` dispatches to). */
export function monitorBackupStorage(monitoring: MonitoringScope, storageAccountId: string, props: BackupStorageMonitoringProps): CreatedMetricAlert {
  const options = props.backupStorageAvailabilityAlert;
  return monitoring.alerts.metric(storageAccountId, backupStorageAvailabilityAlert(monitoring.namePrefix, options?.threshold), options);
}
