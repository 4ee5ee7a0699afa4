import type { FactoryResourceJson, SqlPipelineDefinitions } from '../orchestration-factory/sql-pipelines';
import { readContract } from './package-root';

/** A network path from Data Factory to SQL Server. */
export type SqlRouteName = 'selfHosted' | 'managedInstance' | 'sqlDatabase';

/** One pipeline of a route and the name of its only activity. */
export interface SqlPipelineStep {
  /** Pipeline name. */
  readonly pipeline: string;
  /** Name of its only activity (the DAG reads that activity's output). */
  readonly activity: string;
}

/** A route of the contract: its linked service, dataset and pipelines. */
export interface SqlRouteContract {
  /** What the route reaches, and how. */
  readonly description: string;
  /** Name of the route's parameterised linked service. */
  readonly linkedService: string;
  /** Its Data Factory type. */
  readonly linkedServiceType: 'SqlServer' | 'AzureSqlMI' | 'AzureSqlDatabase';
  /** Its parameters (name to meaning); every pipeline of the route takes them too. */
  readonly linkedServiceParameters: Readonly<Record<string, string>>;
  /** Name of the dataset the Lookup reads through. */
  readonly dataset: string;
  /** The query pipeline (a Lookup activity). */
  readonly query: SqlPipelineStep;
  /** The statement pipeline (a Script activity), on routes that take statements. @default - none */
  readonly statement?: SqlPipelineStep;
}

/** `dags/migration_orchestration_lib/contracts/sql_pipelines.json`. */
export interface SqlPipelinesContract {
  /** Data Factory REST API version the DAG calls. */
  readonly apiVersion: string;
  /** Parameters of every run (name to meaning). */
  readonly runParameters: Readonly<Record<string, string>>;
  /** The routes by name. */
  readonly routes: Readonly<Record<SqlRouteName, SqlRouteContract>>;
}

/** Names the definitions refer to that the stack decides. */
export interface SqlPipelineDefinitionOptions {
  /** The self-hosted integration runtime (sources, SqlVm targets). */
  readonly selfHostedRuntimeName: string;
  /** The Azure integration runtime in the managed virtual network (SqlMi, SqlDb targets). */
  readonly managedRuntimeName: string;
  /** The Key Vault linked service the connection strings are read through. */
  readonly keyVaultLinkedServiceName: string;
  /** Most runs of one pipeline at once; more wait as Queued. */
  readonly concurrency: number;
  /** Retries of a failed activity inside Data Factory (the statements are idempotent), unless a run names its own. */
  readonly activityRetries: number;
}

const ROUTES: readonly SqlRouteName[] = ['selfHosted', 'managedInstance', 'sqlDatabase'];
const DATASET_TYPE: Record<SqlRouteName, { dataset: string; source: string }> = {
  selfHosted: { dataset: 'SqlServerTable', source: 'SqlServerSource' },
  managedInstance: { dataset: 'AzureSqlMITable', source: 'SqlMISource' },
  sqlDatabase: { dataset: 'AzureSqlTable', source: 'AzureSqlSource' },
};
/**
 * The SQL command's timeout (the DAG's, down to its deadline) and the activity's (at least Data Factory's
 * 10-minute minimum), with what a run that names none gets. A run asks for its own; a DAG older than
 * `activityTimeout` names only `timeout`, up to the 7 days of `timeoutMinutes`' maximum: the activity's
 * default is that, Data Factory's documented default for an activity, so it never ends the activity first.
 */
const TIMEOUT_DEFAULTS = { timeout: '0.12:00:00', activityTimeout: '7.00:00:00' } as const;
const TIMEOUT_PARAMETERS = Object.keys(TIMEOUT_DEFAULTS) as (keyof typeof TIMEOUT_DEFAULTS)[];
/**
 * The activity's retries (its policy's `retry`): `activityRetries` unless the run names its own. Each retry runs the
 * batch again for its whole `timeout`, so a batch whose timeout is what is left until its deadline is started with 0.
 */
const RETRIES_PARAMETER = 'activityRetries';
const RUN_PARAMETERS_NEEDED = [...TIMEOUT_PARAMETERS, RETRIES_PARAMETER];
const RETRY_INTERVAL_SECONDS = 60;

/** Reads the contract shipped with the DAG, refusing a file that lacks what the construct needs. */
export function loadSqlPipelinesContract(packageRoot?: string): SqlPipelinesContract {
  const { path, document: read } = readContract('sql_pipelines.json', packageRoot);
  const document = read as SqlPipelinesContract;
  const problems: string[] = [];
  for (const route of ROUTES) {
    const entry = document.routes?.[route];
    if (!entry?.linkedService || !entry.dataset || !entry.query?.pipeline || !entry.linkedServiceParameters) {
      problems.push(`routes.${route}: needs linkedService, linkedServiceParameters, dataset and query`);
    }
  }
  const missingParameters = RUN_PARAMETERS_NEEDED.filter((name) => !document.runParameters?.[name]);
  if (missingParameters.length > 0) {
    problems.push(`runParameters: needs ${missingParameters.join(' and ')}`);
  }
  if (problems.length > 0) {
    throw new Error(`${path}: ${problems.join('; ')}`);
  }
  return document;
}

