/**
 * Values whose format Azure documents, checked by the plan's schema so that a mistake is named by
 * file, line, column and field at synth, not by Azure at apply; and never a value Azure takes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigrationPlan, MigrationPlanError, type MigrationPlan } from '../../lib/plan';
import { EXAMPLE_PLAN } from './plan-fixtures';

describe("airflow.kubernetes.nodeVmSize (Microsoft's VM size naming convention)", () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'azure-formats-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  /** The example plan with its node size replaced: the plan, or the report of its problems. */
  const withSize = (size: string) => {
    const file = join(folder, 'plan.yaml');
    const text = readFileSync(EXAMPLE_PLAN, 'utf8');
    expect(text).toContain('    nodeVmSize: Standard_D4ds_v5\n');
    writeFileSync(file, text.replace('nodeVmSize: Standard_D4ds_v5', `nodeVmSize: ${size}`));
    try {
      return { plan: loadMigrationPlan(file), file, line: text.split('\n').findIndex((l) => l.includes('nodeVmSize')) + 1 };
    } catch (error) {
      if (!(error instanceof MigrationPlanError)) throw error;
      return { report: error.report(), file, line: text.split('\n').findIndex((l) => l.includes('nodeVmSize')) + 1 };
    }
  };

  const nodeVmSizeOf = (plan: MigrationPlan | undefined) => (plan?.airflow.host === 'kubernetes' ? plan.airflow.kubernetes.nodeVmSize : undefined);

  it.each(['Standard_E4-2ds_v5', 'Standard_DS11-1_v2', 'Standard_M64-32ms'])('takes %s (a constrained vCPU size names its active vCPUs after a hyphen; was refused)', (size) => {
    expect(nodeVmSizeOf(withSize(size).plan)).toBe(size);
  });

  it.each(['Standard_D4ds_v5', 'Standard_ND96isr_H100_v5', 'Standard_A2_v2'])('takes %s', (size) => {
    expect(nodeVmSizeOf(withSize(size).plan)).toBe(size);
  });

  it.each(['D4ds_v5', 'Standard D4ds_v5', 'Standard_-D4', 'Standard_D4ds.v5'])('refuses "%s" by file, line, column and field', (size) => {
    const { report, file, line } = withSize(size);
    expect(report).toContain(`${file}:${line}:5 airflow.kubernetes.nodeVmSize: must be an Azure VM size such as Standard_D4ds_v5`);
  });
});
