/**
 * A team's own cdktf app that uses the published package the way its README says: by package
 * name, with its own plan, from its own working directory. `scripts/consumer-test.sh` installs the
 * packed tarball beside the peer dependencies, type-checks and runs this, then checks the stacks
 * with `check-synth.js`.
 */
import { dirname, join } from 'node:path';
import { DataAzurermLogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/data-azurerm-log-analytics-workspace';
import { DataAzurermResourceGroup } from '@cdktf/provider-azurerm/lib/data-azurerm-resource-group';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import {
  acknowledgeWarnings,
  AzapiProvider,
  DatabaseMigrationStack,
  dagBundleFor,
  dagEnvironment,
  ExternalAirflowHost,
  grantReadSecrets,
  loadMigrationPlan,
  MigrationMonitoring,
  MigrationPlan,
  MigrationPlanError,
  MigrationService,
  OrchestrationFactory,
  SqlPipelines,
  airflowPools,
} from '@platform/azure-db-migration';
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

/** Name of the second stack, where the constructs are used one by one. */
const STANDALONE_STACK = 'shared-tooling';

/**
 * The constructs on their own, in a stack the team writes: an existing resource group and an
 * existing Log Analytics workspace (looked up, never created), the migration service, monitoring,
 * the orchestration factory, the SQL pipelines the DAG runs there (the plan's `sqlAccess` is
 * dataFactory) and an external Airflow host (the team's own Airflow) wired by hand.
 */
class SharedMigrationTooling extends TerraformStack {
  public readonly factory: OrchestrationFactory;
  public readonly host: ExternalAirflowHost;
  public readonly sqlPipelines: SqlPipelines;

  constructor(scope: Construct, id: string, plan: MigrationPlan) {
    super(scope, id);
    new AzurermProvider(this, 'azurerm', { features: [{}], storageUseAzuread: true });
    new AzapiProvider(this, 'azapi');

    const resourceGroup = new DataAzurermResourceGroup(this, 'SharedResourceGroup', { name: 'rg-shared-migration' });
    const workspace = new DataAzurermLogAnalyticsWorkspace(this, 'SharedWorkspace', {
      name: 'log-shared-platform',
      resourceGroupName: resourceGroup.name,
    });

    const migrationService = new MigrationService(this, 'Dms', {
      resourceGroup,
      namePrefix: plan.name,
      tags: { ...plan.tags, scope: 'shared' },
      exportAuthKeys: false,
    });
    const monitoring = new MigrationMonitoring(this, 'Monitoring', {
      resourceGroup,
      namePrefix: plan.name,
      workspace,
      location: plan.location,
      emails: plan.notifications.emails,
    }).monitorMigrationEvents({ longRunningMinutes: plan.notifications.longRunningMinutes });

    this.factory = new OrchestrationFactory(this, 'Orchestration', { resourceGroup, plan, preventDestroy: false });
    // Meant on purpose, with the reason: an info naming the id instead of a warning (docs/warnings.md).
    acknowledgeWarnings(this.factory, { 'migration:secure-default:preventDestroy': 'shared tooling of a test subscription, rebuilt on demand' });
    this.host = new ExternalAirflowHost(this, 'TeamAirflow', {
      resourceGroup,
      namePrefix: plan.name,
      location: plan.location,
      bundle: dagBundleFor(plan),
      environment: dagEnvironment({
        planName: plan.name,
        tenantId: '00000000-0000-0000-0000-00000000aaaa',
        subscriptionId: '00000000-0000-0000-0000-00000000bbbb',
        migrationService,
        eventIngestion: monitoring.eventIngestion,
        keyVault: this.factory.keyVault,
        // plan.yaml's sqlAccess is dataFactory: the DAG runs its SQL steps as this factory's pipelines.
        dataFactory: this.factory,
      }),
      keyVault: this.factory.keyVault,
      pools: airflowPools(plan.concurrency),
    });
    // The pipelines the DAG's SQL steps run in that factory (without them the synth stops).
    this.sqlPipelines = new SqlPipelines(this, 'SqlPipelines', {
      resourceGroup,
      factory: this.factory,
      location: plan.location,
      selfHostedRuntimeName: this.factory.selfHostedRuntime.name,
      keyVaultLinkedServiceName: this.factory.keyVaultLinkedServiceName,
      targets: plan.targetServers,
      namePrefix: plan.name,
      maxRunsPerPipeline: plan.concurrency.maxSqlStepsPerRuntime,
    });
    this.sqlPipelines.grantRunPipelines(this.host.identity);
    monitoring.grantPublishEvents(this.host.identity, { id: 'TeamAirflowPublishes' });
    // Airflow's secrets backend reads the migration's connections from the factory's vault.
    grantReadSecrets(this, this.factory.keyVault, this.host.identity, { id: 'TeamAirflowReadsSecrets' });
    monitoring.monitorDataFactory(this.factory, { dagStorageAccountId: this.host.dagStorageAccountId });

    new TerraformOutput(this, 'migration_service_id', { value: migrationService.id });
    new TerraformOutput(this, 'factory_name', { value: this.factory.name });
  }
}

function loadPlan(path: string): MigrationPlan {
  try {
    return loadMigrationPlan(path);
  } catch (error) {
    if (error instanceof MigrationPlanError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const plan = loadPlan(process.env.MIGRATION_PLAN ?? 'plan.yaml');
const app = new App();
const stack = new DatabaseMigrationStack(app, plan.name, {
  plan,
  preventDestroy: false,
  acknowledgeWarnings: { 'migration:secure-default:preventDestroy': 'a consumer test environment, destroyed after each run' },
});
const shared = new SharedMigrationTooling(app, STANDALONE_STACK, plan);
// The Fabric host stages the installed uploader and DAG files as assets beside its stack.
const fabricPlan = loadPlan(join(dirname(require.resolve('@platform/azure-db-migration/package.json')), 'examples', 'fabric-host.yaml'));
new DatabaseMigrationStack(app, fabricPlan.name, { plan: fabricPlan, preventDestroy: false });
app.synth();

// Typed attributes a consumer builds on.
const host: string = stack.airflowHost.kind;
const releaseStacks: string[] = stack.releaseStacks.map((release) => release.node.id);
const sharedUploaded: number = shared.host.dagStorage.storage.blobs.length;
const sharedPipelines: string[] = Object.keys(shared.sqlPipelines.pipelines);
process.stdout.write(
  `consumer app: synthesized ${plan.name} (${plan.databases.length} databases, ${host} host, then ${releaseStacks.join(', ')}) and ` +
    `${STANDALONE_STACK} (${sharedUploaded} DAG blobs, ${sharedPipelines.length} SQL pipelines) and ${fabricPlan.name} (Fabric host) into ${app.outdir}\n`,
);
