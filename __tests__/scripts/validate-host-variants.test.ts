/**
 * The validate variants that build a host alone (host props no plan sets) synthesize what their
 * names promise, so `npm run validate` shows those arguments to the providers.
 */
import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { loadMigrationPlan } from '../../lib/plan';
import { synthStacks, SynthesizedStack } from '../helpers/test-stack';
import { variantNamed } from './validate-output';

function stacksOf(pattern: string): SynthesizedStack[] {
  const variant = variantNamed(pattern);
  const app = Testing.app();
  variant.buildStacks!(app, loadMigrationPlan(join(__dirname, '..', '..', variant.plan)));
  return synthStacks(...app.node.children.filter((child): child is TerraformStack => child instanceof TerraformStack));
}

function resources(stacks: readonly SynthesizedStack[], type: string): Record<string, unknown>[] {
  return stacks.flatMap((stack) => Object.values(stack.resource[type] ?? {}));
}

describe('validate variants of host props no plan sets', () => {
  it('Kubernetes: zone-redundant metadata database, ReadOnly lock, the central zone, no network policies, kubelogin spn', () => {
    const stacks = stacksOf('Kubernetes host props no plan sets');
    expect(stacks).toHaveLength(2);
    expect(resources(stacks, 'azurerm_postgresql_flexible_server')[0]).toMatchObject({ high_availability: { mode: 'ZoneRedundant' } });
    expect(resources(stacks, 'azurerm_management_lock')).toEqual([expect.objectContaining({ lock_level: 'ReadOnly' })]);
    expect(resources(stacks, 'azurerm_private_endpoint')[0]).toMatchObject({
      private_dns_zone_group: { private_dns_zone_ids: [expect.stringContaining('/privateDnsZones/privatelink.vaultcore.azure.net')] },
    });
    expect(resources(stacks, 'azurerm_private_dns_zone').map((zone) => zone.name)).not.toContain('privatelink.vaultcore.azure.net');
    expect(resources(stacks, 'kubernetes_network_policy_v1')).toEqual([]);
    expect(JSON.stringify(stacks[1].provider)).toContain('--use-azurerm-env-vars');
  });

  it('Fabric: a workspace role assignment per member, of each principal type', () => {
    const assignments = resources(stacksOf('Fabric host props no plan sets'), 'fabric_workspace_role_assignment');
    expect(assignments.map((assignment) => (assignment.principal as { type: string }).type).sort()).toEqual([
      'Group',
      'ServicePrincipal',
      'ServicePrincipalProfile',
      'User',
    ]);
  });
});
