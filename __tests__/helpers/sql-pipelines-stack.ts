import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { Testing } from 'cdktf';
import { SqlPipelines, SqlPipelinesProps, SqlPipelineTarget } from '../../lib/orchestration-factory/sql-pipelines';
import { testStack } from './test-stack';

const SUBSCRIPTION = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers';
/** One target of each kind. */
export const SQL_TARGETS: SqlPipelineTarget[] = [
  { name: 'mi-prod', kind: 'SqlMi', resourceId: `${SUBSCRIPTION}/Microsoft.Sql/managedInstances/mi-contoso-prod` },
  { name: 'db-prod', kind: 'SqlDb', resourceId: `${SUBSCRIPTION}/Microsoft.Sql/servers/sql-contoso-prod` },
  { name: 'vm-prod', kind: 'SqlVm', resourceId: `${SUBSCRIPTION}/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm-contoso-prod` },
];
/** Object id of the Airflow identity in these tests. */
export const RUNNER = '66666666-7777-8888-9999-000000000000';

/** A factory with a managed virtual network and the construct on it, as the stack will wire it. */
export function sqlPipelinesStack(props: Partial<SqlPipelinesProps> = {}) {
  const { app, stack, resourceGroup } = testStack();
  const factory = new DataFactory(stack, 'factory', {
    name: 'adf-contoso-sql',
    resourceGroupName: resourceGroup.name,
    location: resourceGroup.location,
    managedVirtualNetworkEnabled: true,
    identity: { type: 'SystemAssigned' },
  });
  const pipelines = new SqlPipelines(stack, 'sql', {
    resourceGroup,
    factory,
    location: 'westeurope',
    selfHostedRuntimeName: 'shir-contoso-sql',
    keyVaultLinkedServiceName: 'ls_key_vault',
    targets: SQL_TARGETS,
    namePrefix: 'contoso-sql',
    ...props,
  });
  const runnerGrant = pipelines.grantRunPipelines({ principalId: RUNNER, principalType: 'ServicePrincipal' });
  const json = Testing.synth(stack);
  return { app, stack, pipelines, runnerGrant, synth: JSON.parse(json), json };
}
