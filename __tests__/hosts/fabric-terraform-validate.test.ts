import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing, Token, ref } from 'cdktf';
import { fabricHostStack } from './fabric-test-stack';

/**
 * The real judge: `terraform validate` with the real azurerm 4.55 and microsoft/fabric 1.13
 * providers from the offline mirror. Skipped where neither the mirror nor terraform exists.
 */
const MIRROR_CONFIG = [process.env.TF_CLI_CONFIG_FILE, '/root/.cache/tf-provider-mirror/terraformrc'].find(
  (file): file is string => file !== undefined && existsSync(file),
);
const terraformAvailable = MIRROR_CONFIG !== undefined && commandExists('terraform');
const describeWithTerraform = terraformAvailable ? describe : describe.skip;

function commandExists(command: string): boolean {
  try {
    execFileSync(command, ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Validation {
  readonly valid: boolean;
  readonly diagnostics: ReadonlyArray<{ severity: string; summary: string; detail: string }>;
}

function terraform(folder: string, args: string[]): string {
  return execFileSync('terraform', args, {
    cwd: folder,
    env: { ...process.env, TF_CLI_CONFIG_FILE: MIRROR_CONFIG, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function validate(folder: string, edit?: (json: any) => void): Validation {
  if (edit) {
    const file = join(folder, 'cdk.tf.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    edit(json);
    writeFileSync(file, JSON.stringify(json));
  }
  terraform(folder, ['init', '-backend=false', '-input=false']);
  try {
    return JSON.parse(terraform(folder, ['validate', '-json']));
  } catch (error) {
    // validate exits 1 when the configuration is invalid; its JSON is still on stdout.
    return JSON.parse(String((error as { stdout?: string }).stdout));
  }
}

function synthesizedFolder(props: Parameters<typeof fabricHostStack>[0]): string {
  return join(Testing.fullSynth(fabricHostStack(props).stack), 'stacks', 'test');
}

describeWithTerraform('the Fabric host under terraform validate (azurerm 4.55, fabric 1.13)', () => {
  jest.setTimeout(120_000);

  it('is valid on an existing capacity, with an environment value that is a reference', () => {
    const result = validate(
      synthesizedFolder({ environment: { MIGRATION_DMS_RESOURCE_ID: Token.asString(ref('azurerm_resource_group.rg.id')) } }),
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('is valid with a new capacity and workspace members', () => {
    const result = validate(
      synthesizedFolder({
        capacity: { sku: 'F16', administrators: ['admin@contoso.com', '9e8d7c6b-5a49-4f3e-8d2c-1b0a99887766'] },
        capacityId: undefined,
        computeSize: 'Large',
        workspaceMembers: [{ principalId: '0f0f0f0f-0000-0000-0000-000000000001', principalType: 'Group', role: 'Contributor' }],
      }),
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('really judges the Fabric resources: a role Fabric does not have is an error', () => {
    const folder = synthesizedFolder({
      workspaceMembers: [{ principalId: '0f0f0f0f-0000-0000-0000-000000000001', principalType: 'User', role: 'Viewer' }],
    });
    const result = validate(folder, (json) => {
      for (const assignment of Object.values<any>(json.resource.fabric_workspace_role_assignment)) {
        assignment.role = 'Owner';
      }
    });
    expect(result.valid).toBe(false);
    expect(result.diagnostics.map((d) => d.detail)).toEqual([expect.stringContaining('got: "Owner"')]);
  });
});
