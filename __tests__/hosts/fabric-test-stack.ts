import { FabricProvider, FabricProviderConfig } from '../../lib/fabric/provider';
import { FabricAirflowHost, FabricAirflowHostProps } from '../../lib/hosts/fabric/fabric-airflow-host';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { HOST_REQUIREMENTS } from '../../lib/private/host-requirements';
import type { DagBundle } from '../../lib/orchestration-factory/dag-bundle';
import { CAPACITY_ID, POOLS, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { deepFreeze } from '../../lib/private/deep-freeze';
import { testStack } from '../helpers/test-stack';


/** A bundle of `renderedPlan` with Fabric's requirements (Airflow 2.10.5), as dagBundleFor gives a Fabric plan. */
export function fabricBundle(renderedPlan: string) {
  return loadDagBundle(renderedPlan, undefined, HOST_REQUIREMENTS.fabric);
}

let defaultBundle: DagBundle | undefined;

/** A stack with azurerm, azapi and fabric providers and one Fabric host (its default bundle loaded once per test file, frozen). */
export function fabricHostStack(props: Partial<FabricAirflowHostProps> = {}, provider: FabricProviderConfig = {}) {
  const { app, stack, resourceGroup } = testStack();
  new FabricProvider(stack, 'fabric', provider);
  const bundle = (defaultBundle ??= deepFreeze(fabricBundle(JSON.stringify({ name: 'contoso-sql', databases: [] }))));
  const host = new FabricAirflowHost(stack, 'AirflowHost', {
    resourceGroup,
    namePrefix: 'contoso-sql',
    location: 'westeurope',
    bundle,
    environment: {
      AZURE_TENANT_ID: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      MIGRATION_EVENTS_STREAM: 'Custom-MigrationEvents_CL',
    },
    keyVault: { id: 'kv-id', name: 'kv-contoso', vaultUri: 'https://kv-contoso.vault.azure.net/' },
    pools: POOLS,
    servicePrincipal: SERVICE_PRINCIPAL,
    ...(props.capacity ? {} : { capacityId: CAPACITY_ID }),
    ...props,
  });
  return { app, stack, host, bundle, resourceGroup };
}
