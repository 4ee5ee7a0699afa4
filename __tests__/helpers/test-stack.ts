// Brings the type declarations of cdktf's jest matchers (toHaveResourceWithProperties, ...).
import 'cdktf/lib/testing/adapters/jest';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { App, TerraformDataSource, TerraformOutput, TerraformResource, TerraformStack, Testing } from 'cdktf';
import { resolve } from 'cdktf/lib/_tokens';
import { invokeAspects } from 'cdktf/lib/synthesize/synthesizer';
import { eventIngestionErrorsQuery } from '../../lib/monitoring/event-ingestion-errors';
import { missingPoolQuery } from '../../lib/monitoring/missing-pool';
import { synthWarnings } from '../../lib/private/synth-warnings';
import { AzapiProvider } from '../../lib/azapi/provider';

/**
 * A stack with both providers and a resource group, for testing one construct at a time; azurerm
 * writes blobs with Entra ID, as a team's stack must for the DAG storage (and DatabaseMigrationStack does).
 */
export function testStack(): { app: App; stack: TerraformStack; resourceGroup: ResourceGroup } {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AzurermProvider(stack, 'azurerm', { features: [{}], storageUseAzuread: true });
  new AzapiProvider(stack, 'azapi');
  const resourceGroup = new ResourceGroup(stack, 'rg', { name: 'rg-test', location: 'westeurope' });
  return { app, stack, resourceGroup };
}

/** Synthesized stack as an object: `resource.<type>.<logical id>`, `output.<name>`, ... */
export interface SynthesizedStack {
  readonly resource: Record<string, Record<string, Record<string, unknown>>>;
  readonly output?: Record<string, { value: string; sensitive?: boolean; description?: string }>;
  readonly variable?: Record<string, Record<string, unknown>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
  readonly terraform?: Record<string, unknown>;
  readonly provider?: Record<string, unknown>;
}

/**
 * What `Testing.synth` writes, parsed: aspects invoked, cdktf's `//` metadata left out, keys in
 * code-unit order. Copied as JSON would copy it, without `Testing.synth`'s text in between (its key
 * sort copies each object once per key and its stable stringify walks it again: a fifth of a
 * synthesis) nor a text of our own. test-stack.test.ts shows both give the same document for every
 * stack of two hosts.
 */
export function synthObject(stack: TerraformStack): SynthesizedStack {
  invokeAspects(stack);
  return asJson(stack.toTerraform(), '') as SynthesizedStack;
}

/** `JSON.parse(JSON.stringify(value))` with keys sorted and `//` keys left out, in one walk. */
function asJson(value: unknown, key: string): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return asJson((value as { toJSON: (key: string) => unknown }).toJSON(key), key);
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value !== 'object') return typeof value === 'string' || typeof value === 'boolean' || value === null ? value : undefined;
  if (Array.isArray(value)) return value.map((item, index) => asJson(item, String(index)) ?? null);
  const record = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(record).sort()) {
    if (name === '//') continue;
    const member = asJson(record[name], name);
    if (member !== undefined) copy[name] = member;
  }
  return copy;
}

/** A resource type: its Terraform name, or the provider class of it. */
type ResourceType = string | { readonly tfResourceType: string };

/**
 * The resources of a type in a constructed stack, by logical id, as the stack's synthesis writes them
 * (aspects invoked, each one's own `toTerraform()` resolved in its stack, as `stack.toTerraform()`
 * does, `//` metadata left out), without synthesizing the rest (the DAG's files are most of a
 * synthesis): for values a construct passes to those resources. Throws for a resource that refers to
 * another stack's: only a synthesis registers the cross-stack output it reads. The tests that use it
 * compare it with a synthesis.
 */
