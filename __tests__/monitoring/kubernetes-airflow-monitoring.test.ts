/**
 * A Kubernetes host's scheduler, watched by the plan's monitoring (issue 13 item 3): its missing pool
 * alert is made by the facade, so it follows `alertDefaults`, is listed by createdAlerts() and goes
 * through the facade's action group, like every other alert.
 */
import { resourcesOfType, synthObject } from '../helpers/test-stack';
import { monitoring } from './monitoring-test-stack';

const CLUSTER_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.ContainerService/managedClusters/aks-contoso-sql';

describe('MigrationMonitoring.monitorKubernetesAirflow', () => {
  it("makes the missing pool alert on the cluster's scheduler with the facade's defaults, and lists it", () => {
    const { stack, monitoring: construct } = monitoring({ alertDefaults: { enabled: false, runbookUrl: 'https://wiki.contoso.example/pools' } });
    const made = construct.monitorKubernetesAirflow({ clusterId: CLUSTER_ID, namespace: 'migration' }, { missingPoolAlert: { windowMinutes: 30 } });
    expect(construct.createdAlerts()).toEqual([made.missingPoolAlert]);
    const [alert] = Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_scheduled_query_rules_alert_v2')) as any[];
    expect(alert).toMatchObject({
      name: 'alert-contoso-sql-airflow-missing-pool',
      enabled: false,
      window_duration: 'PT30M',
      description: expect.stringContaining('Runbook: https://wiki.contoso.example/pools'),
      action: { action_groups: [expect.stringMatching(/azurerm_monitor_action_group\./)] },
    });
    expect(alert.criteria[0].query).toContain(`| where _ResourceId =~ "${CLUSTER_ID}"`);
    expect(alert.criteria[0].query).toContain('where PodNamespace == "migration" and ContainerName == "scheduler"');
  });

  it('refuses an unknown field of its props, naming the method and the field', () => {
    const { monitoring: construct } = monitoring();
    expect(() => construct.monitorKubernetesAirflow({ clusterId: CLUSTER_ID, namespace: 'airflow' }, { missingPoolAlert: { severty: 0 } as never })).toThrow(
      /monitorKubernetesAirflow: .*missingPoolAlert\.severty is an unknown field/,
    );
  });
});
