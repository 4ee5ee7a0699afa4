import { resourcesSnapshot, synthObject } from '../helpers/test-stack';
import { monitoring } from './monitoring-test-stack';

const VAULT = { id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.KeyVault/vaults/kv-contoso-sql', name: 'kv-contoso-sql' };
const OTHER_VAULT = { id: VAULT.id.replace('kv-contoso-sql', 'kv-other'), name: 'kv-other' };

describe('MigrationMonitoring.monitorKeyVault', () => {
  const built = monitoring();
  built.monitoring.monitorKeyVault(VAULT).monitorKeyVault(OTHER_VAULT, { diagnosticSettingName: 'audit-to-migration' });
  const synth = synthObject(built.stack);
  const settings = Object.values(synth.resource.azurerm_monitor_diagnostic_setting) as Record<string, any>[];

  it('synthesizes the diagnostic settings (snapshot of those resources only; the test below names what matters)', () => {
    expect(resourcesSnapshot(synth, ['azurerm_monitor_diagnostic_setting'])).toMatchSnapshot();
  });

  it("sends each vault's audit log (who read which secret) to the workspace's AZKVAuditLogs table", () => {
    const byName = settings.map(({ name, target_resource_id, enabled_log, log_analytics_destination_type }) => ({ name, target_resource_id, enabled_log, log_analytics_destination_type }));
    expect(byName.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'audit-to-migration', target_resource_id: OTHER_VAULT.id, enabled_log: [{ category: 'AuditEvent' }], log_analytics_destination_type: 'Dedicated' },
      { name: 'diag-kv-contoso-sql', target_resource_id: VAULT.id, enabled_log: [{ category: 'AuditEvent' }], log_analytics_destination_type: 'Dedicated' },
    ]);
    expect(new Set(settings.map((setting) => setting.log_analytics_workspace_id)).size).toBe(1);
  });
});
