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
    const props = Object.fromEntries(fields.filter((other) => other !== field).map((other) => [other, {}]));
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
