/**
 * The upgrade contract (protected-addresses.json): a stack applied with an earlier version of this
 * library keeps its stateful resources when a later version is synthesized over it. Not a snapshot:
 * only the addresses and identity arguments of the protected types (protected-resources.ts).
 * Accept a replacement on purpose with UPDATE_PROTECTED_ADDRESSES=1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { ValidationVariant, validationVariants } from '../../scripts/validate-variants';
import { synthStacks, SynthesizedStack } from '../helpers/test-stack';
import { variantPlan, variantPlanSource } from '../helpers/validate-variants';
import { PROTECTED_TYPES, protectedResources, ProtectedResources, upgradeProblems } from './protected-resources';

const ROOT = join(__dirname, '..', '..');
const CONTRACT_FILE = join(__dirname, 'protected-addresses.json');

/** Every example plan, and the variant with a target of each kind (a role assignment per target). */
const CASES = validationVariants(ROOT).filter(
  (variant) => (!variant.editPlan && !variant.stack && !variant.editJson && !variant.buildStacks) || variant.name === 'every target kind in one plan',
);

const caseName = variantPlanSource;

/** The stacks the app writes for the variant, by stack name. */
function synthesize(variant: ValidationVariant): Record<string, SynthesizedStack> {
  const plan = variantPlan(variant);
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { ...variant.stack, plan });
  const all = [stack, ...stack.releaseStacks];
  const synths = synthStacks(...all);
  return Object.fromEntries(all.map((each, index) => [each.node.id, synths[index]]));
}

/** One line per address, so a change reads as one line of the diff. */
function formatContract(contract: Record<string, ProtectedResources>): string {
  const plans = Object.entries(contract).map(([plan, stacks]) => {
    const blocks = Object.entries(stacks).map(([stack, resources]) => {
      const lines = Object.entries(resources).map(([address, identity]) => `      ${JSON.stringify(address)}: ${JSON.stringify(identity)}`);
      return `    ${JSON.stringify(stack)}: {\n${lines.join(',\n')}\n    }`;
    });
    return `  ${JSON.stringify(plan)}: {\n${blocks.join(',\n')}\n  }`;
  });
  return `{\n${plans.join(',\n')}\n}\n`;
}

const synthesized = new Map(CASES.map((variant) => [caseName(variant), synthesize(variant)]));

if (process.env.UPDATE_PROTECTED_ADDRESSES === '1') {
  writeFileSync(CONTRACT_FILE, formatContract(Object.fromEntries([...synthesized].map(([plan, stacks]) => [plan, protectedResources(stacks)]))));
}
const CONTRACT = JSON.parse(readFileSync(CONTRACT_FILE, 'utf8')) as Record<string, ProtectedResources>;

describe('upgrade contract: protected resources keep their Terraform address and identity', () => {
  it('covers every example plan and nothing else', () => {
    expect(Object.keys(CONTRACT).sort()).toEqual([...synthesized.keys()].sort());
  });

  it.each([...synthesized.keys()])('%s: each is where the contract says, or a moved block carries it there', (plan) => {
    expect(upgradeProblems(plan, CONTRACT[plan] ?? {}, synthesized.get(plan)!)).toEqual([]);
  });
});

