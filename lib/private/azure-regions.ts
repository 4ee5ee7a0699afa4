import { TerraformStack, Token } from 'cdktf';
import { IConstruct } from 'constructs';
import { quote } from '../plan/field-path';
import { closestMatch } from '../plan/suggest';
import { warn } from '../core/warnings';

/**
 * Azure regions that take resources, by programmatic name (what `az account list-locations` calls
 * `name`). Sources, read 2026-12-04:
 * - Microsoft's "Azure regions list" (MicrosoftDocs/reliability-docs `articles/reliability/regions-list.md`,
 *   ms.date 2025-09-23; learn.microsoft.com/azure/reliability/regions-list): every row, with Denmark
 *   East marked "coming soon" there, and Sweden South, named there as Sweden Central's access-restricted pair;
 * - Microsoft's traffic-analytics region tables (MicrosoftDocs/azure-docs
 *   `articles/network-watcher/traffic-analytics.md`, ms.date 2024-12-31) for the access-restricted
 *   public regions missing above (Jio India, Taiwan) and the two sovereign clouds the azurerm and azapi
 *   providers reach with `environment` (ARM_ENVIRONMENT): Azure Government and Azure operated by 21Vianet
 *   (also in docs.azure.cn/reliability/regions-list).
 * Logical locations (`global`, the `…stage`/`…euap` ones) are left out: nothing here is created in them.
 * Regions are added over time, so a name missing here is a warning, never an error.
 */
const AZURE_REGIONS: ReadonlySet<string> = new Set([
  // Public cloud.
  'australiacentral', 'australiacentral2', 'australiaeast', 'australiasoutheast', 'austriaeast', 'belgiumcentral',
  'brazilsouth', 'brazilsoutheast', 'canadacentral', 'canadaeast', 'centralindia', 'centralus', 'chilecentral',
  'denmarkeast', 'eastasia', 'eastus', 'eastus2', 'francecentral', 'francesouth', 'germanynorth', 'germanywestcentral',
  'indonesiacentral', 'israelcentral', 'italynorth', 'japaneast', 'japanwest', 'jioindiacentral', 'jioindiawest',
  'koreacentral', 'koreasouth', 'malaysiawest', 'mexicocentral', 'newzealandnorth', 'northcentralus', 'northeurope',
  'norwayeast', 'norwaywest', 'polandcentral', 'qatarcentral', 'southafricanorth', 'southafricawest', 'southcentralus',
  'southindia', 'southeastasia', 'spaincentral', 'swedencentral', 'swedensouth', 'switzerlandnorth', 'switzerlandwest',
  'taiwannorth', 'taiwannorthwest', 'uaecentral', 'uaenorth', 'uksouth', 'ukwest', 'westcentralus', 'westeurope',
  'westindia', 'westus', 'westus2', 'westus3',
  // Azure Government.
  'usdodcentral', 'usdodeast', 'usgovarizona', 'usgoviowa', 'usgovtexas', 'usgovvirginia',
  // Azure operated by 21Vianet.
  'chinaeast', 'chinaeast2', 'chinaeast3', 'chinanorth', 'chinanorth2', 'chinanorth3',
]);

/**
 * A location as azurerm compares it (go-azure-helpers `resourcemanager/location.Normalize`: lower
 * case, spaces removed), so a display name such as `West Europe` is `westeurope`.
 */
function normalizeLocation(location: string): string {
  return location.toLowerCase().replaceAll(' ', '');
}

/** Unknown regions already reported per stack: a plan's location reaches several constructs, one warning says it. */
const reported = new WeakMap<IConstruct, Set<string>>();

/**
 * Warns `<subject> "<value>" is not an Azure region ... (did you mean "<closest>"?)` unless `value`
 * is absent, a reference (known only at apply), a known region (by name or display name), or
 * already reported in this stack. `subject` names where the value was written: a plan file and
 * field, or a prop of `scope` (the cdktf CLI prints the path of `scope` before the warning).
 */
export function warnUnknownRegion(scope: IConstruct, subject: string, value: string | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  const name = normalizeLocation(value);
  if (AZURE_REGIONS.has(name)) return;
  const stack = stackOf(scope);
  const seen = reported.get(stack) ?? new Set<string>();
  reported.set(stack, seen);
  if (seen.has(name)) return;
  seen.add(name);
  const closest = closestMatch(name, AZURE_REGIONS);
  const hint = closest === undefined ? '' : ` (did you mean "${closest}"?)`;
  warn(scope, 'migration:region:unknown',
    `${subject} ${quote(value)} is not an Azure region${hint}: Azure refuses it only at apply. ` +
      `Known regions are those Microsoft listed by 2025-09-23: a region opened since deploys as is`,
  );
}

/** `<prop>` of `scope` for {@link warnUnknownRegion} (the warning is on `scope`, whose path the CLI prints before it). */
export function checkRegion(scope: IConstruct, prop: string, value: string | undefined): void {
  warnUnknownRegion(scope, prop, value);
}

function stackOf(scope: IConstruct): IConstruct {
  try {
    return TerraformStack.of(scope);
  } catch {
    return scope.node.root;
  }
}

/** A construct's region: its `location` prop, or else its resource group's, warned about when unknown. */
export function locationOrResourceGroup(
  scope: IConstruct,
  props: { readonly location?: string; readonly resourceGroup: { readonly location: string } },
): string {
  const location = props.location ?? props.resourceGroup.location;
  checkRegion(scope, props.location === undefined ? 'resourceGroup.location' : 'location', location);
  return location;
}
