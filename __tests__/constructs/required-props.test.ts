/**
 * Every public construct called from plain JavaScript, where no type checker stops a call without
 * props or without a required field: a clear error naming the construct's path, what is missing and
 * the smallest call, never a TypeError from inside the library.
 */
import { Fn, Lazy, ref, TerraformStack, Testing, Token } from 'cdktf';
import { Construct } from 'constructs';
import * as api from '../../lib';
import { requireProps } from '../../lib/private/prop-checks';

/** What a field holds (lib/private/required-fields.ts), with a value of another kind and how a message names that value. */
const WRONG: Record<string, readonly [wrong: unknown, expected: string, got: string]> = {
  string: [42, 'a string', 'the number 42'],
  number: ['30', 'a number', 'the string "30"'],
  boolean: ['false', 'true or false', 'the string "false"'],
  array: ['a@b.c', 'a list', 'the string "a@b.c"'],
  object: ['plan.yaml', 'an object', 'the string "plan.yaml"'],
  listOrMap: ['properties.id', 'a list or an object', 'the string "properties.id"'],
  construct: [{}, 'a construct', 'an object'],
  // A string of a few values: any other, a near miss too, is named with them (was: created the table, or failed in the host).
  eventsTable: ['Existing', "one of 'create', 'existing'", `the string "Existing"; did you mean 'existing'?`],
  kubeloginMode: ['SPN', "one of 'azurecli', 'workloadidentity', 'spn', 'msi', 'azd'", `the string "SPN"; did you mean 'spn'?`],
  executor: ['celery', "one of 'CeleryExecutor', 'KubernetesExecutor'", 'the string "celery"'],
  networkDefaultAction: ['deny', "one of 'Allow', 'Deny'", `the string "deny"; did you mean 'Deny'?`],
};
type Kind = keyof typeof WRONG;

/** What every Airflow host requires (AirflowHostBaseProps). */
const HOST_BASE: Readonly<Record<string, Kind>> = { resourceGroup: 'object', namePrefix: 'string', location: 'string', bundle: 'object', environment: 'object', keyVault: 'object', pools: 'array' };

/** Each public construct, and the fields its props require with their kind (none: the props may be left out). */
const REQUIRED_KINDS: Record<string, Readonly<Record<string, Kind>>> = {
  DatabaseMigrationStack: { plan: 'object' },
  ReleaseStack: { after: 'construct', stateBackend: 'object' },
  MigrationService: { resourceGroup: 'object', namePrefix: 'string' },
  MigrationOperatorRole: { resourceGroup: 'object', namePrefix: 'string', migrationService: 'object', targets: 'array' },
  OrchestrationFactory: { resourceGroup: 'object', plan: 'object' },
  CredentialVault: { resourceGroup: 'object', vaultName: 'string', location: 'string', tenantId: 'string' },
  SqlPipelines: { resourceGroup: 'object', factory: 'object', location: 'string', selfHostedRuntimeName: 'string', keyVaultLinkedServiceName: 'string', targets: 'array', namePrefix: 'string' },
  DagStorage: { resourceGroup: 'object', accountName: 'string', location: 'string', bundle: 'object' },
  HostDagStorage: { bundle: 'object', resourceGroup: 'object', location: 'string', namePrefix: 'string' },
  KubernetesAirflowHost: { ...HOST_BASE, releaseStack: 'construct', logAnalyticsWorkspace: 'object', actionGroup: 'object' },
  DataFactoryAirflowHost: { ...HOST_BASE, environmentId: 'string', servicePrincipal: 'object', monitoring: 'construct' },
  FabricAirflowHost: { ...HOST_BASE, servicePrincipal: 'object' },
  ExternalAirflowHost: HOST_BASE,
  MigrationMonitoring: { resourceGroup: 'object', namePrefix: 'string' },
  MigrationEventIngestion: { resourceGroup: 'object', namePrefix: 'string', workspace: 'object' },
  AzapiProvider: {},
  AzapiResource: { type: 'string', name: 'string', parentId: 'string' },
  AzapiResourceAction: { type: 'string', resourceId: 'string', action: 'string' },
  DataAzapiResourceAction: { type: 'string', resourceId: 'string', action: 'string' },
  FabricProvider: {},
  FabricWorkspace: { displayName: 'string' },
  FabricApacheAirflowJob: { workspaceId: 'string', displayName: 'string' },
  FabricWorkspaceRoleAssignment: { workspaceId: 'string', principalId: 'string', principalType: 'string', role: 'string' },
  DataFabricCapacity: { displayName: 'string' },
};

