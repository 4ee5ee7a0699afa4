import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MigrationPlan, parseMigrationPlan } from '../../lib/plan';
import { examplePlan } from '../helpers/example-plan';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { SynthesizedStack } from '../helpers/test-stack';
import { leastPrivilegeViolations, markdownTable, roleGrants } from './role-inventory';

/** The role assignments are all in the first stack: the release stack assigns none (checked below). */
function synthesize(plan: MigrationPlan): SynthesizedStack {
  return synthMigrationStack({ plan }).synth;
}

/** The default plan and its stacks, synthesized once: the default stack's tests and the offline plan's compare read them. */
const DEFAULT_PLAN = examplePlan();
const DEFAULT_STACKS = synthMigrationStack({ plan: DEFAULT_PLAN });

/** The plan of each other host and its first stack, synthesized once for all the tests that read it (none changes it). */
const otherHosts = new Map<'dataFactory' | 'fabric' | 'external', { plan: MigrationPlan; synth: SynthesizedStack }>();
function ofHost(host: 'dataFactory' | 'fabric' | 'external'): { plan: MigrationPlan; synth: SynthesizedStack } {
  if (!otherHosts.has(host)) {
    const plan = examplePlanWith(AIRFLOW_OF_HOST[host]);
    otherHosts.set(host, { plan, synth: synthesize(plan) });
  }
  return otherHosts.get(host)!;
}

/** `principal_id` of the Airflow identity's Key Vault grant, as the JSON holds it. */
function airflowPrincipal(synth: SynthesizedStack): string {
  return String(synth.resource.azurerm_role_assignment.AirflowReadsSecrets.principal_id);
}

