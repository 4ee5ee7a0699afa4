import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { IKeyVault } from '../core/references';
import { MonitoringScope } from './monitoring-scope';

/**
 * Key Vault's audit log: every authenticated request, secret reads included, with who made it
 * (MicrosoftDocs/azure-monitor-docs `reference/supported-logs/microsoft-keyvault-vaults-logs.md`:
 * category `AuditEvent`, resource-specific table `AZKVAuditLogs`).
 */
export const KEY_VAULT_AUDIT_LOG_CATEGORY = 'AuditEvent';

/** Options of {@link MigrationMonitoring.monitorKeyVault}. */
export interface KeyVaultMonitoringProps {
  /**
   * Name of the diagnostic setting.
   * @default `diag-<vault name>`
   */
  readonly diagnosticSettingName?: string;
}

/** A vault's diagnostic setting: its audit log to the workspace (what `monitorKeyVault` dispatches to). */
export class KeyVaultMonitoring {
  /** The diagnostic setting made. */
  public readonly diagnosticSetting: MonitorDiagnosticSetting;

  /** @param id construct id of the setting, unique in the facade */
  constructor(monitoring: MonitoringScope, id: string, vault: Pick<IKeyVault, 'id' | 'name'>, props: KeyVaultMonitoringProps = {}) {
    this.diagnosticSetting = monitoring.diagnosticSettings.add(id, {
      name: props.diagnosticSettingName ?? `diag-${vault.name}`,
      targetResourceId: vault.id,
      logAnalyticsDestinationType: 'Dedicated',
      enabledLog: [{ category: KEY_VAULT_AUDIT_LOG_CATEGORY }],
    });
  }
}
