/**
 * `npm run resource-tags`: writes `scripts/resource-tags.json`, for each resource type the
 * validation variants synthesize, the type of its `tags` argument in the real provider schema
 * (`terraform providers schema -json`, providers as `npm run validate` gets them), or null where it
 * has none. __tests__/tags/plan-tags.test.ts (slow suite) reads it: a synthesized type missing from it
 * fails that test until this script runs again.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './repo-root';
import { RESOURCE_TAGS_FILE, ResourceTagsFile, writeResourceTagsFile } from './resource-tags-file';
import { synthesizeVariant } from './synthesize-variant';
import { initialize, providerSource, resourceTagsAttributes, selectedProviders } from './validate-terraform';
import { StackJson, validationVariants } from './validate-variants';

/** Every stack of every variant but the canaries, synthesized. */
function synthesizedStacks(root: string, work: string): StackJson[] {
  return validationVariants(root)
    .filter((variant) => !variant.mustFailWith)
    .flatMap((variant, index) => synthesizeVariant(root, variant, join(work, `synth-${index}`)).map(({ json }) => json));
}

function main(): void {
  const root = repoRoot();
  const work = mkdtempSync(join(tmpdir(), 'resource-tags-'));
  try {
    const stacks = synthesizedStacks(root, work);
    const types = [...new Set(stacks.flatMap((stack) => Object.keys(stack.resource ?? {})))].sort();
    const requiredProviders = Object.assign({}, ...stacks.map((stack) => stack.terraform?.required_providers ?? {}));
    // One resource of each type, so Terraform also loads the schema of its built-in provider (terraform_data).
    const resource = Object.fromEntries(types.map((type) => [type, { probe: {} }]));
    const folder = join(work, 'schema');
    mkdirSync(folder);
    writeFileSync(join(folder, 'main.tf.json'), JSON.stringify({ terraform: { required_providers: requiredProviders }, resource }));
    const source = providerSource(root);
    initialize(folder, source.env);
    const schema = resourceTagsAttributes(folder, source.env);
    const missing = types.filter((type) => !schema.has(type));
    if (missing.length > 0) throw new Error(`no provider schema for ${missing.join(', ')}`);
    const tags = Object.fromEntries(
      types.map((type) => {
        const attribute = schema.get(type);
        return [type, attribute ? `${attribute[0]}(${attribute[1]})` : null];
      }),
    );
    const file: ResourceTagsFile = { providers: selectedProviders(folder, source.env), tags };
    writeResourceTagsFile(join(root, RESOURCE_TAGS_FILE), file);
    console.log(`${RESOURCE_TAGS_FILE}: ${types.length} resource types, ${Object.values(tags).filter(Boolean).length} with tags`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`resource-tags: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
