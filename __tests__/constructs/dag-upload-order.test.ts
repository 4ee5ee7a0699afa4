/**
 * First apply: with `storage_use_azuread`, azurerm reads each DAG blob over Entra ID before creating
 * it, so every blob must wait for the deployer's data-plane role and for RBAC to propagate (hosts
 * that read the DAG from storage: an external Airflow here, an existing Data Factory environment).
 */
import { UPLOADER_ROLE_PROPAGATION } from '../../lib/orchestration-factory/dag-storage';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { resourcesOfType } from '../helpers/test-stack';

const { synth } = synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.external) });

describe('DAG upload order', () => {
  const sleeps = Object.entries(resourcesOfType(synth, 'time_sleep'));
  const [uploaderId] = Object.entries(resourcesOfType(synth, 'azurerm_role_assignment')).find(
    ([, assignment]) => assignment.role_definition_name === 'Storage Blob Data Contributor',
  )!;

  it('waits for RBAC propagation after granting the deployer Storage Blob Data Contributor, again for a new assignment', () => {
    expect(sleeps).toHaveLength(1);
    const [, sleep] = sleeps[0];
    expect(sleep.create_duration).toBe(UPLOADER_ROLE_PROPAGATION);
    expect(sleep.depends_on).toEqual([`azurerm_role_assignment.${uploaderId}`]);
    expect(sleep.triggers).toEqual({ role_assignment_id: `\${azurerm_role_assignment.${uploaderId}.id}` });
  });

  it('uploads every blob only after that wait', () => {
    const blobs = Object.values(resourcesOfType(synth, 'azurerm_storage_blob'));
    expect(blobs.length).toBeGreaterThanOrEqual(4);
    for (const blob of blobs) {
      // (and for the SQL pipelines: dag-after-pipelines.test.ts)
      expect(blob.depends_on).toContain(`time_sleep.${sleeps[0][0]}`);
    }
  });

  it('declares hashicorp/time 0.13 once', () => {
    const terraform = synth.terraform as { required_providers: Record<string, { source: string; version: string }> };
    expect(terraform.required_providers.time).toEqual({ source: 'hashicorp/time', version: '~> 0.13' });
    expect(Object.keys(synth.provider ?? {})).toContain('time');
  });
});
