import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { IKeyVault } from '../core/references';
import { AlertOptions, AlertSeverity, CreatedMetricAlert, MetricAlertDefinition } from './alerts';
import { MonitoringScope } from './monitoring-scope';
import { platformMetricAlert } from './platform-metrics';

/**
 * Key Vault's audit log: every authenticated request, secret reads included, with who made it
 * (MicrosoftDocs/azure-monitor-docs `reference/supported-logs/microsoft-keyvault-vaults-logs.md`:
 * category `AuditEvent`, resource-specific table `AZKVAuditLogs`).
 */
export const KEY_VAULT_AUDIT_LOG_CATEGORY = 'AuditEvent';

/** Metric namespace of every Key Vault platform metric. */
export const KEY_VAULT_METRIC_NAMESPACE = 'Microsoft.KeyVault/vaults';

/** Options of {@link MigrationMonitoring.monitorKeyVault}. */
export interface KeyVaultMonitoringProps {
  /**
   * Name of the diagnostic setting.
   * @default `diag-<vault name>`
   */
  readonly diagnosticSettingName?: string;
  /**
   * Overrides of the vault availability alert (`alert-<namePrefix>-key-vault-availability`, metric `Availability`,
   * Azure Monitor Baseline Alerts' settings); `threshold` is the percent of requests served under which it fires.
   * @default - severity 1, every 1 minutes over 5 minutes, average under 90 percent
   */
  readonly keyVaultAvailabilityAlert?: AlertOptions;
  /**
   * Overrides of the vault saturation alert (`alert-<namePrefix>-key-vault-saturation`, metric `SaturationShoebox`,
   * Azure Monitor Baseline Alerts' settings); `threshold` is the percent of the vault's capacity used above which it fires.
   * @default - severity 1, every 1 minutes over 5 minutes, average more than 75 percent
   */
  readonly keyVaultSaturationAlert?: AlertOptions;
}

/** The settings Azure Monitor Baseline Alerts gives both vault alerts (`services/KeyVault/vaults/alerts.yaml`), on the vault's average. */
const BASELINE = {
  severity: AlertSeverity.ERROR,
  evaluationFrequencyMinutes: 1,
  windowMinutes: 5,
  metricNamespace: KEY_VAULT_METRIC_NAMESPACE,
  aggregation: 'Average',
} as const;

/**
 * Vault availability under `percent` (severity 1): the DAG's connections (Airflow's secrets backend) and Data
 * Factory's linked services read the SQL credentials from this vault; requests it fails, fail the steps.
 * Azure Monitor Baseline Alerts' `Availability` alert: average under 90, every minute over 5 minutes.
 */
export function keyVaultAvailabilityAlert(namePrefix: string, vaultName: string, suffix: string, percent: number = 90): MetricAlertDefinition {
  return platformMetricAlert({
    ...BASELINE,
    id: `KeyVaultAvailabilityAlert${suffix}`,
    name: suffix ? `alert-${namePrefix}-key-vault-availability-${suffix}` : `alert-${namePrefix}-key-vault-availability`,
    optionsProp: 'keyVaultAvailabilityAlert',
    threshold: percent,
    description:
      `Key Vault ${vaultName} served fewer than ${percent} percent of its requests: the migration's SQL credentials cannot be read, and steps fail. ` +
      "Check Azure Service Health for Key Vault in the region, the vault's network rules, and its failed requests in the workspace's AZKVAuditLogs table.",
    metricName: 'Availability',
    operator: 'LessThan',
  });
}

/**
 * Vault saturation over `percent` (severity 1): near its service limits Key Vault throttles (HTTP 429), and the
 * DAG's credential reads fail. Azure Monitor Baseline Alerts' `SaturationShoebox` alert: average above 75, every
 * minute over 5 minutes.
 */
export function keyVaultSaturationAlert(namePrefix: string, vaultName: string, suffix: string, percent: number = 75): MetricAlertDefinition {
  return platformMetricAlert({
    ...BASELINE,
    id: `KeyVaultSaturationAlert${suffix}`,
    name: suffix ? `alert-${namePrefix}-key-vault-saturation-${suffix}` : `alert-${namePrefix}-key-vault-saturation`,
    optionsProp: 'keyVaultSaturationAlert',
    threshold: percent,
    description:
      `Key Vault ${vaultName} uses more than ${percent} percent of its capacity: it is about to throttle (HTTP 429) the migration's credential reads. ` +
      'Find who calls it most in the workspace\'s AZKVAuditLogs table and lower that rate.',
    metricName: 'SaturationShoebox',
    operator: 'GreaterThan',
  });
}

/** A vault's diagnostic setting (its audit log to the workspace) and its availability and saturation alerts (what `monitorKeyVault` dispatches to). */
export class KeyVaultMonitoring {
  /** The diagnostic setting made. */
  public readonly diagnosticSetting: MonitorDiagnosticSetting;
  /** The availability and saturation alerts. */
  public readonly alerts: readonly CreatedMetricAlert[];

  /**
   * @param id construct id of the setting, unique in the facade
   * @param suffix what tells this vault's alerts from an earlier vault's: empty for the first
   */
  constructor(monitoring: MonitoringScope, id: string, vault: Pick<IKeyVault, 'id' | 'name'>, props: KeyVaultMonitoringProps = {}, suffix = '') {
    this.diagnosticSetting = monitoring.diagnosticSettings.add(id, {
      name: props.diagnosticSettingName ?? `diag-${vault.name}`,
      targetResourceId: vault.id,
      logAnalyticsDestinationType: 'Dedicated',
      enabledLog: [{ category: KEY_VAULT_AUDIT_LOG_CATEGORY }],
    });
    const { namePrefix, alerts } = monitoring;
    this.alerts = [
      alerts.metric(vault.id, keyVaultAvailabilityAlert(namePrefix, vault.name, suffix, props.keyVaultAvailabilityAlert?.threshold), props.keyVaultAvailabilityAlert),
      alerts.metric(vault.id, keyVaultSaturationAlert(namePrefix, vault.name, suffix, props.keyVaultSaturationAlert?.threshold), props.keyVaultSaturationAlert),
    ];
  }
}
