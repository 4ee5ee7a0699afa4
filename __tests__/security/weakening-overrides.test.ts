/**
 * Every override that weakens a secure default warns at synth (override is allowed, silence is not):
 * one row per override, as a user writes it, with the warning it gives; the default stack of every
 * host gives none of them, and docs/security.md names each. Every boolean prop of the public API,
 * and every other prop that decides a security or protection setting, is classified below: as one
 * of these rows, or as a prop that weakens nothing (with the reason), so a new prop that could
 * weaken a default fails here until it warns or says why it need not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { Testing, TerraformStack } from 'cdktf';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { MigrationService } from '../../lib/migration-service';
import { CredentialVault } from '../../lib/orchestration-factory/credential-vault';
import { MigrationEventIngestion } from '../../lib/monitoring/migration-event-ingestion';
import { apiSurface, interfaceMembers, memberName, ownerName } from '../docs/api-surface';
import { ENVIRONMENT_ID, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { AIRFLOW_OF_HOST, examplePlanWith } from '../helpers/migration-stack';
import { testStack, warningsOf } from '../helpers/test-stack';
import { kubernetesHostStack } from '../hosts/kubernetes-test-stack';
import { monitoring } from '../monitoring/monitoring-test-stack';

/** The plan of the rows that give none: the external host's, loaded once (plans are deep-frozen: no stack can change it for the next). */
const EXTERNAL_HOST_PLAN = examplePlanWith(AIRFLOW_OF_HOST.external);

/** The stack with its release stacks, constructed (the warnings are given at construction). */
function stackWarnings(props: Partial<DatabaseMigrationStackProps>): string[] {
  const plan = props.plan ?? EXTERNAL_HOST_PLAN;
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { ...props, plan });
  return [stack, ...stack.releaseStacks].flatMap((each: TerraformStack) => warningsOf(each));
}

/** Two rows override `preventDestroy: false` on the stack, for two of its constructs: one construction serves both. */
let preventDestroyOffWarnings: string[] | undefined;
const stackWithoutPreventDestroy = () => (preventDestroyOffWarnings ??= stackWarnings({ preventDestroy: false }));

const WEAKENED = /weaker than the secure default|is not protected by prevent_destroy|preventDestroy is false|localAuthenticationEnabled is true/;

const FACTORY_ID = ENVIRONMENT_ID.split('/integrationRuntimes/')[0];
const SHARED_WORKSPACE = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/log-shared',
  name: 'log-shared',
};

/** The warnings of a construct built alone in a test stack. */
function warningsOfOwn(build: (stack: TerraformStack, resourceGroup: ReturnType<typeof testStack>['resourceGroup']) => void): string[] {
  const { stack, resourceGroup } = testStack();
  build(stack, resourceGroup);
  return warningsOf(stack);
}

