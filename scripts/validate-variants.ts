/**
 * The stacks `npm run validate` shows to the real Terraform providers: every plan under
 * `examples/`, plus one row per option that changes what is synthesized. Add a row to cover a new
 * option (an Airflow host, a backend, a target kind); the provider sets are derived from what each
 * row synthesizes, so a row that needs another provider needs nothing else.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'cdktf';
import type { DatabaseMigrationStackProps } from '../lib/database-migration-stack';
import type { FabricAirflowHostProps } from '../lib/hosts/fabric/fabric-airflow-host';
import type { KubernetesAirflowHostProps } from '../lib/hosts/kubernetes/kubernetes-host';
import type { MigrationPlan } from '../lib/plan/types';

/** A plan document as read from YAML or JSON, before validation (edits work on this). */
export type PlanDocument = { [key: string]: any };

/** A synthesized `cdk.tf.json` (edits of canaries work on this). */
export type StackJson = { [key: string]: any };

/** One stack to validate. */
export interface ValidationVariant {
  /** Printed on its line of the report. */
  readonly name: string;
  /** Plan file, relative to the repository root. */
  readonly plan: string;
  /** Changes the plan document before it is validated and synthesized. */
  readonly editPlan?: (plan: PlanDocument) => void;
  /** `DatabaseMigrationStack` options besides the plan. */
  readonly stack?: Partial<Omit<DatabaseMigrationStackProps, 'plan'>>;
  /**
   * Builds the variant's stacks in place of a `DatabaseMigrationStack` of the plan: for host options
   * a plan cannot set (a host's construct props), the host alone in a stack of its own.
   */
  readonly buildStacks?: (app: App, plan: MigrationPlan) => void;
  /** Breaks the synthesized JSON on purpose: only for canaries. */
  readonly editJson?: (json: StackJson) => void;
  /**
   * A canary: validation must fail with an error matching this, proving that the providers check
   * what the row breaks. A canary that validates clean fails the run.
   */
  readonly mustFailWith?: RegExp;
}

export const DEFAULT_PLAN = 'examples/three-databases.yaml';

const SUBSCRIPTION = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers';
const TARGETS = {
  SqlMi: `${SUBSCRIPTION}/Microsoft.Sql/managedInstances/mi-contoso-prod`,
  SqlDb: `${SUBSCRIPTION}/Microsoft.Sql/servers/sql-contoso-prod`,
  SqlVm: `${SUBSCRIPTION}/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm-contoso-prod`,
} as const;

/** Every database to one new target of `kind`, in `mode`. */
function retarget(kind: keyof typeof TARGETS, mode: 'online' | 'offline') {
  return (plan: PlanDocument) => {
    const server = `${kind.toLowerCase()}-prod`;
    plan.targetServers = [{ name: server, kind, resourceId: TARGETS[kind] }];
    for (const database of plan.databases) {
      database.target = { server };
      database.mode = mode;
      // SqlDb copies read the source through DMS's own connections: only readOnly freezes it.
      if (kind === 'SqlDb') delete database.sourceFreeze;
    }
  };
}

/** Each kind of target in one plan, online where the kind allows it. */
function everyTargetKind(plan: PlanDocument): void {
  plan.targetServers = Object.entries(TARGETS).map(([kind, resourceId]) => ({ name: `${kind.toLowerCase()}-prod`, kind, resourceId }));
  const kinds = Object.keys(TARGETS);
  plan.databases.forEach((database: PlanDocument, index: number) => {
    const kind = kinds[index % kinds.length];
    database.target = { server: `${kind.toLowerCase()}-prod` };
    database.mode = kind === 'SqlDb' ? 'offline' : 'online';
  });
}

/** Plans under `examples/` other than the default one. */
export function examplePlans(repoRoot: string): string[] {
  return readdirSync(join(repoRoot, 'examples'))
    .filter((file) => /\.(ya?ml|json)$/.test(file))
    .map((file) => `examples/${file}`)
    .filter((file) => file !== DEFAULT_PLAN)
    .sort();
}

