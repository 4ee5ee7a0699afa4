import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { ExternalAirflowHost } from '../../lib/hosts/external-host';
import { MigrationService } from '../../lib/migration-service';
import { MigrationMonitoring } from '../../lib/monitoring/migration-monitoring';
import { CredentialVault } from '../../lib/orchestration-factory/credential-vault';
import { OrchestrationFactory } from '../../lib/orchestration-factory/orchestration-factory';
import { loadMigrationPlan } from '../../lib/plan';
import { hostBaseProps } from '../helpers/host-fixtures';
import { temporaryFolder } from '../helpers/temporary-folder';
import { examplePlanWith } from '../helpers/migration-stack';
import { testStack, warningsOf } from '../helpers/test-stack';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'three-databases.yaml');
const regionWarnings = (warnings: string[]) => warnings.filter((warning) => warning.includes('is not an Azure region'));

describe("the plan's location", () => {
  function stackOfPlanIn(location: string): DatabaseMigrationStack {
    const file = join(temporaryFolder('plan-'), 'plan.yaml');
    const text = readFileSync(EXAMPLE, 'utf8');
    expect(text).toMatch(/^location: westeurope$/m);
    writeFileSync(file, text.replace(/^location: westeurope$/m, `location: ${location}`));
    return new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: loadMigrationPlan(file) });
  }

  it('warns once, naming the plan file and field and the region meant, when misspelt (every construct given it stays quiet)', () => {
    const warnings = regionWarnings(warningsOf(stackOfPlanIn('westeurpoe')));
    expect(warnings).toEqual([expect.stringMatching(/^contoso-sql: \S+plan\.yaml location: "westeurpoe" is not an Azure region \(did you mean "westeurope"\?\): Azure refuses it only at apply/)]);
  });

  it.each([
    ['germanywestcentral2', 'germanywestcentral'],
    ['swedencentrl', 'swedencentral'],
  ])('suggests the region meant: %s -> %s', (location, meant) => {
    const plan = examplePlanWith({}, { location });
    const warnings = regionWarnings(warningsOf(new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan })));
    expect(warnings).toEqual([expect.stringContaining(`three-databases.yaml (test) location: "${location}" is not an Azure region (did you mean "${meant}"?)`)]);
  });
});

describe('a location given in code', () => {
  it('accepts names and display names (normalized as azurerm does), skips references, and warns for a misspelt one with its construct path and prop', () => {
    const { stack, resourceGroup } = testStack();
    const variable = new TerraformVariable(stack, 'location', { type: 'string' });
    const service = (id: string, location?: string) => new MigrationService(stack, id, { resourceGroup, namePrefix: id, location });
    service('by-name', 'germanywestcentral');
    service('by-display-name', 'Germany West Central');
    service('by-reference', variable.stringValue);
    service('misspelt', 'west-europe');
    expect(warningsOf(stack)).toEqual([
      expect.stringMatching(/^test\/misspelt: location "west-europe" is not an Azure region \(did you mean "westeurope"\?\): Azure refuses it only at apply/),
    ]);
  });

  it("names the resource group's location when a construct takes its region from there", () => {
    const { stack } = testStack();
    const resourceGroup = { name: 'rg-shared', id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shared', location: 'Wset Europe' };
    new MigrationMonitoring(stack, 'Monitoring', { resourceGroup, namePrefix: 'contoso-sql', emails: ['dba@contoso.com'] });
    expect(regionWarnings(warningsOf(stack))).toEqual([
      expect.stringMatching(/^test\/Monitoring: resourceGroup\.location "Wset Europe" is not an Azure region \(did you mean "westeurope"\?\)/),
    ]);
  });

  it('gives no guess for a name near no region, or near several', () => {
    const { stack, resourceGroup } = testStack();
    new MigrationService(stack, 'mars', { resourceGroup, namePrefix: 'mars', location: 'marsnorth' });
    new MigrationService(stack, 'westus9', { resourceGroup, namePrefix: 'westus9', location: 'westus9' });
    expect(warningsOf(stack)).toEqual([
      expect.stringMatching(/^test\/mars: location "marsnorth" is not an Azure region: /),
      expect.stringMatching(/^test\/westus9: location "westus9" is not an Azure region: /),
    ]);
  });

  it("names plan.location when a construct alone takes its region from the plan it is given", () => {
    const { stack, resourceGroup } = testStack();
    new OrchestrationFactory(stack, 'Orchestration', { resourceGroup, plan: examplePlanWith({}, { location: 'uksouht' }) });
    expect(regionWarnings(warningsOf(stack))).toEqual([expect.stringMatching(/^test\/Orchestration: plan\.location "uksouht" is not an Azure region \(did you mean "uksouth"\?\)/)]);
  });

  const builders: [string, (stack: TerraformStack, resourceGroup: ResourceGroup) => unknown][] = [
    ['a host', (stack, resourceGroup) => new ExternalAirflowHost(stack, 'Construct', { ...hostBaseProps(resourceGroup), location: 'norwayeastt' })],
    [
      'a Key Vault',
      (stack, resourceGroup) =>
        new CredentialVault(stack, 'Construct', { resourceGroup, vaultName: 'kv-contoso-sql', location: 'norwayeastt', tenantId: '00000000-0000-0000-0000-000000000000' }),
    ],
  ];
  it.each(builders)('warns for %s too', (_, build) => {
    const { stack, resourceGroup } = testStack();
    build(stack, resourceGroup);
    expect(regionWarnings(warningsOf(stack))).toEqual([expect.stringMatching(/^test\/Construct: location "norwayeastt" is not an Azure region \(did you mean "norwayeast"\?\)/)]);
  });
});
