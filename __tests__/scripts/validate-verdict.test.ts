/**
 * The failure path of `npm run validate`, on real `terraform validate -json` output recorded with
 * azurerm 4.55.0 and azapi 2.12.0 (`fixtures/`): the default stack, and the same stack with a custom
 * table column typed `datetime` and a DMS body property Azure does not define.
 */
import { groupByProviderSet, judge, providerSetKey } from '../../scripts/validate-verdict';
import { recordedValidateOutput, variantNamed as canary } from './validate-output';

const VALID = recordedValidateOutput('validate-valid');
const TWO_ERRORS = recordedValidateOutput('validate-two-errors');

describe('npm run validate: judging one stack', () => {
  it('passes a stack the providers found valid', () => {
    expect(judge({}, VALID)).toEqual({ ok: true, outcome: 'valid', problems: [], acceptedWarnings: [] });
  });

  it("fails a stack with errors and reports each with the provider's message and where it is", () => {
    const verdict = judge({}, TWO_ERRORS);
    expect(verdict.ok).toBe(false);
    expect(verdict.outcome).toBe('2 errors, 0 unlisted warnings');
    expect(verdict.problems).toEqual([
      expect.stringMatching(/^error: Invalid configuration \(azapi_resource\.MigrationService_[0-9A-F]+\)\nembedded schema validation failed: the argument "body" is invalid:\n`properties\.notAProperty` is not expected here/),
      expect.stringMatching(
        /^error: expected column\.0\.type to be one of \["boolean" "dateTime" .*\], got datetime \(azurerm_log_analytics_workspace_table_custom_log\.Monitoring_EventsTable_[0-9A-F]+\)\nline \d+: "type": "datetime"$/,
      ),
    ]);
  });

  it('fails a stack with a warning nobody listed, and passes it once the warning is accepted with a reason', () => {
    const warning = { severity: 'warning' as const, summary: 'Argument is deprecated', detail: 'use x instead' };
    const output = { valid: true, error_count: 0, warning_count: 1, diagnostics: [warning] };
    expect(judge({}, output, [])).toMatchObject({ ok: false, outcome: '0 errors, 1 unlisted warning', problems: ['warning: Argument is deprecated\nuse x instead'] });
    const accepted = { summary: /^Argument is deprecated$/, reason: 'kept until azurerm 5' };
    expect(judge({}, output, [accepted])).toEqual({ ok: true, outcome: 'valid', problems: [], acceptedWarnings: [accepted] });
  });

  it.each([
    ['custom table column typed', 'expected column.0.type to be one of'],
    ['AzAPI schema validation', 'Invalid configuration: embedded schema validation failed'],
  ])('passes the canary "%s" only when the provider reports what it breaks', (pattern, message) => {
    const verdict = judge(canary(pattern), TWO_ERRORS);
    expect(verdict.ok).toBe(true);
    expect(verdict.outcome).toContain(`failed as it must: ${message}`);
  });

  it('fails a canary that validates clean: the check could not have failed', () => {
    expect(judge(canary('custom table column typed'), VALID)).toMatchObject({
      ok: false,
      outcome: 'validated clean: the providers cannot catch what this canary breaks',
    });
  });

  it('fails a canary that fails for another reason, showing that reason', () => {
    const other = { ...TWO_ERRORS, diagnostics: TWO_ERRORS.diagnostics.slice(0, 1) };
    const verdict = judge(canary('custom table column typed'), other);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems[0]).toMatch(/notAProperty/);
  });
});

describe('npm run validate: provider sets', () => {
  const azure = { azapi: { source: 'Azure/azapi', version: '~> 2.7' }, azurerm: { source: 'azurerm', version: '4.55.0' } };
  const withHelm = { ...azure, helm: { source: 'hashicorp/helm', version: '~> 3.1' } };

  it('share one init when they need the same providers in any order, and get their own otherwise', () => {
    const stacks = [
      { name: 'a', json: { terraform: { required_providers: azure } } },
      { name: 'b', json: { terraform: { required_providers: { azurerm: azure.azurerm, azapi: azure.azapi } } } },
      { name: 'c', json: { terraform: { required_providers: withHelm } } },
    ];
    const groups = groupByProviderSet(stacks);
    expect([...groups.values()].map((members) => members.map((member) => member.name))).toEqual([['a', 'b'], ['c']]);
    expect(providerSetKey(stacks[2].json)).toBe('azapi=Azure/azapi@~> 2.7, azurerm=azurerm@4.55.0, helm=hashicorp/helm@~> 3.1');
  });
});
