/**
 * One `terraform validate` for many stacks, on real output recorded with Terraform 1.11.4, azurerm
 * 4.55.0 and azapi 2.12.0 (`fixtures/`): the default stack (s0) beside the three azurerm and AzAPI
 * canaries (s1 to s3) as modules of one root; and two stacks sharing a provider block with an
 * argument azurerm does not have, moved to the root.
 */
import { combinedRoot, needsOwnRoot, splitDiagnostics } from '../../scripts/validate-combined';
import { Diagnostic } from '../../scripts/validate-terraform';
import { judge } from '../../scripts/validate-verdict';
import { recordedValidateOutput, variantNamed as canary } from './validate-output';

const CANARIES_BESIDE_DEFAULT = recordedValidateOutput('validate-combined-three-canaries');
const SHARED_PROVIDER_ERROR = recordedValidateOutput('validate-combined-shared-provider-error');

describe('npm run validate: one validate, diagnostics split back to their stacks', () => {
  it("gives each stack its own errors, as validating it alone would word them, and judges each as alone", () => {
    const { perStack, droppedBackendWarnings } = splitDiagnostics(CANARIES_BESIDE_DEFAULT, 4);
    expect(perStack.map((output) => output.diagnostics.map((diagnostic) => diagnostic.summary))).toEqual([
      [],
      [expect.stringMatching(/^expected column\.0\.type to be one of .*, got datetime$/)],
      [expect.stringMatching(/^expected frequency to be one of .*, got PT7M$/)],
      ['Invalid configuration'],
    ]);
    expect(perStack[3].diagnostics[0]).toMatchObject({ address: 'azapi_resource.MigrationService_D9CAA977', range: { filename: 'cdk.tf.json' } });
    expect(perStack.map((output) => [output.valid, output.error_count, output.warning_count])).toEqual([[true, 0, 0], [false, 1, 0], [false, 1, 0], [false, 1, 0]]);
    expect(droppedBackendWarnings).toBe(4);

    expect(judge({}, perStack[0])).toMatchObject({ ok: true, outcome: 'valid' });
    expect(judge(canary('custom table column typed'), perStack[1])).toMatchObject({ ok: true });
    expect(judge(canary('evaluated every 7 minutes'), perStack[2])).toMatchObject({ ok: true });
    expect(judge(canary('AzAPI schema validation'), perStack[3])).toMatchObject({ ok: true });
    expect(judge(canary('custom table column typed'), perStack[2])).toMatchObject({ ok: false });
  });

  it('fails every stack of the run on a diagnostic no single stack can be blamed for', () => {
    const { perStack } = splitDiagnostics(SHARED_PROVIDER_ERROR, 2);
    for (const output of perStack) {
      expect(judge({}, output)).toMatchObject({ ok: false, problems: [expect.stringMatching(/^error: Extraneous JSON object property \(provider\.azurerm\[0\]\)\nNo argument or block type is named "nonsense_argument"/)] });
    }
  });

  it('fails every stack when the address and the file name different modules, or a module the run does not have', () => {
    const error = (address: string, filename: string): Diagnostic => ({ severity: 'error', summary: 'Unsupported argument', address, range: { filename, start: { line: 1 } } });
    const output = { valid: false, error_count: 2, warning_count: 0, diagnostics: [error('module.s1.azurerm_resource_group.a', 's0/cdk.tf.json'), error('module.s7.azurerm_resource_group.a', 's7/cdk.tf.json')] };
    const { perStack } = splitDiagnostics(output, 2);
    expect(perStack.map((stack) => stack.error_count)).toEqual([2, 2]);
  });

  it('drops "Backend configuration ignored" only where it points at a module\'s own backend block', () => {
    const backendWarning = CANARIES_BESIDE_DEFAULT.diagnostics.find((diagnostic) => diagnostic.summary === 'Backend configuration ignored')!;
    const elsewhere = { ...backendWarning, snippet: { ...backendWarning.snippet, context: 'resource.azurerm_resource_group.a' } };
    const output = { valid: true, error_count: 0, warning_count: 2, diagnostics: [backendWarning, elsewhere] };
    const { perStack, droppedBackendWarnings } = splitDiagnostics(output, 1);
    expect(droppedBackendWarnings).toBe(1);
    expect(judge({}, perStack[0])).toMatchObject({ ok: false, outcome: '0 errors, 1 unlisted warning' });
  });
});

describe('npm run validate: the combined root', () => {
  const azurerm = [{ features: [{}] }];
  const helm = (alias: string) => [{ alias, kubernetes: { host: '${data.azurerm_kubernetes_cluster.c.kube_config[0].host}' } }];
  const stack = (provider: object) => ({ terraform: { backend: { local: {} }, required_providers: { azurerm: { source: 'azurerm' } } }, provider, resource: {} });

  it('moves a provider block every stack has alike to the root, and leaves any other in its stack', () => {
    const root = combinedRoot([stack({ azurerm, helm: helm('a') }), stack({ azurerm, helm: helm('b') })]);
    expect(root.main).toEqual({
      terraform: { required_providers: { azurerm: { source: 'azurerm' } } },
      module: { s0: { source: './s0' }, s1: { source: './s1' } },
      provider: { azurerm },
    });
    expect(root.children.map((child) => child.provider)).toEqual([{ helm: helm('a') }, { helm: helm('b') }]);
    expect(root.children[0].terraform.backend).toEqual({ local: {} });

    const differing = combinedRoot([stack({ azurerm }), stack({ azurerm: [{ features: [{}], nonsense_argument: true }] })]);
    expect(differing.main.provider).toBeUndefined();
    expect(differing.children.map((child) => child.provider.azurerm[0].nonsense_argument)).toEqual([undefined, true]);
  });

  it('keeps as roots the stacks whose import blocks, variables or sensitive() values only a root checks', () => {
    expect(needsOwnRoot(stack({ azurerm }))).toBe(false);
    expect(needsOwnRoot({ ...stack({ azurerm }), import: [{ to: 'azurerm_resource_group.a', id: '/subscriptions/x' }] })).toBe(true);
    expect(needsOwnRoot({ ...stack({ azurerm }), variable: { location: {} } })).toBe(true);
    expect(needsOwnRoot({ ...stack({ azurerm }), output: { key: { value: '${sensitive("x")}' } } })).toBe(true);
  });
});
