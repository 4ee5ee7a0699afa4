/**
 * The upgrade contract: the Terraform address and the identity arguments of every resource whose
 * replacement loses data or interrupts a migration. A team that bumps this library under an applied
 * stack gets `terraform plan` on the new synth; an address that changed without a `moved` block is a
 * destroy and a create, and so is a changed identity argument (one Azure cannot change in place).
 */
import type { SynthesizedStack } from '../helpers/test-stack';

/** Per protected type: why its replacement hurts, and the arguments that replace it when they change. */
export const PROTECTED_TYPES: Readonly<
  Record<string, { readonly why: string; readonly identity: readonly string[]; readonly only?: (body: Record<string, unknown>) => boolean }>
> = {
  azurerm_resource_group: { why: 'holds everything else', identity: ['name', 'location'] },
  azurerm_key_vault: { why: 'the SQL credentials put there by hand', identity: ['name', 'location', 'resource_group_name'] },
  azurerm_log_analytics_workspace: { why: 'the migration history', identity: ['name', 'location', 'resource_group_name'] },
  azurerm_log_analytics_workspace_table_custom_log: { why: 'the migration events (a dropped table drops its rows)', identity: ['name', 'workspace_id'] },
  azapi_resource: {
    why: 'the migration service, its migrations and its registered runtime',
    identity: ['type', 'name', 'parent_id', 'location'],
    only: (body) => String(body.type).startsWith('Microsoft.DataMigration/sqlMigrationServices@'),
  },
  azurerm_data_factory: { why: "its managed identity's logins on the targets, made by hand", identity: ['name', 'location', 'resource_group_name'] },
  azurerm_data_factory_integration_runtime_self_hosted: { why: 'the machines registered with its key', identity: ['name', 'data_factory_id'] },
  azurerm_data_factory_managed_private_endpoint: {
    why: "the approval on the target, given by hand",
    identity: ['name', 'data_factory_id', 'target_resource_id', 'subresource_name'],
  },
  azurerm_storage_account: { why: 'a globally unique name; the DAG bundle', identity: ['name', 'location', 'resource_group_name'] },
  azurerm_kubernetes_cluster: { why: 'Airflow and everything the second stack put in it', identity: ['name', 'location', 'resource_group_name', 'dns_prefix'] },
  azurerm_postgresql_flexible_server: {
    why: "Airflow's metadata: run history, handoff records, approvals",
    identity: ['name', 'location', 'resource_group_name', 'delegated_subnet_id', 'administrator_login'],
  },
  azurerm_postgresql_flexible_server_database: { why: "Airflow's metadata", identity: ['name', 'server_id', 'charset', 'collation'] },
  kubernetes_namespace_v1: { why: 'the Airflow release and its secrets', identity: ['metadata.name'] },
  azurerm_user_assigned_identity: { why: 'a new principal: every grant, federation and SQL login of the old one is lost', identity: ['name', 'location', 'resource_group_name'] },
  azurerm_role_definition: { why: 'a custom role with the same name cannot be created while the old one exists', identity: ['scope'] },
  azurerm_role_assignment: {
    why: 'a grant re-created under a new address races its own deletion (Azure refuses a second assignment of one role to one principal on one scope)',
    identity: ['scope', 'role_definition_id', 'role_definition_name', 'principal_id'],
  },
  fabric_workspace: { why: 'the Airflow job and what an operator set in it by hand', identity: [] },
  fabric_apache_airflow_job: { why: 'its client secret and pools, set by hand', identity: ['workspace_id'] },
};

/** Identity arguments of each protected resource, by stack and address: the committed contract of one plan. */
export type ProtectedResources = Record<string, Record<string, Record<string, unknown>>>;

interface MovedBlock {
  readonly from: string;
  readonly to: string;
}

function valueAt(body: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], body);
}

/** The azapi type names the resource; its API version changes in place. */
function identityOf(type: string, body: Record<string, unknown>): Record<string, unknown> {
  const identity: Record<string, unknown> = {};
  for (const path of PROTECTED_TYPES[type].identity) {
    const value = valueAt(body, path);
    if (value === undefined) continue;
    identity[path] = type === 'azapi_resource' && path === 'type' ? String(value).split('@')[0] : value;
  }
  return identity;
}

/** The protected resources of synthesized stacks (by stack name), with their identity arguments. */
function currentResources(stacks: Record<string, SynthesizedStack>): ProtectedResources {
  const current: ProtectedResources = {};
  for (const [stackName, synth] of Object.entries(stacks)) {
    current[stackName] = {};
    for (const [type, byId] of Object.entries(synth.resource ?? {})) {
      const only = PROTECTED_TYPES[type]?.only ?? (() => true);
      for (const [logicalId, body] of Object.entries(byId)) {
        if (type in PROTECTED_TYPES && only(body)) current[stackName][`${type}.${logicalId}`] = identityOf(type, body);
      }
    }
  }
  return current;
}

/**
 * The contract of synthesized stacks: each protected resource at its address, and at every address
 * a moved block carries to it (an earlier version's), so that dropping the moved block fails too.
 */
