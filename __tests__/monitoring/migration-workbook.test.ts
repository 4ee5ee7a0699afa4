import { ApplicationInsightsWorkbook } from '@cdktf/provider-azurerm/lib/application-insights-workbook';
import { migrationWorkbookContent, MigrationWorkbook, workbookQueries } from '../../lib/monitoring/migration-workbook';
import { stableGuid } from '../../lib/private/stable-guid';
import { onlyResource, synthObject, testStack } from '../helpers/test-stack';

const WORKBOOK_QUERIES = workbookQueries('contoso-sql');

describe('MigrationWorkbook', () => {
  function build() {
    const { stack, resourceGroup } = testStack();
    const workspace = { id: '/subscriptions/S/resourceGroups/RG/providers/Microsoft.OperationalInsights/workspaces/log-x', name: 'log-x' };
    new MigrationWorkbook(stack, 'workbook', { resourceGroup, location: 'westeurope', workspace, namePrefix: 'contoso-sql' });
    return onlyResource(synthObject(stack), ApplicationInsightsWorkbook.tfResourceType);
  }

  it('deploys a workbook on the workspace with a stable GUID name', () => {
    const workbook = build();
    expect(workbook.name).toBe(stableGuid('migration-workbook/contoso-sql'));
    expect(workbook.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(workbook).toMatchObject({ category: 'workbook', display_name: 'Database migration: contoso-sql', location: 'westeurope' });
    expect(workbook.source_id).toBe('${lower("/subscriptions/S/resourceGroups/RG/providers/Microsoft.OperationalInsights/workspaces/log-x")}');
    expect(JSON.parse(String(workbook.data_json))).toEqual(migrationWorkbookContent('contoso-sql'));
  });

  it('shows status, duration, cutover waits, failures and a timeline per database from the events table', () => {
    const content = migrationWorkbookContent('contoso-sql') as { items: { name: string; type: number; content: any }[] };
    const panels = content.items.filter((item) => item.type === 3);
    expect(panels.map((p) => [p.name, p.content.visualization])).toEqual([
      ['status-by-database', 'table'],
      ['duration-by-phase', 'barchart'],
      ['waiting-for-cutover', 'table'],
      ['cutovers-postponed', 'table'],
      ['failures', 'table'],
      ['timeline', 'timechart'],
    ]);
    for (const panel of panels) {
      expect(panel.content.query).toMatch(/^MigrationEvents_CL \| where PlanName == "contoso-sql"\n\| where TimeGenerated \{TimeRange\}/);
      expect(panel.content.resourceType).toBe('microsoft.operationalinsights/workspaces');
    }
    expect(WORKBOOK_QUERIES.statusByDatabase).toMatch(/arg_max\(TimeGenerated, Phase, Status, Message\).+by RunId, Database/);
    expect(WORKBOOK_QUERIES.failures).toMatch(/Status in \("Failed", "RolledBack", "RolledBackTargetKept"\)/);
    expect(WORKBOOK_QUERIES.waitingForCutover).toMatch(/where Phase == "await_cutover" and Status in \("WaitingForWindow", "AwaitingApproval", "Rejected", "WindowMissed"\)/);
    expect(WORKBOOK_QUERIES.cutoversPostponed).toMatch(/where Status in \("Rejected", "WindowMissed"\)/);
    const parameters = content.items.find((item) => item.type === 9)!.content.parameters.map((p: { name: string }) => p.name);
    expect(parameters).toEqual(['TimeRange', 'RunId']);
  });

  it('filters every panel by the runs picked, All being the run dropdown\'s selectAllValue "*"', () => {
    const content = migrationWorkbookContent('contoso-sql') as { items: { type: number; content: any }[] };
    const runPicker = content.items.find((item) => item.type === 9)!.content.parameters[1];
    expect(runPicker).toMatchObject({ multiSelect: true, quote: '"', typeSettings: { additionalResourceOptions: ['value::all'], selectAllValue: '*' } });
    for (const panel of content.items.filter((item) => item.type === 3)) {
      expect(panel.content.query).toContain('| where "*" in ({RunId}) or RunId in ({RunId})');
    }
  });
});
