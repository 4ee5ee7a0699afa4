import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, DataResource, ref, TerraformStack, Testing, Token } from 'cdktf';
import { parse } from 'yaml';
import { parseMigrationPlan } from '../../lib/plan';
import { uniqueSuffix } from '../../lib/private/naming';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { ReleaseStack } from '../../lib/release-stack';
import { RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES } from '../../lib/private/retired-addresses';
import { examplePlan } from '../helpers/example-plan';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { resourceNames, resourcesOfType, synthObject, SynthesizedStack, warningsOf } from '../helpers/test-stack';
import { synthReleaseStack } from '../helpers/release-stack';
import { StateBackend } from '../../lib/state-backend';
import { restoreEnvironmentAfterEach } from '../helpers/environment';

function count(synth: SynthesizedStack, type: string): number {
  return Object.keys(resourcesOfType(synth, type)).length;
}

const WRITES_MOVED_BLOCKS = 'writes its moved blocks without a cdktf resource move (which shells out to `terraform version`)';

/**
 * cdktf runs `terraform version` at synth for a stack with a resource moved by moveFromId/moveTo
 * (ValidateTerraformVersion >=1.5): ~60 ms, and a failed synth where Terraform is not on PATH.
 */
function expectMovedBlocksWithoutResourceMove(stack: DatabaseMigrationStack, synth: SynthesizedStack, hasMovedBlocks: boolean): void {
  for (const each of [stack, ...stack.releaseStacks]) expect(each.hasResourceMove()).toBe(false);
  if (hasMovedBlocks) expect((synth as { moved?: unknown[] }).moved?.length).toBeGreaterThan(0);
}

/**
 * The default plan's stacks, synthesized once: the first describe reads them, and the API server hardening
 * test compares a hardened cluster with this one.
 */
const DEFAULT = synthMigrationStack();

