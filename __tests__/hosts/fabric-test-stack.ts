import { FabricProvider, FabricProviderConfig } from '../../lib/fabric/provider';
import { FabricAirflowHost, FabricAirflowHostProps } from '../../lib/hosts/fabric/fabric-airflow-host';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { CAPACITY_ID, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { testStack } from '../helpers/test-stack';


/** A stack with azurerm, azapi and fabric providers and one Fabric host. */
export function fabricHostStack(props: Partial<FabricAirflowHostProps> = {}, provider: FabricProviderConfig = {}) {
  const { app, stack, resourceGroup } = testStack();
  new FabricProvider(stack, 'fabric', provider);
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
    ...(props.capacity ? {} : { capacityId: CAPACITY_ID }),
    ...props,
  });
  return { app, stack, host, bundle, resourceGroup };
}
