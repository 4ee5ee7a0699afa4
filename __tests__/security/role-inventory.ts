/**
 * Every role assignment a synthesized stack makes, resolved to readable principals, roles and
 * scopes, and the least-privilege rules they must follow.
 */
import { MigrationPlan } from '../../lib/plan';
import { SynthesizedStack } from '../helpers/test-stack';

export type PrincipalKind = 'airflow' | 'factory' | 'deployer' | 'cluster' | 'unknown';
export type ScopeKind = 'stack resource' | 'resource group' | 'plan target' | 'adopted environment' | 'unknown';

export interface RoleGrant {
  readonly assignment: string;
  readonly principalKind: PrincipalKind;
  readonly principal: string;
  /** Built-in role name, or the custom role definition's name. */
  readonly role: string;
  /** Actions of a custom role; undefined for a built-in one. */
  readonly customActions?: readonly string[];
  readonly scopeKind: ScopeKind;
  /** `azurerm_key_vault` for a stack resource, the target kind for a plan target. */
  readonly scopeType?: string;
  readonly scope: string;
  readonly rawScope: string;
}

/** `${type.logical_id.attribute}` and nothing else. */
const REFERENCE = /^\$\{((?:data\.)?[a-z0-9_]+)\.([^.}]+)\.([^}]+)\}$/;

/** Names that grant management of anything, or of access itself. */
const BROAD_ROLE = /owner|contributor|user access administrator|role based access control administrator/i;

const RESOURCE_LABEL: Record<string, string> = {
  azurerm_key_vault: 'Key Vault',
  azurerm_storage_account: 'storage account',
  azurerm_monitor_data_collection_rule: 'data collection rule',
  azurerm_resource_group: 'resource group',
  azurerm_kubernetes_cluster: 'AKS cluster',
  azurerm_container_registry: 'container registry',
  azurerm_subnet: 'subnet',
  azurerm_data_factory: 'Data Factory',
};

/** The plan's service principal of hosts that run as one. */
function planServicePrincipal(plan: MigrationPlan): { objectId: string; field: string } | undefined {
  const airflow = plan.airflow;
  if (airflow.host === 'dataFactory') return { objectId: airflow.dataFactory.servicePrincipal.objectId, field: 'airflow.dataFactory.servicePrincipal' };
  if (airflow.host === 'fabric') return { objectId: airflow.fabric.servicePrincipal.objectId, field: 'airflow.fabric.servicePrincipal' };
  if (airflow.host === 'external' && airflow.external.servicePrincipal) {
    return { objectId: airflow.external.servicePrincipal.objectId, field: 'airflow.external.servicePrincipal' };
  }
  return undefined;
}

/** Every `azurerm_role_assignment` of the stack, resolved. */
export function roleGrants(synth: SynthesizedStack, plan: MigrationPlan): RoleGrant[] {
  const assignments = synth.resource.azurerm_role_assignment ?? {};
  return Object.entries(assignments).map(([id, assignment]) => {
    const principal = resolvePrincipal(synth, plan, String(assignment.principal_id));
    const role = resolveRole(synth, assignment);
    const scope = resolveScope(synth, plan, String(assignment.scope));
    return { assignment: id, ...principal, ...role, ...scope, rawScope: String(assignment.scope) };
  });
}