describe('DatabaseMigrationStack with the default plan (Kubernetes host)', () => {
  const { synth, release, stack } = DEFAULT;

  it('keeps the action group name it has always deployed (a MigrationMonitoring alone defaults to ag-<namePrefix>)', () => {
    expect(resourceNames(synth, 'azurerm_monitor_action_group')).toEqual(['migration-alerts']);
  });

  it('holds the core, the Kubernetes host and its monitoring in the first stack', () => {
    const expected: Record<string, number> = {
      azurerm_resource_group: 1,
      azapi_resource: 1, // the Database Migration Service; no Airflow environment
      azapi_resource_action: 0, // its listAuthKeys is a data source, read on every plan
      azurerm_data_factory: 1,
      azurerm_data_factory_integration_runtime_self_hosted: 1,
      azurerm_key_vault: 1,
      azurerm_data_factory_linked_service_key_vault: 1,
      azurerm_data_factory_linked_service_sql_server: 1,
      azurerm_storage_account: 0, // the Kubernetes host gets the DAG as config maps
      azurerm_kubernetes_cluster: 1,
      azurerm_kubernetes_cluster_node_pool: 1,
      azurerm_container_registry: 1,
      azurerm_user_assigned_identity: 3, // the control plane's, the workers' (the task identity) and the secrets reader's
      azurerm_federated_identity_credential: 4,
      azurerm_private_endpoint: 1, // Key Vault
      azurerm_log_analytics_workspace: 1,
      azurerm_monitor_action_group: 1,
      azurerm_monitor_diagnostic_setting: 5, // the factory's, the audit logs of the Key Vault, the cluster and the registry, and the events rule's errors (the metadata server's is in the release stack)
      azurerm_monitor_scheduled_query_rules_alert_v2: 7, // failed, rollback failed, running long, stalled, source frozen too long, event ingestion errors, the host's missing pool (no cutover alerts: the plan gates no cutover)
      azurerm_monitor_metric_alert: 8, // the self-hosted runtime offline, its CPU and memory, the Key Vault's availability and saturation, the backup storage's availability, the AKS nodes' CPU and memory
      azurerm_monitor_alert_prometheus_rule_group: 1,
      azurerm_role_definition: 3, // the operator, the reader of DMS operation statuses, and the AKS control plane's node subnet user
      azurerm_data_factory_pipeline: 0, // sqlAccess direct
      time_sleep: 1, // the deployer's roles propagate before the release stack uses them
    };
    const actual = Object.fromEntries(Object.keys(expected).map((type) => [type, count(synth, type)]));
    expect(actual).toEqual(expected);
    expect(synth.resource.azurerm_database_migration_service).toBeUndefined();
  });

  it('creates no Data Factory Airflow environment and imports nothing into one', () => {
    const types = Object.values(resourcesOfType(synth, 'azapi_resource')).map((resource) => resource.type);
    expect(types).toEqual(['Microsoft.DataMigration/sqlMigrationServices@2025-06-30']);
    expect(resourcesOfType(synth, 'azapi_resource_action')).toEqual({});
    expect(Object.values(synth.data?.azapi_resource_action ?? {}).map((action) => action.action)).toEqual(['listAuthKeys']);
    expect(synth.variable).toBeUndefined();
  });

  it('forgets, never deletes, the Data Factory environment an earlier version created', () => {
    expect((synth as any).removed).toEqual({ from: RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES[0], lifecycle: { destroy: false } });
    expect(RETIRED_AIRFLOW_ENVIRONMENT_ADDRESSES).toEqual(['azapi_resource.Orchestration_Airflow_Environment_F7BE4EC1']);
  });

  it('puts what runs in the cluster into a second stack, applied after the first and reading its state', () => {
    expect(stack.releaseStacks.map((s) => s.node.id)).toEqual(['contoso-sql-airflow']);
    expect(stack.releaseStacks[0].dependencies).toEqual([stack]);
    const terraform = release!.terraform as Record<string, any>;
    expect(Object.keys(terraform.required_providers).sort()).toEqual(['azurerm', 'helm', 'kubernetes']);
    // Local state in the folder the app runs in (the paths from each stack's folder: __tests__/constructs/state-backend.test.ts).
    expect(terraform.backend).toEqual({ local: { path: expect.stringMatching(/\/terraform\.contoso-sql-airflow\.tfstate$/) } });
    expect(release!.data?.terraform_remote_state).toEqual({
      'cross-stack-reference-input-contoso-sql': {
        backend: 'local',
        config: { path: expect.stringMatching(/\/terraform\.contoso-sql\.tfstate$/) },
        workspace: '${terraform.workspace}',
      },
    });
    for (const type of ['helm_release', 'kubernetes_namespace_v1', 'azurerm_postgresql_flexible_server']) {
      expect({ type, count: count(release!, type) }).toEqual({ type, count: 1 });
    }
    expect(count(synth, 'helm_release') + count(synth, 'azurerm_postgresql_flexible_server')).toBe(0);
  });

  it("imports the DAG's pools with the plan's slots through the chart's database-migration job", () => {
    const plan = examplePlanWith({});
    const sized = synthReleaseStack({ plan: { ...plan, concurrency: { ...plan.concurrency, maxSqlStepsPerRuntime: 6 } } });
    type ConfigMap = { metadata: { name: string }; data: Record<string, string> };
    const configMaps = Object.values(resourcesOfType(sized, 'kubernetes_config_map_v1')) as ConfigMap[];
    const poolsMap = configMaps.find((map) => map.metadata.name.startsWith('airflow-pools-'))!;
    const slots = Object.entries(JSON.parse(poolsMap.data['pools.json'])).map(([name, pool]) => [name, (pool as { slots: number }).slots]);
    expect(slots).toEqual([
      ['database_migration_admission', 1],
      ['database_migration_sql', 6],
    ]);
    const job = JSON.parse((Object.values(resourcesOfType(sized, 'helm_release'))[0].values as string[])[0]).migrateDatabaseJob;
    expect(job.args.join(' ')).toMatch(/airflow db migrate && exec airflow pools import \/opt\/airflow\/pools\/pools\.json$/);
    expect(job.extraVolumes[0].projected.sources[0].configMap.name).toBe(poolsMap.metadata.name);
  });

  it('configures the kubernetes and helm providers only in the second stack, from a lookup of the cluster', () => {
    expect(Object.keys(synth.provider ?? {}).sort()).toEqual(['azapi', 'azurerm', 'time']);
    const provider = release!.provider as Record<string, any[]>;
    expect(provider.kubernetes[0].host).toMatch(/^\$\{data\.azurerm_kubernetes_cluster\.[^.]+\.kube_config\[0\]\.host\}$/);
    expect(provider.helm[0].kubernetes.exec.command).toBe('kubelogin');
  });

  it('configures azurerm (Entra ID storage access), azapi, time and a local backend in the first stack', () => {
    const terraform = synth.terraform as Record<string, any>;
    expect(Object.keys(terraform.required_providers).sort()).toEqual(['azapi', 'azurerm', 'time']);
    expect(terraform.required_providers.azapi).toEqual({ source: 'Azure/azapi', version: '~> 2.7' });
    expect(terraform.backend).toEqual({ local: { path: expect.stringMatching(/\/terraform\.contoso-sql\.tfstate$/) } });
    // The oldest Terraform validated, and the first with write-only arguments (a stack of every host says so).
    expect(terraform.required_version).toBe('>= 1.11.0');
    expect((release!.terraform as Record<string, unknown>).required_version).toBe('>= 1.11.0');
    expect((synth.provider as Record<string, any[]>).azurerm[0]).toMatchObject({ storage_use_azuread: true, features: [{}] });
  });

  it('names resources with CAF prefixes from the plan name, and seeds globally unique names with the plan name and location only', () => {
    expect(resourceNames(synth, 'azurerm_resource_group')).toEqual(['rg-contoso-sql']);
    expect(resourceNames(synth, 'azurerm_log_analytics_workspace')).toEqual(['log-contoso-sql']);
    expect(resourceNames(synth, 'azurerm_data_factory')).toEqual(['adf-contoso-sql']);
    expect(resourceNames(synth, 'azurerm_key_vault')).toEqual(['kv-contoso-sql-09e6']);
    expect(resourceNames(synth, 'azurerm_container_registry')).toEqual(['acrcontososql09e6']);
  });

  it('keeps the Key Vault name when the construct tree around it changes', () => {
    const app = new App();
    new TerraformStack(app, 'unrelated-first');
    // The default plan's (Kubernetes) first stack, as before: it costs no more to synthesize than the external host's.
    const other = new DatabaseMigrationStack(app, 'contoso-sql', { plan: examplePlan(), resourceGroupName: 'rg-elsewhere' });
    expect(resourceNames(synthObject(other), 'azurerm_key_vault')).toEqual(['kv-contoso-sql-09e6']);
    const pinned = synthMigrationStack({ orchestration: { keyVaultName: 'kv-contoso-sql-7300' } });
    expect(resourceNames(pinned.synth, 'azurerm_key_vault')).toEqual(['kv-contoso-sql-7300']);
  });

  it("audits the Key Vault it creates for the SQL credentials, and leaves one passed in to its owner's monitoring", () => {
    const audited = Object.values(resourcesOfType(synth, 'azurerm_monitor_diagnostic_setting')).filter((setting) =>
      String(setting.target_resource_id).startsWith('${azurerm_key_vault.'),
    );
    expect(audited).toEqual([expect.objectContaining({ enabled_log: [{ category: 'AuditEvent' }], log_analytics_destination_type: 'Dedicated' })]);
    const keyVault = { id: '/subscriptions/S/resourceGroups/rg-sec/providers/Microsoft.KeyVault/vaults/kv-central', name: 'kv-central', vaultUri: 'https://kv-central.vault.azure.net/' };
    // On the Kubernetes host, which is given the vault too (its private endpoint, the metadata database's secrets).
    const adopted = synthMigrationStack({ orchestration: { keyVault } }).synth;
    expect(Object.values(resourcesOfType(adopted, 'azurerm_monitor_diagnostic_setting')).map((setting) => setting.target_resource_id)).not.toContain(keyVault.id);
  });

  it('checks a plan built or changed by hand first, naming the plan field at fault', () => {
    const plan = examplePlan();
    const stackOf = (changed: unknown) => () => new DatabaseMigrationStack(Testing.app(), 'x', { plan: changed as typeof plan });
    expect(stackOf({ ...plan, name: 'Contoso SQL' })).toThrow(/^props\.plan name: must be 3-16 lowercase letters/);
    expect(stackOf({ ...plan, notifications: { ...plan.notifications, longRunningMinutes: -1 } })).toThrow(
      /^props\.plan notifications\.longRunningMinutes: must be an integer from 5 to 2865$/,
    );
    expect(stackOf({})).toThrow(/^props\.plan name: missing required field/);
  });

  it('refuses to seed a name with a reference, whose token text changes with the construct tree', () => {
    expect(() => uniqueSuffix(`${Token.asString(ref('azurerm_resource_group.rg.name'))}contoso-sql`)).toThrow(
      /a name seed must be literal text, not a reference/,
    );
  });

  it('exposes the outputs an operator needs, with every key sensitive', () => {
    const outputs = Object.keys(synth.output ?? {}).filter((name) => !name.startsWith('cross-stack-output-'));
    expect(outputs.sort()).toEqual([
      'airflow_host_cluster_name',
      'airflow_host_identity_client_id',
      'airflow_host_image',
      'airflow_host_namespace',
      'migration_service_auth_key_1',
      'migration_service_auth_key_2',
      'orchestration_factory_name',
      'orchestration_key_vault_uri',
      'orchestration_secrets_to_set',
      'orchestration_self_hosted_runtime_auth_key',
    ]);
    const sensitive = Object.entries(synth.output ?? {}).filter(([, output]) => output.sensitive).map(([name]) => name);
    expect(sensitive.filter((name) => !name.startsWith('cross-stack-output-')).sort()).toEqual([
      'migration_service_auth_key_1',
      'migration_service_auth_key_2',
      'orchestration_self_hosted_runtime_auth_key',
    ]);
    // What the second stack reads from the first is passed as sensitive outputs (cdktf's cross-stack references).
    expect(Object.entries(synth.output ?? {}).filter(([name, output]) => name.startsWith('cross-stack-output-') && !output.sensitive)).toEqual([]);
  });

  it('lets the Airflow identity run migrations only on the DMS, the plan targets and the backup storage', () => {
    const plan = examplePlan();
    const [operatorId] = Object.entries(resourcesOfType(synth, 'azurerm_role_definition')).find(([, d]) => String(d.name).startsWith('Database Migration Operator ('))!;
    const custom = Object.values(resourcesOfType(synth, 'azurerm_role_assignment')).filter((a) =>
      String(a.role_definition_id).includes(`azurerm_role_definition.${operatorId}.`),
    );
    const scopes = custom.map((a) => String(a.scope));
    expect(scopes).toHaveLength(3);
    expect(scopes).toContain(plan.targetServers[0].resourceId);
    expect(scopes).toContain(plan.backupStorage!.storageAccountResourceId);
    expect(custom.every((a) => /^\$\{azurerm_user_assigned_identity\.AirflowHost_Identity_[0-9A-F]+\.principal_id\}$/.test(String(a.principal_id)))).toBe(true);
    expect(custom.every((a) => a.principal_type === 'ServicePrincipal')).toBe(true);
  });

  it('synthesizes without a terraform binary (no construct that shells out to `terraform version`)', () => {
    expect(stack.node.findAll().filter((c) => c instanceof DataResource)).toEqual([]);
  });

  it(WRITES_MOVED_BLOCKS, () => expectMovedBlocksWithoutResourceMove(stack, synth, true));

  it('warns only that the VNet it creates reaches no SQL Server until it is connected, naming the plan file, and that nobody can sign in to Airflow', () => {
    const planFile = join(__dirname, '..', '..', 'examples', 'three-databases.yaml');
    expect(warningsOf(stack)).toEqual([
      `contoso-sql: ${planFile} airflow.sqlAccess is direct and the stack creates the Kubernetes host its own VNet, which reaches no SQL Server until you peer it (or route it through your hub) to a network that does; or name a connected subnet in airflow.kubernetes.subnetId, or use sqlAccess: dataFactory [ack: migration:kubernetes:direct-sql-own-vnet]`,
      expect.stringMatching(/^contoso-sql\/AirflowHost: no signIn: .* \[ack: migration:kubernetes:no-sign-in\]$/),
    ]);
  });
});