/**
 * The linked services, datasets and pipelines of every route, as Data Factory's API has them.
 * Parameters are strings with a default, as the azurerm resources create them (they take a
 * `parameters` map of default values).
 */
export function sqlPipelineDefinitions(contract: SqlPipelinesContract, options: SqlPipelineDefinitionOptions): SqlPipelineDefinitions {
  const linkedServices: Record<string, FactoryResourceJson> = {};
  const datasets: Record<string, FactoryResourceJson> = {};
  const pipelines: Record<string, FactoryResourceJson> = {};
  for (const route of ROUTES) {
    const entry = contract.routes[route];
    const names = Object.keys(entry.linkedServiceParameters);
    linkedServices[entry.linkedService] = {
      type: entry.linkedServiceType,
      description: entry.description,
      connectVia: reference(route === 'selfHosted' ? options.selfHostedRuntimeName : options.managedRuntimeName, 'IntegrationRuntimeReference'),
      parameters: stringParameters(names),
      typeProperties: linkedServiceProperties(route, options.keyVaultLinkedServiceName),
    };
    datasets[entry.dataset] = {
      type: DATASET_TYPE[route].dataset,
      linkedServiceName: reference(entry.linkedService, 'LinkedServiceReference', mapNames(names, (n) => `@dataset().${n}`)),
      parameters: stringParameters(names),
      typeProperties: {},
    };
    const parameters = { ...stringParameters(Object.keys(contract.runParameters)), ...stringParameters(names) };
    for (const name of TIMEOUT_PARAMETERS) {
      (parameters[name] as Record<string, unknown>).defaultValue = TIMEOUT_DEFAULTS[name];
    }
    (parameters[RETRIES_PARAMETER] as Record<string, unknown>).defaultValue = String(options.activityRetries);
    const fromPipeline = mapNames(names, (n) => expression(`@pipeline().parameters.${n}`));
    pipelines[entry.query.pipeline] = pipeline(contract, entry.query, parameters, options, {
      type: 'Lookup',
      typeProperties: {
        source: {
          type: DATASET_TYPE[route].source,
          sqlReaderQuery: expression('@pipeline().parameters.sql'),
          queryTimeout: expression('@pipeline().parameters.timeout'),
        },
        dataset: reference(entry.dataset, 'DatasetReference', fromPipeline),
        firstRowOnly: false,
      },
    });
    if (entry.statement) {
      pipelines[entry.statement.pipeline] = pipeline(contract, entry.statement, parameters, options, {
        type: 'Script',
        linkedServiceName: reference(entry.linkedService, 'LinkedServiceReference', fromPipeline),
        // "Query" blocks return their result sets: the statements end with a SELECT of their outcome.
        typeProperties: {
          scripts: [{ type: 'Query', text: expression('@pipeline().parameters.sql') }],
          // Else the script block ends at Data Factory's own default, whatever the run asked for.
          scriptBlockExecutionTimeout: expression('@pipeline().parameters.timeout'),
        },
      });
    }
  }
  return { linkedServices, datasets, pipelines };
}

function pipeline(
  contract: SqlPipelinesContract,
  step: SqlPipelineStep,
  parameters: Record<string, unknown>,
  options: SqlPipelineDefinitionOptions,
  activity: Record<string, unknown>,
): FactoryResourceJson {
  return {
    description: `Runs one SQL batch of the migration DAG (${Object.keys(contract.runParameters).join(', ')} and the linked service's arguments)`,
    parameters,
    concurrency: options.concurrency,
    activities: [
      {
        name: step.activity,
        ...activity,
        policy: {
          timeout: expression('@pipeline().parameters.activityTimeout'),
          // Pipeline parameters are strings (azurerm's `parameters` map); `retry` takes an integer expression.
          retry: expression(`@int(pipeline().parameters.${RETRIES_PARAMETER})`),
          retryIntervalInSeconds: RETRY_INTERVAL_SECONDS,
          secureInput: false,
          secureOutput: false,
        },
      },
    ],
  };
}

function linkedServiceProperties(route: SqlRouteName, keyVaultLinkedServiceName: string): Record<string, unknown> {
  if (route === 'selfHosted') {
    // "parameterize the Secret Name" (Microsoft Learn, "Parameterize linked services"): one linked
    // service for every server, its connection string read from Key Vault per run.
    return {
      connectionString: {
        type: 'AzureKeyVaultSecret',
        store: reference(keyVaultLinkedServiceName, 'LinkedServiceReference'),
        secretName: '@{linkedService().connectionStringSecretName}',
      },
    };
  }
  return {
    server: '@{linkedService().serverName}',
    database: '@{linkedService().databaseName}',
    encrypt: 'mandatory',
    trustServerCertificate: false,
    authenticationType: 'SystemAssignedManagedIdentity',
  };
}

function reference(referenceName: string, type: string, parameters?: Record<string, unknown>): Record<string, unknown> {
  return parameters ? { referenceName, type, parameters } : { referenceName, type };
}

function expression(value: string): Record<string, string> {
  return { value, type: 'Expression' };
}

function stringParameters(names: readonly string[]): Record<string, unknown> {
  return mapNames(names, () => ({ type: 'String', defaultValue: '' }));
}

function mapNames<T>(names: readonly string[], value: (name: string) => T): Record<string, T> {
  return Object.fromEntries(names.map((name) => [name, value(name)]));
}