/** Each public construct, and the fields its props require (none: the props may be left out). */
const REQUIRED: Record<string, readonly string[]> = Object.fromEntries(Object.entries(REQUIRED_KINDS).map(([name, fields]) => [name, Object.keys(fields)]));

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

/** The optional fields each construct checks the kind of when they are given. */
const OPTIONAL_KINDS: Record<string, Readonly<Record<string, Kind>>> = {
  DatabaseMigrationStack: {
    subscriptionId: 'string',
    resourceGroupName: 'string',
    workspace: 'object',
    eventsTable: 'eventsTable',
    preventDestroy: 'boolean',
    lock: 'object',
    monitoring: 'object',
    orchestration: 'object',
    dagStorage: 'object',
    deployerPrincipalId: 'string',
    kubeloginMode: 'kubeloginMode',
  },
  ReleaseStack: { subscriptionId: 'string' },
  MigrationService: { serviceName: 'string', location: 'string', tags: 'object', exportAuthKeys: 'boolean', preventDestroy: 'boolean', lock: 'object' },
  MigrationOperatorRole: { backupStorageAccountId: 'string', onlineMigrations: 'boolean' },
  OrchestrationFactory: { namePrefix: 'string', location: 'string', tags: 'object', keyVault: 'object', keyVaultName: 'string', preventDestroy: 'boolean', lock: 'object', publicNetworkEnabled: 'boolean' },
  CredentialVault: { tags: 'object', preventDestroy: 'boolean', lock: 'object', networkDefaultAction: 'networkDefaultAction', allowedIpRanges: 'array' },
  SqlPipelines: { maxRunsPerPipeline: 'number', activityRetries: 'number' },
  DagStorage: {
    tags: 'object',
    replicationType: 'string',
    minTlsVersion: 'string',
    httpsOnly: 'boolean',
    publicBlobAccess: 'boolean',
    sharedAccessKeyEnabled: 'boolean',
    versioningEnabled: 'boolean',
    softDeleteRetentionInDays: 'number',
    preventDestroy: 'boolean',
    lock: 'object',
  },
  HostDagStorage: { deployerPrincipalId: 'string', settings: 'object', tags: 'object' },
  KubernetesAirflowHost: {
    tags: 'object',
    lock: 'object',
    subnetId: 'string',
    nodeVmSize: 'string',
    minNodes: 'number',
    maxNodes: 'number',
    executor: 'executor',
    databaseSubnetId: 'string',
    privateEndpointSubnetId: 'string',
    addressSpace: 'string',
    keyVaultPrivateDnsZoneId: 'string',
    namespace: 'string',
    replicas: 'number',
    celeryWorkers: 'number',
    kubeloginMode: 'string',
    deployerPrincipalId: 'string',
    adminGroupObjectIds: 'array',
    authorizedIpRanges: 'array',
    runCommandEnabled: 'boolean',
    networkPoliciesEnabled: 'boolean',
    kubernetesVersion: 'string',
    databaseHighAvailability: 'boolean',
    preventDestroy: 'boolean',
    secretRotation: 'number',
  },
  DataFactoryAirflowHost: { tags: 'object', airflowAlerts: 'object', airflowLogs: 'boolean', dagStorage: 'object', deployerPrincipalId: 'string' },
  FabricAirflowHost: { tags: 'object', capacityId: 'string', capacity: 'object', computeSize: 'string', computePool: 'string', workspaceMembers: 'array' },
  ExternalAirflowHost: { tags: 'object', servicePrincipal: 'object', federatedCredentials: 'array', dagStorage: 'object', deployerPrincipalId: 'string' },
  MigrationMonitoring: {
    location: 'string',
    tags: 'object',
    alertDefaults: 'object',
    workspace: 'object',
    retentionInDays: 'number',
    localAuthenticationEnabled: 'boolean',
    preventDestroy: 'boolean',
    lock: 'object',
    actionGroup: 'object',
    emails: 'array',
    actionGroupName: 'string',
    actionGroupShortName: 'string',
  },
  MigrationEventIngestion: { location: 'string', eventsTable: 'eventsTable', tags: 'object' },
  AzapiProvider: { alias: 'string', subscriptionId: 'string' },
  AzapiResource: {
    location: 'string',
    body: 'object',
    sensitiveBody: 'object',
    sensitiveBodyVersion: 'object',
    identity: 'object',
    tags: 'object',
    schemaValidationEnabled: 'boolean',
    responseExportValues: 'listOrMap',
  },
  AzapiResourceAction: { method: 'string', body: 'object', when: 'string', responseExportValues: 'listOrMap', sensitiveResponseExportValues: 'listOrMap' },
  DataAzapiResourceAction: { method: 'string', body: 'object', responseExportValues: 'listOrMap', sensitiveResponseExportValues: 'listOrMap' },
  FabricProvider: { alias: 'string', tenantId: 'string', useCli: 'boolean', useOidc: 'boolean', useMsi: 'boolean' },
  FabricWorkspace: { description: 'string', capacityId: 'string' },
  FabricApacheAirflowJob: { description: 'string', definition: 'object', definitionUpdateEnabled: 'boolean' },
};

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The construct's props: every required field a placeholder (of the wrong kind too: every wrong field is named), then `given`. */
const propsWith = (name: string, given: object) => ({ ...Object.fromEntries(REQUIRED[name].map((other) => [other, ANYTHING])), ...given });