describe('a database whose cutover windows are all in the past', () => {
  const document = parse(readFileSync(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'), 'utf8'));
  document.databases[2].cutover = { windows: [{ timeZone: 'America/New_York', from: '2020-12-24T20:00', to: '2020-12-25T02:00' }] };
  const { stack, synth } = synthMigrationStack({ plan: parseMigrationPlan(document, 'plans/late.yaml') });

  it('gets a warning naming it and its windows, and the stack still synthesizes (a finished plan may be deployed again)', () => {
    expect(warningsOf(stack).filter((warning) => warning.includes('cutover window'))).toEqual([
      expect.stringMatching(
        /^contoso-sql: plans\/late\.yaml database_3 \(databases\[2\]\): every cutover window is in the past at \S+: 2020-12-24T20:00 to 2020-12-25T02:00 \(America\/New_York\)\. The DAG's preflight fails for it unless it is already live or its source frozen/,
      ),
    ]);
    expect(count(synth, 'azurerm_resource_group')).toBe(1);
  });
});

describe('a database whose source stays writable during its copy', () => {
  const document = parse(readFileSync(join(__dirname, '..', '..', 'examples', 'sql-database.json'), 'utf8'));

  it('gets a warning naming the field: the writes it lets through are not migrated', () => {
    const plan = parseMigrationPlan(document, 'plans/crm.json');
    const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { plan });
    expect(warningsOf(stack).filter((warning) => warning.includes('allowSourceWritesDuringCopy'))).toEqual([
      'contoso-crm: plans/crm.json crm_audit (databases[1].allowSourceWritesDuringCopy): the source stays writable while DMS copies it, ' +
        'and what is written there meanwhile is not migrated: validate fails on the rows it counts or compares, an update it does not ' +
        'compare is lost. Leave it out (false) to freeze the source for the copy [ack: migration:plan:source-writes-during-copy]',
    ]);
  });

  it('gets none when the plan freezes the source (the default)', () => {
    const frozen = { ...document, databases: document.databases.map(({ allowSourceWritesDuringCopy: _, ...database }: Record<string, unknown>) => database) };
    const plan = parseMigrationPlan(frozen, 'plans/crm.json');
    const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { plan });
    expect(warningsOf(stack).filter((warning) => warning.includes('allowSourceWritesDuringCopy'))).toEqual([]);
  });
});

