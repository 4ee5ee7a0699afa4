import { DataFactoryCustomDataset } from '@cdktf/provider-azurerm/lib/data-factory-custom-dataset';
import { DataFactoryIntegrationRuntimeAzure } from '@cdktf/provider-azurerm/lib/data-factory-integration-runtime-azure';
import { DataFactoryLinkedCustomService } from '@cdktf/provider-azurerm/lib/data-factory-linked-custom-service';
import { DataFactoryManagedPrivateEndpoint } from '@cdktf/provider-azurerm/lib/data-factory-managed-private-endpoint';
import { DataFactoryPipeline } from '@cdktf/provider-azurerm/lib/data-factory-pipeline';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { Annotations, Token } from 'cdktf';
import { Construct } from 'constructs';
import { GrantOptions, IGrantee } from '../core/grants';
import { IDataFactory, IResourceGroup } from '../core/references';
import { MAX_PIPELINE_CONCURRENCY } from '../plan/rules';
import { TargetKind } from '../plan/types';
import { checkNoDoubleHyphen, resourceName, uniqueSuffix } from '../private/naming';
import { namedOutput } from '../private/outputs';
import { moveFromFormerId } from '../private/retired-addresses';
import { assignRole } from '../private/role-assignment';
import { loadSqlPipelinesContract, sqlPipelineDefinitions } from '../private/sql-pipeline-definitions';
import { checkRegion } from '../private/azure-regions';
import { DATA_FACTORY, requireProps, RESOURCE_GROUP, IF_GIVEN } from '../private/prop-checks';
import { sqlVmConnectionStringSecretName } from './secrets-to-set';

/** A linked service, dataset or pipeline as Data Factory's REST API has it (`properties` of the resource). */
export type FactoryResourceJson = Record<string, unknown>;

/** Everything the SQL pipelines need in a factory, by kind and name. */
export interface SqlPipelineDefinitions {
  /** Linked services by name. */
  readonly linkedServices: Readonly<Record<string, FactoryResourceJson>>;
  /** Datasets by name. */
  readonly datasets: Readonly<Record<string, FactoryResourceJson>>;
  /** Pipelines by name. */
  readonly pipelines: Readonly<Record<string, FactoryResourceJson>>;
}

/** azurerm's rule for a Data Factory managed private endpoint's name (validate.DataFactoryManagedPrivateEndpointName). */
const MANAGED_PRIVATE_ENDPOINT_NAME = /^[A-Za-z0-9][-._A-Za-z0-9]{0,78}[_A-Za-z0-9]$/;

/** A migration target the pipelines must reach: the plan's `targetServers[]` fit. */
export interface SqlPipelineTarget {
  /** The plan's name of the target server. */
  readonly name: string;
  /** What the target is: SqlMi and SqlDb are reached through managed private endpoints. */
  readonly kind: TargetKind;
  /** ARM id of the managed instance, logical server or SQL virtual machine. */
  readonly resourceId: string;
}

/** Props of {@link SqlPipelines}. */
export interface SqlPipelinesProps {
  /** Resource group of the factory: the runner role is defined there. */
  readonly resourceGroup: IResourceGroup;
  /** The factory, created with a managed virtual network (`OrchestrationFactory` does). */
  readonly factory: IDataFactory;
  /** Region of the factory: the managed virtual network's integration runtime runs there. */
  readonly location: string;
  /** Self-hosted integration runtime that reaches the source SQL Servers (and SqlVm targets). */
  readonly selfHostedRuntimeName: string;
  /** Key Vault linked service the connection strings are read through. */
  readonly keyVaultLinkedServiceName: string;
  /** The targets: a managed private endpoint for each SqlMi and SqlDb target. */
  readonly targets: readonly SqlPipelineTarget[];
  /** Prefix of the names created here (the plan name); makes the role name unique in the tenant. */
  readonly namePrefix: string;
  /**
   * Most runs of one pipeline at once, 1 to 50 (the plan's `concurrency.maxSqlStepsPerRuntime`); more
   * wait as Queued. Airflow's pools bound the DAG's side.
   * @default 4
   */
  readonly maxRunsPerPipeline?: number;
  /**
   * Retries of a failed activity inside Data Factory, 60 s apart (the statements are idempotent): the
   * default of each run's `activityRetries`. The DAG starts a batch whose timeout is what is left until
   * its deadline (validation's) with 0: a retry would run it again past that deadline.
   * @default 2
   */
  readonly activityRetries?: number;
}

/**
 * Actions of the runner role, from Microsoft's resource provider operations list
 * (Microsoft.DataFactory): start runs of the factory's pipelines, read runs and their activity runs
 * (the DAG call that needs each: `docs/permissions.md`).
 */
const SQL_PIPELINE_RUNNER_ACTIONS = [
  'Microsoft.DataFactory/factories/pipelines/createrun/action',
  'Microsoft.DataFactory/factories/pipelineruns/read',
  'Microsoft.DataFactory/factories/querypipelineruns/action',
  'Microsoft.DataFactory/factories/querypipelineruns/read',
  'Microsoft.DataFactory/factories/pipelineruns/queryactivityruns/action',
  'Microsoft.DataFactory/factories/pipelineruns/queryactivityruns/read',
] as const;

