import { Token } from 'cdktf';
import type { DataFactoryEnvironment } from '../hosts/data-factory-host';

/** Reading the parts of ARM resource ids that the constructs need at synth. */

/** `/subscriptions/<s>/resourceGroups/<rg>` of an ARM resource id. */
export function resourceGroupIdOf(resourceId: string): string {
  const match = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\//i.exec(resourceId);
  if (!match) {
    throw new Error(`"${resourceId}" is not an ARM resource id inside a resource group`);
  }
  return match[1];
}

/** Diagnostic settings for blobs target the account's blob service, not the account. */
export function blobServiceId(storageAccountId: string): string {
  return `${storageAccountId}/blobServices/default`;
}

/** The name of a `Microsoft.DataMigration/sqlMigrationServices` resource from its ARM id. */
export function migrationServiceNameOf(migrationServiceId: string, what: string): string {
  const match = /\/providers\/Microsoft\.DataMigration\/sqlMigrationServices\/([^/]+)$/i.exec(migrationServiceId);
  if (!match) {
    throw new Error(`${what}: "${migrationServiceId}" is not the ARM id of a Microsoft.DataMigration/sqlMigrationServices resource`);
  }
  return match[1];
}

/** `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.DataFactory/factories/<f>/integrationRuntimes/<ir>` */
const ENVIRONMENT_ID = /^(\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DataFactory\/factories\/([^/]+))\/integrationRuntimes\/([^/]+)$/i;

/** Splits a Data Factory Airflow environment's ARM id; refuses references (the lookups need the names at synth). */
export function parseEnvironmentId(environmentId: string): DataFactoryEnvironment {
  const match = Token.isUnresolved(environmentId) ? null : ENVIRONMENT_ID.exec(environmentId);
  if (!match) {
    throw new Error(
      `airflow.dataFactory.environmentId must be the literal ARM id of a Data Factory Airflow environment ` +
        `(/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.DataFactory/factories/<f>/integrationRuntimes/<name>), got "${environmentId}"`,
    );
  }
  return { factoryId: match[1], resourceGroupName: match[2], factoryName: match[3], environmentName: match[4] };
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
