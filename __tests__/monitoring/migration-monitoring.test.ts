import { Testing } from 'cdktf';
import { DataAzurermLogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/data-azurerm-log-analytics-workspace';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { ManagementLock } from '@cdktf/provider-azurerm/lib/management-lock';
import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
import { MigrationMonitoring } from '../../lib/monitoring/migration-monitoring';
import { onlyLogicalId, onlyResource, reference, rendered, resourcesOfType, synthObject, testStack, warningsOf } from '../helpers/test-stack';
import { BASE_PROPS, DAG_STORAGE_ACCOUNT_ID, FACTORY, monitoring } from './monitoring-test-stack';

const EXISTING_WORKSPACE = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shared/providers/Microsoft.OperationalInsights/workspaces/log-shared',
  name: 'log-shared',
};

describe('MigrationMonitoring: workspace and action group', () => {
  it('creates a protected PerGB2018 workspace with Entra ID-only access', () => {
    const { stack } = monitoring();
    const synth = Testing.synth(stack);
    expect(synth).toHaveResourceWithProperties(LogAnalyticsWorkspace, {
      name: 'log-contoso-sql',
      sku: 'PerGB2018',
      retention_in_days: 30,
      local_authentication_enabled: false,
      location: '${azurerm_resource_group.rg.location}',
      resource_group_name: '${azurerm_resource_group.rg.name}',
      lifecycle: { prevent_destroy: true },
    });
    expect(resourcesOfType(synthObject(stack), 'azurerm_management_lock')).toEqual({});
    expect(warningsOf(stack)).toEqual([]);
  });

  it('exposes the workspace id and the action group id as references', () => {
    const { stack, monitoring: construct } = monitoring();
    const synth = synthObject(stack);
    const workspace = onlyLogicalId(synth, 'azurerm_log_analytics_workspace');
    const actionGroup = onlyLogicalId(synth, 'azurerm_monitor_action_group');
    expect(
      rendered(stack, {
        workspaceId: construct.workspaceId,
        workspaceName: construct.workspace.name,
        actionGroupId: construct.actionGroupId,
      }),
    ).toEqual({
      workspaceId: reference('azurerm_log_analytics_workspace', workspace),
      workspaceName: reference('azurerm_log_analytics_workspace', workspace, 'name'),
      actionGroupId: reference('azurerm_monitor_action_group', actionGroup),
    });
  });

  it('keeps data as long as retentionInDays says', () => {
    const { stack } = monitoring({ retentionInDays: 90 });
    expect(Testing.synth(stack)).toHaveResourceWithProperties(LogAnalyticsWorkspace, { retention_in_days: 90 });
  });

  it.each([7, 29, 731, 30.5])('rejects retentionInDays %d', (retentionInDays) => {
    expect(() => monitoring({ retentionInDays })).toThrow(/^test\/monitoring: retentionInDays must be an integer from 30 to 730/);
  });

  it('warns when the workspace protection is turned off, and drops prevent_destroy', () => {
    const { stack } = monitoring({ preventDestroy: false });
    expect(onlyResource(synthObject(stack), 'azurerm_log_analytics_workspace').lifecycle).toBeUndefined();
    const warnings = warningsOf(stack);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^test\/monitoring: preventDestroy is false/);
  });

  it('warns when shared-key access is turned on', () => {
    const { stack } = monitoring({ localAuthenticationEnabled: true });
    expect(Testing.synth(stack)).toHaveResourceWithProperties(LogAnalyticsWorkspace, {
      local_authentication_enabled: true,
    });
    expect(warningsOf(stack)).toEqual([expect.stringMatching(/^test\/monitoring: localAuthenticationEnabled is true/)]);
  });

  it('locks the workspace when a lock is asked for', () => {
    const { stack } = monitoring({ lock: { kind: 'CanNotDelete' } });
    const workspace = onlyLogicalId(synthObject(stack), 'azurerm_log_analytics_workspace');
    expect(Testing.synth(stack)).toHaveResourceWithProperties(ManagementLock, {
      lock_level: 'CanNotDelete',
      scope: reference('azurerm_log_analytics_workspace', workspace),
      name: `lock-${reference('azurerm_log_analytics_workspace', workspace, 'name')}`,
    });
  });

  it('uses an existing workspace without creating, protecting or locking one', () => {
    const { stack, monitoring: construct } = monitoring({ workspace: EXISTING_WORKSPACE, lock: { kind: 'CanNotDelete' } });
    const synth = synthObject(stack);
    expect(resourcesOfType(synth, 'azurerm_log_analytics_workspace')).toEqual({});
    expect(resourcesOfType(synth, 'azurerm_management_lock')).toEqual({});
    expect(construct.workspaceId).toBe(EXISTING_WORKSPACE.id);
    expect(construct.workspace).toBe(EXISTING_WORKSPACE);
    expect(warningsOf(stack)).toEqual([expect.stringMatching(/^test\/monitoring: lock ignored: the workspace was passed in/)]);
  });

  it("gives its preventDestroy to the events table it creates in an existing workspace, not calling it ignored", () => {
    const { stack, monitoring: construct } = monitoring({ workspace: EXISTING_WORKSPACE, preventDestroy: false });
    construct.monitorMigrationEvents();
    const table = Object.values(resourcesOfType(synthObject(stack), 'azurerm_log_analytics_workspace_table_custom_log'));
    expect(table.map((each) => each.lifecycle)).toEqual([undefined]);
    expect(warningsOf(stack)).toEqual([expect.stringMatching(/^test\/monitoring\/Default: events table MigrationEvents_CL .* is not protected by prevent_destroy/)]);

    const protectedTable = monitoring({ workspace: EXISTING_WORKSPACE });
    protectedTable.monitoring.monitorMigrationEvents();
    expect(Object.values(resourcesOfType(synthObject(protectedTable.stack), 'azurerm_log_analytics_workspace_table_custom_log')).map((each) => each.lifecycle)).toEqual([
      { prevent_destroy: true },
    ]);
  });

  it('refuses an existing workspace whose id is not a Log Analytics workspace ARM id, naming the construct and the value', () => {
    // The README's shortened '/subscriptions/.../workspaces/log-platform' copied as is: terraform validate fails on it in
    // every diagnostic setting, data collection rule and alert, so the synth stops first.
    const workspace = { id: '/subscriptions/.../workspaces/log-platform', name: 'log-platform' };
    expect(() => monitoring({ workspace })).toThrow(
      'test/monitoring: workspace.id must be an ARM id like /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<workspace> (got "/subscriptions/.../workspaces/log-platform")',
    );
    const lookup = testStack();
    const data = new DataAzurermLogAnalyticsWorkspace(lookup.stack, 'Shared', { name: 'log-shared', resourceGroupName: 'rg-shared' });
    expect(() => new MigrationMonitoring(lookup.stack, 'monitoring', { ...BASE_PROPS, resourceGroup: lookup.resourceGroup, workspace: data })).not.toThrow();
  });

  it('notifies every email through the action group', () => {
    const { stack } = monitoring();
    expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorActionGroup, {
      name: 'ag-contoso-sql',
      short_name: 'migration',
      resource_group_name: '${azurerm_resource_group.rg.name}',
      email_receiver: [
        { name: 'email-1', email_address: 'dba@contoso.example', use_common_alert_schema: true },
        { name: 'email-2', email_address: 'oncall@contoso.example', use_common_alert_schema: true },
      ],
    });
  });

  it('takes the action group names from props', () => {
    const { stack } = monitoring({ actionGroupName: 'migration-alerts', actionGroupShortName: 'contososql' });
    expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorActionGroup, {
      name: 'migration-alerts',
      short_name: 'contososql',
    });
  });

  it('acts through an existing action group without creating one', () => {
    const existing = { id: '/subscriptions/0/resourceGroups/rg-ops/providers/Microsoft.Insights/actionGroups/ag-oncall', name: 'ag-oncall' };
    const { stack, monitoring: construct } = monitoring({ emails: undefined, actionGroup: existing });
    construct.monitorMigrationEvents();
    const synth = synthObject(stack);
    expect(resourcesOfType(synth, 'azurerm_monitor_action_group')).toEqual({});
    expect(construct.actionGroupId).toBe(existing.id);
    const alerts = Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2'));
    expect(alerts.length).toBeGreaterThan(0);
    alerts.forEach((alert) => expect(alert.action).toEqual({ action_groups: [existing.id] }));
  });

  it('refuses emails beside an existing action group, whose receivers are its owner\'s', () => {
    expect(() => monitoring({ actionGroup: { id: '/ag', name: 'ag-oncall' } })).toThrow(
      'test/monitoring: emails: the existing actionGroup ag-oncall has its own receivers; add them there, or leave actionGroup out to create one',
    );
  });

  it('rejects an action group short name Azure would refuse', () => {
    expect(() => monitoring({ actionGroupShortName: 'migration-ops' })).toThrow(
      /^test\/monitoring: actionGroupShortName must be 1 to 12 characters \(got "migration-ops", 13\)/,
    );
    expect(() => monitoring({ actionGroupShortName: '' })).toThrow(/^test\/monitoring: actionGroupShortName must be 1 to 12 characters/);
  });

  it('rejects something that is not an email address, as the plan rule does', () => {
    expect(() => monitoring({ emails: ['dba@contoso.example', 'oncall'] })).toThrow(
      'test/monitoring: emails[1] must be an email address like name@example.com (got "oncall")',
    );
  });

  it('warns when nobody would be notified', () => {
    const { stack } = monitoring({ emails: [] });
    expect(warningsOf(stack)).toEqual([expect.stringMatching(/^test\/monitoring: emails is empty/)]);
  });

  it.each(['Contoso', 'contoso_sql', '-contoso', 'contoso-', 'c'.repeat(41)])(
    'rejects namePrefix %s',
    (namePrefix) => {
      expect(() => monitoring({ namePrefix })).toThrow(/^test\/monitoring: namePrefix must be 1 to 40 lowercase letters/);
    },
  );

  it('puts the regional resources in the given location', () => {
    const { stack } = monitoring({ location: 'northeurope' });
    expect(Testing.synth(stack)).toHaveResourceWithProperties(LogAnalyticsWorkspace, { location: 'northeurope' });
  });

  it('tags what it creates', () => {
    const tags = { plan: 'contoso-sql', owner: 'dba' };
    const { stack } = monitoring({ tags });
    const synth = Testing.synth(stack);
    expect(synth).toHaveResourceWithProperties(LogAnalyticsWorkspace, { tags });
    expect(synth).toHaveResourceWithProperties(MonitorActionGroup, { tags });
  });

  it('refuses to hand out the ingestion settings before monitorMigrationEvents()', () => {
    const { monitoring: construct } = monitoring();
    expect(() => construct.eventIngestion).toThrow(/call monitorMigrationEvents\(\) before reading eventIngestion/);
    expect(() => construct.grantPublishEvents({ principalId: '11111111-1111-1111-1111-111111111111' })).toThrow(
      /call monitorMigrationEvents\(\)/,
    );
  });

  it('lists no alerts before a monitor method is called', () => {
    const { resourceGroup, stack } = testStack();
    const construct = new MigrationMonitoring(stack, 'monitoring', { ...BASE_PROPS, resourceGroup });
    expect(construct.createdAlerts()).toEqual([]);
  });
});