/** The default plan plus a SqlDb target in another resource group. */
function twoTargetPlan(): MigrationPlan {
  const document = parse(readFileSync(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'), 'utf8'));
  document.targetServers.push({
    name: 'sqldb-dr',
    kind: 'SqlDb',
    resourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-dr/providers/Microsoft.Sql/servers/sql-contoso-dr',
  });
  document.databases.push({ name: 'database_4', source: { server: 'sql01', database: 'Archive' }, target: { server: 'sqldb-dr' } });
  return parseMigrationPlan(document);
}

/** The table in docs/security.md, "Least privilege" (the default plan: the Kubernetes host). */
const README_TABLE = `| principal | role | scope |
|---|---|---|
| Airflow managed identity \`id-contoso-sql-airflow\` | \`Database Migration Operation Reader (contoso-sql)\` (custom, 4 actions) | resource group \`rg-contoso-sql\` |
| Airflow managed identity \`id-contoso-sql-airflow\` | \`Database Migration Operation Reader (contoso-sql)\` (custom, 4 actions) | targets' resource group \`rg-data-prod\` |
| Airflow managed identity \`id-contoso-sql-airflow\` | \`Database Migration Operator (contoso-sql)\` (custom, 12 actions) | backup storage account \`stcontosobackups\` |
| Airflow managed identity \`id-contoso-sql-airflow\` | \`Database Migration Operator (contoso-sql)\` (custom, 12 actions) | Database Migration Service \`dms-contoso-sql\` |
| Airflow managed identity \`id-contoso-sql-airflow\` | \`Database Migration Operator (contoso-sql)\` (custom, 12 actions) | target \`mi-prod\` (SqlMi \`mi-contoso-prod\`) |
| Airflow managed identity \`id-contoso-sql-airflow\` | \`Key Vault Secrets User\` | Key Vault \`kv-contoso-sql-09e6\` |
| Airflow managed identity \`id-contoso-sql-airflow\` | \`Monitoring Metrics Publisher\` | data collection rule \`dcr-contoso-sql\` |
| Airflow secrets reader identity \`id-contoso-sql-airflow-secrets\` | \`Key Vault Secrets User\` | Key Vault \`kv-contoso-sql-09e6\` |
| AKS control plane identity \`id-contoso-sql-aks\` | \`AKS Node Subnet User (contoso-sql)\` (custom, 2 actions) | subnet \`snet-aks-nodes\` |
| AKS kubelet identity | \`AcrPull\` | container registry \`acrcontososql09e6\` |
| Data Factory \`adf-contoso-sql\` managed identity | \`Key Vault Secrets User\` | Key Vault \`kv-contoso-sql-09e6\` |
| deploying identity (runs Terraform) | \`Azure Kubernetes Service RBAC Cluster Admin\` | AKS cluster \`aks-contoso-sql\` |
| deploying identity (runs Terraform) | \`Key Vault Secrets Officer\` | Key Vault \`kv-contoso-sql-09e6\` |`;

/** What other hosts add to, or take from, that table (docs/security.md, "Least privilege"). */
const OTHER_HOSTS: Record<'dataFactory' | 'fabric' | 'external', string[]> = {
  dataFactory: [
    'Airflow service principal (`airflow.dataFactory.servicePrincipal`) | `Migration SQL Pipeline Runner (contoso-sql)` (custom, 6 actions) | Data Factory `adf-contoso-sql`',
    "Data Factory `adf-data-platform` managed identity (the adopted environment's) | `Storage Blob Data Reader` | storage account `stcontososqldag09e6` (DAG storage)",
    'deploying identity (runs Terraform) | `Storage Blob Data Contributor` | storage account `stcontososqldag09e6` (DAG storage)',
  ],
  fabric: ['Airflow service principal (`airflow.fabric.servicePrincipal`) | `Migration SQL Pipeline Runner (contoso-sql)` (custom, 6 actions) | Data Factory `adf-contoso-sql`'],
  external: [
    'Airflow managed identity `id-contoso-sql-airflow` | `Migration SQL Pipeline Runner (contoso-sql)` (custom, 6 actions) | Data Factory `adf-contoso-sql`',
    'Airflow managed identity `id-contoso-sql-airflow` | `Storage Blob Data Reader` | storage account `stcontososqldag09e6` (DAG storage)',
    'deploying identity (runs Terraform) | `Storage Blob Data Contributor` | storage account `stcontososqldag09e6` (DAG storage)',
  ],
};

describe('role assignments of the default stack', () => {
  const plan = DEFAULT_PLAN;
  const { synth, release } = DEFAULT_STACKS;
  const grants = roleGrants(synth, plan);

  it('are the ones in the table of docs/security.md', () => {
    expect(markdownTable(grants)).toBe(README_TABLE);
  });

  it('follow least privilege', () => {
    expect(grants).toHaveLength(13);
    expect(leastPrivilegeViolations(synth, plan)).toEqual([]);
  });

  it('are all in the first stack: the release stack assigns no role', () => {
    expect(release!.resource.azurerm_role_assignment).toBeUndefined();
  });

  it('never scope wider than one resource, a resource group of the stack or its targets, or a plan target', () => {
    expect(new Set(grants.map((g) => g.scopeKind))).toEqual(new Set(['stack resource', 'plan target', 'resource group']));
    expect(grants.filter((g) => g.scopeKind === 'plan target').map((g) => g.rawScope)).toEqual([
      ...plan.targetServers.map((t) => t.resourceId),
      plan.backupStorage!.storageAccountResourceId,
    ]);
    // Resource-group scope only for reading DMS operation statuses, which Azure checks there.
    expect(new Set(grants.filter((g) => g.scopeKind === 'resource group').map((g) => g.role))).toEqual(
      new Set(['Database Migration Operation Reader (contoso-sql)']),
    );
  });

  it('give the custom roles no wildcard but location-level reads, no authorization action, and only the stack and target resource groups', () => {
    const definitionNamed = (prefix: string) => Object.values(synth.resource.azurerm_role_definition).find((definition) => String(definition.name).startsWith(prefix))!;
    const [operator, reader] = [definitionNamed('Database Migration Operator ('), definitionNamed('Database Migration Operation Reader (')];
    const actionsOf = (definition: Record<string, unknown>): string[] =>
      (definition.permissions as any[]).flatMap((p) => [...(p.actions ?? []), ...(p.data_actions ?? [])]);
    expect(actionsOf(operator)).toHaveLength(12);
    expect(actionsOf(reader)).toEqual([
      'Microsoft.DataMigration/locations/operationResults/read',
      'Microsoft.DataMigration/locations/operationStatuses/read',
      'Microsoft.DataMigration/locations/sqlMigrationServiceOperationResults/read',
      'Microsoft.Sql/locations/*/read',
    ]);
    for (const definition of [operator, reader]) {
      expect(actionsOf(definition).filter((a) => (a.includes('*') && a !== 'Microsoft.Sql/locations/*/read') || /^microsoft\.authorization\//i.test(a))).toEqual([]);
      expect(definition.assignable_scopes).toEqual([
        '${azurerm_resource_group.ResourceGroup.id}',
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod',
      ]);
    }
    // The AKS control plane's: reading and joining its node subnet, in the stack's own resource group.
    const subnetUser = definitionNamed('AKS Node Subnet User (');
    expect(actionsOf(subnetUser)).toEqual(['Microsoft.Network/virtualNetworks/subnets/read', 'Microsoft.Network/virtualNetworks/subnets/join/action']);
    expect(subnetUser.assignable_scopes).toEqual(['${azurerm_resource_group.ResourceGroup.id}']);
  });
});

describe.each(['dataFactory', 'fabric', 'external'] as const)('role assignments with host %s', (host) => {
  const { plan, synth } = ofHost(host);
  const rows = markdownTable(roleGrants(synth, plan)).split('\n').slice(2).map((row) => row.slice(2, -2));

  it("give the host's identity the same roles as on Kubernetes, plus the SQL pipeline runner and what its DAG delivery needs", () => {
    expect(rows.filter((row) => !/^Airflow .*\| `(Database Migration Operat|Key Vault Secrets User|Monitoring Metrics Publisher)/.test(row) && !row.startsWith('Data Factory `adf-contoso-sql` managed identity | `Key Vault Secrets User`'))).toEqual(OTHER_HOSTS[host]);
    expect(rows.filter((row) => row.startsWith('Airflow ')).length).toBe(host === 'fabric' ? 8 : host === 'external' ? 9 : 8);
  });

  it('follow least privilege', () => {
    expect(leastPrivilegeViolations(synth, plan)).toEqual([]);
  });
});

describe('role assignments with targets in two resource groups', () => {
  const plan = twoTargetPlan();
  const synth = synthesize(plan);

  it('grant the custom role on each target, assignable in each target resource group', () => {
    const onTargets = roleGrants(synth, plan).filter((g) => g.scopeKind === 'plan target');
    expect(onTargets.map((g) => g.scope).sort()).toEqual([
      'backup storage account `stcontosobackups`',
      'target `mi-prod` (SqlMi `mi-contoso-prod`)',
      'target `sqldb-dr` (SqlDb `sql-contoso-dr`)',
    ]);
    for (const definition of Object.values(synth.resource.azurerm_role_definition).filter((d) => String(d.name).startsWith('Database Migration'))) {
      expect(definition.assignable_scopes).toContain('/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-dr');
    }
    const polling = roleGrants(synth, plan).filter((g) => g.role.startsWith('Database Migration Operation Reader'));
    expect(polling.map((g) => g.scope).sort()).toEqual([
      'resource group `rg-contoso-sql`',
      "targets' resource group `rg-data-dr`",
      "targets' resource group `rg-data-prod`",
    ]);
    expect(leastPrivilegeViolations(synth, plan)).toEqual([]);
  });
});

describe('role assignments with the Kubernetes host in named subnets of another resource group', () => {
  const NETWORK = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub';
  const plan = examplePlanWith({ kubernetes: { subnetId: `${NETWORK}/subnets/aks`, databaseSubnetId: `${NETWORK}/subnets/db` } });
  const synth = synthesize(plan);

  it("make the control plane's subnet role assignable there too, and grant it on the named subnet only", () => {
    const [subnetUser] = Object.values(synth.resource.azurerm_role_definition).filter((d) => String(d.name).startsWith('AKS Node Subnet User ('));
    expect(subnetUser.assignable_scopes).toBe(
      '${distinct([azurerm_resource_group.ResourceGroup.id, "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net"])}',
    );
    expect(roleGrants(synth, plan).filter((g) => g.role.startsWith('AKS Node Subnet User')).map((g) => [g.principal, g.rawScope])).toEqual([
      ['AKS control plane identity `id-contoso-sql-aks`', `${NETWORK}/subnets/aks`],
    ]);
    expect(leastPrivilegeViolations(synth, plan)).toEqual([]);
  });
});

describe('role assignments of a plan that migrates every database offline', () => {
  const CUTOVER = 'Microsoft.DataMigration/databaseMigrations/cutover/action';
  const document = parse(readFileSync(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'), 'utf8'));
  for (const database of document.databases) database.mode = 'offline';
  const plan = parseMigrationPlan(document);
  const operatorOf = (synth: SynthesizedStack) =>
    Object.entries(synth.resource.azurerm_role_definition).find(([, d]) => String(d.name).startsWith('Database Migration Operator ('))!;
  const actionsOf = (definition: Record<string, unknown>) => (definition.permissions as Array<{ actions: string[] }>)[0].actions;
  // One synthesis of each plan for both tests, which only read them.
  const offlineOperator = operatorOf(synthesize(plan));
  const onlineOperator = operatorOf(DEFAULT_STACKS.synth);

  it('give the operator no cutover, which only an online migration has (the DAG has no cutover task for an offline one)', () => {
    const [, operator] = offlineOperator;
    const actions = actionsOf(operator);
    expect(actions).not.toContain(CUTOVER);
    expect(actions).toHaveLength(11);
    expect(operator.description).toBe('Runs, watches, and rolls back the database migrations of plan contoso-sql');
    const [, online] = onlineOperator;
    expect(actionsOf(online)).toContain(CUTOVER);
  });

  it('change the operator role in place when the modes change: same address and name, no role_definition_id (ForceNew)', () => {
    const [offlineId, offline] = offlineOperator;
    const [onlineId, online] = onlineOperator;
    expect(offlineId).toBe(onlineId);
    expect([offline.name, offline.scope, offline.assignable_scopes]).toEqual([online.name, online.scope, online.assignable_scopes]);
    expect(offline.role_definition_id).toBeUndefined();
  });
});

describe('the least-privilege check', () => {
  // The external host's stack, which the tests above find without a violation.
  const { plan, synth } = ofHost('external');
  const airflow = airflowPrincipal(synth);
  const [roleDefinitionId] = Object.keys(synth.resource.azurerm_role_definition);
  const [deployerGrant] = Object.entries(synth.resource.azurerm_role_assignment).find(([, a]) => a.role_definition_name === 'Storage Blob Data Contributor')!;

  function violationsAfter(change: (doc: any) => void): string[] {
    const doc = JSON.parse(JSON.stringify(synth));
    change(doc);
    return leastPrivilegeViolations(doc, plan);
  }

  const assign = (doc: any, role: string, scope: string, principal = airflow) =>
    (doc.resource.azurerm_role_assignment.planted = { principal_id: principal, role_definition_name: role, scope });

  it.each<[string, (doc: any) => void, RegExp]>([
    ['Owner on the subscription', (doc) => assign(doc, 'Owner', '/subscriptions/00000000-0000-0000-0000-000000000000'), /planted .*broad role/],
    ['anything on the subscription', (doc) => assign(doc, 'Reader', '/subscriptions/00000000-0000-0000-0000-000000000000'), /planted .*subscription or management group/],
    ['a management group', (doc) => assign(doc, 'Reader', '/providers/Microsoft.Management/managementGroups/contoso'), /planted .*management group/],
    ['Contributor on the resource group', (doc) => assign(doc, 'Contributor', '${azurerm_resource_group.ResourceGroup.id}'), /planted .*broad role/],
    ['User Access Administrator on a Key Vault', (doc) => assign(doc, 'User Access Administrator', '${azurerm_key_vault.x.id}'), /planted .*broad role/],
    ['a scope outside the stack and the plan', (doc) => assign(doc, 'Reader', '/subscriptions/0/resourceGroups/rg-other'), /planted .*not one resource of the stack/],
    [
      'blob write for someone other than the deployer',
      (doc) => (doc.resource.azurerm_role_assignment[deployerGrant].principal_id = airflow),
      /broad role/,
    ],
    [
      'Network Contributor on the resource group',
      (doc) => assign(doc, 'Network Contributor', '${azurerm_resource_group.ResourceGroup.id}'),
      /planted .*broad role/,
    ],
    ['a wildcard action', (doc) => doc.resource.azurerm_role_definition[roleDefinitionId].permissions[0].actions.push('Microsoft.Sql/*'), /wildcard action Microsoft\.Sql\/\*/],
    [
      'a location-level wildcard that writes',
      (doc) => doc.resource.azurerm_role_definition[roleDefinitionId].permissions[0].actions.push('Microsoft.Sql/locations/*'),
      /wildcard action Microsoft\.Sql\/locations\/\*$/,
    ],
    [
      'a read wildcard beyond locations',
      (doc) => doc.resource.azurerm_role_definition[roleDefinitionId].permissions[0].actions.push('Microsoft.Sql/*/read'),
      /wildcard action Microsoft\.Sql\/\*\/read/,
    ],
    [
      'an authorization action',
      (doc) => doc.resource.azurerm_role_definition[roleDefinitionId].permissions[0].actions.push('Microsoft.Authorization/roleAssignments/write'),
      /authorization action/,
    ],
    [
      'an assignable scope on the subscription',
      (doc) => doc.resource.azurerm_role_definition[roleDefinitionId].assignable_scopes.push('/subscriptions/00000000-0000-0000-0000-000000000000'),
      /assignable at \/subscriptions\/0+-0000-0000-0000-0+, outside/,
    ],
  ])('rejects %s', (_, change, expected) => {
    expect(violationsAfter(change)).toContainEqual(expect.stringMatching(expected));
  });
});