describe('the release stack keeps its state beside the first stack', () => {
  it.each([
    [{ type: 'terraformCloud' as const, organization: 'contoso', workspace: 'prod' }, { cloud: { organization: 'contoso', workspaces: { name: 'prod-airflow' } } }],
    [
      { type: 'azurerm' as const, resourceGroupName: 'rg-tf', storageAccountName: 'sttf', containerName: 'tfstate', key: 'prod.tfstate' },
      { backend: { azurerm: expect.objectContaining({ key: 'prod-airflow.tfstate', use_azuread_auth: true }) } },
    ],
  ])('%j', (stateBackend, expected) => {
    expect(synthReleaseStack({ stateBackend }).terraform).toMatchObject(expected);
  });

  it('refuses a Terraform Cloud workspace whose release workspace would be longer than Terraform Cloud allows', () => {
    const workspace = 'w'.repeat(83);
    const build = (stateBackend: StateBackend) => new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), stateBackend });
    expect(() => build({ type: 'terraformCloud', organization: 'contoso', workspace })).toThrow(
      `contoso-sql-airflow: its Terraform Cloud workspace would be "${workspace}-airflow", 91 characters; Terraform Cloud allows 90: ` +
        'give stateBackend.workspace (TFC_WORKSPACE, where stateBackendFromEnvironment() reads it) at most 82',
    );
    expect(build({ type: 'terraformCloud', organization: 'contoso', workspace: 'w'.repeat(82) }).releaseStacks.map((release) => release.node.id)).toEqual(['contoso-sql-airflow']);
  });

  it('a relative local path: beside the first stack, which the release reads from its own folder', () => {
    const release = synthReleaseStack({ stateBackend: { type: 'local', path: 'state/prod.tfstate' } });
    expect(release.terraform).toMatchObject({ backend: { local: { path: 'state/prod-airflow.tfstate' } } });
    expect(Object.values(release.data!.terraform_remote_state)[0]).toMatchObject({ config: { path: '../contoso-sql/state/prod.tfstate' } });
  });
});