export function synthesizedResources(stack: TerraformStack, type: ResourceType): Record<string, Record<string, any>> {
  const typeName = typeof type === 'string' ? type : type.tfResourceType;
  invokeAspects(stack);
  const constructs = stack.node.findAll();
  const found = constructs.filter(
    (construct): construct is TerraformResource =>
      TerraformResource.isTerraformResource(construct) && construct.terraformResourceType === typeName && TerraformStack.of(construct) === stack,
  );
  const blocks = found.map((resource) => resolve(stack, resource.toTerraform()) as { resource: Record<string, Record<string, Record<string, unknown>>> });
  const configs = Object.assign({}, ...blocks.map((block) => block.resource[typeName]));
  const text = JSON.stringify(configs, (key, value) => (key === '//' ? undefined : value));
  const own = new Set(
    constructs.flatMap((construct) =>
      // cdktf's markers, not instanceof: under CDK Terrain (scripts/cdktn-test.sh) the azurerm provider's
      // resources extend another copy of the class than the `cdktf` alias imported here.
      TerraformResource.isTerraformResource(construct)
        ? [`${construct.terraformResourceType}.${construct.friendlyUniqueId}`]
        : TerraformDataSource.isTerraformDataSource(construct)
          ? [`data.${construct.terraformResourceType}.${construct.friendlyUniqueId}`]
          : [],
    ),
  );
  for (const [expression] of text.matchAll(/\$\{[^}]*\}/g)) {
    for (const [address] of expression.matchAll(/\b(?:data\.)?[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z][\w-]*/g)) {
      if (!own.has(address)) throw new Error(`${typeName} references ${address}, not in ${stack.node.id}: synthesize the stacks to read it`);
    }
  }
  return JSON.parse(text);
}

/** The only resource of a type in a constructed stack, as {@link synthesizedResources} gives it; fails unless there is exactly one. */
export function synthesizedResource(stack: TerraformStack, type: ResourceType): Record<string, any> {
  const all = Object.values(synthesizedResources(stack, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${typeof type === 'string' ? type : type.tfResourceType}, found ${all.length}`);
  return all[0];
}

/**
 * Registers every stack's cross-stack references before any is synthesized, as `app.synth()` does,
 * so a first stack holds the outputs a later one reads.
 */
export function prepareStacks(stacks: readonly TerraformStack[]): void {
  stacks.forEach((stack) => stack.prepareStack());
}

/** Several stacks of one app, each as an object, prepared together first (prepareStacks). */
export function synthStacks(...stacks: TerraformStack[]): SynthesizedStack[] {
  prepareStacks(stacks);
  return stacks.map(synthObject);
}

/** Stacks seen as one document (types and blocks of each, side by side), for checks that span them. */
export function mergedStacks(...synths: SynthesizedStack[]): SynthesizedStack {
  const merged: Record<string, any> = {};
  for (const synth of synths) {
    for (const [block, content] of Object.entries(synth as Record<string, any>)) {
      if (content === null || typeof content !== 'object' || Array.isArray(content)) continue;
      merged[block] ??= {};
      for (const [key, value] of Object.entries(content)) {
        const both = merged[block][key];
        merged[block][key] =
          both && typeof both === 'object' && !Array.isArray(both) && typeof value === 'object' && !Array.isArray(value) ? { ...both, ...value } : value;
      }
    }
  }
  return merged as SynthesizedStack;
}

/** Every resource of one Terraform type, by logical id. */
export function resourcesOfType(synth: SynthesizedStack, type: string): Record<string, Record<string, unknown>> {
  return synth.resource[type] ?? {};
}

/** Azure names of the resources of a type, sorted. */
export function resourceNames(synth: SynthesizedStack, type: string): string[] {
  return Object.values(resourcesOfType(synth, type))
    .map((config) => String(config.name))
    .sort();
}

/** The only resource of a type (fails the test when there is not exactly one). */
export function onlyResource(synth: SynthesizedStack, type: string): Record<string, unknown> {
  const all = Object.values(resourcesOfType(synth, type));
  if (all.length !== 1) {
    throw new Error(`expected exactly one ${type}, found ${all.length}`);
  }
  return all[0];
}

/** The only data source of a type (fails the test when there is not exactly one). */
export function onlyDataSource(synth: SynthesizedStack, type: string): Record<string, unknown> {
  const all = Object.values(synth.data?.[type] ?? {});
  if (all.length !== 1) {
    throw new Error(`expected exactly one data source ${type}, found ${all.length}`);
  }
  return all[0];
}

/**
 * Warnings attached to constructs (Annotations.addWarning) anywhere under a scope, as a user sees
 * them: `<construct path>: <message>` (`npm run synth`; the cdktf CLI prints `WARN [<path>]: <message>`).
 */
export function warningsOf(stack: TerraformStack): string[] {
  return synthWarnings(stack);
}

/** Logical id of the only resource of a type (fails the test when there is not exactly one). */
export function onlyLogicalId(synth: SynthesizedStack, type: string): string {
  const ids = Object.keys(resourcesOfType(synth, type));
  if (ids.length !== 1) {
    throw new Error(`expected exactly one ${type}, found ${ids.length}`);
  }
  return ids[0];
}

/** The resource of a type with the given Azure `name` (fails the test when there is not exactly one). */
export function resourceNamed(synth: SynthesizedStack, type: string, name: string): Record<string, any> {
  const found = Object.values(resourcesOfType(synth, type)).filter((config) => config.name === name);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type} named ${name}, found ${found.length}`);
  }
  return found[0];
}

