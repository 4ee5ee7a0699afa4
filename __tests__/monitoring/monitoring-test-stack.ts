// Brings the type declarations of cdktf's jest matchers (toHaveResourceWithProperties, ...).
import 'cdktf/lib/testing/adapters/jest';
import { App, TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { IDataFactory } from '../../lib/core/references';
import { MigrationMonitoring, MigrationMonitoringProps } from '../../lib/monitoring';

/** A stack holding only what the monitoring construct needs, so snapshots stay small. */
export interface MonitoringTestStack {
  readonly stack: TerraformStack;
  readonly resourceGroup: ResourceGroup;
}

export function monitoringTestStack(): MonitoringTestStack {
  const app = Testing.stubVersion(new App({ stackTraces: false }));
  const stack = new TerraformStack(app, 'test');
  new AzurermProvider(stack, 'azurerm', { features: [{}] });
  const resourceGroup = new ResourceGroup(stack, 'rg', { name: 'rg-contoso-sql', location: 'westeurope' });
  return { stack, resourceGroup };
}

export type MonitoringTestProps = Omit<MigrationMonitoringProps, 'resourceGroup'>;

export const BASE_PROPS: MonitoringTestProps = {
  namePrefix: 'contoso-sql',
  emails: ['dba@contoso.example', 'oncall@contoso.example'],
};

export function monitoring(
  props: Partial<MonitoringTestProps> = {},
): { stack: TerraformStack; monitoring: MigrationMonitoring } {
  const { stack, resourceGroup } = monitoringTestStack();
  const construct = new MigrationMonitoring(stack, 'monitoring', { ...BASE_PROPS, ...props, resourceGroup });
  return { stack, monitoring: construct };
}

/** An existing factory, as a literal: anything with `id` and `name` fits `IDataFactory`. */
export const FACTORY: IDataFactory = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.DataFactory/factories/adf-contoso-sql',
  name: 'adf-contoso-sql',
};

/** Synthesized stack as JSON. */
export interface SynthesizedStack {
  readonly resource?: { [type: string]: { [logicalId: string]: { [key: string]: unknown } } };
  readonly output?: { [name: string]: { value: unknown } };
}

/**
 * How attribute values (tokens) render in the synthesized stack, e.g.
 * `${azurerm_monitor_data_collection_rule.x.id}`: each goes through a Terraform output.
 */
export function rendered(stack: TerraformStack, values: { [key: string]: string }): { [key: string]: unknown } {
  for (const [key, value] of Object.entries(values)) {
    new TerraformOutput(stack, `rendered_${key}`, { value }).overrideLogicalId(`rendered_${key}`);
  }
  const outputs = synthJson(stack).output ?? {};
  return Object.fromEntries(Object.keys(values).map((key) => [key, outputs[`rendered_${key}`]?.value]));
}

export function synthJson(stack: TerraformStack): SynthesizedStack {
  return JSON.parse(Testing.synth(stack)) as SynthesizedStack;
}

/** Every resource of a Terraform type, with its logical id. */
export function resourcesOfType(
  synth: SynthesizedStack,
  type: string,
): Array<{ logicalId: string; config: { [key: string]: any } }> {
  return Object.entries(synth.resource?.[type] ?? {}).map(([logicalId, config]) => ({ logicalId, config }));
}

/** The single resource of a type; fails the test if there is not exactly one. */
export function onlyResourceOfType(synth: SynthesizedStack, type: string): { logicalId: string; config: { [key: string]: any } } {
  const found = resourcesOfType(synth, type);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type}, found ${found.length}`);
  }
  return found[0];
}

/** The resource of a type with the given Azure `name`. */
export function resourceNamed(
  synth: SynthesizedStack,
  type: string,
  name: string,
): { logicalId: string; config: { [key: string]: any } } {
  const found = resourcesOfType(synth, type).filter((resource) => resource.config.name === name);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type} named ${name}, found ${found.length}`);
  }
  return found[0];
}

/** `${type.logicalId.attribute}` as cdktf renders a reference. */
export function reference(type: string, logicalId: string, attribute = 'id'): string {
  return `\${${type}.${logicalId}.${attribute}}`;
}

/** Warning messages left on any construct of the stack by `Annotations.of(...).addWarning`. */
export function warningsOf(stack: TerraformStack): string[] {
  return stack.node
    .findAll()
    .flatMap((construct) => construct.node.metadata)
    .filter((entry) => entry.type === '@cdktf/warn')
    .map((entry) => String(entry.data));
}
