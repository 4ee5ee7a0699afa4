import { Token } from 'cdktf';
import { IConstruct } from 'constructs';
import type { IActionGroup, IDataFactory, IEventIngestion, IKeyVault, ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import type { ResourceLock } from '../core/protection';
import { LOCK_KINDS } from './protection';
import type { AlertDefaults, AlertDimension, AlertOptions, LogAlertDefinition, MetricAlertDefinition } from '../monitoring/alerts';
import type { PrometheusAlertOptions } from '../monitoring/airflow-prometheus-alerts';
import type { CustomAlertProps } from '../monitoring/custom-alerts';
import type { MigrationStalledAlertOptions, SourceFrozenTooLongAlertOptions } from '../monitoring/migration-events-monitoring';
import type { IMigrationService } from '../migration-service';
import type { DagBundle } from '../orchestration-factory/dag-bundle';
import type { DagStorageSettings } from '../hosts/host-dag-storage';
import type { AirflowServicePrincipal } from '../plan';
import { armId, GUID_PATTERN } from '../plan/rules';
import { checkRule, FieldProblems, fieldProblems, IF_GIVEN, IfGiven, onlyListed, OrFalse, RequiredFields, requiredNames } from './required-fields';
import {
  isTerraformCloudOrganizationName, isTerraformCloudWorkspaceName, StateBackend, TERRAFORM_CLOUD_ORGANIZATION_RULE, TERRAFORM_CLOUD_WORKSPACE_MAX,
  terraformCloudHostnameProblem,
} from '../state-backend';

export { IF_GIVEN } from './required-fields';

/** What `armId(...)` of `lib/plan/rules.ts` makes: an ARM id's pattern and an example of it. */
type ArmIdPattern = ReturnType<typeof armId>;

/**
 * Checks of construct props given in code (the plan's fields are checked by its schema), made when
 * the construct is built so that a mistake is named where it was made, not by Azure at deploy:
 * `<construct path>: <prop> must be <rule> (got "<value>")`. A reference (an unresolved token) always
 * passes: its value is known only at apply.
 */

/** Throws `<path>: <prop> must be <rule> (got "<value>")` unless `value` is absent, a reference, or `accepts` it. */
export function checkProp(
  scope: IConstruct,
  prop: string,
  value: string | undefined,
  accepts: (value: string) => boolean,
  rule: string,
): void {
  if (value === undefined || Token.isUnresolved(value) || accepts(value)) return;
  throw new Error(`${scope.node.path}: ${prop} must be ${rule} (got "${value}")`);
}

const GUID_RULE = 'a GUID such as 00000000-0000-0000-0000-000000000000';

/** An Entra ID object, application or tenant id, or a subscription id. */
export function checkGuid(scope: IConstruct, prop: string, value: string | undefined): void {
  checkProp(scope, prop, value, (text) => GUID_PATTERN.test(text), GUID_RULE);
}

/** Each GUID of a list, named `<prop>[<index>]`; a list that is itself a reference passes. */
export function checkGuids(scope: IConstruct, prop: string, values: readonly string[] | undefined): void {
  if (values === undefined || Token.isUnresolved(values)) return;
  values.forEach((value, index) => checkGuid(scope, `${prop}[${index}]`, value));
}

/** The ARM id of one kind of resource (`armId(...)` of `lib/plan/rules.ts`). */
export function checkArmId(scope: IConstruct, prop: string, value: string | undefined, { pattern, example }: ArmIdPattern): void {
  checkProp(scope, prop, value, (text) => pattern.test(text), `an ARM id like ${example}`);
}

/** `Microsoft.Network/privateDnsZones`: a zone name is dot-separated labels of letters, digits, `_` and `-`. */
export const PRIVATE_DNS_ZONE_ID = armId('Microsoft.Network', 'privateDnsZones', '[-\\w]{1,63}(?:\\.[-\\w]{1,63}){1,33}', '<zone>');

/**
 * `Microsoft.OperationalInsights/workspaces`: the id's shape, which azurerm's workspace id parser
 * checks in every resource that names the workspace. The name is an existing workspace's, so any
 * name Azure once accepted passes (sources differ on its minimum length: 3 or 4).
 */
export const LOG_ANALYTICS_WORKSPACE_ID = armId('Microsoft.OperationalInsights', 'workspaces', '[^/]{1,63}', '<workspace>');

/**
 * Key Vault names (Microsoft's "Naming rules and restrictions for Azure resources", Microsoft.KeyVault
 * vaults): 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit,
 * without consecutive hyphens.
 */
const KEY_VAULT_NAME = /^(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$/;

export function checkKeyVaultName(scope: IConstruct, prop: string, value: string | undefined): void {
  checkProp(
    scope,
    prop,
    value,
    (text) => KEY_VAULT_NAME.test(text),
    'a Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, not ending with a hyphen, without "--"',
  );
}

/**
 * Resource group names (Microsoft.Resources resourcegroups, and the REST API's pattern `^[-\w._()]+$`
 * with .NET's Unicode `\w`): 1-90 letters (any script), digits, `_ - . ( )`, not ending with a period.
 * The plan's ARM-id patterns (`lib/plan/rules.ts`) stay ASCII because its JSON Schema keeps no regex
 * flags; a name given in code can be checked with Unicode classes.
 */
const RESOURCE_GROUP_NAME = /^[-\p{L}\p{M}\p{Nd}\p{Pc}.()]{0,89}[-\p{L}\p{M}\p{Nd}\p{Pc}()]$/u;

/** A kind of Azure name: what accepts it, and the rule as a message states it ("a storage account name: ..."). */
export interface NameRule {
  readonly accepts: (name: string) => boolean;
  readonly rule: string;
}

export const RESOURCE_GROUP_NAME_RULE: NameRule = {
  accepts: (text) => RESOURCE_GROUP_NAME.test(text),
  rule: 'a resource group name: 1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period',
};

/** Storage account names (Microsoft Learn, resource name rules, Microsoft.Storage): 3-24 lowercase letters and digits. */
export const STORAGE_ACCOUNT_NAME_RULE: NameRule = {
  accepts: (text) => /^[a-z0-9]{3,24}$/.test(text),
  rule: 'a storage account name: 3-24 lowercase letters and digits',
};

/**
 * Blob container names (Microsoft Learn, "Naming and Referencing Containers, Blobs, and Metadata"):
 * 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit, no two hyphens in a row.
 */
export const BLOB_CONTAINER_NAME_RULE: NameRule = {
  accepts: (text) => text.length >= 3 && text.length <= 63 && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(text),
  rule: 'a blob container name: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit',
};

function checkName(scope: IConstruct, prop: string, value: string | undefined, { accepts, rule }: NameRule): void {
  checkProp(scope, prop, value, accepts, rule);
}

export function checkResourceGroupName(scope: IConstruct, prop: string, value: string | undefined): void {
  checkName(scope, prop, value, RESOURCE_GROUP_NAME_RULE);
}

export function checkStorageAccountName(scope: IConstruct, prop: string, value: string | undefined): void {
  checkName(scope, prop, value, STORAGE_ACCOUNT_NAME_RULE);
}

/**
 * Database Migration Service names: 2-62 letters, digits, hyphens, periods and underscores, starting
 * with a letter or digit (Microsoft's naming rules for Microsoft.DataMigration services; azurerm's
 * `azurerm_database_migration_service` name validation has the same characters). The
 * sqlMigrationServices API states no pattern of its own.
 */
const MIGRATION_SERVICE_NAME = /^[A-Za-z0-9][-A-Za-z0-9_.]{1,61}$/;

export function checkMigrationServiceName(scope: IConstruct, prop: string, value: string | undefined): void {
  checkProp(
    scope,
    prop,
    value,
    (text) => MIGRATION_SERVICE_NAME.test(text),
    'a migration service name: 2-62 letters, digits, hyphens, periods and underscores, starting with a letter or digit',
  );
}

/** The fields of each kind of state backend besides its `type` (plain JavaScript may leave them out or give another kind). */
const STATE_BACKEND_FIELDS: { readonly [Type in StateBackend['type']]: RequiredFields<Omit<Extract<StateBackend, { type: Type }>, 'type'>> } = {
  local: { path: IF_GIVEN.string },
  terraformCloud: { organization: 'string', workspace: 'string', hostname: IF_GIVEN.string },
  azurerm: { resourceGroupName: 'string', storageAccountName: 'string', containerName: 'string', key: IF_GIVEN.string },
};

/**
 * A state backend's `type` and the fields its type requires (plain JavaScript may leave them out),
 * then its names: an azurerm backend's `resourceGroupName`, a Terraform Cloud backend's `organization`,
 * `workspace` and `hostname` (by the rules `TFC_ORGANIZATION`, `TFC_WORKSPACE` and `TFC_HOSTNAME` are held to in `stateBackendFromEnvironment`).
 */
export function checkStateBackend(scope: IConstruct, backend: StateBackend | undefined): void {
  if (backend === undefined || backend === null) return;
  const type: unknown = typeof backend === 'object' ? backend.type : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(STATE_BACKEND_FIELDS, type)) {
    const got = typeof backend === 'object' ? String(JSON.stringify(type)) : `a ${typeof backend}`;
    throw new Error(`${scope.node.path}: stateBackend.type must be 'local', 'terraformCloud' or 'azurerm' (got ${got})`);
  }
  const { missing, wrongKind } = fieldProblems(backend, STATE_BACKEND_FIELDS[backend.type], 'stateBackend');
  if (missing.length > 0) throw new Error(`${scope.node.path}: a stateBackend of type '${backend.type}' is missing ${missing.join(', ')}`);
  if (wrongKind.length > 0) throw new Error(`${scope.node.path}: ${wrongKind.join('; ')}`);
  if (backend.type === 'azurerm') {
    checkResourceGroupName(scope, 'stateBackend.resourceGroupName', backend.resourceGroupName);
    checkStorageAccountName(scope, 'stateBackend.storageAccountName', backend.storageAccountName);
    checkName(scope, 'stateBackend.containerName', backend.containerName, BLOB_CONTAINER_NAME_RULE);
  } else if (backend?.type === 'terraformCloud') {
    checkProp(scope, 'stateBackend.organization', backend.organization, isTerraformCloudOrganizationName, TERRAFORM_CLOUD_ORGANIZATION_RULE);
    checkProp(
      scope,
      'stateBackend.workspace',
      backend.workspace,
      isTerraformCloudWorkspaceName,
      `a Terraform Cloud workspace name: letters, digits, - and _, at most ${TERRAFORM_CLOUD_WORKSPACE_MAX} characters`,
    );
    const hostnameProblem =
      backend.hostname === undefined || Token.isUnresolved(backend.hostname) ? undefined : terraformCloudHostnameProblem(backend.hostname);
    if (hostnameProblem) throw new Error(`${scope.node.path}: stateBackend.hostname "${backend.hostname}" ${hostnameProblem}`);
  }
}

/**
 * Props as plain JavaScript may pass them, with no type checker to stop `new X(scope, id)` or a
 * missing field or one of the wrong kind, nested ones too: named here, before the constructor reads
 * them, not by a TypeError from inside it or a stack synthesized from a string read as a list.
 * `required` lists every required field and its kind (the type checker sees that none is left out),
 * and optional ones whose kind is checked when they are given.
 */
export function requireProps<Props extends object>(
  scope: IConstruct,
  id: string,
  construct: string,
  props: Props | undefined,
  required: RequiredFields<Props>,
  smallestCall = `new ${construct}(scope, id, { ${requiredNames(required)} })`,
): Props {
  const path = scope.node.path === '' ? id : `${scope.node.path}/${id}`;
  if (typeof props !== 'object' || props === null) {
    throw new Error(`${path}: ${construct} needs props (got ${props === null ? 'null' : typeof props}); the smallest call is ${smallestCall}`);
  }
  const { missing, wrongKind } = fieldProblems(props, required, 'props');
  if (missing.length > 0) {
    throw new Error(`${path}: ${construct} is missing ${missing.join(', ')}; the smallest call is ${smallestCall}`);
  }
  if (wrongKind.length > 0) throw new Error(`${path}: ${construct}: ${wrongKind.join('; ')}`);
  return props;
}

// The required fields of the references constructs are given (a construct's own, or an existing resource's).
export const RESOURCE_GROUP: RequiredFields<IResourceGroup> = { id: 'string', name: 'string', location: 'string' };
export const KEY_VAULT: RequiredFields<IKeyVault> = { id: 'string', name: 'string', vaultUri: 'string' };
export const LOG_ANALYTICS_WORKSPACE: RequiredFields<ILogAnalyticsWorkspace> = { id: 'string', name: 'string' };
export const ACTION_GROUP: RequiredFields<IActionGroup> = { id: 'string', name: 'string' };
export const DATA_FACTORY: RequiredFields<IDataFactory> = { id: 'string', name: 'string' };
export const EVENT_INGESTION: RequiredFields<IEventIngestion> = { endpointUrl: 'string', dataCollectionRuleImmutableId: 'string', streamName: 'string' };
export const MIGRATION_SERVICE: RequiredFields<IMigrationService> = { id: 'string', name: 'string' };
export const DAG_BUNDLE: RequiredFields<DagBundle> = {
  files: { each: { blobName: 'string', content: 'string', contentMd5: 'string', contentType: 'string' } },
  requirements: { each: 'string', listToken: 'readAtSynth' },
  contentHash: 'string',
};
/** A list of strings the construct hands to Terraform as it is: a list token (`Fn.concat`, `Token.asList`) passes too. */
export const PASSED_ON_STRINGS = { ifGiven: { each: 'string', listToken: 'passedOn' } } as const;
/** A list of strings whose elements the construct reads at synth: a list token is refused by name. */
export const SYNTH_READ_STRINGS = { ifGiven: { each: 'string', listToken: 'readAtSynth' } } as const;
export const SERVICE_PRINCIPAL: RequiredFields<AirflowServicePrincipal> = { clientId: 'string', objectId: 'string' };
export const LOCK: IfGiven<RequiredFields<ResourceLock>> = { ifGiven: { kind: { oneOf: LOCK_KINDS } } };
/** An alert's overrides' fields, read at synth (a severity's range, a log alert's autoMitigate and frequency are checked there) but for its threshold, handed on. */
const ALERT_OPTION_FIELDS: RequiredFields<AlertOptions> = {
  severity: IF_GIVEN.numberReadAtSynth,
  evaluationFrequencyMinutes: IF_GIVEN.numberReadAtSynth,
  windowMinutes: IF_GIVEN.numberReadAtSynth,
  threshold: IF_GIVEN.number,
  description: IF_GIVEN.string,
  runbookUrl: IF_GIVEN.string,
  enabled: IF_GIVEN.boolean,
  autoMitigate: IF_GIVEN.boolean,
};
/** An alert's overrides; a field of another name is a typo, named rather than left to its default. */
export const ALERT_OPTIONS: IfGiven<RequiredFields<AlertOptions>> = { ifGiven: onlyListed(ALERT_OPTION_FIELDS) };
/** A Prometheus alert rule's overrides: every number is read at synth (a range checked, or written into the PromQL). */
export const PROMETHEUS_ALERT_OPTIONS: IfGiven<RequiredFields<PrometheusAlertOptions>> = {
  ifGiven: onlyListed({
    severity: IF_GIVEN.numberReadAtSynth,
    forMinutes: IF_GIVEN.numberReadAtSynth,
    windowMinutes: IF_GIVEN.numberReadAtSynth,
    threshold: IF_GIVEN.numberReadAtSynth,
    description: IF_GIVEN.string,
    runbookUrl: IF_GIVEN.string,
    enabled: IF_GIVEN.boolean,
    autoMitigate: IF_GIVEN.boolean,
  }),
};
/** The "migration run stalled" alert's overrides, or false to leave it out. */
export const MIGRATION_STALLED_ALERT: IfGiven<OrFalse<RequiredFields<MigrationStalledAlertOptions>>> = {
  ifGiven: { orFalse: onlyListed({ ...ALERT_OPTION_FIELDS, silentMinutes: IF_GIVEN.numberReadAtSynth }) },
};
/** The "source frozen too long" alert's overrides, or false to leave it out. */
export const SOURCE_FROZEN_TOO_LONG_ALERT: IfGiven<OrFalse<RequiredFields<SourceFrozenTooLongAlertOptions>>> = {
  ifGiven: { orFalse: onlyListed({ ...ALERT_OPTION_FIELDS, graceMinutes: IF_GIVEN.numberReadAtSynth }) },
};
/** A monitoring facade's defaults for every alert it creates. */
export const ALERT_DEFAULTS: IfGiven<RequiredFields<AlertDefaults>> = { ifGiven: onlyListed({ enabled: IF_GIVEN.boolean, autoMitigate: IF_GIVEN.boolean, runbookUrl: IF_GIVEN.string }) };

/** Dimensions of an alert; their values go to Terraform as they are, so a list token (`Token.asList(var.databases)`) passes. */
const ALERT_DIMENSIONS: IfGiven<RequiredFields<{ list: readonly AlertDimension[] }>['list']> = {
  ifGiven: { each: { name: 'string', operator: { oneOf: ['Include', 'Exclude'] }, values: { each: 'string', listToken: 'passedOn' } } },
};
// The values the types of LogAlertDefinition and MetricAlertDefinition allow (azurerm validates the same ones at plan).
const LOG_ALERT_OPERATORS: readonly LogAlertDefinition['operator'][] = ['Equal', 'GreaterThan', 'GreaterThanOrEqual', 'LessThan', 'LessThanOrEqual'];
const METRIC_ALERT_OPERATORS: readonly MetricAlertDefinition['operator'][] = ['Equals', 'GreaterThan', 'GreaterThanOrEqual', 'LessThan', 'LessThanOrEqual'];
const TIME_AGGREGATIONS: readonly LogAlertDefinition['timeAggregationMethod'][] = ['Count', 'Average', 'Minimum', 'Maximum', 'Total'];
const METRIC_AGGREGATIONS: readonly MetricAlertDefinition['aggregation'][] = ['Average', 'Count', 'Minimum', 'Maximum', 'Total'];

/**
 * What a built-in alert's definition brings when spread into a custom one (`{ kind: 'log', ...migrationFailedAlert(...), threshold: 5 }`)
 * and the custom alert ignores: its name is its key.
 */
type SpreadDefinitionFields = Partial<Pick<LogAlertDefinition, 'id' | 'name' | 'optionsProp'>>;
const SPREAD_DEFINITION_FIELDS: RequiredFields<SpreadDefinitionFields> = { id: IF_GIVEN.string, name: IF_GIVEN.string, optionsProp: IF_GIVEN.string };

/** What every custom alert has: its options, its kind, and the severity and description it must state. */
const CUSTOM_ALERT_COMMON_FIELDS = {
  ...SPREAD_DEFINITION_FIELDS,
  ...ALERT_OPTION_FIELDS,
  kind: 'string',
  severity: 'numberReadAtSynth',
  description: 'string',
  dimensions: ALERT_DIMENSIONS,
} as const;

/** The fields of each kind of custom alert (`addAlert`, `customAlerts`): its options, and what it watches. */
const CUSTOM_ALERT_FIELDS: { readonly [Kind in CustomAlertProps['kind']]: RequiredFields<Extract<CustomAlertProps, { kind: Kind }> & SpreadDefinitionFields> } = {
  log: onlyListed({
    ...CUSTOM_ALERT_COMMON_FIELDS,
    query: 'string',
    displayName: IF_GIVEN.string,
    timeAggregationMethod: { ifGiven: { oneOf: TIME_AGGREGATIONS } },
    metricMeasureColumn: IF_GIVEN.string,
    operator: { ifGiven: { oneOf: LOG_ALERT_OPERATORS } },
    dependsOn: { ifGiven: { each: 'object' } },
  }),
  metric: onlyListed({
    ...CUSTOM_ALERT_COMMON_FIELDS,
    resource: { id: 'string' },
    metricNamespace: 'string',
    metricName: 'string',
    aggregation: { oneOf: METRIC_AGGREGATIONS },
    operator: { oneOf: METRIC_ALERT_OPERATORS },
    threshold: 'number',
  }),
};

/** Custom alerts keyed by name (`customAlerts`), each checked by the fields of its `kind`. */
function customAlertsProblems(alerts: unknown, path: string, problems: FieldProblems): void {
  checkRule(alerts, 'object', path, problems);
  if (problems.wrongKind.length > 0) return;
  for (const [name, alert] of Object.entries(alerts as object)) {
    const alertPath = `${path}.${name}`;
    if (alert == null) {
      problems.missing.push(alertPath);
      continue;
    }
    const before = problems.wrongKind.length;
    checkRule(alert, 'object', alertPath, problems);
    if (problems.wrongKind.length > before) continue;
    const kind: unknown = (alert as { kind?: unknown }).kind;
    if (kind === 'log' || kind === 'metric') fieldProblems(alert, CUSTOM_ALERT_FIELDS[kind], alertPath, problems);
    else if (kind == null) problems.missing.push(`${alertPath}.kind`);
    else checkRule(kind, { oneOf: ['log', 'metric'] }, `${alertPath}.kind`, problems);
  }
}

/** `customAlerts`: the alerts of one's own a facade or stack adds. */
export const CUSTOM_ALERTS = { ifGiven: { checkedBy: customAlertsProblems } } as const;

/**
 * The props of a facade method (`monitorMigrationEvents`, `addAlert` ...), as plain JavaScript may
 * pass them: `<facade path>: <method> is missing <path>` or `<facade path>: <method>: <path> must be ...`.
 */
export function requireMethodProps<Props extends object>(facade: IConstruct, method: string, path: string, props: Props | undefined, fields: RequiredFields<Props>): void {
  const problems: FieldProblems = { missing: [], wrongKind: [] };
  if (props !== undefined) checkRule(props, fields, path, problems);
  throwMethodProblems(facade, method, problems);
}

/** `<facade path>: <method> is missing <paths>`, else `<facade path>: <method>: <problems>`, if there are any. */
export function throwMethodProblems(facade: IConstruct, method: string, { missing, wrongKind }: FieldProblems): void {
  if (missing.length > 0) throw new Error(`${facade.node.path}: ${method} is missing ${missing.join(', ')}`);
  if (wrongKind.length > 0) throw new Error(`${facade.node.path}: ${method}: ${wrongKind.join('; ')}`);
}

/** The custom alerts of `addAlert` and `monitorCustom`, each named `customAlerts.<name>` as its other errors are. */
export function requireCustomAlerts(facade: IConstruct, method: string, alerts: unknown): void {
  const problems: FieldProblems = { missing: [], wrongKind: [] };
  customAlertsProblems(alerts, 'customAlerts', problems);
  throwMethodProblems(facade, method, problems);
}
/** A host's or the stack's settings of the DAG storage account. */
export const DAG_STORAGE_SETTINGS: IfGiven<RequiredFields<DagStorageSettings>> = {
  ifGiven: {
    replicationType: IF_GIVEN.string,
    minTlsVersion: IF_GIVEN.string,
    httpsOnly: IF_GIVEN.boolean,
    publicBlobAccess: IF_GIVEN.boolean,
    sharedAccessKeyEnabled: IF_GIVEN.boolean,
    versioningEnabled: IF_GIVEN.boolean,
    softDeleteRetentionInDays: IF_GIVEN.numberReadAtSynth,
    preventDestroy: IF_GIVEN.boolean,
    lock: LOCK,
  },
};
