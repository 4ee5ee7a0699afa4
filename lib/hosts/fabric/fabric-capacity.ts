import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { FabricCapacity } from '@cdktf/provider-azurerm/lib/fabric-capacity';
import { IResourceGroup } from '../../core/references';
import { uniqueSuffix } from '../../core/naming';
import { FABRIC_AIRFLOW_CAPACITY_SKUS } from '../../plan/airflow-schema';

export { FABRIC_AIRFLOW_CAPACITY_SKUS };

/** A capacity SKU large enough for an Apache Airflow job. */
export type FabricCapacitySku = (typeof FABRIC_AIRFLOW_CAPACITY_SKUS)[number];

/** A new Fabric capacity. */
export interface FabricCapacitySettings {
  /** Capacity SKU, F8 or larger. */
  readonly sku: FabricCapacitySku;
  /**
   * Capacity administrators: user principal names (`admin@contoso.com`) or, for service principals,
   * their enterprise application object ids. Include whoever runs Terraform: the Fabric provider
   * must be allowed to use the capacity to put the workspace on it.
   */
  readonly administrators: readonly string[];
}

/** `^[a-z][a-z0-9]{2,62}$`: azurerm 4.55's rule for a capacity name. */
const CAPACITY_NAME = /^[a-z][a-z0-9]{2,62}$/;
/** `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Fabric/capacities/<name>` */
const CAPACITY_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Fabric\/capacities\/([^/]+)$/i;

/** `fc<prefix><suffix>`: lowercase letters and digits only, at most 63 characters. */
export function fabricCapacityName(prefix: string, seed: string): string {
  const suffix = uniqueSuffix(seed);
  const compact = `fc${prefix.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 63 - suffix.length);
  const name = `${compact}${suffix}`;
  if (!CAPACITY_NAME.test(name)) {
    throw new Error(`Fabric capacity name "${name}" must match ${CAPACITY_NAME}`);
  }
  return name;
}

/** The capacity's name, which is also its display name in Fabric, from its ARM id. */
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

/** Creates the capacity after checking what azurerm would reject at apply. */
export function newFabricCapacity(
  scope: Construct,
  settings: FabricCapacitySettings,
  props: { readonly name: string; readonly resourceGroup: IResourceGroup; readonly location: string; readonly tags?: Readonly<Record<string, string>> },
): FabricCapacity {
  if (!(FABRIC_AIRFLOW_CAPACITY_SKUS as readonly string[]).includes(settings.sku)) {
    throw new Error(
      `capacity.sku must be one of ${FABRIC_AIRFLOW_CAPACITY_SKUS.join(', ')} (got "${settings.sku}"): ` +
        'an Apache Airflow job needs 5 CU (Small) or 10 CU (Large) besides everything else the capacity runs',
    );
  }
  if (settings.administrators.length === 0 || settings.administrators.some((member) => member.trim() === '')) {
    throw new Error('capacity.administrators must list at least one administrator, none empty: Azure refuses a capacity without one');
  }
  return new FabricCapacity(scope, 'Capacity', {
    name: props.name,
    resourceGroupName: props.resourceGroup.name,
    location: props.location,
    sku: { name: settings.sku, tier: 'Fabric' },
    administrationMembers: [...settings.administrators],
    tags: props.tags && { ...props.tags },
  });
}