describe('SQL through Data Factory (sqlAccess: dataFactory)', () => {
  const { synth, release, stack } = synthMigrationStack({ plan: examplePlanWith({ sqlAccess: 'dataFactory' }) });

  it('gives no VNet warning: the cluster reaches no SQL Server itself', () => {
    expect(warningsOf(stack)).toEqual([expect.stringMatching(/\[ack: migration:kubernetes:no-sign-in\]$/)]);
  });

  it('creates the SQL pipelines and lets the host identity, and only it, run them', () => {
    expect(count(synth, 'azurerm_data_factory_pipeline')).toBeGreaterThan(0);
    const runner = Object.values(resourcesOfType(synth, 'azurerm_role_assignment')).filter((a) =>
      String(a.description).startsWith('Airflow runs the SQL pipelines'),
    );
    expect(runner).toHaveLength(1);
    expect(runner[0].principal_id).toMatch(/^\$\{azurerm_user_assigned_identity\.AirflowHost_Identity_/);
  });

  it('tells the DAG which factory holds the pipelines (MIGRATION_DATA_FACTORY_ID)', () => {
    const values = JSON.parse((Object.values(resourcesOfType(release!, 'helm_release'))[0] as any).values[0]);
    const variable = values.env.find((entry: { name: string }) => entry.name === 'MIGRATION_DATA_FACTORY_ID');
    expect(variable.value).toMatch(/cross-stack-output-azurerm_data_factoryOrchestration_Factory_[0-9A-F]+id/);
  });
});

describe.each(['dataFactory', 'fabric', 'external'] as const)('DatabaseMigrationStack with host %s', (host) => {
  const { synth, stack } = synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]) });

  it('creates no cluster and no release stack', () => {
    expect(count(synth, 'azurerm_kubernetes_cluster')).toBe(0);
    expect(stack.releaseStacks).toEqual([]);
    expect(stack.airflowHost.kind).toBe(host);
  });

  it('runs the SQL steps through Data Factory (its default SQL access)', () => {
    expect(stack.plan.airflow.sqlAccess).toBe('dataFactory');
    expect(count(synth, 'azurerm_data_factory_pipeline')).toBeGreaterThan(0);
  });

  it('keeps the DAG in storage only where the host reads it from there', () => {
    expect(count(synth, 'azurerm_storage_account')).toBe(host === 'fabric' ? 0 : 1);
  });

  it(WRITES_MOVED_BLOCKS, () => expectMovedBlocksWithoutResourceMove(stack, synth, host !== 'fabric'));
});

