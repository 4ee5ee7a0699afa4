/**
 * The stacks `npm run validate` shows to the real Terraform providers: every plan under
 * `examples/`, plus one row per option that changes what is synthesized. Add a row to cover a new
 * option (an Airflow host, a backend, a target kind); the provider sets are derived from what each
 * row synthesizes, so a row that needs another provider needs nothing else.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseMigrationStackProps } from '../lib/database-migration-stack';

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

export function validationVariants(repoRoot: string): ValidationVariant[] {
  return [
    { name: 'default plan (SqlMi online and offline, managed Airflow, local state)', plan: DEFAULT_PLAN },
    ...examplePlans(repoRoot).map((plan) => ({ name: `example ${plan}`, plan })),
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
    { name: 'management locks on', plan: DEFAULT_PLAN, stack: { lockStatefulResources: true } },
    { name: 'protection off (no prevent_destroy)', plan: DEFAULT_PLAN, stack: { protectStatefulResources: false } },
    {
      name: 'canary: custom table column typed "datetime" (the DCR spelling)',
      plan: DEFAULT_PLAN,
      editJson: (json) => {
        resourcesOf(json, 'azurerm_log_analytics_workspace_table_custom_log')[0].column[0].type = 'datetime';
      },
      mustFailWith: /expected column\.0\.type to be one of \[.*"dateTime".*\], got datetime/,
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
