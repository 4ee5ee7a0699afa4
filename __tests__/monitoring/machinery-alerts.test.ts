/**
 * The metric alerts on the migration's own machinery that Azure Monitor Baseline Alerts recommends and the
 * library lacked (docs/monitoring.md, "Measured against Azure Monitor Baseline Alerts"): the created Key Vault's
 * availability and saturation, and the backup storage's availability (the self-hosted runtime's CPU and memory are
 * in data-factory-monitoring.test.ts). Each figure below is the baseline's (Azure/azure-monitor-baseline-alerts
 * `services/KeyVault/vaults/alerts.yaml`, `services/Storage/storageAccounts/alerts.yaml`).
 */
import { Testing } from 'cdktf';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { MetricAlertDefinition } from '../../lib/monitoring/alerts';
import { keyVaultAvailabilityAlert } from '../../lib/monitoring/key-vault-monitoring';
import { platformMetricAlert } from '../../lib/monitoring/platform-metrics';
import { AIRFLOW_OF_HOST, examplePlanWith } from '../helpers/migration-stack';
import { examplePlan } from '../helpers/example-plan';
import { reference, resourceNamed, resourceNames, resourcesOfType, synthObject, SynthesizedStack } from '../helpers/test-stack';
import { monitoring } from './monitoring-test-stack';

const METRIC_ALERT = 'azurerm_monitor_metric_alert';
const VAULT = { id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.KeyVault/vaults/kv-contoso-sql', name: 'kv-contoso-sql' };
const BACKUP_ACCOUNT = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/stcontosobackups';

function stackWith(props: Partial<DatabaseMigrationStackProps> = {}): SynthesizedStack {
  const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), ...props });
  return JSON.parse(Testing.synth(stack)) as SynthesizedStack;
}

describe('MigrationMonitoring.monitorKeyVault alerts', () => {
  const built = monitoring();
  built.monitoring.monitorKeyVault(VAULT);
  const synth = synthObject(built.stack);

  it.each([
    ['alert-contoso-sql-key-vault-availability', 'Availability', 'LessThan', 90],
    ['alert-contoso-sql-key-vault-saturation', 'SaturationShoebox', 'GreaterThan', 75],
  ] as const)("%s: the baseline's %s, average %s %d, severity 1, every minute over 5 minutes, on the vault", (name, metric, operator, threshold) => {
    const alert = resourceNamed(synth, METRIC_ALERT, name);
    expect(alert.criteria).toEqual([{ metric_namespace: 'Microsoft.KeyVault/vaults', metric_name: metric, aggregation: 'Average', operator, threshold }]);
    expect([alert.severity, alert.frequency, alert.window_size]).toEqual([1, 'PT1M', 'PT5M']);
    expect(alert.scopes).toEqual([VAULT.id]);
    expect(alert.action).toEqual([{ action_group_id: reference('azurerm_monitor_action_group', Object.keys(resourcesOfType(synth, 'azurerm_monitor_action_group'))[0]) }]);
    expect(alert.description).toContain(`Key Vault ${VAULT.name}`);
  });

  it('lists them in createdAlerts(), and names a second vault\'s alerts apart', () => {
    const twice = monitoring();
    twice.monitoring.monitorKeyVault(VAULT).monitorKeyVault({ id: VAULT.id.replace('kv-contoso-sql', 'kv-other'), name: 'kv-other' });
    expect(twice.monitoring.createdAlerts().map(({ name, kind }) => `${kind} ${name}`)).toEqual([
      'metric alert-contoso-sql-key-vault-availability',
      'metric alert-contoso-sql-key-vault-saturation',
      'metric alert-contoso-sql-key-vault-availability-2',
      'metric alert-contoso-sql-key-vault-saturation-2',
    ]);
  });

  it('takes overrides, and refuses a bad one naming it', () => {
    const tuned = monitoring();
    tuned.monitoring.monitorKeyVault(VAULT, { keyVaultSaturationAlert: { threshold: 60, severity: 2 }, keyVaultAvailabilityAlert: { enabled: false } });
    const tunedSynth = synthObject(tuned.stack);
    const saturation = resourceNamed(tunedSynth, METRIC_ALERT, 'alert-contoso-sql-key-vault-saturation');
    expect([saturation.criteria[0].threshold, saturation.severity]).toEqual([60, 2]);
    expect(saturation.description).toMatch(/more than 60 percent of its capacity/);
    expect(resourceNamed(tunedSynth, METRIC_ALERT, 'alert-contoso-sql-key-vault-availability').enabled).toBe(false);
    expect(() => monitoring().monitoring.monitorKeyVault(VAULT, { keyVaultAvailabilityAlert: { windowMinutes: 10 } })).toThrow(
      /test\/monitoring: keyVaultAvailabilityAlert\.windowMinutes must be one of 1, 5, 15, 30, 60, 360, 720, 1440 for a metric alert \(got 10\)/,
    );
  });
});