/** The prop's name, the override as a user writes it, the warnings of a stack or construct with it, the warning expected. */
const OVERRIDES: ReadonlyArray<readonly [string, string, () => string[], RegExp]> = [
  ['httpsOnly', 'DatabaseMigrationStack dagStorage.httpsOnly: false', () => stackWarnings({ dagStorage: { httpsOnly: false } }), /DagStorage: httpsOnly is false, weaker than the secure default true/],
  ['publicBlobAccess', 'DatabaseMigrationStack dagStorage.publicBlobAccess: true', () => stackWarnings({ dagStorage: { publicBlobAccess: true } }), /DagStorage: publicBlobAccess is true, weaker/],
  [
    'sharedAccessKeyEnabled',
    'DatabaseMigrationStack dagStorage.sharedAccessKeyEnabled: true',
    () => stackWarnings({ dagStorage: { sharedAccessKeyEnabled: true } }),
    /DagStorage: sharedAccessKeyEnabled is true, weaker/,
  ],
  ['versioningEnabled', 'DatabaseMigrationStack dagStorage.versioningEnabled: false', () => stackWarnings({ dagStorage: { versioningEnabled: false } }), /DagStorage: versioningEnabled is false, weaker/],
  [
    'softDeleteRetentionInDays',
    'DatabaseMigrationStack dagStorage.softDeleteRetentionInDays: 7',
    () => stackWarnings({ dagStorage: { softDeleteRetentionInDays: 7 } }),
    /DagStorage: softDeleteRetentionInDays is 7, weaker/,
  ],
  ['preventDestroy', 'DatabaseMigrationStack preventDestroy: false', stackWithoutPreventDestroy, /MigrationService: migration service is not protected by prevent_destroy/],
  [
    'preventDestroy',
    'MigrationService preventDestroy: false',
    () => warningsOfOwn((stack, resourceGroup) => new MigrationService(stack, 'Dms', { resourceGroup, namePrefix: 'own', preventDestroy: false })),
    /Dms: migration service is not protected by prevent_destroy/,
  ],
  [
    'preventDestroy',
    'CredentialVault preventDestroy: false',
    () =>
      warningsOfOwn(
        (stack, resourceGroup) =>
          new CredentialVault(stack, 'Vault', { resourceGroup, vaultName: 'kv-own-1234', location: 'westeurope', tenantId: SERVICE_PRINCIPAL.clientId, preventDestroy: false }),
      ),
    /Vault: Key Vault is not protected by prevent_destroy/,
  ],
  [
    'preventDestroy',
    'OrchestrationFactory preventDestroy: false (the Key Vault it creates)',
    stackWithoutPreventDestroy,
    /Orchestration\/KeyVault: Key Vault is not protected by prevent_destroy/,
  ],
  [
    'preventDestroy',
    'KubernetesAirflowHost preventDestroy: false (the metadata database)',
    () => warningsOf(kubernetesHostStack({ preventDestroy: false }).release),
    /Database: Airflow metadata database is not protected by prevent_destroy/,
  ],
  ['preventDestroy', 'MigrationMonitoring preventDestroy: false', () => warningsOf(monitoring({ preventDestroy: false }).stack), /monitoring: preventDestroy is false/],
  [
    'preventDestroy',
    'MigrationEventIngestion preventDestroy: false (the events table)',
    () =>
      warningsOfOwn(
        (stack, resourceGroup) => new MigrationEventIngestion(stack, 'Events', { resourceGroup, namePrefix: 'own', workspace: SHARED_WORKSPACE, preventDestroy: false }),
      ),
    /Events: events table MigrationEvents_CL .* is not protected by prevent_destroy/,
  ],
  ['localAuthenticationEnabled', 'MigrationMonitoring localAuthenticationEnabled: true', () => warningsOf(monitoring({ localAuthenticationEnabled: true }).stack), /monitoring: localAuthenticationEnabled is true/],
  [
    'servicePrincipal',
    'the plan\'s airflow.external.servicePrincipal (ExternalAirflowHost servicePrincipal)',
    () => stackWarnings({ plan: examplePlanWith({ host: 'external', external: { servicePrincipal: SERVICE_PRINCIPAL } }) }),
    /AirflowHost: servicePrincipal is set \(the plan's airflow\.external\.servicePrincipal\), weaker than the secure default, a managed identity the host creates/,
  ],
  ['runCommandEnabled', 'KubernetesAirflowHost runCommandEnabled: true', () => warningsOf(kubernetesHostStack({ runCommandEnabled: true }).stack), /airflow: runCommandEnabled is true, weaker/],
  [
    'networkPoliciesEnabled',
    'KubernetesAirflowHost networkPoliciesEnabled: false',
    () => warningsOf(kubernetesHostStack({ networkPoliciesEnabled: false }).stack),
    /airflow: networkPoliciesEnabled is false, weaker/,
  ],
  [
    'airflowLogs',
    'MigrationMonitoring.monitorDataFactoryAirflow (and DataFactoryAirflowHost) airflowLogs: false',
    () => {
      const { stack, monitoring: construct } = monitoring();
      construct.monitorDataFactoryAirflow({ factoryId: FACTORY_ID, environmentName: 'airflow-prod' }, { airflowLogs: false });
      return warningsOf(stack);
    },
    /monitoring: airflowLogs is false, weaker than the secure default true/,
  ],
];

/** How a prop of the public API stands to a secure default: a row of OVERRIDES (its `written`), or why it weakens none. */
type Classification = { readonly warns: readonly string[] } | { readonly weakensNothing: string };

const ALERT_SWITCH = { weakensNothing: 'turns an alert (or its auto-resolution) on or off: monitoring coverage, no security setting' } as const;
const FABRIC_PROVIDER_LOGIN = {
  weakensNothing: "how the Fabric provider signs in (Azure CLI, OIDC or managed identity): each is Entra ID, none takes a secret from the stack",
} as const;

/**
 * `<declaring interface>.<prop>`: every boolean prop of a type `lib/index.ts` exports, and the
 * props of other types that decide a security or protection setting.
 */
const CLASSIFIED: Readonly<Record<string, Classification>> = {
  'DatabaseMigrationStackProps.preventDestroy': { warns: ['DatabaseMigrationStack preventDestroy: false'] },
  'MigrationServiceProps.preventDestroy': { warns: ['MigrationService preventDestroy: false'] },
  'MigrationServiceProps.exportAuthKeys': {
    weakensNothing: 'the default (true) already publishes the keys, as sensitive outputs; false keeps them out of the outputs and the state, which only strengthens',
  },
  'MigrationOperatorRoleProps.onlineMigrations': {
    weakensNothing: "grants databaseMigrations/cutover/action only where an online migration needs it; DatabaseMigrationStack passes the plan's answer",
  },
  'OrchestrationFactoryProps.preventDestroy': { warns: ['OrchestrationFactory preventDestroy: false (the Key Vault it creates)'] },
  'OrchestrationFactoryProps.publicNetworkEnabled': {
    weakensNothing: 'the default (true) is already the open setting, a documented trade-off (CKV_AZURE_104 in docs/security.md): false only strengthens',
  },
  'CredentialVaultProps.preventDestroy': { warns: ['CredentialVault preventDestroy: false'] },
  'CredentialVaultProps.networkDefaultAction': {
    weakensNothing: "the default (Allow) is already the open setting, a documented trade-off (CKV_AZURE_109 in docs/security.md): 'Deny' only strengthens",
  },
  'CredentialVaultProps.allowedIpRanges': { weakensNothing: "lets ranges in only with networkDefaultAction 'Deny' (refused with 'Allow')" },
  'DagStorageProps.httpsOnly': { warns: ['DatabaseMigrationStack dagStorage.httpsOnly: false'] },
  'DagStorageProps.publicBlobAccess': { warns: ['DatabaseMigrationStack dagStorage.publicBlobAccess: true'] },
  'DagStorageProps.sharedAccessKeyEnabled': { warns: ['DatabaseMigrationStack dagStorage.sharedAccessKeyEnabled: true'] },
  'DagStorageProps.versioningEnabled': { warns: ['DatabaseMigrationStack dagStorage.versioningEnabled: false'] },
  'DagStorageProps.softDeleteRetentionInDays': { warns: ['DatabaseMigrationStack dagStorage.softDeleteRetentionInDays: 7'] },
  'DagStorageProps.minTlsVersion': { weakensNothing: 'TLS1_2 is the only value its type and the construct accept (TLS1_0 and TLS1_1 are refused at synth)' },
  'DagStorageProps.preventDestroy': { weakensNothing: 'off by default (the account holds only files the stack uploads again): true only strengthens' },
  'KubernetesAirflowHostProps.runCommandEnabled': { warns: ['KubernetesAirflowHost runCommandEnabled: true'] },
  'KubernetesAirflowHostProps.networkPoliciesEnabled': { warns: ['KubernetesAirflowHost networkPoliciesEnabled: false'] },
  'KubernetesAirflowHostProps.preventDestroy': { warns: ['KubernetesAirflowHost preventDestroy: false (the metadata database)'] },
  'KubernetesAirflowHostProps.databaseHighAvailability': { weakensNothing: 'availability of the metadata database (a standby), no security setting' },
  'KubernetesAirflowHostProps.authorizedIpRanges': {
    weakensNothing: 'the default (any address, Entra ID and Azure RBAC still decide) is already the open setting (CKV_AZURE_6 in docs/security.md): ranges only restrict',
  },
  'KubernetesAirflowHostProps.adminGroupObjectIds': { weakensNothing: 'names who administers the cluster, with Entra ID; local accounts stay off' },
  'DataFactoryAirflowHostProps.airflowLogs': {
    warns: ['MigrationMonitoring.monitorDataFactoryAirflow (and DataFactoryAirflowHost) airflowLogs: false'],
  },
  'DataFactoryAirflowMonitoringProps.airflowLogs': {
    warns: ['MigrationMonitoring.monitorDataFactoryAirflow (and DataFactoryAirflowHost) airflowLogs: false'],
  },
  'DataFactoryAirflowHostProps.servicePrincipal': {
    weakensNothing: 'required: a Data Factory Airflow environment takes no managed identity, so there is no secretless default to weaken (docs/security.md)',
  },
  'FabricAirflowHostProps.servicePrincipal': {
    weakensNothing: 'required: a Fabric Apache Airflow job takes no managed identity, so there is no secretless default to weaken (docs/security.md)',
  },
  'ExternalAirflowHostProps.servicePrincipal': {
    warns: ["the plan's airflow.external.servicePrincipal (ExternalAirflowHost servicePrincipal)"],
  },
  'MonitoringWorkspaceOptions.localAuthenticationEnabled': { warns: ['MigrationMonitoring localAuthenticationEnabled: true'] },
  'MonitoringWorkspaceOptions.preventDestroy': { warns: ['MigrationMonitoring preventDestroy: false'] },
  'MigrationEventIngestionProps.preventDestroy': { warns: ['MigrationEventIngestion preventDestroy: false (the events table)'] },
  'MigrationEventsMonitoringProps.cutoverAlerts': ALERT_SWITCH,
  'MigrationEventsMonitoringProps.workbook': { weakensNothing: "the migration workbook (a view of the events), no security setting" },
  'AlertOptions.enabled': ALERT_SWITCH,
  'AlertOptions.autoMitigate': ALERT_SWITCH,
  'AlertDefaults.enabled': ALERT_SWITCH,
  'AlertDefaults.autoMitigate': ALERT_SWITCH,
  'DataFactoryMonitoringProps.allLogs': { weakensNothing: 'sends every log category instead of the chosen ones: more audit, never less' },
  'SourceFreezeSettings.allowSourceWritesDuringCopy': {
    weakensNothing: "what the plan says of a database, read to render the source-frozen alert's limits; the monitoring sets nothing with it",
  },
  'AzapiResourceConfig.schemaValidationEnabled': { weakensNothing: "AzAPI's check of a body against its schema at plan, no setting of the resource" },
  'FabricProviderConfig.useCli': FABRIC_PROVIDER_LOGIN,
  'FabricProviderConfig.useOidc': FABRIC_PROVIDER_LOGIN,
  'FabricProviderConfig.useMsi': FABRIC_PROVIDER_LOGIN,
  'FabricApacheAirflowJobConfig.definitionUpdateEnabled': { weakensNothing: 'whether the Fabric provider rewrites the job definition it holds, no security setting' },
};

/** `<declaring interface>.<prop>` of every boolean prop of a type the public API exports. */
function booleanPropsOfPublicApi(): string[] {
  const lib = join(__dirname, '..', '..', 'lib');
  const { checker, exports } = apiSurface(join(lib, 'index.ts'), lib);
  const props = new Set<string>();
  for (const { symbol } of exports) {
    if (!(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) continue;
    for (const member of interfaceMembers(checker, symbol)) {
      if ((member as ts.PropertySignature).type?.kind !== ts.SyntaxKind.BooleanKeyword) continue;
      props.add(`${ownerName(member) ?? symbol.name}.${memberName(member)}`);
    }
  }
  return [...props].sort();
}

describe('the props of the public API', () => {
  const booleans = booleanPropsOfPublicApi();

  it('are found (the compiler reads the exported types)', () => {
    expect(booleans).toEqual(expect.arrayContaining(['DagStorageProps.httpsOnly', 'KubernetesAirflowHostProps.runCommandEnabled']));
  });

  it('each boolean prop is classified: it warns when it weakens a secure default, or says why it weakens none', () => {
    expect(booleans.filter((prop) => !(prop in CLASSIFIED))).toEqual([]);
  });

  it('each prop that weakens a secure default has its row of overrides, which proves its warning', () => {
    const written = new Set(OVERRIDES.map(([, how]) => how));
    const rowless = Object.entries(CLASSIFIED).flatMap(([prop, classification]) =>
      'warns' in classification ? classification.warns.filter((row) => !written.has(row)).map((row) => `${prop}: ${row}`) : [],
    );
    expect(rowless).toEqual([]);
  });

  it('classifies only props that exist', () => {
    const lib = join(__dirname, '..', '..', 'lib');
    const { checker, exports } = apiSurface(join(lib, 'index.ts'), lib);
    const declared = new Set(
      exports.flatMap(({ symbol }) =>
        symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)
          ? interfaceMembers(checker, symbol).map((member) => `${ownerName(member) ?? symbol.name}.${memberName(member)}`)
          : [],
      ),
    );
    expect(Object.keys(CLASSIFIED).filter((prop) => !declared.has(prop))).toEqual([]);
  });
});

describe('an override that weakens a secure default', () => {
  it.each(OVERRIDES)('%s (%s) warns', (_prop, _written, warnings, expected) => {
    expect(warnings()).toContainEqual(expect.stringMatching(expected));
  });

  it.each(Object.keys(AIRFLOW_OF_HOST) as Array<keyof typeof AIRFLOW_OF_HOST>)('is absent from the default stack of host %s, which warns of no weakening', (host) => {
    expect(stackWarnings({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]) }).filter((warning) => WEAKENED.test(warning))).toEqual([]);
  });

  it('is named in docs/security.md', () => {
    const page = readFileSync(join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
    const section = page.slice(page.indexOf('**Secure defaults, overridable with a warning.**'), page.indexOf('**Least privilege.**'));
    for (const [prop] of OVERRIDES) expect(section).toContain(`\`${prop}\``);
  });
});
