/**
 * The Azure ids and settings the host tests hand a host or write into a plan: one set, shared by
 * the stack-level helpers (migration-stack.ts) and the per-host stacks.
 */

import type { IResourceGroup } from '../../lib/core/references';
import type { AirflowHostBaseProps } from '../../lib/hosts/airflow-host';
import { airflowPools } from '../../lib/hosts/airflow-pools';
import type { DagBundle } from '../../lib/orchestration-factory/dag-bundle';
import { renderMigrationPlan } from '../../lib/plan';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { deepFreeze } from '../../lib/private/deep-freeze';
import { examplePlan } from './example-plan';

export const SUBSCRIPTION = '/subscriptions/00000000-0000-0000-0000-000000000000';

/** The application a plan names as the DAG's identity (`airflow.<host>.servicePrincipal`). */
export const SERVICE_PRINCIPAL = { clientId: '11111111-2222-3333-4444-555555555555', objectId: '66666666-7777-8888-9999-000000000000' };
/** An existing Data Factory Airflow environment. */
export const ENVIRONMENT_ID = `${SUBSCRIPTION}/resourceGroups/rg-data-platform/providers/Microsoft.DataFactory/factories/adf-data-platform/integrationRuntimes/airflow-prod`;
/** An existing Fabric capacity. */
export const CAPACITY_ID = `${SUBSCRIPTION}/resourceGroups/rg-fabric/providers/Microsoft.Fabric/capacities/fccontoso`;

/** A Key Vault, a workspace and an action group the stack would hand a host. */
export const KEY_VAULT = {
  id: `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/kv-test-1a2b`,
  name: 'kv-test-1a2b',
  vaultUri: 'https://kv-test-1a2b.vault.azure.net/',
};
export const WORKSPACE = {
  id: `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.OperationalInsights/workspaces/log-test`,
  name: 'log-test',
};
export const ACTION_GROUP_ID = `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.Insights/actionGroups/ag-test`;

/** The environment a stack hands every host (ids and endpoints; the webhook's variables included on purpose). */
export const ENVIRONMENT = {
  AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
  AZURE_TENANT_ID: '66666666-7777-8888-9999-000000000000',
  AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
  MIGRATION_DMS_RESOURCE_ID: `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.DataMigration/sqlMigrationServices/dms-test`,
  AIRFLOW__SECRETS__BACKEND: 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend',
  AIRFLOW__SECRETS__BACKEND_KWARGS: `{"connections_prefix": "airflow-connections", "vault_url": "${KEY_VAULT.vaultUri}"}`,
};

/** Pools the host creates or outputs: the DAG's, for the example plan's concurrency. */
export const POOLS = airflowPools(examplePlan().concurrency);

let exampleBundle: DagBundle | undefined;

/** The example plan's bundle (the Kubernetes host's), loaded once per test file and frozen. */
export function examplePlanBundle(): DagBundle {
  return (exampleBundle ??= deepFreeze(loadDagBundle(renderMigrationPlan(examplePlan()))));
}

/** What every host takes from a stack (`AirflowHostBaseProps`), for a host built alone in `resourceGroup`. */
export function hostBaseProps(resourceGroup: IResourceGroup): AirflowHostBaseProps {
  return {
    resourceGroup,
    namePrefix: 'contoso-sql',
    location: 'westeurope',
    bundle: examplePlanBundle(),
    environment: {},
    keyVault: KEY_VAULT,
    pools: POOLS,
  };
}
