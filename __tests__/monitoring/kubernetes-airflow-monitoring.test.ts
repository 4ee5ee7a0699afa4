/**
 * A Kubernetes host's scheduler, watched by the plan's monitoring (issue 13 item 3): its missing pool
 * alert is made by the facade, so it follows `alertDefaults`, is listed by createdAlerts() and goes
 * through the facade's action group, like every other alert.
 */
import { MonitorAlertPrometheusRuleGroup } from '@cdktf/provider-azurerm/lib/monitor-alert-prometheus-rule-group';
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

  it("resolves the Prometheus rules with the facade's defaults and action group, hands them to the host's maker, and lists them", () => {
    const { stack, monitoring: construct } = monitoring({ alertDefaults: { autoMitigate: false, runbookUrl: 'https://wiki.contoso.example/airflow' } });
    let group: MonitorAlertPrometheusRuleGroup | undefined;
    const made = construct.monitorKubernetesAirflow(
      {
        clusterId: CLUSTER_ID,
        namespace: 'airflow',
        makePrometheusRuleGroup: (rule) => (group = new MonitorAlertPrometheusRuleGroup(stack, 'Rules', { name: 'prg', resourceGroupName: 'rg', location: 'westeurope', scopes: ['amw'], rule })),
      },
      { airflowDagImportErrorsRule: { severity: 3 } },
    );
    expect(construct.createdAlerts()).toEqual([made.missingPoolAlert, ...made.prometheusAlerts]);
    expect(made.prometheusAlerts.map(({ name, severity, resource }) => [name, severity, resource === group])).toEqual([
      ['AirflowTaskFailures', 2, true],
      ['AirflowDagImportErrors', 3, true],
      ['AirflowSchedulerHeartbeatMissing', 1, true],
    ]);
    const [rules] = Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_alert_prometheus_rule_group')) as any[];
    for (const rule of rules.rule) {
      expect(rule).toMatchObject({
        action: [{ action_group_id: expect.stringMatching(/azurerm_monitor_action_group\./) }],
        alert_resolution: { auto_resolved: false },
        annotations: { runbook_url: 'https://wiki.contoso.example/airflow' },
      });
    }
  });

  it('refuses Prometheus rule overrides without a rule group to put the rules in, naming the facade and the options', () => {
    const { monitoring: construct } = monitoring();
    expect(() => construct.monitorKubernetesAirflow({ clusterId: CLUSTER_ID, namespace: 'airflow' }, { airflowTaskFailuresRule: { severity: 1 } })).toThrow(
      "test/monitoring: airflowTaskFailuresRule given without the scheduler's makePrometheusRuleGroup: no Prometheus rule is made for it to tune",
    );
    expect(construct.createdAlerts()).toEqual([]);
  });
});
