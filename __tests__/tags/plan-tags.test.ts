/**
 * Every resource whose type takes Azure tags carries the plan's tags, in every stack of every
 * variant `npm run validate` synthesizes: teams find, bill and govern resources by tags, and an Azure
 * Policy that requires a tag denies an untagged resource at apply. Which types take tags comes from
 * the real provider schemas, cached in scripts/resource-tags.json (`npm run resource-tags`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlanDocument, ValidationVariant, validationVariants } from '../../scripts/validate-variants';
import { RESOURCE_TAGS_FILE, ResourceTagsFile } from '../../scripts/resource-tags-file';
import * as ts from 'typescript';
import { apiSurface, interfaceMembers, memberName } from '../docs/api-surface';
import { variantPlan, variantStacks } from '../helpers/validate-variants';

const ROOT = join(__dirname, '..', '..');
const resourceTags = JSON.parse(readFileSync(join(ROOT, RESOURCE_TAGS_FILE), 'utf8')) as ResourceTagsFile;

/** Besides the plan's own tags (some example plans have none), so every variant shows where tags go. */
const PROBE_TAG = { 'tags-test': 'from-the-plan' };

/** The variant with one more tag in its plan. */
function withProbeTag(variant: ValidationVariant): ValidationVariant {
  return {
    ...variant,
    editPlan: (document: PlanDocument) => {
      variant.editPlan?.(document);
      document.tags = { ...document.tags, ...PROBE_TAG };
    },
  };
}

/** `<type>.<name>` of each resource, per problem, with the first variant that shows it. */
function tagProblems(variants: readonly ValidationVariant[]): { missingFromFile: string[]; untagged: string[] } {
  const missingFromFile = new Set<string>();
  const untagged = new Map<string, string>();
  for (const variant of variants) {
    const planTags = variantPlan(variant).tags;
    for (const stack of variantStacks(variant)) {
      for (const [type, resources] of Object.entries(stack.resource ?? {})) {
        if (!(type in resourceTags.tags)) {
          missingFromFile.add(type);
          continue;
        }
        // fabric_apache_airflow_job's set(string) holds Fabric tag IDs (tenant-defined), not Azure's key/value tags.
        // azapi_resource takes tags whatever its ARM type; AzAPI's schema validation (`npm run validate`) refuses
        // them on a type without tags ("`tags` is not expected here", Azure/terraform-provider-azapi#462).
        if (resourceTags.tags[type] !== 'map(string)') continue;
        for (const [name, resource] of Object.entries(resources)) {
          const tags = resource.tags as Record<string, unknown> | undefined;
          const carriesPlanTags = Object.entries(planTags).every(([key, value]) => tags?.[key] === value);
          if (!carriesPlanTags && !untagged.has(`${type}.${name}`)) untagged.set(`${type}.${name}`, variant.name);
        }
      }
    }
  }
  return {
    missingFromFile: [...missingFromFile].sort(),
    untagged: [...untagged].map(([address, variant]) => `${address} (${variant})`).sort(),
  };
}

describe("the plan's tags", () => {
  const variants = validationVariants(ROOT)
    .filter((variant) => !variant.mustFailWith)
    .map(withProbeTag);
  const problems = tagProblems(variants);

  test(`every synthesized resource type is in ${RESOURCE_TAGS_FILE} (else run npm run resource-tags)`, () => {
    expect(problems.missingFromFile).toEqual([]);
  });

  test('are on every resource whose type takes tags, in every variant', () => {
    expect(problems.untagged).toEqual([]);
  });

  test('a resource without them is named', () => {
    const untaggedVault = withProbeTag({
      name: 'a Key Vault without tags',
      plan: 'examples/three-databases.yaml',
      buildStacks: (app, plan) => {
        const { TerraformStack } = require('cdktf') as typeof import('cdktf');
        const { AzurermProvider } = require('@cdktf/provider-azurerm/lib/provider') as typeof import('@cdktf/provider-azurerm/lib/provider');
        const { KeyVault } = require('@cdktf/provider-azurerm/lib/key-vault') as typeof import('@cdktf/provider-azurerm/lib/key-vault');
        const stack = new TerraformStack(app, plan.name);
        new AzurermProvider(stack, 'azurerm', { features: [{}] });
        new KeyVault(stack, 'Vault', { name: 'kv-untagged', location: plan.location, resourceGroupName: 'rg', tenantId: 't', skuName: 'standard' });
      },
    });
    expect(tagProblems([untaggedVault]).untagged).toEqual(['azurerm_key_vault.Vault (a Key Vault without tags)']);
  });

  test(`${RESOURCE_TAGS_FILE} holds key/value tags as map(string), a type without tags as null`, () => {
    expect(Object.keys(resourceTags.tags).length).toBeGreaterThan(0);
    expect(resourceTags.tags.azurerm_key_vault).toBe('map(string)');
    expect(resourceTags.tags.azurerm_role_assignment).toBeNull();
  });
});

test("every exported props interface takes tags as `tags?: Readonly<Record<string, string>>` (one vocabulary)", () => {
  const libraryRoot = join(ROOT, 'lib');
  const { checker, exports } = apiSurface(join(libraryRoot, 'index.ts'), libraryRoot);
  const declared = exports
    .filter(({ symbol }) => symbol.flags & ts.SymbolFlags.Interface)
    .flatMap(({ name, symbol }) =>
      interfaceMembers(checker, symbol)
        .filter((member): member is ts.PropertySignature => ts.isPropertySignature(member) && memberName(member) === 'tags')
        .map((member) => `${name}.tags${member.questionToken ? '?' : ''}: ${member.type?.getText()}`),
    );
  expect(declared.length).toBeGreaterThan(0);
  expect(declared.filter((text) => !text.endsWith('.tags?: Readonly<Record<string, string>>'))).toEqual([]);
});