/** What breaks least privilege, one message each; empty when nothing does. */
export function leastPrivilegeViolations(synth: SynthesizedStack, plan: MigrationPlan): string[] {
  const problems: string[] = [];
  for (const grant of roleGrants(synth, plan)) {
    const what = `${grant.assignment} (${grant.role} for ${grant.principal} on ${grant.rawScope})`;
    if (BROAD_ROLE.test(grant.role) && !isDagUploadGrant(synth, grant)) {
      problems.push(`${what}: broad role`);
    }
    if (isSubscriptionOrWider(grant.rawScope)) {
      problems.push(`${what}: scoped to a subscription or management group`);
    }
    if (grant.scopeKind === 'unknown') {
      problems.push(`${what}: scope is not one resource of the stack, its resource group or a plan target`);
    }
    if (grant.principalKind === 'unknown') {
      problems.push(`${what}: unknown principal`);
    }
    if (grant.role.startsWith('<')) {
      problems.push(`${what}: role cannot be resolved`);
    }
  }
  const namedNodeSubnet = plan.airflow.host === 'kubernetes' ? plan.airflow.kubernetes.subnetId : undefined;
  const allowedAssignableScopes = new Set([
    resourceGroupReference(synth),
    ...plan.targetServers.map((t) => resourceGroupIdOf(t.resourceId)),
    ...(plan.backupStorage ? [resourceGroupIdOf(plan.backupStorage.storageAccountResourceId)] : []),
    // The AKS control plane's subnet role, where the plan names a node subnet.
    ...(namedNodeSubnet ? [resourceGroupIdOf(namedNodeSubnet)] : []),
  ]);
  for (const [id, definition] of Object.entries(synth.resource.azurerm_role_definition ?? {})) {
    const actions = (definition.permissions as any[]).flatMap((p) => [...(p.actions ?? []), ...(p.data_actions ?? [])]) as string[];
    // The one wildcard allowed: reading a provider's location-level operation statuses (see MigrationOperatorRole).
    actions.filter((a) => a.includes('*') && !/^Microsoft\.\w+\/locations\/\*\/read$/.test(a)).forEach((a) => problems.push(`${id}: wildcard action ${a}`));
    actions.filter((a) => /^microsoft\.authorization\//i.test(a)).forEach((a) => problems.push(`${id}: authorization action ${a}`));
    if (BROAD_ROLE.test(String(definition.name))) {
      problems.push(`${id}: custom role named like a broad role (${definition.name})`);
    }
    for (const scope of [...assignableScopes(definition.assignable_scopes), String(definition.scope)]) {
      if (!allowedAssignableScopes.has(scope)) {
        problems.push(`${id}: assignable at ${scope}, outside the stack's and the targets' resource groups`);
      }
    }
  }
  return problems;
}

/** The table of docs/security.md: one row per principal, role and kind of scope. */
export function markdownTable(grants: readonly RoleGrant[]): string {
  const rows = grants
    .map((g) => [g.principal, g.customActions ? `\`${g.role}\` (custom, ${g.customActions.length} actions)` : `\`${g.role}\``, g.scope])
    .sort((a, b) => a.join('|').localeCompare(b.join('|')));
  return ['| principal | role | scope |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * The deployer uploads the DAG blobs with Entra ID (shared keys are off), which needs a data-plane
 * write role; `Storage Blob Data Contributor` is the narrowest built-in one (`Owner` adds ACLs),
 * and it is held on the DAG account only, by the identity that already deploys the stack.
 */
function isDagUploadGrant(synth: SynthesizedStack, grant: RoleGrant): boolean {
  const dagAccounts = Object.values(synth.resource.azurerm_storage_container ?? {})
    .filter((container) => container.name === 'airflow-dags')
    .map((container) => String(container.storage_account_id));
  return grant.role === 'Storage Blob Data Contributor' && grant.principalKind === 'deployer' && dagAccounts.includes(grant.rawScope);
}

function resolvePrincipal(synth: SynthesizedStack, plan: MigrationPlan, principalId: string): Pick<RoleGrant, 'principalKind' | 'principal'> {
  const servicePrincipal = planServicePrincipal(plan);
  if (principalId === servicePrincipal?.objectId) {
    return { principalKind: 'airflow', principal: `Airflow service principal (\`${servicePrincipal.field}\`)` };
  }
  const ref = REFERENCE.exec(principalId);
  if (ref?.[1] === 'azurerm_user_assigned_identity' && ref[3] === 'principal_id') {
    const name = String(synth.resource.azurerm_user_assigned_identity[ref[2]].name);
    if (name.endsWith('-aks')) return { principalKind: 'cluster', principal: `AKS control plane identity \`${name}\`` };
    if (name.endsWith('-airflow-secrets')) return { principalKind: 'airflow', principal: `Airflow secrets reader identity \`${name}\`` };
    return { principalKind: 'airflow', principal: `Airflow managed identity \`${name}\`` };
  }
  if (ref?.[1] === 'azurerm_kubernetes_cluster' && ref[3] === 'kubelet_identity[0].object_id') {
    return { principalKind: 'cluster', principal: 'AKS kubelet identity' };
  }
  if (ref?.[1] === 'azurerm_data_factory' && ref[3] === 'identity[0].principal_id') {
    return { principalKind: 'factory', principal: `Data Factory \`${synth.resource.azurerm_data_factory[ref[2]].name}\` managed identity` };
  }
  if (ref?.[1] === 'data.azurerm_data_factory' && ref[3] === 'identity[0].principal_id') {
    return { principalKind: 'factory', principal: `Data Factory \`${synth.data?.azurerm_data_factory?.[ref[2]]?.name}\` managed identity (the adopted environment's)` };
  }
  if (ref?.[1] === 'data.azurerm_client_config' && ref[3] === 'object_id') {
    return { principalKind: 'deployer', principal: 'deploying identity (runs Terraform)' };
  }
  return { principalKind: 'unknown', principal: principalId };
}

function resolveRole(synth: SynthesizedStack, assignment: Record<string, unknown>): Pick<RoleGrant, 'role' | 'customActions'> {
  if (typeof assignment.role_definition_name === 'string') {
    return { role: assignment.role_definition_name };
  }
  // A custom role named in another subscription's form: `/subscriptions/<s>/providers/Microsoft.Authorization/roleDefinitions/${<definition>.role_definition_id}`.
  const inSubscription = /\/roleDefinitions\/(\$\{azurerm_role_definition\.[^.}]+\.role_definition_id\})$/.exec(String(assignment.role_definition_id));
  const ref = REFERENCE.exec(inSubscription ? inSubscription[1] : String(assignment.role_definition_id));
  const definition = ref?.[1] === 'azurerm_role_definition' ? synth.resource.azurerm_role_definition?.[ref[2]] : undefined;
  if (!definition) {
    return { role: `<unresolved ${String(assignment.role_definition_id)}>` };
  }
  const actions = (definition.permissions as any[]).flatMap((p) => p.actions ?? []) as string[];
  return { role: String(definition.name), customActions: actions };
}

function resolveScope(synth: SynthesizedStack, plan: MigrationPlan, scope: string): Pick<RoleGrant, 'scopeKind' | 'scopeType' | 'scope'> {
  const target = plan.targetServers.find((t) => t.resourceId === scope);
  if (target) {
    return { scopeKind: 'plan target', scopeType: target.kind, scope: `target \`${target.name}\` (${target.kind} \`${lastSegment(scope)}\`)` };
  }
  if (plan.backupStorage?.storageAccountResourceId === scope) {
    return { scopeKind: 'plan target', scopeType: 'backup storage', scope: `backup storage account \`${lastSegment(scope)}\`` };
  }
  if (plan.airflow.host === 'kubernetes' && plan.airflow.kubernetes.subnetId === scope) {
    return { scopeKind: 'plan target', scopeType: 'azurerm_subnet', scope: `subnet \`${lastSegment(scope)}\` (the plan's airflow.kubernetes.subnetId)` };
  }
  if (plan.targetServers.some((t) => resourceGroupIdOf(t.resourceId) === scope)) {
    return { scopeKind: 'resource group', scopeType: 'target resource group', scope: `targets' resource group \`${lastSegment(scope)}\`` };
  }
  const ref = REFERENCE.exec(scope);
  const resource = ref && ref[3] === 'id' && !ref[1].startsWith('data.') ? synth.resource[ref[1]]?.[ref[2]] : undefined;
  if (!ref || !resource) {
    return { scopeKind: 'unknown', scope };
  }
  if (ref[1] === 'azurerm_resource_group') {
    return { scopeKind: 'resource group', scopeType: ref[1], scope: `resource group \`${resource.name}\`` };
  }
  const label = ref[1] === 'azapi_resource' ? azapiLabel(String(resource.type)) : (RESOURCE_LABEL[ref[1]] ?? ref[1]);
  const purpose = ref[1] === 'azurerm_storage_account' && isDagAccount(synth, scope) ? ' (DAG storage)' : '';
  return { scopeKind: 'stack resource', scopeType: ref[1], scope: `${label} \`${resource.name}\`${purpose}` };
}

function azapiLabel(type: string): string {
  return type.startsWith('Microsoft.DataMigration/sqlMigrationServices@') ? 'Database Migration Service' : type.split('@')[0];
}

function isDagAccount(synth: SynthesizedStack, accountReference: string): boolean {
  return Object.values(synth.resource.azurerm_storage_container ?? {}).some(
    (container) => container.name === 'airflow-dags' && container.storage_account_id === accountReference,
  );
}

/** A role definition's assignable scopes: a list, or Terraform's `${distinct([...])}` of references and literals. */
function assignableScopes(scopes: unknown): string[] {
  if (Array.isArray(scopes)) return scopes.map(String);
  const distinct = /^\$\{distinct\(\[(.*)\]\)\}$/.exec(String(scopes));
  if (!distinct) return [String(scopes)];
  return distinct[1].split(/,\s*/).map((item) => (item.startsWith('"') ? JSON.parse(item) : `\${${item}}`));
}

function resourceGroupReference(synth: SynthesizedStack): string {
  const ids = Object.keys(synth.resource.azurerm_resource_group ?? {});
  return ids.length === 1 ? `\${azurerm_resource_group.${ids[0]}.id}` : '<no single resource group>';
}

function isSubscriptionOrWider(scope: string): boolean {
  return (
    /^\/?$/.test(scope) ||
    /^\/subscriptions\/[^/]+\/?$/i.test(scope) ||
    /managementGroups/i.test(scope) ||
    /^\$\{data\.azurerm_(subscription|client_config)\./.test(scope)
  );
}

function resourceGroupIdOf(resourceId: string): string {
  return /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\//i.exec(resourceId)?.[1] ?? resourceId;
}

function lastSegment(resourceId: string): string {
  return resourceId.split('/').pop() ?? resourceId;
}