export function protectedResources(stacks: Record<string, SynthesizedStack>): ProtectedResources {
  const current = currentResources(stacks);
  const contract: ProtectedResources = {};
  for (const [stackName, resources] of Object.entries(current)) {
    const retired = movedBlocks(stacks[stackName])
      .filter(({ to }) => to in resources)
      .map(({ from, to }) => [from, resources[to]] as const);
    contract[stackName] = Object.fromEntries([...Object.entries(resources), ...retired].sort(([a], [b]) => a.localeCompare(b)));
  }
  return contract;
}

function movedBlocks(synth: SynthesizedStack): MovedBlock[] {
  const moved = (synth as { moved?: MovedBlock | MovedBlock[] }).moved;
  return moved === undefined ? [] : ([] as MovedBlock[]).concat(moved);
}

/**
 * An identity argument as Terraform compares it: references to a moved resource read its new
 * address, and every `azurerm_client_config` of a stack reads the same client.
 */
export function comparable(value: unknown, moved: readonly MovedBlock[]): string {
  // An argument the configuration no longer sets (JSON.stringify gives undefined) differs from every value it had.
  let text = JSON.stringify(value) ?? 'absent';
  for (const { from, to } of moved) text = text.split(`${from}.`).join(`${to}.`);
  return text.replace(/data\.azurerm_client_config\.[A-Za-z0-9_-]+\./g, 'data.azurerm_client_config.*.');
}

/** The resource's `lifecycle.ignore_changes`: arguments whose changes in the configuration Terraform never applies. */
function ignoredChanges(synth: SynthesizedStack, address: string): 'all' | readonly string[] {
  const dot = address.indexOf('.');
  const lifecycle = synth.resource?.[address.slice(0, dot)]?.[address.slice(dot + 1)]?.lifecycle as { ignore_changes?: 'all' | string[] } | undefined;
  return lifecycle?.ignore_changes ?? [];
}

const ACCEPT = 'UPDATE_PROTECTED_ADDRESSES=1 npx jest --ci __tests__/upgrade';

/**
 * What `terraform plan` would replace among the contract's resources when the stacks synthesized
 * now are applied over state made from the contract's, and protected resources the contract lacks.
 */
export function upgradeProblems(plan: string, contract: ProtectedResources, stacks: Record<string, SynthesizedStack>): string[] {
  const now = currentResources(stacks);
  const problems: string[] = [];
  const reached = new Set<string>();
  for (const [stackName, resources] of Object.entries(contract)) {
    const synth = stacks[stackName];
    if (synth === undefined) {
      problems.push(`${plan}: stack ${stackName} is no longer synthesized: applying the plan without it destroys its ${Object.keys(resources).length} protected resources`);
      continue;
    }
    const moved = movedBlocks(synth);
    for (const [address, identity] of Object.entries(resources)) {
      const type = address.slice(0, address.indexOf('.'));
      const target = address in now[stackName] ? address : moved.find(({ from }) => from === address)?.to;
      if (target === undefined || !(target in now[stackName])) {
        const sameType = Object.keys(now[stackName]).filter((candidate) => candidate.startsWith(`${type}.`) && !(candidate in resources));
        // Named here as what replaces it: not again as missing from the contract.
        sameType.forEach((candidate) => reached.add(`${stackName} ${candidate}`));
        problems.push(
          `${plan} [${stackName}]: ${address} (${PROTECTED_TYPES[type].why}) is gone and no moved block leads from it: ` +
            `terraform plan destroys it${sameType.length > 0 ? ` and creates ${sameType.join(', ')}` : ''}. ` +
            `Add a moved block (moveFromFormerId, lib/private/retired-addresses.ts) or accept the replacement on purpose (${ACCEPT}) and say so in docs/upgrading.md`,
        );
        continue;
      }
      reached.add(`${stackName} ${target}`);
      const ignored = ignoredChanges(synth, target);
      for (const [argument, before] of Object.entries(identity)) {
        if (ignored === 'all' || ignored.includes(argument)) continue; // Terraform keeps the state's value: no replacement
        const after = now[stackName][target][argument];
        if (comparable(before, moved) !== comparable(after, moved)) {
          problems.push(
            `${plan} [${stackName}]: ${target} (${PROTECTED_TYPES[type].why}) changes ${argument} from ${JSON.stringify(before)} to ${after === undefined ? 'nothing (the argument is gone)' : JSON.stringify(after)}, ` +
              `which Azure cannot change in place: terraform plan replaces it. Keep the argument or accept the replacement on purpose (${ACCEPT}) and say so in docs/upgrading.md`,
          );
        }
      }
    }
  }
  for (const [stackName, resources] of Object.entries(now)) {
    for (const address of Object.keys(resources)) {
      if (!reached.has(`${stackName} ${address}`) && !(address in (contract[stackName] ?? {}))) {
        problems.push(`${plan} [${stackName}]: ${address} is protected and not in the contract yet: add it (${ACCEPT})`);
      }
    }
  }
  return problems;
}