function resourcesOf(json: StackJson, type: string): StackJson[] {
  return Object.values(json.resource?.[type] ?? {});
}

const NETWORK = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub';
const SERVICE_PRINCIPAL = { clientId: '11111111-2222-3333-4444-555555555555', objectId: '66666666-7777-8888-9999-000000000000' };

/** Another `airflow:` section for the plan. */
function airflow(section: PlanDocument) {
  return (plan: PlanDocument) => {
    plan.airflow = section;
  };
}

const HOST_GROUP = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-migration-host';

/**
 * A stack holding only a host, built from `plan` as `DatabaseMigrationStack` builds it, beside what
 * the stack would hand it (a Key Vault, a workspace and an action group, by id). The host modules
 * load only when a variant is synthesized, as `createAirflowHost` loads them.
 */
function hostAlone(app: App, plan: MigrationPlan) {
  const { TerraformStack } = require('cdktf') as typeof import('cdktf');
  const { AzurermProvider } = require('@cdktf/provider-azurerm/lib/provider') as typeof import('@cdktf/provider-azurerm/lib/provider');
  const { ResourceGroup } = require('@cdktf/provider-azurerm/lib/resource-group') as typeof import('@cdktf/provider-azurerm/lib/resource-group');
  const { airflowPools } = require('../lib/hosts/airflow-pools') as typeof import('../lib/hosts/airflow-pools');
  const { dagBundleFor } = require('../lib/orchestration-factory/dag-bundle') as typeof import('../lib/orchestration-factory/dag-bundle');
  const { AzapiProvider } = require('../lib/azapi/provider') as typeof import('../lib/azapi/provider');
  const stack = new TerraformStack(app, plan.name);
  new AzurermProvider(stack, 'azurerm', { features: [{}], storageUseAzuread: true });
  // Unused by a host alone, but the stack has it: so the host's stack joins the stack's provider set (no init or validate of its own).
  new AzapiProvider(stack, 'azapi');
  const resourceGroup = new ResourceGroup(stack, 'ResourceGroup', { name: `rg-${plan.name}`, location: plan.location, tags: plan.tags });
  const vaultName = 'kv-contoso-host';
  return {
    app,
    stack,
    base: {
      resourceGroup,
      namePrefix: plan.name,
      location: plan.location,
      tags: plan.tags,
      bundle: dagBundleFor(plan),
      environment: {
        AZURE_TENANT_ID: '00000000-0000-0000-0000-000000000000',
        ...(plan.airflow.sqlAccess === 'dataFactory'
          ? { MIGRATION_DATA_FACTORY_ID: `${HOST_GROUP}/providers/Microsoft.DataFactory/factories/adf-${plan.name}` }
          : {}),
      },
      keyVault: { id: `${HOST_GROUP}/providers/Microsoft.KeyVault/vaults/${vaultName}`, name: vaultName, vaultUri: `https://${vaultName}.vault.azure.net/` },
      pools: airflowPools(plan.concurrency),
    },
  };
}

/** The Kubernetes host alone (and its release stack), with construct props no plan sets. */
function kubernetesHostAlone(props: Partial<Omit<KubernetesAirflowHostProps, 'releaseStack'>>) {
  return (app: App, plan: MigrationPlan) => {
    const { TerraformStack } = require('cdktf') as typeof import('cdktf');
    const { KubernetesAirflowHost } = require('../lib/hosts/kubernetes/kubernetes-host') as typeof import('../lib/hosts/kubernetes/kubernetes-host');
    const { stack, base } = hostAlone(app, plan);
    new KubernetesAirflowHost(stack, 'AirflowHost', {
      ...base,
      releaseStack: new TerraformStack(app, `${plan.name}-airflow`),
      logAnalyticsWorkspace: { id: `${HOST_GROUP}/providers/Microsoft.OperationalInsights/workspaces/log-contoso`, name: 'log-contoso' },
      actionGroup: { id: `${HOST_GROUP}/providers/Microsoft.Insights/actionGroups/ag-contoso`, name: 'ag-contoso' },
      ...props,
    });
  };
}