describe('MigrationMonitoring.monitorBackupStorage', () => {
  const built = monitoring();
  built.monitoring.monitorBackupStorage(BACKUP_ACCOUNT);
  const synth = synthObject(built.stack);

  it("alert-contoso-sql-backup-storage-availability: the baseline's Availability, average under 90, severity 1, every 5 minutes over 5 minutes, on the account", () => {
    const alert = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-backup-storage-availability');
    expect(alert.criteria).toEqual([{ metric_namespace: 'Microsoft.Storage/storageAccounts', metric_name: 'Availability', aggregation: 'Average', operator: 'LessThan', threshold: 90 }]);
    expect([alert.severity, alert.frequency, alert.window_size]).toEqual([1, 'PT5M', 'PT5M']);
    expect(alert.scopes).toEqual([BACKUP_ACCOUNT]);
    expect(built.monitoring.createdAlerts().map(({ name }) => name)).toEqual(['alert-contoso-sql-backup-storage-availability']);
  });

  it('is made once per facade', () => {
    expect(() => built.monitoring.monitorBackupStorage(BACKUP_ACCOUNT)).toThrow(/monitorBackupStorage\(\) may be called once/);
  });
});

describe('the stack\'s machinery alerts', () => {
  const synth = stackWith({
    monitoring: {
      selfHostedRuntimeCpuAlert: { severity: 2 },
      keyVaultSaturationAlert: { threshold: 70 },
      backupStorageAvailabilityAlert: { evaluationFrequencyMinutes: 1 },
      alertDefaults: { runbookUrl: 'https://wiki.contoso.example/migration' },
    },
  });

  it("watch the runtime, the stack's Key Vault and the plan's backup storage, with the stack's overrides and alert defaults", () => {
    expect(resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-shir-cpu').severity).toBe(2);
    expect(resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-key-vault-saturation').criteria[0].threshold).toBe(70);
    const backup = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-backup-storage-availability');
    expect(backup.frequency).toBe('PT1M');
    expect(backup.scopes).toEqual([BACKUP_ACCOUNT]);
    const vaultAlert = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-key-vault-availability');
    expect(vaultAlert.scopes).toEqual([reference('azurerm_key_vault', Object.keys(resourcesOfType(synth, 'azurerm_key_vault'))[0])]);
    for (const name of ['shir-cpu', 'shir-memory', 'key-vault-availability', 'key-vault-saturation', 'backup-storage-availability']) {
      expect(resourceNamed(synth, METRIC_ALERT, `alert-contoso-sql-${name}`).description).toMatch(/Runbook: https:\/\/wiki\.contoso\.example\/migration$/);
    }
  });

  it("name the runtime's options as its offline alert's (selfHostedRuntime...Alert), and refuse the short spelling", () => {
    const tuned = stackWith({ monitoring: { selfHostedRuntimeMemoryAlert: { threshold: 2_000_000_000 } } });
    expect(resourceNamed(tuned, METRIC_ALERT, 'alert-contoso-sql-shir-memory').criteria[0].threshold).toBe(2_000_000_000);
    const shortSpelling = { shirCpuAlert: { severity: 2 } } as unknown as DatabaseMigrationStackProps['monitoring'];
    expect(() => stackWith({ monitoring: shortSpelling })).toThrow('contoso-sql: DatabaseMigrationStack: props.monitoring.shirCpuAlert is an unknown field');
  });

  it('has no backup storage alert where no SqlMi or SqlVm target stages backups, and refuses its override there', () => {
    const sqlDbOnly = examplePlanWith(examplePlan().airflow, {
      targetServers: [{ name: 'sqldb-prod', kind: 'SqlDb', resourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers/Microsoft.Sql/servers/sql-contoso-prod' }],
      databases: [{ name: 'database_1', source: { server: 'sql01', database: 'Sales' }, target: { server: 'sqldb-prod' } }],
    });
    const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: sqlDbOnly });
    expect(resourceNames(JSON.parse(Testing.synth(stack)) as SynthesizedStack, METRIC_ALERT)).not.toContain('alert-contoso-sql-backup-storage-availability');
    expect(() => new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: sqlDbOnly, monitoring: { backupStorageAvailabilityAlert: { severity: 2 } } })).toThrow(
      'contoso-sql: monitoring.backupStorageAvailabilityAlert: the plan stages no backups (no SqlMi or SqlVm target with backupStorage); remove the override',
    );
  });

  it('has no Key Vault alerts on a vault passed in, and refuses their overrides there', () => {
    const keyVault = { id: VAULT.id, name: VAULT.name, vaultUri: 'https://kv-contoso-sql.vault.azure.net/' };
    const ownVault = stackWith({ orchestration: { keyVault } });
    expect(resourceNames(ownVault, METRIC_ALERT).filter((name) => name.includes('key-vault'))).toEqual([]);
    expect(() => stackWith({ orchestration: { keyVault }, monitoring: { keyVaultAvailabilityAlert: { severity: 2 }, keyVaultSaturationAlert: {} } })).toThrow(
      'contoso-sql: monitoring.keyVaultAvailabilityAlert, monitoring.keyVaultSaturationAlert: the stack watches only the Key Vault it creates, not orchestration.keyVault (its monitoring is yours); remove the override',
    );
  });
});