/** `<path>: <Construct>: ` and, among the wrong fields it names, `named`. */
const namesAmongWrongFields = (name: string, named: string) => new RegExp(`^${pathOf(name)}: ${name}: (.*; )?${escaped(named)}(; |$)`);

test.each([...Object.entries(REQUIRED_KINDS), ...Object.entries(OPTIONAL_KINDS)].flatMap(([name, fields]) => Object.entries(fields).map(([field, kind]) => [name, field, kind] as const)))(
  '%s with props.%s not %s names the kind, not a TypeError from inside or a stack from a wrong value',
  (name, field, kind) => {
    const [wrong, expected, got] = WRONG[kind];
    expect(build(name, propsWith(name, { [field]: wrong }))).toEqual({ thrown: 'Error', message: expect.stringMatching(namesAmongWrongFields(name, `props.${field} must be ${expected} (got ${got})`)) });
  },
);

test.each([
  ['MigrationService', { lock: true }, 'props.lock must be an object (got the boolean true)'],
  ['MigrationService', { resourceGroup: 'rg-contoso' }, 'props.resourceGroup must be an object (got the string "rg-contoso")'],
  ['MigrationService', { resourceGroup: { id: 42, name: 'rg', location: 'westeurope' } }, 'props.resourceGroup.id must be a string (got the number 42)'],
  ['MigrationService', { preventDestroy: null, lock: { kind: ['CanNotDelete'] } }, "props.lock.kind must be one of 'CanNotDelete', 'ReadOnly' (got a list)"],
  // Named by the prop given (the stack's), not by the first construct the stack hands it to; a near miss with the kind it likely meant.
  ['DatabaseMigrationStack', { lock: { kind: 'Readonly' } }, `props.lock.kind must be one of 'CanNotDelete', 'ReadOnly' (got the string "Readonly"; did you mean 'ReadOnly'?)`],
  ['MigrationService', { lock: { kind: 'NoDelete' } }, `props.lock.kind must be one of 'CanNotDelete', 'ReadOnly' (got the string "NoDelete")`],
  ['MigrationOperatorRole', { targets: ['mi-prod'] }, 'props.targets[0] must be an object (got the string "mi-prod")'],
  ['ExternalAirflowHost', { pools: [{ name: 'p', slots: '4', description: 'd' }] }, 'props.pools[0].slots must be a number (got the string "4")'],
  ['ExternalAirflowHost', { bundle: { files: 'dags.zip', requirements: [], contentHash: 'h' } }, 'props.bundle.files must be a list (got the string "dags.zip")'],
  ['ExternalAirflowHost', { dagStorage: { preventDestroy: 'false' } }, 'props.dagStorage.preventDestroy must be true or false (got the string "false")'],
  ['FabricAirflowHost', { workspaceMembers: 'alice' }, 'props.workspaceMembers must be a list (got the string "alice")'],
  ['FabricAirflowHost', { capacity: { sku: 'F2', administrators: 'a@b.c' } }, 'props.capacity.administrators must be a list (got the string "a@b.c")'],
  ['DatabaseMigrationStack', { orchestration: { publicNetworkEnabled: 'false' } }, 'props.orchestration.publicNetworkEnabled must be true or false (got the string "false")'],
  ['ReleaseStack', { stateBackend: 'local' }, 'props.stateBackend must be an object (got the string "local")'],
  ['KubernetesAirflowHost', { authorizedIpRanges: ['10.0.0.0/8', 42] }, 'props.authorizedIpRanges[1] must be a string (got the number 42)'],
  ['MigrationMonitoring', { emails: [['dba@contoso.example']] }, 'props.emails[0] must be a string (got a list)'],
  ['ExternalAirflowHost', { bundle: { files: [{ blobName: 'dags/a.py', content: 42, contentMd5: 'm', contentType: 't' }], requirements: ['x'], contentHash: 'h' } }, 'props.bundle.files[0].content must be a string (got the number 42)'],
  // An alert's options and defaults, read at synth (autoMitigate decides whether a log alert's frequency is allowed).
  ['MigrationMonitoring', { alertDefaults: { enabled: 'false' } }, 'props.alertDefaults.enabled must be true or false (got the string "false")'],
  ['DatabaseMigrationStack', { monitoring: { migrationFailedAlert: { autoMitigate: 'false' } } }, 'props.monitoring.migrationFailedAlert.autoMitigate must be true or false (got the string "false")'],
  ['DatabaseMigrationStack', { monitoring: { alertDefaults: { runbookUrl: 42 } } }, 'props.monitoring.alertDefaults.runbookUrl must be a string (got the number 42)'],
  ['DataFactoryAirflowHost', { airflowAlerts: { taskFailures: { windowMinutes: '15' } } }, 'props.airflowAlerts.taskFailures.windowMinutes must be a number (got the string "15")'],
  // A field the options do not have is a typo, not a default left in place.
  ['DataFactoryAirflowHost', { airflowAlerts: { taskFailures: { windowMinute: 15 } } }, 'props.airflowAlerts.taskFailures.windowMinute is an unknown field (did you mean windowMinutes?)'],
  ['DataFactoryAirflowHost', { airflowAlerts: { taskFailure: { severity: 1 } } }, 'props.airflowAlerts.taskFailure is an unknown field (did you mean taskFailures?)'],
  ['MigrationMonitoring', { alertDefaults: { runbook: 'https://wiki.contoso.example' } }, 'props.alertDefaults.runbook is an unknown field (allowed: enabled, autoMitigate, runbookUrl)'],
  // A resolvable is no boolean: the construct reads `preventDestroy` at synth, where any object is true.
  ['MigrationMonitoring', { preventDestroy: Lazy.anyValue({ produce: () => false }) }, 'props.preventDestroy must be true or false (got an IResolvable)'],
] as const)('%s with %j names the nested field of the wrong kind', (name, given, message) => {
  expect(build(name, propsWith(name, given))?.message).toMatch(namesAmongWrongFields(name, message));
});

