import { Fn, Token } from 'cdktf';
import { IConstruct } from 'constructs';
import type { DataFactoryEnvironment } from '../hosts/data-factory-host';
import { armId } from '../plan/rules';
import { checkProp } from './prop-checks';

/** Reading the parts of ARM resource ids that the constructs need at synth. */

const IN_RESOURCE_GROUP = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\//i;

/**
 * `/subscriptions/<s>/resourceGroups/<rg>` of the ARM resource id `scope`'s prop `prop`. A reference's
 * resource group is left to Terraform: the id's first five `/`-separated parts, joined again.
 */
export function resourceGroupIdOf(scope: IConstruct, prop: string, resourceId: string): string {
  if (Token.isUnresolved(resourceId)) {
    return Fn.join('/', Token.asList(Fn.slice(Fn.split('/', resourceId), 0, 5)));
  }
  checkProp(scope, prop, resourceId, (id) => IN_RESOURCE_GROUP.test(id), 'the ARM id of a resource in a resource group (/subscriptions/<s>/resourceGroups/<rg>/providers/...)');
  return (IN_RESOURCE_GROUP.exec(resourceId) as RegExpExecArray)[1];
}

/**
 * `/subscriptions/<s>` of an ARM id that starts with it (a resource group's, a resource's); a
 * reference's is left to Terraform: the id's first three `/`-separated parts, joined again.
 */
function subscriptionScopeOf(resourceId: string): string {
  if (Token.isUnresolved(resourceId)) return Fn.join('/', Token.asList(Fn.slice(Fn.split('/', resourceId), 0, 3)));
  return resourceId.split('/').slice(0, 3).join('/');
}

/**
 * A custom role's id as Azure answers it in an assignment on `scope`: in the scope's subscription. azurerm stores that
 * answer in the ForceNew `role_definition_id`, so an id named in another subscription (the role definition's
 * `role_definition_resource_id`) replaces the assignment on every apply (terraform-provider-azurerm#8558).
 */
export function roleDefinitionIdIn(scope: string, definition: { readonly roleDefinitionId: string }): string {
  return `${subscriptionScopeOf(scope)}/providers/Microsoft.Authorization/roleDefinitions/${definition.roleDefinitionId}`;
}

/** Diagnostic settings for blobs target the account's blob service, not the account. */
export function blobServiceId(storageAccountId: string): string {
  return `${storageAccountId}/blobServices/default`;
}

const { example: MIGRATION_SERVICE_ID_EXAMPLE } = armId('Microsoft.DataMigration', 'sqlMigrationServices', '[^/]+');

/** The name of a `Microsoft.DataMigration/sqlMigrationServices` resource from its ARM id (`what`'s argument `id`). */
export function migrationServiceNameOf(migrationServiceId: string, what: string): string {
  const match = /\/providers\/Microsoft\.DataMigration\/sqlMigrationServices\/([^/]+)$/i.exec(migrationServiceId);
  if (!match) {
    // The form of checkProp's messages, which has no construct path here.
    throw new Error(`${what}: id must be an ARM id like ${MIGRATION_SERVICE_ID_EXAMPLE} (got "${migrationServiceId}")`);
  }
  return match[1];
}

/** `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.DataFactory/factories/<f>/integrationRuntimes/<ir>` */
const ENVIRONMENT_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DataFactory\/factories\/([^/]+)\/integrationRuntimes\/([^/]+)$/i;

/** Splits a Data Factory Airflow environment's ARM id; refuses references (the lookups need the names at synth). */
export function parseEnvironmentId(environmentId: string): DataFactoryEnvironment {
  const match = Token.isUnresolved(environmentId) ? null : ENVIRONMENT_ID.exec(environmentId);
  if (!match) {
    throw new Error(
      `airflow.dataFactory.environmentId must be the literal ARM id of a Data Factory Airflow environment ` +
        `(/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.DataFactory/factories/<f>/integrationRuntimes/<name>), got "${environmentId}"`,
    );
  }
  const [, subscriptionId, resourceGroupName, factoryName, environmentName] = match;
  // Spelled as azurerm's parser wants it: the plan takes any case (Microsoft's REST pages write
  // `resourcegroups`), and the linked service's data_factory_id is parsed case-sensitively.
  const factoryId = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.DataFactory/factories/${factoryName}`;
  return { factoryId, resourceGroupName, factoryName, environmentName };
}

/** `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Fabric/capacities/<name>` */
const CAPACITY_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Fabric\/capacities\/([^/]+)$/i;

/** A Fabric capacity's name, which is also its display name in Fabric, from its ARM id. */
export function capacityNameFromId(capacityId: string, field: string): string {
  if (Token.isUnresolved(capacityId)) {
    throw new Error(`${field} must be a literal ARM id: the Fabric provider looks the capacity up by the name it ends with`);
  }
  const match = CAPACITY_ID.exec(capacityId);
  if (!match) {
    throw new Error(
      `${field} must be the ARM id of a Fabric capacity (/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Fabric/capacities/<name>), got "${capacityId}"`,
    );
  }
  return match[1];
}
