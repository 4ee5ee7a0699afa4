import { TerraformResource } from 'cdktf';
import { IConstruct } from 'constructs';
import { asWritten, certainlyDiffer } from './as-written';
import type { SqlPipelinesContract } from './sql-pipeline-definitions';
import { warn } from '../core/warnings';

/** Blob name of the contract that names the pipelines the bundle's DAG runs (`sqlAccess: dataFactory`). */
export const SQL_PIPELINES_CONTRACT_BLOB_NAME = 'dags/migration_orchestration_lib/contracts/sql_pipelines.json';

/** The pipelines a DAG runs, by name, from its bundle's contract. */
export function pipelinesOfContract(contractText: string): string[] {
  const { routes } = JSON.parse(contractText) as SqlPipelinesContract;
  return Object.values(routes).flatMap((route) => [route.query.pipeline, ...(route.statement ? [route.statement.pipeline] : [])]);
}

/**
 * At synth, once the whole app is built: with `sqlAccess: dataFactory` the DAG's SQL steps start
 * runs of `pipelines` in the factory `factoryId` (`MIGRATION_DATA_FACTORY_ID`), and fail at run
 * time where they do not exist. An app that creates that factory must deploy them too
 * (`SqlPipelines`): an error otherwise. On a factory it only refers to (an id, a lookup) another
 * deployment may have put them there, and pipelines the app deploys on a factory it refers to
 * otherwise may be on that one: a warning.
 */
export function checkSqlPipelinesAtSynth(host: IConstruct, factoryId: string, pipelines: readonly string[]): void {
  host.node.addValidation({
    validate: () => {
      // Both sides as Terraform writes them, each reference in its own stack: the same factory, however and wherever referred to.
      const resolve = (value: unknown): unknown => asWritten(host, value);
      const factory = resolve(factoryId);
      const resources = host.node.root.node.findAll().filter(TerraformResource.isTerraformResource);
      const deployed = resources
        .filter((resource) => resource.terraformResourceType === 'azurerm_data_factory_pipeline')
        .map((resource) => configOf(resource))
        .map((config) => ({ name: config.name, factory: resolve(config.data_factory_id) }));
      const missing = pipelines.filter((name) => !deployed.some((pipeline) => pipeline.name === name && pipeline.factory === factory));
      if (missing.length === 0) return [];
      const problem =
        `the bundle's plan has airflow.sqlAccess dataFactory, so the DAG's SQL steps run pipelines ${missing.join(', ')} ` +
        'in the factory of environment.MIGRATION_DATA_FACTORY_ID, and this app deploys none of them there: ' +
        'those steps would fail at run time; add new SqlPipelines(...) on that factory and grantRunPipelines(<this host>.identity)';
      const created = resources.some(
        (resource) => resource.terraformResourceType === 'azurerm_data_factory' && resolve(resource.getStringAttribute('id')) === factory,
      );
      // Pipelines of those names on a factory referred to otherwise (an id, a lookup) may be on that one.
      const elsewhere = deployed.some((pipeline) => missing.includes(pipeline.name as string) && !certainlyDiffer(pipeline.factory, factory));
      if (created && !elsewhere) return [problem];
      const unless = created ? 'the factory this app deploys them on by an id or a lookup is that one' : 'another deployment puts them in that existing factory';
      warn(host, 'migration:data-factory:sql-pipelines-elsewhere', `${problem}, unless ${unless}`);
      return [];
    },
  });
}

/** A resource's arguments as it synthesizes them (overrides applied), before references resolve. */
function configOf(resource: TerraformResource): Record<string, unknown> {
  const document = resource.toTerraform() as { resource: Record<string, Record<string, Record<string, unknown>>> };
  return Object.values(document.resource[resource.terraformResourceType])[0];
}