describe('MigrationMonitoring.monitorKubernetesCluster', () => {
  const CLUSTER = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.ContainerService/managedClusters/aks-contoso-sql';
  const built = monitoring();
  built.monitoring.monitorKubernetesCluster(CLUSTER);
  const synth = synthObject(built.stack);

  // services/ContainerService/managedClusters/alerts.yaml: node_cpu_usage_percentage > 95, node_memory_working_set_percentage > 100,
  // Average, severity 3, PT5M / PT5M; split here per node: averaged over a pool, one node at 100 percent beside idle ones never fires.
  it.each([
    ['alert-contoso-sql-aks-node-cpu', 'node_cpu_usage_percentage', 95],
    ['alert-contoso-sql-aks-node-memory', 'node_memory_working_set_percentage', 100],
  ] as const)("%s: the baseline's %s, average more than %d, per node, severity 3, every 5 minutes over 5 minutes, on the cluster", (name, metric, threshold) => {
    const alert = resourceNamed(synth, METRIC_ALERT, name);
    expect(alert.criteria).toEqual([
      {
        metric_namespace: 'Microsoft.ContainerService/managedClusters',
        metric_name: metric,
        aggregation: 'Average',
        operator: 'GreaterThan',
        threshold,
        dimension: [{ name: 'node', operator: 'Include', values: ['*'] }],
      },
    ]);
    expect(alert.description).toContain('(the alert names the node)');
    expect([alert.severity, alert.frequency, alert.window_size]).toEqual([3, 'PT5M', 'PT5M']);
    expect(alert.scopes).toEqual([CLUSTER]);
  });

  it('is made once per facade', () => {
    expect(() => built.monitoring.monitorKubernetesCluster(CLUSTER)).toThrow(/monitorKubernetesCluster\(\) may be called once/);
  });

  it("is the Kubernetes host's only: the stack watches its cluster, and refuses the overrides on another host", () => {
    const kubernetes = stackWith({ monitoring: { aksNodeMemoryAlert: { threshold: 90 } } });
    const memory = resourceNamed(kubernetes, METRIC_ALERT, 'alert-contoso-sql-aks-node-memory');
    expect(memory.criteria[0].threshold).toBe(90);
    expect(memory.scopes).toEqual([reference('azurerm_kubernetes_cluster', Object.keys(resourcesOfType(kubernetes, 'azurerm_kubernetes_cluster'))[0])]);
    const fabric = examplePlanWith(AIRFLOW_OF_HOST.fabric);
    expect(() => new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: fabric, monitoring: { aksNodeCpuAlert: { severity: 2 } } })).toThrow(
      /monitoring\.aksNodeCpuAlert: the plan's Airflow host is fabric, which has no such alert \(only airflow\.host kubernetes runs Airflow on an AKS cluster of the stack\)/,
    );
  });
});

describe('platformMetricAlert: a built-in alert on a metric Azure Monitor does not have fails at synth', () => {
  const good = keyVaultAvailabilityAlert('contoso-sql', 'kv-contoso-sql', '');

  it('takes the definitions the library makes', () => {
    expect(platformMetricAlert(good)).toBe(good);
  });

  it.each<[string, Partial<MetricAlertDefinition>, string]>([
    ['a misspelled metric', { metricName: 'Availabilty' }, 'keyVaultAvailabilityAlert: Microsoft.KeyVault/vaults has no platform metric Availabilty'],
    ['a metric of another namespace', { metricNamespace: 'Microsoft.DataFactory/factories' }, 'Microsoft.DataFactory/factories has no platform metric Availability'],
    ['an aggregation the metric lacks', { aggregation: 'Total' }, 'Microsoft.KeyVault/vaults metric Availability is aggregated Average, not Total'],
    ['a dimension the metric lacks', { dimensions: [{ name: 'NodeName', operator: 'Include', values: ['*'] }] }, 'metric Availability has no dimension NodeName'],
  ])('refuses %s', (_case, change, message) => {
    expect(() => platformMetricAlert({ ...good, ...change })).toThrow(message);
  });
});
