/**
 * This version's DAG passes run parameters only this version's SQL pipelines define: where the
 * stack deploys the DAG, the step that puts a new DAG in front of Airflow waits for the pipelines,
 * so one apply changes them first (the Kubernetes host's DAG is in the release stack, applied after).
 */
import { join } from 'node:path';
import { loadMigrationPlan } from '../../lib/plan';
import { synthMigrationStack } from '../helpers/migration-stack';
import { resourcesOfType, SynthesizedStack } from '../helpers/test-stack';

const EXAMPLES = join(__dirname, '..', '..', 'examples');

function pipelineAddresses(synth: SynthesizedStack): string[] {
  const names = Object.keys(resourcesOfType(synth, 'azurerm_data_factory_pipeline')).map((id) => `azurerm_data_factory_pipeline.${id}`);
  expect(names.length).toBeGreaterThanOrEqual(2);
  return names;
}

describe('the DAG is deployed after the SQL pipelines it starts runs of', () => {
  it('dataFactory host: the DAG import (airflow/sync) depends on every pipeline', () => {
    const { synth } = synthMigrationStack({ plan: loadMigrationPlan(join(EXAMPLES, 'data-factory-host.yaml')) });
    const imports = Object.values(resourcesOfType(synth, 'azapi_resource_action')).filter((action) => action.action === 'airflow/sync');
    expect(imports).toHaveLength(1);
    expect(imports[0].depends_on).toEqual(expect.arrayContaining(pipelineAddresses(synth)));
  });

  it('fabric host: the upload step depends on every pipeline', () => {
    const { synth } = synthMigrationStack({ plan: loadMigrationPlan(join(EXAMPLES, 'fabric-host.yaml')) });
    const steps = Object.values(resourcesOfType(synth, 'terraform_data')).filter((step) => step.provisioner !== undefined);
    expect(steps).toHaveLength(1);
    expect(steps[0].depends_on).toEqual(expect.arrayContaining(pipelineAddresses(synth)));
  });

  it('external host: every blob of the bundle depends on every pipeline', () => {
    const { synth } = synthMigrationStack({ plan: loadMigrationPlan(join(EXAMPLES, 'external-host.yaml')) });
    const pipelines = pipelineAddresses(synth);
    const blobs = Object.values(resourcesOfType(synth, 'azurerm_storage_blob'));
    expect(blobs.length).toBeGreaterThanOrEqual(4);
    for (const blob of blobs) expect(blob.depends_on).toEqual(expect.arrayContaining(pipelines));
  });
});