describe('DatabaseMigrationStack: the Kubernetes host from the plan', () => {
  it("puts the plan's API server hardening on the cluster", () => {
    const group = '7d1f3c9e-2b4a-4e6f-9a1b-3c5d7e9f1a2b';
    const plan = examplePlanWith({ kubernetes: { authorizedIpRanges: ['203.0.113.0/24'], adminGroupObjectIds: [group] } });
    const cluster = Object.values(resourcesOfType(synthMigrationStack({ plan }).synth, 'azurerm_kubernetes_cluster'))[0] as any;
    expect(cluster.api_server_access_profile).toEqual({ authorized_ip_ranges: ['203.0.113.0/24'] });
    expect(cluster.azure_active_directory_role_based_access_control.admin_group_object_ids).toEqual([group]);
    const open = Object.values(resourcesOfType(DEFAULT.synth, 'azurerm_kubernetes_cluster'))[0] as any;
    expect(open.api_server_access_profile).toBeUndefined();
  });
});


describe('DatabaseMigrationStack props checked at construction', () => {
  const plan = examplePlanWith(AIRFLOW_OF_HOST.external);
  const build = (props: Partial<DatabaseMigrationStackProps>) => new DatabaseMigrationStack(Testing.app(), plan.name, { plan, ...props });
  const GUID_RULE = 'must be a GUID such as 00000000-0000-0000-0000-000000000000';
  const RESOURCE_GROUP_RULE =
    'must be a resource group name: 1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period';

  it.each([
    ['subscriptionId', { subscriptionId: 'Contoso Production' }, 'Contoso Production'],
    ['deployerPrincipalId', { deployerPrincipalId: 'deployer@contoso.com' }, 'deployer@contoso.com'],
  ])('refuses a %s that is not a GUID', (prop, props, value) => {
    expect(() => build(props)).toThrow(`contoso-sql: ${prop} ${GUID_RULE} (got "${value}")`);
  });

  it.each(['rg-migration.', 'rg migration', 'rg/migration', '', 'r'.repeat(91)])('refuses the resource group name %j, which Azure refuses', (resourceGroupName) => {
    expect(() => build({ resourceGroupName })).toThrow(`contoso-sql: resourceGroupName ${RESOURCE_GROUP_RULE} (got "${resourceGroupName}")`);
  });

  it("refuses an azurerm state backend's resource group name Azure refuses", () => {
    const stateBackend = { type: 'azurerm' as const, resourceGroupName: 'rg-tf.', storageAccountName: 'sttf', containerName: 'tfstate' };
    expect(() => build({ stateBackend })).toThrow(`contoso-sql: stateBackend.resourceGroupName ${RESOURCE_GROUP_RULE} (got "rg-tf.")`);
  });

  it.each([
    [{ storageAccountName: 'St_Tf' }, 'stateBackend.storageAccountName must be a storage account name: 3-24 lowercase letters and digits (got "St_Tf")'],
    [{ storageAccountName: 'st' }, 'stateBackend.storageAccountName must be a storage account name'],
    [{ containerName: 'tf--state' }, 'stateBackend.containerName must be a blob container name: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit (got "tf--state")'],
    [{ containerName: 'TFState' }, 'stateBackend.containerName must be a blob container name'],
    [{ containerName: 'tfstate-' }, 'stateBackend.containerName must be a blob container name'],
  ])("refuses an azurerm state backend's storage account or container name Azure refuses: %j", (names, message) => {
    const stateBackend = { type: 'azurerm' as const, resourceGroupName: 'rg-tf', storageAccountName: 'sttf', containerName: 'tfstate', ...names };
    expect(() => build({ stateBackend })).toThrow(`contoso-sql: ${message}`);
  });

  it('takes what Azure takes, and references', () => {
    expect(build({ resourceGroupName: 'rg-Migración_(prod).1' }).resourceGroup.nameInput).toBe('rg-Migración_(prod).1');
    expect(build({ resourceGroupName: 'r'.repeat(90) }).resourceGroup.nameInput).toHaveLength(90);
    expect(() =>
      build({
        subscriptionId: Token.asString(ref('var.subscription_id')),
        deployerPrincipalId: Token.asString(ref('var.deployer')),
        resourceGroupName: Token.asString(ref('var.resource_group')),
      }),
    ).not.toThrow();
  });

  it('refuses a release stack subscription that is not a GUID', () => {
    const app = Testing.app();
    const first = new TerraformStack(app, 'first');
    expect(() => new ReleaseStack(app, 'first-airflow', { after: first, stateBackend: { type: 'local' }, subscriptionId: 'prod' })).toThrow(
      `first-airflow: subscriptionId ${GUID_RULE} (got "prod")`,
    );
    expect(() => new ReleaseStack(app, 'second-airflow', { after: first, stateBackend: { type: 'local' }, subscriptionId: Token.asString(ref('var.s')) })).not.toThrow();
  });

  it('refuses a release stack backend Terraform Cloud or Azure refuses: its workspace, its resource group', () => {
    const app = Testing.app();
    const first = new TerraformStack(app, 'first');
    const cloud = { type: 'terraformCloud' as const, organization: 'contoso', workspace: 'prod env' };
    expect(() => new ReleaseStack(app, 'first-airflow', { after: first, stateBackend: cloud })).toThrow(
      'first-airflow: stateBackend.workspace must be a Terraform Cloud workspace name: letters, digits, - and _, at most 90 characters (got "prod env")',
    );
    const azurerm = { type: 'azurerm' as const, resourceGroupName: 'rg-tf.', storageAccountName: 'sttf', containerName: 'tfstate' };
    expect(() => new ReleaseStack(app, 'second-airflow', { after: first, stateBackend: azurerm })).toThrow(
      `second-airflow: stateBackend.resourceGroupName ${RESOURCE_GROUP_RULE} (got "rg-tf.")`,
    );
  });
});


