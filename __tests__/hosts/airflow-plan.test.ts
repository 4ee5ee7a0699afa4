/** The plan's `airflow:` section: hosts, SQL access, and a clear refusal of what cannot work. */
import { join } from 'node:path';
import { loadMigrationPlan, parseMigrationPlan, renderMigrationPlan, type PlanProblem } from '../../lib/plan';
import { readFileSync } from 'node:fs';
import { CAPACITY_ID, ENVIRONMENT_ID, SERVICE_PRINCIPAL as SP, SUBSCRIPTION } from '../helpers/host-fixtures';
import { EXAMPLE_PLAN, minimalPlan, planFiles, problemsOf } from '../plan/plan-fixtures';

const VNET = `${SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub`;

function withAirflow(airflow: unknown): any {
  const plan = minimalPlan();
  if (airflow === undefined) delete plan.airflow;
  else plan.airflow = airflow;
  return plan;
}

function problems(airflow: unknown): string[] {
  return problemsOf(() => parseMigrationPlan(withAirflow(airflow))).map((p: PlanProblem) => `${p.path}: ${p.message}`);
}

describe('airflow defaults', () => {
  it('runs on the Kubernetes host with direct SQL access and default node pool when the section is left out', () => {
    const plan = parseMigrationPlan(withAirflow(undefined));
    expect(plan.airflow).toEqual({
      host: 'kubernetes',
      sqlAccess: 'direct',
      kubernetes: { nodeVmSize: 'Standard_D4ds_v5', minNodes: 1, maxNodes: 4, executor: 'CeleryExecutor', secretRotation: 1 },
    });
  });

  it.each([
    ['dataFactory', { host: 'dataFactory', dataFactory: { environmentId: ENVIRONMENT_ID, servicePrincipal: SP } }],
    ['fabric', { host: 'fabric', fabric: { capacityId: CAPACITY_ID, servicePrincipal: SP } }],
    ['external', { host: 'external' }],
  ])('defaults SQL access to dataFactory on host %s', (_, airflow) => {
    expect(parseMigrationPlan(withAirflow(airflow)).airflow.sqlAccess).toBe('dataFactory');
  });

  it('fills the host section in the rendered plan, so the DAG reads host and sqlAccess', () => {
    const rendered = JSON.parse(renderMigrationPlan(parseMigrationPlan(withAirflow({ host: 'external' }))));
    expect(rendered.airflow).toEqual({ host: 'external', sqlAccess: 'dataFactory', external: { federatedCredentials: [] } });
    const fabric = parseMigrationPlan(withAirflow({ host: 'fabric', fabric: { capacityId: CAPACITY_ID, servicePrincipal: SP } }));
    expect(fabric.airflow).toEqual({ host: 'fabric', sqlAccess: 'dataFactory', fabric: { capacityId: CAPACITY_ID, servicePrincipal: SP, computeSize: 'Small', computePool: 'StarterPool' } });
  });

  it('loads every example plan', () => {
    for (const file of ['three-databases.yaml', 'data-factory-host.yaml', 'fabric-host.yaml', 'external-host.yaml', 'sql-database.json']) {
      expect(() => loadMigrationPlan(join(__dirname, '..', '..', 'examples', file))).not.toThrow();
    }
  });
});

