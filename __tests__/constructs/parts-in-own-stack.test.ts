import { Construct } from 'constructs';
import { airflowPools, dagBundleFor, dagEnvironment, ExternalAirflowHost, MigrationMonitoring, MigrationService, OrchestrationFactory } from '../../lib';
import { join } from 'node:path';
import { loadMigrationPlan } from '../../lib/plan';
import { resourceNames, synthObject, testStack } from '../helpers/test-stack';

/** The constructs used one by one in a team's own stack, as docs/constructs.md shows. */
describe('parts in a team stack', () => {
  const plan = loadMigrationPlan(join(__dirname, '..', '..', 'examples', 'external-host.yaml'));

  it('keeps both migration services\' outputs apart, or says which constructs clash', () => {
    const { stack, resourceGroup } = testStack();
    new MigrationService(new Construct(stack, 'Q3'), 'Dms', { resourceGroup, namePrefix: 'q3' });
    expect(() => new MigrationService(new Construct(stack, 'Q4'), 'Dms', { resourceGroup, namePrefix: 'q4' })).toThrow(
      'test/Q4/Dms: output "dms_auth_key_1" is already defined by test/Q3/Dms/auth-key-1 (outputs are named after the construct id: give one of them another id)',
    );
  });

  const keyVault = { id: '/kv', name: 'kv', vaultUri: 'https://kv.vault.azure.net/' };

  it('does not let a second host silently replace the first host\'s setup outputs', () => {
    const { stack, resourceGroup } = testStack();
    const host = (id: string, namePrefix: string) =>
      new ExternalAirflowHost(stack, id, {
        resourceGroup,
        namePrefix,
        location: 'westeurope',
        bundle: dagBundleFor(plan),
        pools: airflowPools(plan.concurrency),
        environment: dagEnvironment({ planName: plan.name, tenantId: 't', subscriptionId: 's', migrationService: { id: '/dms', name: 'dms' }, keyVault, dataFactory: { id: '/adf', name: 'adf' } }),
        keyVault,
      });
    host('Q3Airflow', 'q3');
    expect(() => host('Q4Airflow', 'q4')).toThrow(
      'test/Q4Airflow: output "airflow_dag_bundle" is already defined by test/Q3Airflow/DagBundle (a stack holds the setup outputs of one Airflow host: put each host in a stack of its own)',
    );
  });

  it('still writes every output of distinct constructs', () => {
    const { stack, resourceGroup } = testStack();
    new MigrationService(stack, 'DmsQ3', { resourceGroup, namePrefix: 'q3' });
    new MigrationService(stack, 'DmsQ4', { resourceGroup, namePrefix: 'q4' });
    expect(Object.keys(synthObject(stack).output ?? {}).sort()).toEqual(['dms_q3_auth_key_1', 'dms_q3_auth_key_2', 'dms_q4_auth_key_1', 'dms_q4_auth_key_2']);
  });

  it('refuses a name prefix Azure would refuse in the names it makes, naming the prop', () => {
    const { stack, resourceGroup } = testStack();
    const rule = 'namePrefix must be 1 to 40 lowercase letters, digits and inner hyphens (got "Team_Q3")';
    expect(() => new MigrationService(stack, 'Dms', { resourceGroup, namePrefix: 'Team_Q3' })).toThrow(`test/Dms: ${rule}`);
    expect(() => new OrchestrationFactory(stack, 'Orchestration', { resourceGroup, plan, namePrefix: 'Team_Q3' })).toThrow(`test/Orchestration: ${rule}`);
  });

  it('gives two plans\' monitoring in one resource group action groups of their own', () => {
    const { stack, resourceGroup } = testStack();
    new MigrationMonitoring(stack, 'MonitoringQ3', { resourceGroup, namePrefix: 'q3', emails: ['dba@contoso.example'] });
    new MigrationMonitoring(stack, 'MonitoringQ4', { resourceGroup, namePrefix: 'q4', emails: ['dba@contoso.example'] });
    expect(resourceNames(synthObject(stack), 'azurerm_monitor_action_group')).toEqual(['ag-q3', 'ag-q4']);
  });
});
