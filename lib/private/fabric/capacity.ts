import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { FabricCapacity } from '@cdktf/provider-azurerm/lib/fabric-capacity';
import { IResourceGroup } from '../../core/references';
import { FabricCapacitySettings } from '../../hosts/fabric/fabric-airflow-host';
import { FABRIC_AIRFLOW_CAPACITY_SKUS } from '../../plan/airflow-schema';
import { uniqueSuffix } from '../naming';

/** `^[a-z][a-z0-9]{2,62}$`: azurerm 4.55's rule for a capacity name. */
const CAPACITY_NAME = /^[a-z][a-z0-9]{2,62}$/;

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
  // A list token (a variable's list, Fn.concat) is handed on as it is: only its value at apply has elements.
  const administrators = settings.administrators;
  if (!Token.isUnresolved(administrators) && (administrators.length === 0 || administrators.some((member) => member.trim() === ''))) {
    throw new Error('capacity.administrators must list at least one administrator, none empty: Azure refuses a capacity without one');
  }
  return new FabricCapacity(scope, 'Capacity', {
    name: props.name,
    resourceGroupName: props.resourceGroup.name,
    location: props.location,
    sku: { name: settings.sku, tier: 'Fabric' },
    administrationMembers: administrators as string[],
    // Handed on as they are, as every host's tags: a map token (a resource's tags, Token.asStringMap) or Fn.merge's string token too.
    tags: props.tags as Record<string, string> | undefined,
  });
}
