import { loadSqlPipelinesContract, sqlPipelineDefinitions } from '../../lib/private/sql-pipeline-definitions';
import { dataFactorySchema, definitionValidator } from '../helpers/data-factory-schema';

const schema = dataFactorySchema();
const validatePipeline = definitionValidator(schema, 'Pipeline');
const definitions = sqlPipelineDefinitions(loadSqlPipelinesContract(), {
  selfHostedRuntimeName: 'shir-contoso-sql',
  managedRuntimeName: 'ir-contoso-sql-vnet',
  keyVaultLinkedServiceName: 'ls_key_vault',
  concurrency: 4,
  activityRetries: 2,
});
const lookup = (definitions.pipelines.migration_sql_query_self_hosted.activities as any[])[0];
const script = (definitions.pipelines.migration_sql_statement_self_hosted.activities as any[])[0];

/** The pipeline with its only activity changed. */
function withActivity(change: (activity: any) => void, from: any = lookup): unknown {
  const activity = structuredClone(from);
  change(activity);
  return { ...definitions.pipelines.migration_sql_query_self_hosted, activities: [activity] };
}

describe("the SQL pipelines against Data Factory's published schema (2018-06-01)", () => {
  test.each(Object.keys(definitions.pipelines))('pipeline %s is valid', (name) => {
    expect(validatePipeline(definitions.pipelines[name])).toEqual([]);
  });

  test('only the two definitions the pipelines never use are missing from the vendored subset', () => {
    expect(schema.unresolved).toEqual(['LogLocationSettings', 'StoredProcedureParameter']);
  });

  test.each([
    ['an activity type Data Factory does not have', (a: any) => (a.type = 'SqlQuery'), lookup, '/activities/0/type: must be equal to one of the allowed values'],
    ['a Lookup without its dataset', (a: any) => delete a.typeProperties.dataset, lookup, "/activities/0/typeProperties: must have required property 'dataset'"],
    ['a Lookup whose source has no type', (a: any) => delete a.typeProperties.source.type, lookup, "/activities/0/typeProperties/source: must have required property 'type'"],
    ['a dataset reference of the wrong kind', (a: any) => (a.typeProperties.dataset.type = 'LinkedServiceReference'), lookup, '/activities/0/typeProperties/dataset/type: must be equal to one of the allowed values'],
    ['a retry interval under 30 seconds', (a: any) => (a.policy.retryIntervalInSeconds = 5), lookup, '/activities/0/policy/retryIntervalInSeconds: must be >= 30'],
    ['a script block of an unknown type', (a: any) => (a.typeProperties.scripts[0].type = 'Statement'), script, '/activities/0/typeProperties/scripts/0/type: must be equal to one of the allowed values'],
    ['a Script activity without a linked service', (a: any) => delete a.linkedServiceName, script, "/activities/0: must have required property 'linkedServiceName'"],
  ])('a planted bad activity fails: %s', (_what, change, from, error) => {
    expect(validatePipeline(withActivity(change, from))).toContain(error);
  });

  test('a pipeline parameter of an unknown type fails', () => {
    const bad = { ...definitions.pipelines.migration_sql_query_self_hosted, parameters: { sql: { type: 'Text' } } };
    expect(validatePipeline(bad)).toContain('/parameters/sql/type: must be equal to one of the allowed values');
  });
});
