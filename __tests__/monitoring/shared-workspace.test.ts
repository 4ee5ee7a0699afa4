/** Two plans in one Log Analytics workspace: the first creates MigrationEvents_CL, later ones use it; each reads its own events. */
import { synthMigrationStack } from '../helpers/migration-stack';
import { examplePlan } from '../helpers/example-plan';
import { logAlertQueries, onlyResource, queriesNotOfPlan, resourceNamed, resourcesOfType, warningsOf } from '../helpers/test-stack';

const SHARED = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/log-shared',
  name: 'log-shared',
};
const TABLE = 'azurerm_log_analytics_workspace_table_custom_log';

describe('DatabaseMigrationStack in a workspace shared with other plans', () => {
  it('creates the events table by default, in the given workspace', () => {
    const { synth } = synthMigrationStack({ workspace: SHARED });
    expect(onlyResource(synth, TABLE)).toMatchObject({ name: 'MigrationEvents_CL', workspace_id: SHARED.id });
  });

  it("with eventsTable 'existing', creates no table, routes its rule to the workspace's table and reads only its plan's events", () => {
    const plan = { ...examplePlan(), name: 'fabrikam-sql' };
    const { stack, synth } = synthMigrationStack({ plan, workspace: SHARED, eventsTable: 'existing' });
    expect(resourcesOfType(synth, TABLE)).toEqual({});
    expect(resourceNamed(synth, 'azurerm_monitor_data_collection_rule', 'dcr-fabrikam-sql')).toMatchObject({
      destinations: { log_analytics: [{ workspace_resource_id: SHARED.id }] },
      data_flow: [{ output_stream: 'Custom-MigrationEvents_CL' }],
    });
    const queries = logAlertQueries(stack);
    expect(queries.length).toBeGreaterThan(0);
    expect(queriesNotOfPlan(stack, 'fabrikam-sql')).toEqual([]);
  });

  it("puts the ingestion endpoint and rule, the log alerts and the cluster's Container Insights rule in the given workspace's region", () => {
    // Azure Monitor: a logs ingestion endpoint and a rule must be in the region of their destination workspace.
    const { synth, release } = synthMigrationStack({ workspace: { ...SHARED, location: 'swedencentral' } });
    const regional = [
      ...Object.values(resourcesOfType(synth, 'azurerm_monitor_data_collection_endpoint')),
      ...Object.values(resourcesOfType(synth, 'azurerm_monitor_data_collection_rule')).filter((rule) =>
        JSON.stringify(rule.destinations).includes(SHARED.id),
      ),
      ...Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2')),
    ].filter((resource) => !String(resource.name).includes('prometheus'));
    expect(regional.length).toBeGreaterThan(3);
    expect(regional.filter((resource) => resource.location !== 'swedencentral').map((resource) => resource.name)).toEqual([]);
    // Everything else stays in the plan's region.
    expect(onlyResource(synth, 'azurerm_kubernetes_cluster').location).toBe('westeurope');
    expect(release).toBeDefined();
  });

  it("gives the stack's preventDestroy and lock to the resources it creates, and no warning that the given workspace ignores them", () => {
    // The stack's pair protects what it creates; a workspace it was given is not one of them, so it is no option
    // the user gave that workspace (migration:monitoring:workspace-options-ignored is for MigrationMonitoring's own props).
    for (const props of [{}, { preventDestroy: true }, { lock: { kind: 'CanNotDelete' as const } }]) {
      const { stack, synth } = synthMigrationStack({ workspace: SHARED, ...props });
      expect(warningsOf(stack).filter((warning) => warning.includes('workspace-options-ignored'))).toEqual([]);
      expect(resourcesOfType(synth, 'azurerm_log_analytics_workspace')).toEqual({});
    }
    const { synth } = synthMigrationStack({ workspace: SHARED, lock: { kind: 'CanNotDelete' } });
    expect(Object.values(resourcesOfType(synth, 'azurerm_management_lock')).map(({ scope }) => scope)).toEqual(
      expect.arrayContaining([expect.stringContaining('azapi_resource.MigrationService')]),
    );
  });

  it("protects the events table it creates in the given workspace with prevent_destroy: a destroy of the owner's stack would delete every plan's events", () => {
    // Was: prevent_destroy on the workspace the stack creates only; in a given one the table, the shared audit trail, had none.
    const { stack, synth } = synthMigrationStack({ workspace: SHARED });
    expect(onlyResource(synth, TABLE).lifecycle).toEqual({ prevent_destroy: true });
    expect(warningsOf(stack).filter((warning) => warning.includes('MigrationEvents_CL'))).toEqual([]);
  });

  it('leaves it unprotected with preventDestroy false, and warns', () => {
    const { stack, synth } = synthMigrationStack({ workspace: SHARED, preventDestroy: false });
    expect(onlyResource(synth, TABLE).lifecycle).toBeUndefined();
    expect(warningsOf(stack)).toContainEqual(
      expect.stringContaining(
        'events table MigrationEvents_CL (with every event in it, of every plan sharing the workspace) is not protected by prevent_destroy',
      ),
    );
  });

  it('refuses an eventsTable other than create or existing (a config value, plain JavaScript), which created the table in the shared workspace', () => {
    // Was: anything but 'existing' created MigrationEvents_CL, so this plan's apply failed on the other plan's table,
    // or, imported, a destroy of this stack deleted every plan's events.
    const eventsTable = 'Existing' as unknown as 'existing';
    expect(() => synthMigrationStack({ workspace: SHARED, eventsTable })).toThrow(
      `contoso-sql: DatabaseMigrationStack: props.eventsTable must be one of 'create', 'existing' (got the string "Existing"; did you mean 'existing'?)`,
    );
  });

  it("refuses eventsTable 'existing' in the workspace the stack creates", () => {
    expect(() => synthMigrationStack({ eventsTable: 'existing' })).toThrow(/eventsTable 'existing' needs an existing workspace/);
  });
});
