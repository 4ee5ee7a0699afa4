/** Where `npm run validate` takes its providers from: the shared offline mirror, else the registry. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { providerSource } from '../../scripts/validate-terraform';

describe('npm run validate: provider source', () => {
  let parent: string;
  let repo: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'validate-source-'));
    repo = join(parent, 'repo');
    mkdirSync(repo);
    env = { PATH: process.env.PATH, XDG_CACHE_HOME: join(parent, 'cache'), TF_CLI_CONFIG_FILE: '/home/user/.terraformrc' };
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('installs ../shared/terraform-providers into the cache and points Terraform at the config it prints', () => {
    const shared = join(parent, 'shared', 'terraform-providers');
    mkdirSync(shared, { recursive: true });
    // Stands in for the shared install.sh: records its argument, prints a config path.
    writeFileSync(join(shared, 'install.sh'), 'echo "$1" > "$(dirname "$0")/installed-into"; echo "$1/terraformrc"\n');
    chmodSync(join(shared, 'install.sh'), 0o755);
    const source = providerSource(repo, env);
    const mirror = join(parent, 'cache', 'azure-db-migration', 'terraform-provider-mirror');
    expect(source.description).toBe(`offline mirror ${shared}`);
    expect(source.env.TF_CLI_CONFIG_FILE).toBe(`${mirror}/terraformrc`);
    expect(source.env.TF_PLUGIN_CACHE_DIR).toBe(join(parent, 'cache', 'azure-db-migration', 'terraform-plugin-cache'));
  });

  it("uses the public registry with the user's own CLI configuration when there is no shared mirror", () => {
    const source = providerSource(repo, env);
    expect(source.description).toMatch(/^public Terraform registry/);
    expect(source.env.TF_CLI_CONFIG_FILE).toBe('/home/user/.terraformrc');
    expect(source.env.CHECKPOINT_DISABLE).toBe('1');
  });
});
