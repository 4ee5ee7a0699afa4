/**
 * Every public construct called from plain JavaScript, where no type checker stops a call without
 * props or without a required field: a clear error naming the construct's path, what is missing and
 * the smallest call, never a TypeError from inside the library.
 */
import { TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import * as api from '../../lib';

/** Each public construct, and the fields its props require (none: the props may be left out). */
const REQUIRED: Record<string, readonly string[]> = {
  DatabaseMigrationStack: ['plan'],
  ReleaseStack: ['after', 'stateBackend'],
  MigrationService: ['resourceGroup', 'namePrefix'],
  MigrationOperatorRole: ['resourceGroup', 'namePrefix', 'migrationService', 'targets'],
  OrchestrationFactory: ['resourceGroup', 'plan'],
  CredentialVault: ['resourceGroup', 'vaultName', 'location', 'tenantId'],
  SqlPipelines: ['resourceGroup', 'factory', 'location', 'selfHostedRuntimeName', 'keyVaultLinkedServiceName', 'targets', 'namePrefix'],
  DagStorage: ['resourceGroup', 'accountName', 'location', 'bundle'],
  HostDagStorage: ['bundle', 'resourceGroup', 'location', 'namePrefix'],
  KubernetesAirflowHost: ['resourceGroup', 'namePrefix', 'location', 'bundle', 'environment', 'keyVault', 'pools', 'releaseStack', 'logAnalyticsWorkspace', 'actionGroup'],
  DataFactoryAirflowHost: ['resourceGroup', 'namePrefix', 'location', 'bundle', 'environment', 'keyVault', 'pools', 'environmentId', 'servicePrincipal', 'monitoring'],
  FabricAirflowHost: ['resourceGroup', 'namePrefix', 'location', 'bundle', 'environment', 'keyVault', 'pools', 'servicePrincipal'],
  ExternalAirflowHost: ['resourceGroup', 'namePrefix', 'location', 'bundle', 'environment', 'keyVault', 'pools'],
  MigrationMonitoring: ['resourceGroup', 'namePrefix'],
  MigrationEventIngestion: ['resourceGroup', 'namePrefix', 'workspace'],
  AzapiProvider: [],
  AzapiResource: ['type', 'name', 'parentId'],
  AzapiResourceAction: ['type', 'resourceId', 'action'],
  FabricProvider: [],
  FabricWorkspace: ['displayName'],
  FabricApacheAirflowJob: ['workspaceId', 'displayName'],
  FabricWorkspaceRoleAssignment: ['workspaceId', 'principalId', 'principalType', 'role'],
  DataFabricCapacity: ['displayName'],
};

type AnyConstruct = new (scope: Construct, id: string, props?: unknown) => Construct;

const isConstruct = (value: unknown): value is AnyConstruct => typeof value === 'function' && value.prototype instanceof Construct;
const constructs = Object.entries(api as Record<string, unknown>).flatMap(([name, value]) => (isConstruct(value) ? [[name, value] as const] : []));

/** Calls the construct as plain JavaScript would, in a scope it accepts; returns the error's constructor and message. */
function build(name: string, ...props: unknown[]): { thrown: string; message: string } | undefined {
  const Class = constructs.find(([exported]) => exported === name)![1];
  const app = Testing.app();
  const scope = Class.prototype instanceof TerraformStack ? app : new TerraformStack(app, 'stack');
  try {
    new Class(scope, 'x', ...(props as [unknown]));
    return undefined;
  } catch (error) {
    return { thrown: (error as Error).constructor.name, message: (error as Error).message };
  }
}

/** A placeholder with every field, nested ones too: the checks come before any is read. */
const ANYTHING: unknown = new Proxy({}, { get: () => ANYTHING });

const pathOf = (name: string) => ((api as Record<string, unknown>)[name] as AnyConstruct).prototype instanceof TerraformStack ? 'x' : 'stack/x';
const withRequired = Object.entries(REQUIRED).filter(([, fields]) => fields.length > 0);

test('the table names every construct lib/index.ts exports', () => {
  expect(constructs.map(([name]) => name).sort()).toEqual(Object.keys(REQUIRED).sort());
});

test.each(withRequired)('%s without props: what is missing and the smallest call', (name, fields) => {
  expect(build(name)).toEqual({
    thrown: 'Error',
    message: expect.stringMatching(new RegExp(`^${pathOf(name)}: ${name} needs props \\(got undefined\\); the smallest call is new ${name}\\(`)),
  });
  expect(build(name, null)?.message).toMatch(/needs props \(got null\)/);
  for (const field of fields) expect(build(name)?.message).toMatch(new RegExp(`[{,] ${field}[ ,:]`));
});

test.each(withRequired.flatMap(([name, fields]) => fields.map((field) => [name, field, fields] as const)))(
  '%s without props.%s names it',
  (name, field, fields) => {
    // Every other required field is given (a placeholder: the check comes before any is read).
    const props = Object.fromEntries(fields.filter((other) => other !== field).map((other) => [other, ANYTHING]));
    expect(build(name, props)).toEqual({
      thrown: 'Error',
      message: expect.stringMatching(new RegExp(`^${pathOf(name)}: ${name} is missing props\\.${field}; the smallest call is new ${name}\\(`)),
    });
  },
);

test('the stack without props shows the call the docs use', () => {
  expect(build('DatabaseMigrationStack')?.message).toBe(
    "x: DatabaseMigrationStack needs props (got undefined); the smallest call is new DatabaseMigrationStack(app, 'contoso-sql', { plan: loadMigrationPlan('plan.yaml') })",
  );
});

test.each(Object.entries(REQUIRED).filter(([, fields]) => fields.length === 0))('%s needs no props', (name) => {
  expect(build(name)).toBeUndefined();
});

const RESOURCE_GROUP = ['id', 'name', 'location'];
const KEY_VAULT = ['id', 'name', 'vaultUri'];
const BUNDLE = ['files', 'requirements', 'contentHash'];
const ID_AND_NAME = ['id', 'name'];
const SERVICE_PRINCIPAL = ['clientId', 'objectId'];
const LOCK = ['kind'];
const POOL = ['name', 'slots', 'description'];

/** Each construct's nested props (a `.`-path; `[0]`: a list's element) with required fields of their own, and those fields. */
const NESTED: Record<string, Record<string, readonly string[]>> = {
  DatabaseMigrationStack: { workspace: ID_AND_NAME, 'orchestration.keyVault': KEY_VAULT, lock: LOCK },
  MigrationService: { resourceGroup: RESOURCE_GROUP, lock: LOCK },
  MigrationOperatorRole: { resourceGroup: RESOURCE_GROUP, migrationService: ID_AND_NAME, 'targets[0]': ['kind', 'resourceId'] },
  OrchestrationFactory: { resourceGroup: RESOURCE_GROUP, keyVault: KEY_VAULT, lock: LOCK },
  CredentialVault: { resourceGroup: RESOURCE_GROUP, lock: LOCK },
  SqlPipelines: { resourceGroup: RESOURCE_GROUP, factory: ID_AND_NAME, 'targets[0]': ['name', 'kind', 'resourceId'] },
  DagStorage: { resourceGroup: RESOURCE_GROUP, bundle: BUNDLE, lock: LOCK },
  HostDagStorage: { resourceGroup: RESOURCE_GROUP, bundle: BUNDLE },
  KubernetesAirflowHost: {
    resourceGroup: RESOURCE_GROUP,
    bundle: BUNDLE,
    keyVault: KEY_VAULT,
    'pools[0]': POOL,
    logAnalyticsWorkspace: ID_AND_NAME,
    actionGroup: ID_AND_NAME,
    lock: LOCK,
  },
  DataFactoryAirflowHost: { resourceGroup: RESOURCE_GROUP, bundle: BUNDLE, keyVault: KEY_VAULT, 'pools[0]': POOL, servicePrincipal: SERVICE_PRINCIPAL },
  FabricAirflowHost: {
    resourceGroup: RESOURCE_GROUP,
    bundle: BUNDLE,
    keyVault: KEY_VAULT,
    'pools[0]': POOL,
    servicePrincipal: SERVICE_PRINCIPAL,
    capacity: ['sku', 'administrators'],
    'workspaceMembers[0]': ['principalId', 'principalType', 'role'],
  },
  ExternalAirflowHost: { resourceGroup: RESOURCE_GROUP, bundle: BUNDLE, keyVault: KEY_VAULT, 'pools[0]': POOL },
  MigrationMonitoring: { resourceGroup: RESOURCE_GROUP },
  MigrationEventIngestion: { resourceGroup: RESOURCE_GROUP, workspace: ID_AND_NAME },
};

/** Required props that hold a reference, a bundle or a list of objects: each has its own required fields, so NESTED must name it. */
const REFERENCE_PROPS = ['resourceGroup', 'keyVault', 'bundle', 'migrationService', 'factory', 'servicePrincipal', 'logAnalyticsWorkspace', 'actionGroup', 'workspace', 'targets', 'pools'];

test('NESTED names every required reference prop of every construct', () => {
  for (const [name, fields] of Object.entries(REQUIRED)) {
    const nested = Object.keys(NESTED[name] ?? {}).map((path) => path.replace(/\[0\]$/, ''));
    for (const field of fields.filter((required) => REFERENCE_PROPS.includes(required))) expect([name, nested]).toEqual([name, expect.arrayContaining([field])]);
  }
});

test.each(Object.entries(NESTED).flatMap(([name, nested]) => Object.entries(nested).map(([path, fields]) => [name, path, fields] as const)))(
  '%s with props.%s = {} names its missing fields',
  (name, path, fields) => {
    const props: Record<string, unknown> = Object.fromEntries(REQUIRED[name].map((field) => [field, ANYTHING]));
    const keys = path.split('.');
    let parent = props;
    for (const key of keys.slice(0, -1)) parent = parent[key] = {};
    const last = keys[keys.length - 1];
    if (last.endsWith('[0]')) parent[last.slice(0, -3)] = [{}];
    else parent[last] = {};
    const missing = fields.map((field) => `props.${path}.${field}`.replace(/[.[\]]/g, '\\$&')).join(', ');
    expect(build(name, props)).toEqual({
      thrown: 'Error',
      message: expect.stringMatching(new RegExp(`^${pathOf(name)}: ${name} is missing ${missing}; the smallest call is new ${name}\\(`)),
    });
  },
);

type AnyFunction = (...args: unknown[]) => unknown;
const functions = Object.entries(api as Record<string, unknown>).flatMap(([name, value]) =>
  typeof value === 'function' && !/^[A-Z]/.test(name) ? [[name, value as AnyFunction] as const] : [],
);

const PLAN_NAME = 'contoso-sql';
const DAG_ENVIRONMENT = { planName: PLAN_NAME, tenantId: 't', subscriptionId: 's', migrationService: { id: 'i', name: 'n' }, keyVault: { id: 'i', name: 'n', vaultUri: 'u' } };

/**
 * Each function lib/index.ts exports: calls plain JavaScript may make with a missing or wrong argument,
 * and the start of the error each gives (null: it takes no argument it needs).
 */
const FUNCTIONS: Record<string, readonly (readonly [args: readonly unknown[], message: string])[] | null> = {
  loadMigrationPlan: [[[], "loadMigrationPlan needs the plan file's path"]],
  parseMigrationPlan: [[[], '<plan>: missing required field'], [[42], '<plan>: expected a mapping']],
  renderMigrationPlan: [[[], '<rendered plan>: missing required field'], [[42], '<rendered plan>: expected a mapping']],
  dagBundleFor: [[[], '<rendered plan>: missing required field']],
  migrationPlanJsonSchema: null,
  stateBackendFromEnvironment: null,
  kubeloginModeFromEnvironment: null,
  ...Object.fromEntries(
    ['renderMermaidDiagram', 'migrationWaves', 'topologicalOrder'].map((name) => [
      name,
      [[[], `${name} needs a migration plan (an object with its databases) (got undefined); the smallest call is ${name}(loadMigrationPlan('plan.yaml'))`], [[42], `${name} needs a migration plan`], [[{}], `${name} needs a migration plan (an object with its databases) (got object)`]],
    ]),
  ),
  airflowPools: [[[], "airflowPools needs the plan's concurrency (got undefined); the smallest call is airflowPools(plan.concurrency)"]],
  dagEnvironment: [
    [[], 'dagEnvironment needs props (got undefined); the smallest call is dagEnvironment({ planName, tenantId, subscriptionId, migrationService, keyVault })'],
    [[{ ...DAG_ENVIRONMENT, keyVault: {} }], 'dagEnvironment is missing props.keyVault.id, props.keyVault.name, props.keyVault.vaultUri; '],
    [[{ ...DAG_ENVIRONMENT, migrationService: {} }], 'dagEnvironment is missing props.migrationService.id, props.migrationService.name; '],
    [[{ ...DAG_ENVIRONMENT, eventIngestion: {}, dataFactory: {} }], 'dagEnvironment is missing props.eventIngestion.endpointUrl, props.eventIngestion.dataCollectionRuleImmutableId, props.eventIngestion.streamName, props.dataFactory.id, props.dataFactory.name; '],
  ],
  ...Object.fromEntries(
    ['migrationFailedQuery', 'rollbackFailedQuery', 'cutoverAwaitingApprovalQuery', 'cutoverPostponedQuery'].map((name) => [
      name,
      [[[], `${name} needs the plan's name, a string (got undefined); the smallest call is ${name}('contoso-sql')`], [[{}], `${name} needs the plan's name, a string (got object)`]],
    ]),
  ),
  migrationRunningLongQuery: [[[], "migrationRunningLongQuery needs the plan's name"], [[PLAN_NAME], 'migrationRunningLongQuery needs longRunningMinutes, a number of minutes (got undefined)']],
  migrationStalledQuery: [[[], "migrationStalledQuery needs the plan's name"], [[PLAN_NAME], 'migrationStalledQuery needs silentMinutes, a number of minutes (got undefined)']],
  sourceFrozenTooLongQuery: [[[], "sourceFrozenTooLongQuery needs the plan's name"], [[PLAN_NAME], 'sourceFrozenTooLongQuery needs limits with limitMinutes (a Map) and writableDatabases (an array) (got undefined)']],
};

test('the function table names every function lib/index.ts exports', () => {
  expect(functions.map(([name]) => name).sort()).toEqual(Object.keys(FUNCTIONS).sort());
});

test.each(Object.entries(FUNCTIONS).flatMap(([name, calls]) => (calls ?? []).map(([args, message]) => [name, JSON.stringify(args), args, message] as const)))(
  '%s(%s) names what is missing',
  (name, _shown, args, message) => {
    const call = functions.find(([exported]) => exported === name)![1];
    expect(() => call(...args)).toThrow(expect.objectContaining({ message: expect.stringMatching(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)) }));
  },
);