describe('the contract check can fail', () => {
  const PLAN = 'examples/three-databases.yaml';
  const VAULT = 'Orchestration_KeyVault_C1D0181E';

  /** The default plan's stacks with the main stack's JSON edited: a copy of it, the release stack shared (no test edits it). */
  function edited(edit: (stack: Record<string, any>) => void): Record<string, SynthesizedStack> {
    const stacks = synthesized.get(PLAN)!;
    const main = structuredClone(stacks['contoso-sql']);
    edit(main as Record<string, any>);
    return { ...stacks, 'contoso-sql': main };
  }

  function renameVault(stack: Record<string, any>): void {
    const vaults = stack.resource.azurerm_key_vault;
    vaults.Orchestration_Vault_0A1B2C3D = vaults[VAULT];
    delete vaults[VAULT];
  }

  it('on a renamed construct without a moved block: destroy and create, with what to do', () => {
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], edited(renameVault))).toEqual([
      `${PLAN} [contoso-sql]: azurerm_key_vault.${VAULT} (the SQL credentials put there by hand) is gone and no moved block leads from it: ` +
        'terraform plan destroys it and creates azurerm_key_vault.Orchestration_Vault_0A1B2C3D. Add a moved block (moveFromFormerId, ' +
        'lib/private/retired-addresses.ts) or accept the replacement on purpose (UPDATE_PROTECTED_ADDRESSES=1 npx jest --ci __tests__/upgrade) ' +
        `and say so in docs/upgrading.md`,
    ]);
  });

  it('not on the same rename with a moved block from the old address', () => {
    const stacks = edited((stack) => {
      renameVault(stack);
      stack.moved.push({ from: `azurerm_key_vault.${VAULT}`, to: 'azurerm_key_vault.Orchestration_Vault_0A1B2C3D' });
    });
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], stacks)).toEqual([]);
  });

  it('on a dropped moved block of an earlier version (an operator role assignment keyed by position before)', () => {
    const positional = 'azurerm_role_assignment.OperatorRole_Airflow-1_B4377CA4';
    const stacks = edited((stack) => {
      stack.moved = stack.moved.filter(({ from }: { from: string }) => from !== positional);
    });
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], stacks)).toEqual([expect.stringMatching(new RegExp(`^${PLAN} \\[contoso-sql\\]: ${positional} .* is gone and no moved block leads from it`))]);
  });

  it('on a changed identity argument (a new Key Vault name replaces the vault)', () => {
    const stacks = edited((stack) => {
      stack.resource.azurerm_key_vault[VAULT].name = 'kv-contoso-sql-ffff';
    });
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], stacks)).toEqual([
      expect.stringContaining(`azurerm_key_vault.${VAULT} (the SQL credentials put there by hand) changes name from "kv-contoso-sql-09e6" to "kv-contoso-sql-ffff"`),
    ]);
  });

  it('on an identity argument the resource no longer sets (a built-in role by name given way to a custom role by id)', () => {
    const assignment = 'AirflowHost_Cluster_DeployerAdministersCluster_9E5FD415';
    const stacks = edited((stack) => {
      const body = stack.resource.azurerm_role_assignment[assignment];
      delete body.role_definition_name;
      body.role_definition_id = '${azurerm_role_definition.Custom_Role_12345678.role_definition_resource_id}';
    });
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], stacks)).toEqual([
      expect.stringContaining(`azurerm_role_assignment.${assignment} (${PROTECTED_TYPES.azurerm_role_assignment.why}) changes role_definition_name from "Azure Kubernetes Service RBAC Cluster Admin" to nothing (the argument is gone)`),
    ]);
  });

  it('not on a changed identity argument the resource ignores (lifecycle.ignore_changes: Terraform keeps the value it has)', () => {
    const changed = (ignoreChanges?: string[]) =>
      edited((stack) => {
        const vault = stack.resource.azurerm_key_vault[VAULT];
        vault.name = 'kv-contoso-sql-ffff';
        if (ignoreChanges) vault.lifecycle = { ...vault.lifecycle, ignore_changes: ignoreChanges };
      });
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], changed(['name']))).toEqual([]);
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], changed(['tags']))).toEqual([expect.stringContaining('changes name')]);
  });

  it('on a protected resource the contract does not list', () => {
    const stacks = edited((stack) => {
      stack.resource.azurerm_user_assigned_identity.Extra_Identity_12345678 = { name: 'id-extra', location: 'westeurope', resource_group_name: 'rg' };
    });
    expect(upgradeProblems(PLAN, CONTRACT[PLAN], stacks)).toEqual([expect.stringContaining('azurerm_user_assigned_identity.Extra_Identity_12345678 is protected and not in the contract yet')]);
  });
});