/** The Fabric host alone, with construct props no plan sets. */
function fabricHostAlone(props: Partial<FabricAirflowHostProps>) {
  return (app: App, plan: MigrationPlan) => {
    const { FabricProvider } = require('../lib/fabric/provider') as typeof import('../lib/fabric/provider');
    const { FabricAirflowHost } = require('../lib/hosts/fabric/fabric-airflow-host') as typeof import('../lib/hosts/fabric/fabric-airflow-host');
    const { stack, base } = hostAlone(app, plan);
    new FabricProvider(stack, 'fabric');
    new FabricAirflowHost(stack, 'AirflowHost', { ...base, servicePrincipal: SERVICE_PRINCIPAL, ...props });
  };
}

export function validationVariants(repoRoot: string): ValidationVariant[] {
  return [
    { name: 'default plan (Kubernetes host, SQL direct; SqlMi online and offline; local state)', plan: DEFAULT_PLAN },
    ...examplePlans(repoRoot).map((plan) => ({ name: `example ${plan}`, plan })),
    {
      name: 'Kubernetes host in named subnets, KubernetesExecutor, API server behind authorized ranges, Entra ID sign-in to the Airflow UI, SQL through Data Factory',
      plan: DEFAULT_PLAN,
      editPlan: airflow({
        sqlAccess: 'dataFactory',
        kubernetes: {
          subnetId: `${NETWORK}/subnets/snet-aks`,
          databaseSubnetId: `${NETWORK}/subnets/snet-airflow-db`,
          privateEndpointSubnetId: `${NETWORK}/subnets/snet-endpoints`,
          executor: 'KubernetesExecutor',
          authorizedIpRanges: ['203.0.113.0/24', '198.51.100.7'],
          adminGroupObjectIds: ['7d1f3c9e-2b4a-4e6f-9a1b-3c5d7e9f1a2b'],
          signIn: { clientId: '0f2a4c6e-1b3d-4f5a-8c7e-9d0b1a2c3e4f', roles: { Admin: ['7d1f3c9e-2b4a-4e6f-9a1b-3c5d7e9f1a2b'] } },
          secretRotation: 2,
        },
      }),
    },
    {
      name: 'Fabric host on an existing capacity',
      plan: DEFAULT_PLAN,
      editPlan: airflow({
        host: 'fabric',
        fabric: {
          capacityId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-fabric/providers/Microsoft.Fabric/capacities/fccontoso',
          servicePrincipal: SERVICE_PRINCIPAL,
          computeSize: 'Large',
        },
      }),
    },
    {
      name: 'external host with the plan service principal, SQL direct',
      plan: DEFAULT_PLAN,
      editPlan: airflow({ host: 'external', sqlAccess: 'direct', external: { servicePrincipal: SERVICE_PRINCIPAL } }),
    },
    {
      name: 'Kubernetes host props no plan sets: zone-redundant metadata database under a ReadOnly lock, central Key Vault DNS zone, own namespace and sizes, no network policies, kubelogin spn, a named deployer',
      plan: DEFAULT_PLAN,
      buildStacks: kubernetesHostAlone({
        databaseHighAvailability: true,
        lock: { kind: 'ReadOnly' },
        keyVaultPrivateDnsZoneId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net',
        namespace: 'migration',
        addressSpace: '10.70.0.0/20',
        kubernetesVersion: '1.33',
        nodeVmSize: 'Standard_D8ds_v5',
        replicas: 3,
        celeryWorkers: 4,
        networkPoliciesEnabled: false,
        runCommandEnabled: true,
        kubeloginMode: 'spn',
        deployerPrincipalId: '2b3c4d5e-6f70-4a81-92a3-b4c5d6e7f809',
        secretRotation: 3,
      }),
    },
    {
      name: 'Fabric host props no plan sets: workspace members of every principal type, a custom pool on a new F16 capacity',
      plan: 'examples/fabric-host.yaml',
      buildStacks: fabricHostAlone({
        capacity: { sku: 'F16', administrators: ['platform-admin@contoso.com', SERVICE_PRINCIPAL.objectId] },
        computeSize: 'Large',
        computePool: 'airflow-large',
        workspaceMembers: [
          { principalId: '3c4d5e6f-7081-4a92-83b4-c5d6e7f8091a', principalType: 'User', role: 'Viewer' },
          { principalId: '4d5e6f70-8192-4aa3-94c5-d6e7f8091a2b', principalType: 'Group', role: 'Contributor' },
          { principalId: '5e6f7081-92a3-4bb4-a5d6-e7f8091a2b3c', principalType: 'ServicePrincipal', role: 'Member' },
          { principalId: '6f708192-a3b4-4cc5-b6e7-f8091a2b3c4d', principalType: 'ServicePrincipalProfile', role: 'Admin' },
        ],
      }),
    },
    {
      name: 'Data Factory host with DAG storage settings (ZRS, prevent_destroy, a ReadOnly lock) and its Airflow alert overrides',
      plan: 'examples/data-factory-host.yaml',
      stack: {
        dagStorage: { replicationType: 'ZRS', preventDestroy: true, lock: { kind: 'ReadOnly', name: 'lock-dag-bundle' } },
        monitoring: {
          airflowTaskFailuresAlert: { severity: 1, evaluationFrequencyMinutes: 15, windowMinutes: 60, threshold: 2 },
          airflowDagImportErrorsAlert: { severity: 3, description: 'The migration DAG does not import.' },
        },
      },
    },
    {
      name: 'external host with a managed identity and SQL direct, a named deployer, DAG storage kept 90 days',
      plan: 'examples/external-host.yaml',
      editPlan: (plan) => {
        plan.airflow.sqlAccess = 'direct';
      },
      stack: { deployerPrincipalId: '2b3c4d5e-6f70-4a81-92a3-b4c5d6e7f809', dagStorage: { softDeleteRetentionInDays: 90, replicationType: 'RAGZRS' } },
    },
    { name: 'SqlMi targets, offline only', plan: DEFAULT_PLAN, editPlan: retarget('SqlMi', 'offline') },
    { name: 'SqlDb targets (offline)', plan: DEFAULT_PLAN, editPlan: retarget('SqlDb', 'offline') },
    { name: 'SqlVm targets, online', plan: DEFAULT_PLAN, editPlan: retarget('SqlVm', 'online') },
    { name: 'SqlVm targets, offline', plan: DEFAULT_PLAN, editPlan: retarget('SqlVm', 'offline') },
    { name: 'every target kind in one plan', plan: DEFAULT_PLAN, editPlan: everyTargetKind },
    
    {
      name: 'Terraform Cloud state',
      plan: DEFAULT_PLAN,
      stack: { stateBackend: { type: 'terraformCloud', organization: 'contoso', workspace: 'migration-prod' } },
    },
    {
      name: 'azurerm state backend',
      plan: DEFAULT_PLAN,
      stack: {
        stateBackend: { type: 'azurerm', resourceGroupName: 'rg-tfstate', storageAccountName: 'stcontosotfstate', containerName: 'tfstate' },
      },
    },
    {
      name: 'existing Log Analytics workspace',
      plan: DEFAULT_PLAN,
      stack: {
        workspace: {
          id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/log-shared',
          name: 'log-shared',
        },
      },
    },
    {
      name: "a later plan in a shared workspace (eventsTable 'existing': no table, the rule routes to the first plan's)",
      plan: DEFAULT_PLAN,
      editPlan: (plan) => {
        plan.name = 'fabrikam-sql';
      },
      stack: {
        workspace: {
          id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/log-shared',
          name: 'log-shared',
        },
        eventsTable: 'existing',
      },
    },
    {
      name: 'alert options and custom alerts (a log alert with a measure column, a metric alert on a factory, Prometheus rule overrides)',
      plan: DEFAULT_PLAN,
      stack: {
        monitoring: {
          alertDefaults: { runbookUrl: 'https://wiki.contoso.example/migration' },
          migrationStalledAlert: { silentMinutes: 45, severity: 2 },
          airflowTaskFailuresRule: { severity: 1, forMinutes: 5, windowMinutes: 30, threshold: 2 },
          airflowSchedulerHeartbeatMissingRule: { enabled: false, autoMitigate: false },
          customAlerts: {
            'slow-steps': {
              kind: 'log',
              severity: 3,
              description: 'Steps slower than an hour on average.',
              query: 'MigrationEvents_CL | where Status == "Succeeded" | summarize Seconds = avg(DurationSeconds) by Database',
              timeAggregationMethod: 'Average',
              metricMeasureColumn: 'Seconds',
              threshold: 3600,
              dimensions: [{ name: 'Database', operator: 'Include', values: ['*'] }],
              evaluationFrequencyMinutes: 60,
              windowMinutes: 1440,
            },
            'pipeline-failures': {
              kind: 'metric',
              resource: { id: `${SUBSCRIPTION}/Microsoft.DataFactory/factories/adf-shared` },
              severity: 2,
              description: 'Data Factory pipeline runs failed.',
              metricNamespace: 'Microsoft.DataFactory/factories',
              metricName: 'PipelineFailedRuns',
              aggregation: 'Total',
              operator: 'GreaterThan',
              threshold: 0,
            },
          },
        },
      },
    },
    { name: 'management locks on', plan: DEFAULT_PLAN, stack: { lock: { kind: 'CanNotDelete' } } },
    { name: 'protection off (no prevent_destroy)', plan: DEFAULT_PLAN, stack: { preventDestroy: false } },
    {
      name: 'canary: custom table column typed "datetime" (the DCR spelling)',
      plan: DEFAULT_PLAN,
      editJson: (json) => {
        resourcesOf(json, 'azurerm_log_analytics_workspace_table_custom_log')[0].column[0].type = 'datetime';
      },
      mustFailWith: /expected column\.0\.type to be one of \[.*"dateTime".*\], got datetime/,
    },
    {
      name: 'canary: a metric alert evaluated every 7 minutes (azurerm validation of alert timing)',
      plan: DEFAULT_PLAN,
      editJson: (json) => {
        resourcesOf(json, 'azurerm_monitor_metric_alert')[0].frequency = 'PT7M';
      },
      mustFailWith: /frequency.*PT7M|PT7M.*frequency/s,
    },
    {
      name: 'canary: a Fabric workspace role Fabric does not have (microsoft/fabric provider validation)',
      plan: 'examples/fabric-host.yaml',
      editJson: (json) => {
        const workspace = Object.keys(json.resource.fabric_workspace)[0];
        json.resource.fabric_workspace_role_assignment = {
          planted: { workspace_id: `\${fabric_workspace.${workspace}.id}`, principal: { id: SERVICE_PRINCIPAL.objectId, type: 'ServicePrincipal' }, role: 'Owner' },
        };
      },
      mustFailWith: /got: "Owner"/,
    },
    {
      name: 'canary: DMS body with a property Azure does not define (AzAPI schema validation)',
      plan: DEFAULT_PLAN,
      editJson: (json) => {
        const service = resourcesOf(json, 'azapi_resource').find((resource) => resource.type.startsWith('Microsoft.DataMigration/'));
        service!.body = { properties: { notAProperty: true } };
      },
      mustFailWith: /embedded schema validation failed: the argument "body" is invalid:\s*`properties\.notAProperty` is not expected here/,
    },
  ];
}