describe('plans that ask for something impossible', () => {
  const files = planFiles();

  it('points at the line of a retired field in a plan file', () => {
    const oldSection = 'airflow:\n  version: "2.6.3"\n  computeSize: Small\n  servicePrincipal:\n    clientId: 11111111-2222-3333-4444-555555555555\n    objectId: 66666666-7777-8888-9999-000000000000\n';
    const text = readFileSync(EXAMPLE_PLAN, 'utf8').replace(/^airflow:\n(?: .*\n|\n)*?(?=\S)/m, oldSection);
    const path = files.write('old-airflow.yaml', text);
    const lines = problemsOf(() => loadMigrationPlan(path)).map((p) => `${p.line}:${p.column} ${p.path}`);
    const versionLine = text.split('\n').indexOf('  version: "2.6.3"') + 1;
    expect(lines).toEqual([`${versionLine}:3 airflow.version`, `${versionLine + 1}:3 airflow.computeSize`, `${versionLine + 2}:3 airflow.servicePrincipal`]);
  });

  it('refuses the retired Data Factory creation fields, saying why and what to write instead', () => {
    const messages = problems({ version: '2.6.3', computeSize: 'Small', extraNodes: 1, servicePrincipal: SP });
    expect(messages).toHaveLength(4);
    expect(messages[0]).toMatch(/^airflow\.version: the stack no longer creates a Data Factory Airflow environment: Microsoft stopped the creation of new Workflow Orchestration Manager environments on 2026-01-01/);
    expect(messages[0]).toMatch(/host: dataFactory with dataFactory: \{ environmentId: .*\}/);
    expect(messages[1]).toMatch(/^airflow\.computeSize: the stack no longer creates/);
    expect(messages[2]).toMatch(/^airflow\.extraNodes: the stack no longer creates/);
    expect(messages[3]).toMatch(/^airflow\.servicePrincipal: moved into the host section: airflow\.dataFactory\.servicePrincipal/);
  });

  it.each(['dataFactory', 'fabric'])('refuses sqlAccess direct on host %s: no network reaches SQL Server from there', (host) => {
    const airflow =
      host === 'fabric'
        ? { host, sqlAccess: 'direct', fabric: { capacityId: CAPACITY_ID, servicePrincipal: SP } }
        : { host, sqlAccess: 'direct', dataFactory: { environmentId: ENVIRONMENT_ID, servicePrincipal: SP } };
    expect(problems(airflow)).toEqual([
      expect.stringMatching(new RegExp(`^airflow\\.sqlAccess: direct cannot work on host ${host}: .*cannot open a TDS connection.*; use sqlAccess: dataFactory`)),
    ]);
  });

  it('refuses more than 50 SQL steps at once where they run as Data Factory pipeline runs (azurerm caps a pipeline\'s concurrency at 50)', () => {
    const plan = (airflow: unknown, steps: number) => ({ ...withAirflow(airflow), concurrency: { maxSqlStepsPerRuntime: steps } });
    const refused = (airflow: unknown, steps: number) =>
      problemsOf(() => parseMigrationPlan(plan(airflow, steps))).map((p: PlanProblem) => `${p.path}: ${p.message}`);
    const message =
      'concurrency.maxSqlStepsPerRuntime: must be at most 50 with airflow.sqlAccess dataFactory, got 51: it is the concurrency of each SQL pipeline, which azurerm_data_factory_pipeline accepts from 1 to 50';
    expect(refused({ host: 'external' }, 51)).toEqual([message]);
    expect(refused({ sqlAccess: 'dataFactory' }, 51)).toEqual([message]);
    expect(parseMigrationPlan(plan({ host: 'external' }, 50)).concurrency.maxSqlStepsPerRuntime).toBe(50);
    expect(parseMigrationPlan(plan(undefined, 100)).concurrency.maxSqlStepsPerRuntime).toBe(100); // direct: the pool's slots only
  });

  it('refuses a host section that does not match the host, naming the default host', () => {
    expect(problems({ fabric: { capacityId: CAPACITY_ID, servicePrincipal: SP } })).toEqual([
      'airflow.fabric: applies to host fabric only, but host is kubernetes (the default): set host: fabric or remove this section',
    ]);
    expect(problems({ host: 'external', kubernetes: {} })).toEqual([
      'airflow.kubernetes: applies to host kubernetes only, but host is external: set host: kubernetes or remove this section',
    ]);
  });

  it('refuses host dataFactory without the existing environment, and never offers to create one', () => {
    expect(problems({ host: 'dataFactory' })).toEqual([expect.stringMatching(/^airflow\.dataFactory: missing: host dataFactory adopts an existing .* never creates one/)]);
    expect(problems({ host: 'dataFactory', dataFactory: { servicePrincipal: SP } })).toEqual(['airflow.dataFactory.environmentId: missing required field']);
  });

  it('refuses an environment id that is not an integration runtime of a factory', () => {
    const factoryOnly = ENVIRONMENT_ID.split('/integrationRuntimes/')[0];
    expect(problems({ host: 'dataFactory', dataFactory: { environmentId: factoryOnly, servicePrincipal: SP } })).toEqual([
      expect.stringMatching(/^airflow\.dataFactory\.environmentId: must be an ARM id like .*\/factories\/<factory>\/integrationRuntimes\/<environment>$/),
    ]);
  });

  it('refuses a Fabric host with both or neither capacity option', () => {
    expect(problems({ host: 'fabric', fabric: { servicePrincipal: SP } })).toEqual([
      expect.stringMatching(/^airflow\.fabric\.capacityId: missing: give capacityId .* or capacity: \{ sku: F8/),
    ]);
    const both = { capacityId: CAPACITY_ID, capacity: { sku: 'F8', administrators: ['a@contoso.com'] }, servicePrincipal: SP };
    expect(problems({ host: 'fabric', fabric: both })).toEqual([
      'airflow.fabric.capacity: capacityId and capacity are both set: give capacityId to run on an existing capacity, or capacity to create a new one, not both',
    ]);
  });

  it('refuses a capacity too small for an Airflow job', () => {
    expect(problems({ host: 'fabric', fabric: { capacity: { sku: 'F4', administrators: ['a@contoso.com'] }, servicePrincipal: SP } })).toEqual([
      expect.stringMatching(/^airflow\.fabric\.capacity\.sku: must be one of F8, F16/),
    ]);
  });

  it('refuses named subnets that do not fit together', () => {
    expect(problems({ kubernetes: { subnetId: `${VNET}/subnets/aks` } })).toEqual([
      expect.stringMatching(/^airflow\.kubernetes\.databaseSubnetId: missing: with subnetId, the metadata database needs its own subnet/),
    ]);
    expect(problems({ kubernetes: { databaseSubnetId: `${VNET}/subnets/db` } })).toEqual([
      'airflow.kubernetes.databaseSubnetId: needs subnetId (the node subnet of the same VNet); without subnetId the stack creates the VNet and all its subnets',
    ]);
    const otherVnet = VNET.replace('vnet-hub', 'vnet-other');
    expect(problems({ kubernetes: { subnetId: `${VNET}/subnets/aks`, databaseSubnetId: `${otherVnet}/subnets/db` } })).toEqual([
      expect.stringMatching(/^airflow\.kubernetes\.databaseSubnetId: must be a subnet of the VNet of subnetId/),
    ]);
    expect(problems({ kubernetes: { minNodes: 5, maxNodes: 2 } })).toEqual(['airflow.kubernetes.minNodes: 5 is more than maxNodes (2)']);
    expect(problems({ kubernetes: { subnetId: 'subnet-1', databaseSubnetId: 'subnet-2' } })).toEqual([
      expect.stringMatching(/^airflow\.kubernetes\.subnetId: must be an ARM id like .*\/subnets\/<subnet>$/),
      expect.stringMatching(/^airflow\.kubernetes\.databaseSubnetId: must be an ARM id like/),
    ]);
  });

  it('takes the API server hardening of the Kubernetes host, refusing what is not an IPv4 range or a group id', () => {
    const ranges = ['203.0.113.0/24', '198.51.100.7'];
    const group = '7d1f3c9e-2b4a-4e6f-9a1b-3c5d7e9f1a2b';
    const plan = parseMigrationPlan(withAirflow({ kubernetes: { authorizedIpRanges: ranges, adminGroupObjectIds: [group], secretRotation: 3 } }));
    expect(plan.airflow).toMatchObject({ kubernetes: { authorizedIpRanges: ranges, adminGroupObjectIds: [group], secretRotation: 3 } });
    expect(problems({ kubernetes: { authorizedIpRanges: ['203.0.113.0/33', 'office'], adminGroupObjectIds: ['admins'] } })).toEqual([
      'airflow.kubernetes.authorizedIpRanges[0]: must be an IPv4 address range in CIDR notation, such as 203.0.113.0/24',
      'airflow.kubernetes.authorizedIpRanges[1]: must be an IPv4 address range in CIDR notation, such as 203.0.113.0/24',
      'airflow.kubernetes.adminGroupObjectIds[0]: must be a GUID',
    ]);
    expect(problems({ kubernetes: { authorizedIpRanges: [] } })).toEqual([
      'airflow.kubernetes.authorizedIpRanges: list at least one range, or leave authorizedIpRanges out',
    ]);
  });

  it('refuses federated credentials for an application the stack does not create', () => {
    const credential = { name: 'astro', issuer: 'https://oidc.example.com/', subject: 'system:serviceaccount:airflow:worker' };
    expect(problems({ host: 'external', external: { servicePrincipal: SP, federatedCredentials: [credential] } })).toEqual([
      expect.stringMatching(/^airflow\.external\.federatedCredentials: federate the managed identity the stack creates, which it does only without servicePrincipal/),
    ]);
    expect(problems({ host: 'external', external: { federatedCredentials: [{ ...credential, issuer: 'http://oidc.example.com/' }] } })).toEqual([
      'airflow.external.federatedCredentials[0].issuer: must be an https URL (the OIDC issuer of your Airflow workers)',
    ]);
  });

  it('refuses a metadata database subnet that also holds the nodes or the private endpoint (it is delegated)', () => {
    const [aks, db] = [`${VNET}/subnets/aks`, `${VNET}/subnets/db`];
    const delegated = /^airflow\.kubernetes\.databaseSubnetId: is also (subnetId|privateEndpointSubnetId): the metadata database's subnet is delegated/;
    expect(problems({ kubernetes: { subnetId: aks, databaseSubnetId: aks } })).toEqual([expect.stringMatching(delegated)]);
    expect(problems({ kubernetes: { subnetId: aks, databaseSubnetId: db, privateEndpointSubnetId: db.toUpperCase().replace('/SUBSCRIPTIONS', '/subscriptions') } })).toEqual([
      expect.stringMatching(delegated),
    ]);
  });

  it('refuses two federated credentials with one name or one issuer and subject (the stack would crash on the name)', () => {
    const credential = { name: 'astro', issuer: 'https://oidc.example.com/', subject: 'system:serviceaccount:airflow:worker' };
    const federatedCredentials = [credential, { ...credential, name: 'ASTRO', subject: 'other' }, { ...credential, name: 'astro-2' }];
    expect(problems({ host: 'external', external: { federatedCredentials } })).toEqual([
      'airflow.external.federatedCredentials[1].name: duplicate name "ASTRO" (also federatedCredentials[0]): give each credential its own name',
      'airflow.external.federatedCredentials[2].subject: issuer and subject are those of federatedCredentials[0]: Entra ID takes each pair once per identity',
    ]);
  });

  it('names an unknown field with a suggestion, and an unknown host with the allowed ones', () => {
    expect(problems({ hots: 'fabric' })).toEqual(['airflow.hots: unknown field (did you mean host?)']);
    expect(problems({ host: 'aks' })).toEqual(['airflow.host: must be one of kubernetes, dataFactory, fabric, external (got "aks")']);
  });

  it('accepts named subnets of one VNet and a created identity federated to the team Airflow', () => {
    const subnets = { subnetId: `${VNET}/subnets/aks`, databaseSubnetId: `${VNET}/subnets/db`, privateEndpointSubnetId: `${VNET}/subnets/pe` };
    expect(parseMigrationPlan(withAirflow({ kubernetes: subnets })).airflow).toMatchObject({ kubernetes: subnets });
    const external = { federatedCredentials: [{ name: 'astro', issuer: 'https://oidc.example.com/', subject: 'sub' }] };
    expect(parseMigrationPlan(withAirflow({ host: 'external', sqlAccess: 'direct', external })).airflow).toEqual({ host: 'external', sqlAccess: 'direct', external });
  });
});