describe('cdktf synth --hcl', () => {
  // The CLI's --hcl sets SYNTH_HCL_OUTPUT for the app; each stack reads it to write cdk.tf instead of cdk.tf.json.
  restoreEnvironmentAfterEach('SYNTH_HCL_OUTPUT');

  it.each(['true', '1'])('is refused with what to do instead (SYNTH_HCL_OUTPUT=%s): cdktf writes these stacks as HCL Terraform cannot read', (value) => {
    process.env.SYNTH_HCL_OUTPUT = value;
    expect(() => new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan() })).toThrow(
      /^contoso-sql: cdktf synth --hcl is not supported: .* Synthesize without --hcl/,
    );
    const app = Testing.app();
    process.env.SYNTH_HCL_OUTPUT = 'false';
    const first = new TerraformStack(app, 'first');
    process.env.SYNTH_HCL_OUTPUT = value;
    expect(() => new ReleaseStack(app, 'first-airflow', { after: first, stateBackend: { type: 'local' } })).toThrow(
      /^first-airflow: cdktf synth --hcl is not supported/,
    );
  });

  it('leaves JSON output alone (SYNTH_HCL_OUTPUT=false, as the CLI sets it without --hcl)', () => {
    process.env.SYNTH_HCL_OUTPUT = 'false';
    expect(() => new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan() })).not.toThrow();
  });
});