/** `${type.logicalId.attribute}`, as cdktf renders a reference. */
export function reference(type: string, logicalId: string, attribute = 'id'): string {
  return `\${${type}.${logicalId}.${attribute}}`;
}

/**
 * How attribute values (tokens) render in the synthesized stack, e.g.
 * `${azurerm_monitor_data_collection_rule.x.id}`: each goes through a Terraform output.
 */
export function rendered(stack: TerraformStack, values: { [key: string]: string }): { [key: string]: unknown } {
  for (const [key, value] of Object.entries(values)) {
    new TerraformOutput(stack, `rendered_${key}`, { value }).overrideLogicalId(`rendered_${key}`);
  }
  const outputs = synthObject(stack).output ?? {};
  return Object.fromEntries(Object.keys(values).map((key) => [key, outputs[`rendered_${key}`]?.value]));
}

/** The KQL of every log alert in the stack. */
export function logAlertQueries(stack: TerraformStack): string[] {
  return Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_scheduled_query_rules_alert_v2')).map(
    (alert) => (alert.criteria as Array<{ query: string }>)[0].query,
  );
}

/**
 * The log alert queries that read neither plan `planName`'s events nor the errors Azure logged of
 * the plan's events rule (`DCRLogErrors` of `dcr-<planName>`): none, for a plan
 * that shares its workspace.
 */
export function queriesNotOfPlan(stack: TerraformStack, planName: string): string[] {
  const rules = Object.entries(resourcesOfType(synthObject(stack), 'azurerm_monitor_data_collection_rule'));
  const rule = reference('azurerm_monitor_data_collection_rule', rules.find(([, config]) => config.name === `dcr-${planName}`)![0]);
  // The Kubernetes host's missing pool alert reads its own cluster's records only.
  const clusters = Object.entries(resourcesOfType(synthObject(stack), 'azurerm_kubernetes_cluster'));
  const cluster = clusters.find(([, config]) => config.name === `aks-${planName}`);
  const missingPool = cluster ? missingPoolQuery(reference('azurerm_kubernetes_cluster', cluster[0]), 'airflow') : undefined;
  return logAlertQueries(stack).filter(
    (query) => !query.includes(`MigrationEvents_CL | where PlanName == "${planName}"`) && query !== eventIngestionErrorsQuery(rule) && query !== missingPool,
  );
}

/**
 * Only the resources of the given types, by type and logical id: a snapshot of what matters that
 * changes neither with provider versions (no `terraform` or `provider` block) nor with the rest of the stack.
 */
export function resourcesSnapshot(synth: SynthesizedStack, types: readonly string[]): SynthesizedStack['resource'] {
  return Object.fromEntries(types.map((type) => [type, resourcesOfType(synth, type)]));
}
