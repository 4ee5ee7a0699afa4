/**
 * Every kind of alert the facade makes, built-in and custom, under `terraform validate` with the
 * real azurerm provider (what `npm run validate` does for whole stacks, here for the alert shapes
 * a stack makes only when asked). Skipped without Terraform and the offline provider mirror.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { repoRoot } from '../../scripts/repo-root';
import { describeDiagnostic, initialize, providerSource, sharedProviderFolders, validate, ValidateOutput } from '../../scripts/validate-terraform';
import { DAG_STORAGE_ACCOUNT_ID, FACTORY, monitoring, PIPELINE_FAILURES_ALERT } from './monitoring-test-stack';

const mirrorAvailable =
  spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0 &&
  sharedProviderFolders(repoRoot()).some((folder) => existsSync(join(folder, 'install.sh')));
const describeWithTerraform = mirrorAvailable ? describe : describe.skip;

/** A folder holding the synthesized stack with every alert kind. */
function synthesizedFolder(): string {
  const { stack, monitoring: construct } = monitoring();
  construct
    .monitorMigrationEvents({ migrationStalledAlert: {} })
    .monitorDataFactory(
      { ...FACTORY, dagStorageAccountId: DAG_STORAGE_ACCOUNT_ID },
      { selfHostedIntegrationRuntimeName: 'shir-contoso-sql', airflowIntegrationRuntimeName: 'airflow-contoso-sql' },
    )
    .monitorCustom({
      'slow-steps': {
        kind: 'log',
        severity: 3,
        description: 'Steps slower than an hour on average.',
        query: 'MigrationEvents_CL | where Status == "Succeeded" | summarize Seconds = avg(DurationSeconds) by Database',
        timeAggregationMethod: 'Average',
        metricMeasureColumn: 'Seconds',
        threshold: 3600,
        dimensions: [{ name: 'Database', operator: 'Include', values: ['*'] }],
        evaluationFrequencyMinutes: 60,
        windowMinutes: 1440,
      },
      'pipeline-failures': PIPELINE_FAILURES_ALERT,
    });
  return join(Testing.fullSynth(stack), 'stacks', 'test');
}

function validated(folder: string, edit?: (json: any) => void): ValidateOutput {
  const file = join(folder, 'cdk.tf.json');
  if (edit) {
    const json = JSON.parse(readFileSync(file, 'utf8'));
    edit(json);
    writeFileSync(file, JSON.stringify(json));
  }
  const { env } = providerSource(repoRoot());
  initialize(folder, env);
  return validate(folder, env);
}

describeWithTerraform('monitoring alerts under terraform validate (azurerm 4.55)', () => {
  jest.setTimeout(180_000);

  it('are valid: built-in, stalled and custom, log and metric', () => {
    const result = validated(synthesizedFolder());
    expect(result.diagnostics).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('really judges them: a custom metric alert evaluated every 7 minutes is an error', () => {
    const result = validated(synthesizedFolder(), (json) => {
      for (const alert of Object.values<any>(json.resource.azurerm_monitor_metric_alert)) {
        if (alert.name === 'alert-contoso-sql-pipeline-failures') alert.frequency = 'PT7M';
      }
    });
    expect(result.valid).toBe(false);
    expect(result.diagnostics.map(describeDiagnostic)).toEqual([expect.stringMatching(/frequency.*PT7M|PT7M.*frequency/s)]);
  });
});