test('tokens pass where the type allows one: string, number and list tokens, and an IResolvable for a string', () => {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'stack');
  const resourceGroup = { id: Token.asString(ref('var.rg_id')), name: Token.asString(ref('var.rg_name')), location: 'westeurope' };
  expect(
    () =>
      new api.MigrationMonitoring(stack, 'monitoring', {
        resourceGroup,
        namePrefix: 'contoso-sql',
        retentionInDays: Token.asNumber(ref('var.retention')),
        emails: ['dba@contoso.example'],
        actionGroupName: Lazy.anyValue({ produce: () => 'ag-contoso' }) as unknown as string,
      }),
  ).not.toThrow();
  const resolvable = Lazy.anyValue({ produce: () => 'x' });
  const tokens = { text: Token.asString(ref('var.a')), count: Token.asNumber(ref('var.b')), list: Token.asList(ref('var.c')), resolvable: resolvable as unknown as string, strings: resolvable as unknown as string[] };
  expect(() =>
    requireProps(stack, 'x', 'Test', tokens, { text: 'string', count: 'number', list: { each: 'string', listToken: 'passedOn' }, resolvable: 'string', strings: { each: 'string', listToken: 'passedOn' } }),
  ).not.toThrow();
});

test("tags and request bodies may be what cdktf's map functions return, a string token (Fn.merge, Fn.jsondecode), where the construct hands them to Terraform as they are", () => {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const resourceGroup = { id: Token.asString(ref('var.rg_id')), name: 'rg-contoso', location: 'westeurope' };
  const tags = Fn.merge([{ owner: 'dba' }, Token.asStringMap(ref('var.common_tags'))]);
  expect(typeof tags).toBe('string');
  expect(() => new api.MigrationService(stack, 'service', { resourceGroup, namePrefix: 'contoso-sql', tags })).not.toThrow();
  expect(() => new api.MigrationMonitoring(stack, 'monitoring', { resourceGroup, namePrefix: 'contoso-sql', tags })).not.toThrow();
  const synthesized = JSON.parse(Testing.synth(stack));
  expect(synthesized.resource.azapi_resource[Object.keys(synthesized.resource.azapi_resource)[0]].tags).toMatch(/^\$\{merge\(/);
  // So may a request body (Fn.jsondecode), which AzapiResource and AzapiResourceAction hand on as it is.
  const body = Fn.jsondecode(Token.asString(ref('var.body_json')));
  expect(() => new api.AzapiResource(stack, 'resource', { type: 'Microsoft.Example/things@2024-01-01', name: 'thing', parentId: resourceGroup.id, body, sensitiveBody: body })).not.toThrow();
  expect(() => new api.AzapiResourceAction(stack, 'action', { type: 'Microsoft.Example/things@2024-01-01', resourceId: resourceGroup.id, action: 'start', body })).not.toThrow();
  // A plain string is still no tags.
  expect(() => new api.MigrationService(new TerraformStack(Testing.app(), 'other'), 'service', { resourceGroup, namePrefix: 'contoso-sql', tags: 'owner=dba' as never })).toThrow(
    'props.tags must be an object (got the string "owner=dba")',
  );
});

/** What cdktf's list functions return (their `any`, a string token), and `Token.asList`'s list of one encoded string. */
const LIST_TOKENS = [
  ['Fn.concat', () => Fn.concat([Token.asList(ref('var.ids')), ['/subscriptions/s/extra']]), /^\$\{concat\(var\.ids, \["\/subscriptions\/s\/extra"\]\)\}$/],
  ['Fn.flatten', () => Fn.flatten([Token.asList(ref('var.ids'))]), /^\$\{flatten\(\[var\.ids\]\)\}$/],
  ['Fn.slice', () => Fn.slice(Token.asList(ref('var.ids')), 0, 1), /^\$\{slice\(var\.ids, 0, 1\)\}$/],
  ['Fn.distinct', () => Fn.distinct(Token.asList(ref('var.ids'))), /^\$\{distinct\(var\.ids\)\}$/],
  ['Fn.tolist', () => Fn.tolist(Token.asList(ref('var.ids'))), /^\$\{tolist\(var\.ids\)\}$/],
  ['Token.asList', () => Token.asList(ref('var.ids')), /^\$\{var\.ids\}$/],
] as const;

test.each(LIST_TOKENS)('a list the construct hands to Terraform as it is takes %s: AzapiResource identity.identityIds, CredentialVault allowedIpRanges', (_name, listToken, expression) => {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const resourceGroup = { id: Token.asString(ref('var.rg_id')), name: 'rg-contoso', location: 'westeurope' };
  const identityIds: string[] = listToken();
  expect(
    () => new api.AzapiResource(stack, 'resource', { type: 'Microsoft.Example/things@2024-01-01', name: 'thing', parentId: resourceGroup.id, identity: { type: 'UserAssigned', identityIds } }),
  ).not.toThrow();
  expect(
    () =>
      new api.CredentialVault(stack, 'vault', {
        resourceGroup,
        vaultName: 'kv-contoso-sql',
        location: 'westeurope',
        tenantId: '00000000-0000-0000-0000-000000000000',
        networkDefaultAction: 'Deny',
        allowedIpRanges: listToken(),
      }),
  ).not.toThrow();
  const synthesized = JSON.parse(Testing.synth(stack));
  expect(Object.values<{ identity: { identity_ids: unknown } }>(synthesized.resource.azapi_resource)[0].identity.identity_ids).toMatch(expression);
  expect(Object.values<{ network_acls: { ip_rules: unknown } }>(synthesized.resource.azurerm_key_vault)[0].network_acls.ip_rules).toMatch(expression);
});

test('a list handed on as it is still refuses a plain string, and names a wrong element', () => {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const azapi = (identityIds: unknown) => () =>
    new api.AzapiResource(stack, `resource${String(identityIds).length}`, { type: 'Microsoft.Example/things@2024-01-01', name: 'thing', parentId: 'p', identity: { type: 'UserAssigned', identityIds: identityIds as string[] } });
  expect(azapi('/subscriptions/s/id')).toThrow('props.identity.identityIds must be a list (got the string "/subscriptions/s/id")');
  expect(azapi(['/subscriptions/s/id', 42])).toThrow('props.identity.identityIds[1] must be a string (got the number 42)');
});

test.each(LIST_TOKENS)('KubernetesAirflowHost authorizedIpRanges and adminGroupObjectIds, handed to the cluster as they are, take %s', (_name, listToken) => {
  const given = { authorizedIpRanges: listToken(), adminGroupObjectIds: listToken() };
  // The other props are placeholders: only that neither list is named is asserted here (kubernetes-host.test.ts synthesizes them).
  expect(build('KubernetesAirflowHost', propsWith('KubernetesAirflowHost', given))?.message).not.toMatch(/authorizedIpRanges|adminGroupObjectIds/);
});

test("an alert's threshold, handed to Terraform as it is, takes a number token", () => {
  const given = { monitoring: { selfHostedRuntimeOfflineAlert: { threshold: Token.asNumber(ref('var.threshold')) } } };
  // The plan is a placeholder: only that the threshold is not named is asserted here (migration-events.test.ts synthesizes one).
  expect(build('DatabaseMigrationStack', propsWith('DatabaseMigrationStack', given))?.message).not.toMatch(/threshold/);
});

/** How a message names what cdktf's list functions, `Token.asList` and `Lazy.anyValue` return. */
const NAMED_LIST_TOKEN = {
  string: "a string token (Token.asString, or cdktf's functions: Fn.concat, Fn.merge ...)",
  list: 'a list token (Token.asList)',
  resolvable: 'an IResolvable',
} as const;
const listTokenNamed = (listToken: unknown) => (Array.isArray(listToken) ? NAMED_LIST_TOKEN.list : typeof listToken === 'string' ? NAMED_LIST_TOKEN.string : NAMED_LIST_TOKEN.resolvable);

/** Lists whose elements the construct reads at synth (objects' fields; requirements written to a file), and where each sits in the props. */
const READ_AT_SYNTH_LISTS = [
  ['ExternalAirflowHost', 'pools'],
  ['MigrationOperatorRole', 'targets'],
  ['SqlPipelines', 'targets'],
  ['FabricAirflowHost', 'workspaceMembers'],
  ['ExternalAirflowHost', 'federatedCredentials'],
  ['ExternalAirflowHost', 'bundle.files'],
  ['ExternalAirflowHost', 'bundle.requirements'],
] as const;

test.each(READ_AT_SYNTH_LISTS.flatMap(([name, path]) => [...LIST_TOKENS.map(([fn, make]) => [name, path, fn, make] as const), [name, path, 'Lazy.anyValue', () => Lazy.anyValue({ produce: () => [] })] as const]))(
  '%s %s, whose elements are read at synth, names %s as a list token',
  (name, path, _fn, make) => {
    const listToken = make();
    const [first, second] = path.split('.');
    const given = second === undefined ? { [first]: listToken } : { [first]: { ...(first === 'bundle' ? { files: [], requirements: [], contentHash: 'h' } : { sku: 'F2', administrators: [] }), [second]: listToken } };
    expect(build(name, propsWith(name, given))?.message).toMatch(
      namesAmongWrongFields(name, `props.${path} must be a list of its elements, which are read at synth, not a list token (got ${listTokenNamed(listToken)})`),
    );
  },
);

test.each([
  // Read at synth (the construct reads its keys or fields), so a token standing for it is named.
  ['ExternalAirflowHost', { environment: Token.asStringMap(ref('var.environment')) }, 'props.environment must be an object, which is read at synth, not a token (got a map token (Token.asStringMap ...))'],
  ['ExternalAirflowHost', { dagStorage: Lazy.anyValue({ produce: () => ({ httpsOnly: true }) }) }, 'props.dagStorage must be an object, which is read at synth, not a token (got an IResolvable)'],
  ['MigrationService', { resourceGroup: Lazy.anyValue({ produce: () => ({}) }) }, 'props.resourceGroup must be an object, which is read at synth, not a token (got an IResolvable)'],
  ['MigrationService', { resourceGroup: Fn.lookup(Token.asAnyMap(ref('var.groups')), 'sql') }, `props.resourceGroup must be an object, which is read at synth, not a token (got ${NAMED_LIST_TOKEN.string})`],
  ['MigrationMonitoring', { alertDefaults: Token.asAnyMap(ref('var.alerts')) }, 'props.alertDefaults must be an object, which is read at synth, not a token (got a map token (Token.asStringMap ...))'],
  // A number token is named as one, not as the huge number cdktf encodes it as.
  ['MigrationService', { namePrefix: Token.asNumber(ref('var.n')) }, 'props.namePrefix must be a string (got a number token (Token.asNumber))'],
  ['ExternalAirflowHost', { pools: Token.asNumber(ref('var.n')) }, 'props.pools must be a list (got a number token (Token.asNumber))'],
  // A number the construct checks or computes with at synth (a range, an alert's timing) takes no token.
  ['SqlPipelines', { maxRunsPerPipeline: Token.asNumber(ref('var.n')) }, 'props.maxRunsPerPipeline must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['SqlPipelines', { activityRetries: Token.asNumber(ref('var.n')) }, 'props.activityRetries must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['DagStorage', { softDeleteRetentionInDays: Token.asNumber(ref('var.n')) }, 'props.softDeleteRetentionInDays must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['ExternalAirflowHost', { dagStorage: { softDeleteRetentionInDays: Token.asNumber(ref('var.n')) } }, 'props.dagStorage.softDeleteRetentionInDays must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['KubernetesAirflowHost', { pools: [{ name: 'p', slots: Token.asNumber(ref('var.n')), description: 'd' }] }, 'props.pools[0].slots must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['KubernetesAirflowHost', { minNodes: Token.asNumber(ref('var.n')) }, 'props.minNodes must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['KubernetesAirflowHost', { maxNodes: Lazy.numberValue({ produce: () => 4 }) }, 'props.maxNodes must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['DatabaseMigrationStack', { monitoring: { migrationFailedAlert: { severity: Token.asNumber(ref('var.n')) } } }, 'props.monitoring.migrationFailedAlert.severity must be a number, which is read at synth, not a token (got a number token (Token.asNumber))'],
  ['DataFactoryAirflowHost', { airflowAlerts: { taskFailures: { windowMinutes: Lazy.anyValue({ produce: () => 15 }) } } }, 'props.airflowAlerts.taskFailures.windowMinutes must be a number, which is read at synth, not a token (got an IResolvable)'],
  // A list token where an object is expected.
  ['MigrationService', { tags: Token.asList(ref('var.tags')) }, 'props.tags must be an object (got a list token (Token.asList))'],
] as const)('%s with %j names the token', (name, given, message) => {
  expect(build(name, propsWith(name, given))?.message).toMatch(namesAmongWrongFields(name, message));
});

test('AzAPI responseExportValues, handed to Terraform as they are, take a list, an object or a token, and name another kind', () => {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const resource = (id: string, responseExportValues: unknown) =>
    new api.AzapiResource(stack, id, { type: 'Microsoft.Example/things@2024-01-01', name: 'thing', parentId: 'p', responseExportValues: responseExportValues as string[] });
  resource('list', ['properties.id']);
  resource('map', { id: 'properties.id' });
  resource('token', Fn.concat([Token.asList(ref('var.paths')), ['properties.id']]));
  new api.AzapiResourceAction(stack, 'action', {
    type: 'Microsoft.Example/things@2024-01-01',
    resourceId: 'r',
    action: 'listKeys',
    responseExportValues: ['keys'],
    sensitiveResponseExportValues: { key: 'keys[0].value' },
  });
  const synthesized = JSON.parse(Testing.synth(stack));
  expect(Object.values<{ response_export_values: unknown }>(synthesized.resource.azapi_resource).map((resource) => resource.response_export_values)).toEqual([
    ['properties.id'],
    { id: 'properties.id' },
    '${concat(var.paths, ["properties.id"])}',
  ]);
  expect(() => resource('string', 'properties.id')).toThrow('stack/string: AzapiResource: props.responseExportValues must be a list or an object (got the string "properties.id")');
  expect(
    () => new api.AzapiResourceAction(stack, 'wrong', { type: 't@1', resourceId: 'r', action: 'a', sensitiveResponseExportValues: 42 as never }),
  ).toThrow('stack/wrong: AzapiResourceAction: props.sensitiveResponseExportValues must be a list or an object (got the number 42)');
});

test('the table states, for a list of strings or numbers, what a list token does, and for a list of objects, that it is refused', () => {
  const stack = new TerraformStack(Testing.app(), 'types');
  const props = { names: ['a'], pools: [{ name: 'p' }], exports: ['x'] as readonly string[] | { readonly [name: string]: string } };
  // Tables the type checker refuses (`npm run typecheck`); never called.
  const refusedTables = () => {
    // @ts-expect-error a list of strings says whether its elements are read at synth or handed on as they are
    requireProps(stack, 'a', 'Test', props, { names: { each: 'string' }, pools: { each: { name: 'string' } }, exports: 'listOrMap' });
    // @ts-expect-error a list of objects is read at synth: no list token stands for it
    requireProps(stack, 'b', 'Test', props, { names: { each: 'string', listToken: 'passedOn' }, pools: { each: { name: 'string' }, listToken: 'passedOn' }, exports: 'listOrMap' });
    // @ts-expect-error listOrMap is for a type that is a list or an object, not for a list alone
    requireProps(stack, 'c', 'Test', props, { names: 'listOrMap', pools: { each: { name: 'string' } }, exports: 'listOrMap' });
    // @ts-expect-error a list's rule is its elements' (each), not a kind that takes any list
    requireProps(stack, 'e', 'Test', props, { names: 'array', pools: { each: { name: 'string' } }, exports: 'listOrMap' });
  };
  expect(typeof refusedTables).toBe('function');
  expect(() => requireProps(stack, 'd', 'Test', props, { names: { each: 'string', listToken: 'readAtSynth' }, pools: { each: { name: 'string' } }, exports: 'listOrMap' })).not.toThrow();
});

test.each(LIST_TOKENS)('MigrationMonitoring emails (one email receiver each, made at synth) names %s as a list token, not as a bad address', (_name, listToken) => {
  const emails: string[] = listToken();
  expect(build('MigrationMonitoring', propsWith('MigrationMonitoring', { emails }))?.message).toMatch(
    namesAmongWrongFields('MigrationMonitoring', `props.emails must be a list of its elements, which are read at synth, not a list token (got ${listTokenNamed(emails)})`),
  );
});

test('MigrationMonitoring emails names an IResolvable too, which it cannot loop over', () => {
  const emails = Lazy.anyValue({ produce: () => ['dba@contoso.example'] }) as unknown as string[];
  expect(build('MigrationMonitoring', propsWith('MigrationMonitoring', { emails }))?.message).toMatch(
    namesAmongWrongFields('MigrationMonitoring', 'props.emails must be a list of its elements, which are read at synth, not a list token (got an IResolvable)'),
  );
});

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
  deployerPrincipalIdFromEnvironment: null,
  acknowledgeWarnings: [
    [[], "acknowledgeWarnings needs the construct the acknowledgements cover (got undefined); the smallest call is acknowledgeWarnings(stack, { 'migration:tfc:kubelogin': '<why this is meant>' })"],
    [[Testing.app()], '<app>: acknowledgeWarnings: acknowledgements must be an object of warning id to reason (got undefined)'],
  ],
  synthesizeApp: [
    [[], 'synthesizeApp needs a function that adds the stacks to the app (got undefined); the smallest call is synthesizeApp((app) => new DatabaseMigrationStack(app, plan.name, { plan }))'],
  ],
  ...Object.fromEntries(
    ['renderMermaidDiagram', 'migrationWaves', 'topologicalOrder'].map((name) => [
      name,
      [[[], `${name} needs a migration plan (an object with its databases) (got undefined); the smallest call is ${name}(loadMigrationPlan('plan.yaml'))`], [[42], `${name} needs a migration plan`], [[{}], `${name} needs a migration plan (an object with its databases) (got object)`]],
    ]),
  ),
  airflowPools: [[[], "airflowPools needs the plan's concurrency (got undefined); the smallest call is airflowPools(plan.concurrency)"]],
  grantReadSecrets: [
    [[], 'grantReadSecrets needs the construct the role assignment goes in (got undefined); the smallest call is grantReadSecrets(stack, vault, host.identity)'],
    [[Testing.app(), {}], 'grantReadSecrets needs the vault, an object with its id and name (got object); the smallest call is grantReadSecrets(stack, vault, host.identity)'],
    [[Testing.app(), { id: 'i', name: 'n' }, 'id-airflow'], 'grantReadSecrets needs the grantee, an object with its principalId (got string)'],
  ],
  dagEnvironment: [
    [[], 'dagEnvironment needs props (got undefined); the smallest call is dagEnvironment({ planName, tenantId, subscriptionId, migrationService, keyVault })'],
    [[{ ...DAG_ENVIRONMENT, keyVault: {} }], 'dagEnvironment is missing props.keyVault.id, props.keyVault.name, props.keyVault.vaultUri; '],
    [[{ ...DAG_ENVIRONMENT, migrationService: {} }], 'dagEnvironment is missing props.migrationService.id, props.migrationService.name; '],
    [[{ ...DAG_ENVIRONMENT, eventIngestion: {}, dataFactory: {} }], 'dagEnvironment is missing props.eventIngestion.endpointUrl, props.eventIngestion.dataCollectionRuleImmutableId, props.eventIngestion.streamName, props.dataFactory.id, props.dataFactory.name; '],
    [[{ ...DAG_ENVIRONMENT, planName: 42 }], 'dagEnvironment: props.planName must be a string (got the number 42)'],
    [[{ ...DAG_ENVIRONMENT, keyVault: 'kv-contoso' }], 'dagEnvironment: props.keyVault must be an object (got the string "kv-contoso")'],
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

/** A construct by its class (its tree is circular), anything else as it is. */
const shownArgument = (_key: string, value: unknown) => (Construct.isConstruct(value) ? `<${value.constructor.name}>` : value);

test('the function table names every function lib/index.ts exports', () => {
  expect(functions.map(([name]) => name).sort()).toEqual(Object.keys(FUNCTIONS).sort());
});

test.each(Object.entries(FUNCTIONS).flatMap(([name, calls]) => (calls ?? []).map(([args, message]) => [name, JSON.stringify(args, shownArgument), args, message] as const)))(
  '%s(%s) names what is missing',
  (name, _shown, args, message) => {
    const call = functions.find(([exported]) => exported === name)![1];
    expect(() => call(...args)).toThrow(expect.objectContaining({ message: expect.stringMatching(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)) }));
  },
);