/** Private-link group of each target kind reached through the managed virtual network. */
const PRIVATE_LINK_GROUP: Partial<Record<TargetKind, string>> = { SqlMi: 'managedInstance', SqlDb: 'sqlServer' };

/**
 * The Data Factory side of `airflow.sqlAccess: dataFactory`: the DAG's SQL runs as pipeline runs
 * (Lookup for queries, Script for statements) on a handful of parameterised pipelines, one pair per
 * network route of `contracts/sql_pipelines.json`:
 * - selfHosted: SQL Server sources and SqlVm targets through the self-hosted integration runtime,
 *   the connection string read from Key Vault by a secret name given per run;
 * - managedInstance / sqlDatabase: SqlMi and SqlDb targets through managed private endpoints of
 *   the factory's managed virtual network, logged in with the factory's managed identity.
 *
 * Each managed private endpoint must be approved on its target (the target owner's step); the
 * factory's identity needs a login on each target. A SqlVm target is reached like a source: the
 * self-hosted runtime's machines need line of sight to it and its connection string
 * (`<target name>-connection-string`) must be in Key Vault.
 */
export class SqlPipelines extends Construct {
  /** What is deployed, as Data Factory's API has it (linked services, datasets, pipelines). */
  public readonly definitions: SqlPipelineDefinitions;
  /** The Azure integration runtime in the managed virtual network. */
  public readonly managedRuntime: DataFactoryIntegrationRuntimeAzure;
  /** Pipelines by name. */
  public readonly pipelines: Readonly<Record<string, DataFactoryPipeline>>;
  /** Managed private endpoints by target server name (SqlMi and SqlDb targets). */
  public readonly privateEndpoints: Readonly<Record<string, DataFactoryManagedPrivateEndpoint>>;
  /** The custom role that runs the pipelines and reads their runs. */
  public readonly runnerRole: RoleDefinition;
  private readonly factoryId: string;
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: SqlPipelinesProps) {
    requireProps(scope, id, 'SqlPipelines', props, {
      resourceGroup: RESOURCE_GROUP,
      factory: DATA_FACTORY,
      location: 'string',
      selfHostedRuntimeName: 'string',
      keyVaultLinkedServiceName: 'string',
      targets: { each: { name: 'string', kind: 'string', resourceId: 'string' } },
      namePrefix: 'string',
      maxRunsPerPipeline: IF_GIVEN.numberReadAtSynth,
      activityRetries: IF_GIVEN.numberReadAtSynth,
    });
    super(scope, id);
    checkRegion(this, 'location', props.location);
    const concurrency = props.maxRunsPerPipeline ?? 4;
    const activityRetries = props.activityRetries ?? 2;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_PIPELINE_CONCURRENCY) {
      throw new Error(`${this.node.path}: maxRunsPerPipeline must be a whole number from 1 to ${MAX_PIPELINE_CONCURRENCY}, got ${concurrency}`);
    }
    if (!Number.isInteger(activityRetries) || activityRetries < 0) {
      throw new Error(`${this.node.path}: activityRetries must be a whole number of at least 0, got ${activityRetries}`);
    }
    checkNoDoubleHyphen(this, props.namePrefix);
    const contract = loadSqlPipelinesContract();
    this.factoryId = props.factory.id;
    this.namePrefix = props.namePrefix;

    const managedRuntimeName = resourceName('ir', `${props.namePrefix}-vnet`);
    this.managedRuntime = new DataFactoryIntegrationRuntimeAzure(this, 'ManagedRuntime', {
      name: managedRuntimeName,
      dataFactoryId: props.factory.id,
      location: props.location,
      virtualNetworkEnabled: true,
      description: 'Reaches the SqlMi and SqlDb targets through managed private endpoints',
    });

    this.definitions = sqlPipelineDefinitions(contract, {
      selfHostedRuntimeName: props.selfHostedRuntimeName,
      managedRuntimeName,
      keyVaultLinkedServiceName: props.keyVaultLinkedServiceName,
      concurrency,
      activityRetries,
    });

    const linkedServices = Object.entries(this.definitions.linkedServices).map(([name, definition]) => {
      const connectVia = definition.connectVia as { referenceName: string };
      return new DataFactoryLinkedCustomService(this, `LinkedService-${name}`, {
        name,
        dataFactoryId: props.factory.id,
        type: definition.type as string,
        description: definition.description as string,
        typePropertiesJson: JSON.stringify(definition.typeProperties),
        parameters: defaults(definition.parameters),
        integrationRuntime: { name: connectVia.referenceName },
        dependsOn: connectVia.referenceName === managedRuntimeName ? [this.managedRuntime] : [],
      });
    });

    const datasets = Object.entries(this.definitions.datasets).map(([name, definition]) => {
      const link = definition.linkedServiceName as { referenceName: string; parameters: Record<string, string> };
      return new DataFactoryCustomDataset(this, `Dataset-${name}`, {
        name,
        dataFactoryId: props.factory.id,
        type: definition.type as string,
        typePropertiesJson: JSON.stringify(definition.typeProperties),
        parameters: defaults(definition.parameters),
        linkedService: { name: link.referenceName, parameters: link.parameters },
        dependsOn: linkedServices,
      });
    });

    const pipelines: Record<string, DataFactoryPipeline> = {};
    for (const [name, definition] of Object.entries(this.definitions.pipelines)) {
      pipelines[name] = new DataFactoryPipeline(this, `Pipeline-${name}`, {
        name,
        dataFactoryId: props.factory.id,
        description: definition.description as string,
        concurrency: definition.concurrency as number,
        parameters: defaults(definition.parameters),
        activitiesJson: JSON.stringify(definition.activities),
        dependsOn: [...linkedServices, ...datasets],
      });
    }
    this.pipelines = pipelines;

    const endpoints: Record<string, DataFactoryManagedPrivateEndpoint> = {};
    for (const target of props.targets) {
      const group = PRIVATE_LINK_GROUP[target.kind];
      if (group === undefined) {
        Annotations.of(this).addInfo(
          `SqlVm target ${target.name} is reached through the self-hosted integration runtime ` +
            `(its machines need line of sight to the VM; Key Vault secret ${sqlVmConnectionStringSecretName(target.name)})`,
        );
        continue;
      }
      // Keyed by the target's ARM id, not its plan name, and its name kept from creation (ForceNew):
      // a renamed entry keeps its endpoint, and the approval given by hand on the target. The name
      // carries the key too, so a new endpoint never takes the name of one the factory still holds
      // (a renamed entry's `mpe-<old name>`, the endpoint of the server an entry named before):
      // azurerm refuses to create one under a name that exists.
      const idKey = Token.isUnresolved(target.resourceId) ? undefined : uniqueSuffix(target.resourceId.toLowerCase(), 8);
      const key = idKey ?? target.name;
      const name = idKey === undefined ? `mpe-${target.name}` : `mpe-${target.name}-${idKey}`;
      if (!MANAGED_PRIVATE_ENDPOINT_NAME.test(name)) {
        throw new Error(
          `${this.node.path}: target ${JSON.stringify(target.name)} names its managed private endpoint ${JSON.stringify(name)}, ` +
            'which azurerm refuses: at most 80 letters, digits, -, . and _, ending with a letter, digit or _',
        );
      }
      const endpoint = new DataFactoryManagedPrivateEndpoint(this, `PrivateEndpoint-${key}`, {
        name,
        dataFactoryId: props.factory.id,
        targetResourceId: target.resourceId,
        subresourceName: group,
        dependsOn: [this.managedRuntime],
        lifecycle: { ignoreChanges: ['name'] },
      });
      // Earlier versions keyed it by the target's plan name.
      if (key !== target.name) moveFromFormerId(this, `PrivateEndpoint-${target.name}`, endpoint);
      endpoints[target.name] = endpoint;
    }
    this.privateEndpoints = endpoints;
    if (Object.keys(endpoints).length > 0) {
      // What a person approves on each target after the deploy: the endpoint's name as Azure keeps it (ignore_changes).
      namedOutput(this, 'private-endpoints-to-approve', {
        value: Object.fromEntries(
          props.targets
            .filter((target) => endpoints[target.name] !== undefined)
            .map((target) => [target.name, `${endpoints[target.name].name} on ${target.resourceId}`]),
        ),
        description: 'The managed private endpoints to approve, per SqlMi or SqlDb target: "<endpoint name> on <target ARM id>" (docs/sql-logins.md)',
      });
    }

    this.runnerRole = new RoleDefinition(this, 'RunnerRole', {
      name: `Migration SQL Pipeline Runner (${props.namePrefix})`,
      scope: props.resourceGroup.id,
      description: `Starts runs of the SQL pipelines of plan ${props.namePrefix} and reads their runs`,
      permissions: [{ actions: [...SQL_PIPELINE_RUNNER_ACTIONS] }],
      assignableScopes: [props.resourceGroup.id],
    });
  }

  /**
   * Lets `grantee` (the identity Airflow runs as) start pipeline runs and read runs, nothing more:
   * the runner role on the factory, so it covers every pipeline of the factory (these, and any other
   * a team adds to it). `options.id` defaults to `RunnerRunsPipelines`.
   */
  public grantRunPipelines(grantee: IGrantee, options: GrantOptions = {}): RoleAssignment {
    return assignRole(this, options.id ?? 'RunnerRunsPipelines', grantee, {
      resourceId: this.factoryId,
      roleDefinitionId: this.runnerRole.roleDefinitionResourceId,
      description: options.description ?? `Airflow runs the SQL pipelines of plan ${this.namePrefix}`,
    });
  }
}

/** azurerm takes parameters as a map of default values (every parameter a String). */
function defaults(parameters: unknown): Record<string, string> {
  const specifications = (parameters ?? {}) as Record<string, FactoryResourceJson>;
  return Object.fromEntries(Object.entries(specifications).map(([name, spec]) => [name, String(spec.defaultValue ?? '')]));
}