describe('MigrationMonitoring: what it created, for dependencies and escape hatches', () => {
  const VAULT = { id: FACTORY.id.replace('Microsoft.DataFactory/factories/adf-contoso-sql', 'Microsoft.KeyVault/vaults/kv-contoso-sql'), name: 'kv-contoso-sql' };
  const ENVIRONMENT = { factoryId: FACTORY.id, environmentName: 'airflow-prod' };

  function monitoringEverything() {
    const built = monitoring();
    built.monitoring.monitorMigrationEvents().monitorDataFactory(FACTORY, { dagStorageAccountId: DAG_STORAGE_ACCOUNT_ID }).monitorKeyVault(VAULT);
    built.monitoring.monitorDataFactoryAirflow(ENVIRONMENT);
    return built;
  }

  it('lists every diagnostic setting it created, in creation order, the events rule\'s included', () => {
    const { stack, monitoring: construct } = monitoringEverything();
    const names = construct.createdDiagnosticSettings().map((setting) => setting.nameInput);
    expect(names).toEqual(['diag-dcr-contoso-sql', 'diag-adf-contoso-sql', 'diag-dag-blobs', 'diag-kv-contoso-sql', 'diag-contoso-sql-airflow']);
    const synthesized = Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_diagnostic_setting')).map((setting) => setting.name);
    expect([...synthesized].sort()).toEqual([...names].sort());
  });

  it('hands out the resources themselves: an override on one shows in the synthesized stack', () => {
    const { stack, monitoring: construct } = monitoringEverything();
    const eventsRule = construct.createdDiagnosticSettings().find((setting) => setting.nameInput === 'diag-dcr-contoso-sql');
    eventsRule?.addOverride('lifecycle.ignore_changes', ['log_analytics_destination_type']);
    construct.createdWorkbook()?.addOverride('lifecycle.prevent_destroy', true);
    const synth = synthObject(stack);
    expect(Object.values(resourcesOfType(synth, 'azurerm_monitor_diagnostic_setting')).find((setting) => setting.name === 'diag-dcr-contoso-sql')).toMatchObject({
      lifecycle: { ignore_changes: ['log_analytics_destination_type'] },
    });
    expect(onlyResource(synth, 'azurerm_application_insights_workbook')).toMatchObject({ lifecycle: { prevent_destroy: true } });
  });

  it('has no diagnostic setting and no workbook before a monitor method, nor a workbook when it is turned off', () => {
    const { monitoring: construct } = monitoring();
    expect(construct.createdDiagnosticSettings()).toEqual([]);
    expect(construct.createdWorkbook()).toBeUndefined();
    construct.monitorMigrationEvents({ workbook: false });
    expect(construct.createdWorkbook()).toBeUndefined();
  });

  it('returns a copy from createdDiagnosticSettings(), so callers cannot change the record', () => {
    const { monitoring: construct } = monitoringEverything();
    (construct.createdDiagnosticSettings() as unknown[]).length = 0;
    expect(construct.createdDiagnosticSettings()).toHaveLength(5);
  });
});
