import { FabricProvider } from '../../lib/fabric/provider';
import { FabricAirflowHost, FabricAirflowHostProps } from '../../lib/hosts/fabric/fabric-airflow-host';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { testStack } from '../helpers/test-stack';

export const SERVICE_PRINCIPAL = {
  clientId: '5b1c2a7e-0c4f-4c3e-9d61-0a2b3c4d5e6f',
  objectId: '9e8d7c6b-5a49-4f3e-8d2c-1b0a99887766',
};
export const EXISTING_CAPACITY_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-fabric/providers/Microsoft.Fabric/capacities/fccontoso';

/** A stack with azurerm, azapi and fabric providers and one Fabric host. */
export function fabricHostStack(props: Partial<FabricAirflowHostProps> = {}) {
  const { app, stack, resourceGroup } = testStack();
  new FabricProvider(stack, 'fabric');
  const bundle = loadDagBundle(JSON.stringify({ name: 'contoso-sql', databases: [] }));
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
    pools: [{ name: 'dms_service', slots: 10, description: 'DMS migrations in flight on the migration service' }],
    servicePrincipal: SERVICE_PRINCIPAL,
    ...(props.capacity ? {} : { capacityId: EXISTING_CAPACITY_ID }),
    ...props,
  });
  return { app, stack, host, bundle, resourceGroup };
}
