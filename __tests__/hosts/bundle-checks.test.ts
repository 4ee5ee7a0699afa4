/**
 * A host composed by hand gets a bundle and an environment that must agree (the plan, its SQL access,
 * its host): a disagreement stops the synth instead of failing only in Airflow after deploy.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, ref, TerraformStack, Testing, Token } from 'cdktf';
import { invokeAspects } from 'cdktf/lib/synthesize/synthesizer';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { DataAzurermDataFactory } from '@cdktf/provider-azurerm/lib/data-azurerm-data-factory';
import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { DataAzurermKeyVault } from '@cdktf/provider-azurerm/lib/data-azurerm-key-vault';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { AzapiProvider } from '../../lib/azapi/provider';
import type { IDataFactory } from '../../lib/core/references';
import { dagEnvironment } from '../../lib/hosts/dag-environment';
import type { AirflowPool } from '../../lib/hosts/airflow-host';
import { airflowPools } from '../../lib/hosts/airflow-pools';
import { ExternalAirflowHost } from '../../lib/hosts/external-host';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { SqlPipelines } from '../../lib/orchestration-factory/sql-pipelines';
import { DataFactoryAirflowHost } from '../../lib/hosts/data-factory-host';
import { MigrationMonitoring } from '../../lib/monitoring/migration-monitoring';
import { DagBundle, dagBundleFor } from '../../lib/orchestration-factory/dag-bundle';
import { loadMigrationPlan, MigrationPlan } from '../../lib/plan';
import { BUNDLE_MANIFEST_BLOB_NAME, PLAN_BLOB_NAME } from '../../lib/private/dag-bundle-loader';
import { ENVIRONMENT, ENVIRONMENT_ID, hostBaseProps, KEY_VAULT, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { deepFreeze } from '../../lib/private/deep-freeze';
import { AIRFLOW_OF_HOST, examplePlanWith } from '../helpers/migration-stack';
import { testStack, warningsOf } from '../helpers/test-stack';
import { fabricBundle, fabricHostStack } from './fabric-test-stack';
import { kubernetesHost } from './kubernetes-test-stack';

const FACTORY_ID = ENVIRONMENT_ID.split('/integrationRuntimes/')[0];
const EXAMPLES = join(__dirname, '..', '..', 'examples');

/** The plans the tests give hosts, each parsed once (a plan is deep-frozen). */
const PLAN = {
  /** The default plan, on the Kubernetes host. */
  kubernetes: examplePlanWith(AIRFLOW_OF_HOST.kubernetes),
  kubernetesDirect: examplePlanWith({ sqlAccess: 'direct' }),
  dataFactory: examplePlanWith(AIRFLOW_OF_HOST.dataFactory),
  fabric: examplePlanWith(AIRFLOW_OF_HOST.fabric),
  /** An external Airflow running SQL through Data Factory (sqlAccess dataFactory). */
  external: examplePlanWith(AIRFLOW_OF_HOST.external),
  externalDirect: examplePlanWith({ host: 'external', sqlAccess: 'direct' }),
};

const BUNDLES = new Map<MigrationPlan, DagBundle>();

/** dagBundleFor(plan), loaded once per plan and frozen: a test that edits a bundle copies it. */
function bundleOf(plan: MigrationPlan): DagBundle {
  const bundle = BUNDLES.get(plan) ?? deepFreeze(dagBundleFor(plan));
  BUNDLES.set(plan, bundle);
  return bundle;
}

function external(plan: MigrationPlan, environment: Record<string, string>) {
  const { stack, resourceGroup } = testStack();
  return new ExternalAirflowHost(stack, 'TeamAirflow', { ...hostBaseProps(resourceGroup), bundle: bundleOf(plan), environment });
}

function adopted(plan: MigrationPlan, environment: Record<string, string>, bundle: DagBundle = bundleOf(plan)) {
  const { stack, resourceGroup } = testStack();
  const monitoring = new MigrationMonitoring(stack, 'Monitoring', { resourceGroup, namePrefix: 'contoso-sql', emails: ['dba@contoso.example'] });
  return new DataFactoryAirflowHost(stack, 'AirflowHost', {
    ...hostBaseProps(resourceGroup),
    bundle,
    environment,
    environmentId: ENVIRONMENT_ID,
    servicePrincipal: SERVICE_PRINCIPAL,
    monitoring,
  });
}

/** Another stack of `app`, with both providers. */
function secondStack(app: App, id: string): TerraformStack {
  const stack = new TerraformStack(app, id);
  new AzurermProvider(stack, 'azurerm', { features: [{}] });
  new AzapiProvider(stack, 'azapi');
  return stack;
}

/** The SQL pipelines of a plan without targets, in `scope`, on `factory`. */
function sqlPipelines(scope: TerraformStack, resourceGroup: ResourceGroup, factory: IDataFactory): SqlPipelines {
  return new SqlPipelines(scope, 'SqlPipelines', {
    resourceGroup,
    factory,
    location: 'westeurope',
    selfHostedRuntimeName: 'shir-contoso-sql',
    keyVaultLinkedServiceName: 'ls_key_vault',
    targets: [],
    namePrefix: 'contoso-sql',
  });
}

describe("a host's bundle and environment", () => {
  const directPlan = PLAN.externalDirect;

  it('refuses an environment for another plan than the bundle\'s: the DAG would refuse to import', () => {
    expect(() => external(directPlan, { MIGRATION_PLAN_NAME: 'contoso-q4' })).toThrow(
      'test/TeamAirflow: environment.MIGRATION_PLAN_NAME is "contoso-q4", but the bundle\'s plan (dags/migration_plan.json) is "contoso-sql": ' +
        'the DAG refuses to import another plan\'s; pass dagEnvironment({ planName: "contoso-sql", ... }) and dagBundleFor(plan) of one plan',
    );
    expect(() => external(directPlan, { MIGRATION_PLAN_NAME: 'contoso-sql' })).not.toThrow();
    expect(() => external(directPlan, { MIGRATION_PLAN_NAME: Token.asString(ref('var.plan_name')) })).not.toThrow();
  });

  it('is checked by every host', () => {
    const otherPlan = { ...ENVIRONMENT, MIGRATION_PLAN_NAME: 'contoso-q4' };
    const refusal = /: environment\.MIGRATION_PLAN_NAME is "contoso-q4", but the bundle's plan/;
    expect(() => kubernetesHost({ environment: otherPlan })).toThrow(refusal);
    expect(() => fabricHostStack({ environment: { MIGRATION_PLAN_NAME: 'contoso-q4' } })).toThrow(refusal);
    expect(() => external(directPlan, otherPlan)).toThrow(refusal);
    expect(() => adopted(PLAN.dataFactory, { ...otherPlan, MIGRATION_DATA_FACTORY_ID: FACTORY_ID })).toThrow(refusal);
  });

  it('refuses a plan with sqlAccess dataFactory and an environment without the factory: the SQL steps would fail at run time', () => {
    const throughFactory = PLAN.external;
    expect(throughFactory.airflow.sqlAccess).toBe('dataFactory');
    expect(() => external(throughFactory, { MIGRATION_PLAN_NAME: 'contoso-sql' })).toThrow(
      'test/TeamAirflow: environment.MIGRATION_DATA_FACTORY_ID is missing, but the bundle\'s plan has airflow.sqlAccess dataFactory: ' +
        "the DAG's SQL steps run as that factory's pipelines and fail without it; pass dagEnvironment({ dataFactory: <the OrchestrationFactory " +
        'that holds the SqlPipelines>, ... })',
    );
    expect(() => external(throughFactory, { MIGRATION_DATA_FACTORY_ID: ' ' })).toThrow(/MIGRATION_DATA_FACTORY_ID is missing/);
    expect(() => external(throughFactory, { MIGRATION_DATA_FACTORY_ID: FACTORY_ID })).not.toThrow();
    expect(() => external(throughFactory, { MIGRATION_DATA_FACTORY_ID: Token.asString(ref('azurerm_data_factory.adf.id')) })).not.toThrow();
  });

  it("refuses a bundle made for a host whose requirements differ from this host's", () => {
    expect(() => adopted(PLAN.kubernetes, { MIGRATION_DATA_FACTORY_ID: FACTORY_ID })).toThrow(
      'test/AirflowHost: bundle is for host kubernetes (the airflow.host of its plan; requirements.txt from dags/requirements.txt), ' +
        'but this host is dataFactory (Airflow 2.6.3, dags/requirements-data-factory.txt): ' +
        'pass dagBundleFor(plan) of a plan whose airflow.host is dataFactory',
    );
    expect(() => external(PLAN.fabric, { MIGRATION_DATA_FACTORY_ID: FACTORY_ID })).toThrow(
      /^test\/TeamAirflow: bundle is for host fabric .*requirements-fabric\.txt.*but this host is external /,
    );
    // The Kubernetes host and an external Airflow 3 install the same requirements.
    expect(() => external(PLAN.kubernetesDirect, {})).not.toThrow();
  });

  describe('refuses a bundle without a file the DAG cannot import without', () => {
    const directBundle = bundleOf(directPlan);
    const without = (drop: (blobName: string) => boolean) => ({
      ...directBundle,
      files: directBundle.files.filter((file) => !drop(file.blobName)),
    });
    function externalWith(bundle: DagBundle) {
      const { stack, resourceGroup } = testStack();
      return new ExternalAirflowHost(stack, 'TeamAirflow', { ...hostBaseProps(resourceGroup), bundle, environment: {} });
    }

    it('the rendered plan, on every host', () => {
      const noPlan = without((name) => name === PLAN_BLOB_NAME);
      const refusal =
        'bundle lacks dags/migration_plan.json (the rendered plan the DAG reads): the DAG cannot import without them; pass dagBundleFor(plan)';
      expect(() => externalWith(noPlan)).toThrow(`test/TeamAirflow: ${refusal}`);
      expect(() => kubernetesHost({ bundle: noPlan })).toThrow(`test/airflow: ${refusal}`);
      expect(() => fabricHostStack({ bundle: noPlan })).toThrow(`test/AirflowHost: ${refusal}`);
      const adoptedPlan = PLAN.dataFactory;
      const adoptedBundle = bundleOf(adoptedPlan);
      expect(() =>
        adopted(adoptedPlan, { MIGRATION_DATA_FACTORY_ID: FACTORY_ID }, {
          ...adoptedBundle,
          files: adoptedBundle.files.filter((file) => file.blobName !== PLAN_BLOB_NAME),
        }),
      ).toThrow(`test/AirflowHost: ${refusal}`);
    });

    it('the DAG file, the schema and the requirements, naming each', () => {
      const bare = without((name) => ['dags/migration_orchestration.py', 'dags/migration_plan.schema.json', 'requirements.txt'].includes(name));
      expect(() => externalWith(bare)).toThrow(
        'test/TeamAirflow: bundle lacks dags/migration_orchestration.py (the DAG file), ' +
          "dags/migration_plan.schema.json (the plan's schema, which the DAG checks the plan against), " +
          "requirements.txt (the DAG's requirements for the host's Airflow): the DAG cannot import without them; pass dagBundleFor(plan)",
      );
    });

    it("the DAG's library, a module or all of it", () => {
      expect(() => externalWith(without((name) => name === 'dags/migration_orchestration_lib/dag_factory.py'))).toThrow(
        "test/TeamAirflow: bundle lacks dags/migration_orchestration_lib/dag_factory.py (the DAG's library, which the DAG file imports): ",
      );
      const library = directBundle.files.filter((file) => file.blobName.startsWith('dags/migration_orchestration_lib/'));
      expect(library.length).toBeGreaterThan(10);
      expect(() => externalWith(without((name) => name.startsWith('dags/migration_orchestration_lib/')))).toThrow(
        new RegExp(`^test/TeamAirflow: bundle lacks (dags/migration_orchestration_lib/[a-z_/]+\\.(py|json), ){2}` +
          `dags/migration_orchestration_lib/[a-z_/]+\\.(py|json) and ${library.length - 3} more \\(the DAG's library`),
      );
      // A module patched in place is still the module, once the manifest says so.
      const patched = patchedEvents(directBundle);
      expect(() => externalWith({ ...directBundle, files: restamped(patched) })).not.toThrow();
    });

    /** The bundle's files with events.py patched, the manifest left as it was. */
    function patchedEvents(bundle: DagBundle) {
      return bundle.files.map((file) =>
        file.blobName === 'dags/migration_orchestration_lib/events.py' ? { ...file, content: `${file.content}\n# patched\n` } : file,
      );
    }

    /** `files` with the manifest listing their SHA-256 as they are. */
    function restamped(files: DagBundle['files']) {
      return files.map((file) => {
        if (file.blobName !== BUNDLE_MANIFEST_BLOB_NAME) return file;
        const manifest = JSON.parse(file.content);
        for (const name of Object.keys(manifest.files)) {
          const content = files.find((other) => other.blobName === `dags/${name}`)?.content ?? '';
          manifest.files[name] = createHash('sha256').update(content, 'utf8').digest('hex');
        }
        return { ...file, content: JSON.stringify(manifest) };
      });
    }

    it('the manifest, or one that does not list the files as they are: the DAG would refuse to import the folder', () => {
      expect(() => externalWith(without((name) => name === BUNDLE_MANIFEST_BLOB_NAME))).toThrow(
        'test/TeamAirflow: bundle lacks dags/migration_bundle_manifest.json (the manifest the DAG checks its folder against, which it refuses ' +
          'to import without): the DAG cannot import without them; pass dagBundleFor(plan)',
      );
      const refusal =
        "test/TeamAirflow: bundle's dags/migration_orchestration_lib/events.py differs from its dags/migration_bundle_manifest.json (missing or " +
        'another content): the DAG refuses to import a folder whose files differ from its manifest; pass dagBundleFor(plan) unchanged, ' +
        'or change the SHA-256 of a file you change in the manifest too';
      expect(() => externalWith({ ...directBundle, files: patchedEvents(directBundle) })).toThrow(refusal);
      const adoptedPlan = PLAN.dataFactory;
      const adoptedBundle = bundleOf(adoptedPlan);
      expect(() => adopted(adoptedPlan, { MIGRATION_DATA_FACTORY_ID: FACTORY_ID }, { ...adoptedBundle, files: patchedEvents(adoptedBundle) })).toThrow(
        refusal.replace('TeamAirflow', 'AirflowHost'),
      );
      const stepless = without((name) => name === 'dags/migration_orchestration_lib/steps.py');
      expect(() => externalWith(stepless)).toThrow(/^test\/TeamAirflow: bundle lacks dags\/migration_orchestration_lib\/steps\.py /);
      for (const manifest of ['{"files": [', '{"files": {}}']) {
        const files = directBundle.files.map((file) => (file.blobName === BUNDLE_MANIFEST_BLOB_NAME ? { ...file, content: manifest } : file));
        expect(() => externalWith({ ...directBundle, files })).toThrow(
          "test/TeamAirflow: bundle's dags/migration_bundle_manifest.json lists no files: the DAG refuses to import without it; pass dagBundleFor(plan)",
        );
      }
    });
  });

  describe('refuses a bundle whose requirements, as the host installs them, lack a package the DAG needs there', () => {
    it('the list the Kubernetes and Fabric hosts install', () => {
      const bundle = bundleOf(PLAN.kubernetes);
      const lacking = { ...bundle, requirements: bundle.requirements.filter((line) => !/^(azure-mgmt-datamigration|pymssql)==/.test(line)) };
      expect(() => kubernetesHost({ bundle: lacking })).toThrow(
        'test/airflow: bundle.requirements, which this kubernetes host installs, lacks azure-mgmt-datamigration, pymssql of dags/requirements.txt: ' +
          'the DAG cannot import without them; pass dagBundleFor(plan)',
      );
      expect(() => fabricHostStack({ bundle: { ...fabricBundle('{"name": "contoso-sql"}'), requirements: [] } })).toThrow(
        /^test\/AirflowHost: bundle\.requirements, which this fabric host installs, lacks azure-mgmt-datamigration, .*azure-kusto-data of dags\/requirements-fabric\.txt: /,
      );
      // Another pin of a package the DAG needs is still that package (PEP 503 names).
      const repinned = { ...bundle, requirements: bundle.requirements.map((line) => line.replace(/^azure-identity==.*/, 'Azure_Identity>=1.28')) };
      expect(() => kubernetesHost({ bundle: repinned })).not.toThrow();
      // A package from a wheel, an archive or a repository is that package; a URL that does not tell may be any.
      const fromElsewhere = (pymssql: string) => ({
        ...bundle,
        requirements: bundle.requirements.map((line) => (/^pymssql==/.test(line) ? pymssql : line)),
      });
      for (const pymssql of [
        'https://wheels.contoso.example/simple/pymssql-2.3.8-cp312-cp312-manylinux_2_28_x86_64.whl',
        './vendor/pymssql-2.3.8.tar.gz',
        'pymssql @ git+https://github.com/pymssql/pymssql@v2.3.8',
        'git+https://github.com/pymssql/pymssql@v2.3.8#egg=pymssql',
        'https://artifacts.contoso.example/download?id=4711',
      ]) {
        expect(() => kubernetesHost({ bundle: fromElsewhere(pymssql) })).not.toThrow();
      }
      expect(() => kubernetesHost({ bundle: fromElsewhere('https://wheels.contoso.example/pyodbc-5.2.0-cp312-cp312-linux_x86_64.whl') })).toThrow(
        /lacks pymssql of dags\/requirements\.txt/,
      );
    });

    it("the requirements.txt Data Factory's import installs; an external Airflow installs what its team picks", () => {
      const plan = PLAN.dataFactory;
      const bundle = bundleOf(plan);
      const files = bundle.files.map((file) => (file.blobName === 'requirements.txt' ? { ...file, content: 'azure-identity==1.19.0\n' } : file));
      expect(() => adopted(plan, { MIGRATION_DATA_FACTORY_ID: FACTORY_ID }, { ...bundle, files })).toThrow(
        /^test\/AirflowHost: the bundle's requirements\.txt, which this dataFactory host installs, lacks azure-mgmt-core, azure-mgmt-datafactory, .* of dags\/requirements-data-factory\.txt: /,
      );
      const directBundle = bundleOf(directPlan);
      const { stack, resourceGroup } = testStack();
      expect(
        () => new ExternalAirflowHost(stack, 'TeamAirflow', { ...hostBaseProps(resourceGroup), bundle: { ...directBundle, requirements: [] }, environment: {} }),
      ).not.toThrow();
    });
  });

  describe("refuses pools other than the bundle's DAG and plan need", () => {
    function externalWithPools(pools: AirflowPool[]) {
      const { stack, resourceGroup } = testStack();
      return new ExternalAirflowHost(stack, 'TeamAirflow', { ...hostBaseProps(resourceGroup), bundle: bundleOf(directPlan), environment: {}, pools });
    }
    const [admission, sqlSteps] = airflowPools(directPlan.concurrency);

    it('without a pool the DAG runs tasks in: Airflow would never schedule them', () => {
      expect(() => externalWithPools([admission])).toThrow(
        'test/TeamAirflow: pools has no pool database_migration_sql, which the bundle\'s DAG runs preflight, freeze_source, final_backup, validate, rollback ' +
          'in (dags/migration_orchestration_lib/contracts/airflow_pools.json): Airflow never schedules a task whose pool does not exist; ' +
          "pass airflowPools(plan.concurrency) of the bundle's plan",
      );
      expect(() => kubernetesHost({ pools: [sqlSteps] })).toThrow(/^test\/airflow: pools has no pool database_migration_admission, /);
    });

    it('with other slots than the contract fixes or the plan gives', () => {
      expect(() => externalWithPools([{ ...admission, slots: 2 }, sqlSteps])).toThrow(
        'test/TeamAirflow: pool database_migration_admission has 2 slots, but dags/migration_orchestration_lib/contracts/airflow_pools.json gives it 1: ' +
          "at most 1 of the DAG's start_migration tasks may run at once, not 2; pass airflowPools(plan.concurrency) of the bundle's plan",
      );
      expect(sqlSteps.slots).toBe(directPlan.concurrency.maxSqlStepsPerRuntime);
      expect(() => externalWithPools([admission, { ...sqlSteps, slots: sqlSteps.slots + 3 }])).toThrow(
        `test/TeamAirflow: pool database_migration_sql has ${sqlSteps.slots + 3} slots, but the concurrency.maxSqlStepsPerRuntime of the bundle's plan ` +
          `gives it ${sqlSteps.slots}: `,
      );
    });

    it("passes the plan's pools, and pools besides them", () => {
      expect(() => externalWithPools(airflowPools(directPlan.concurrency))).not.toThrow();
      expect(() => externalWithPools([{ name: 'team_reports', slots: 3, description: 'other DAGs' }, sqlSteps, admission])).not.toThrow();
    });
  });

  it('refuses one event variable without the other: the events would stay in the task logs, unseen by the alerts', () => {
    const endpoint = 'https://dce-contoso-sql-abcd.westeurope-1.ingest.monitor.azure.com';
    expect(() => external(directPlan, { MIGRATION_EVENTS_ENDPOINT: endpoint })).toThrow(
      'test/TeamAirflow: environment.MIGRATION_EVENTS_RULE_ID is missing, but MIGRATION_EVENTS_ENDPOINT is set: the DAG writes its events only ' +
        'with both, and would leave them in the task logs, where the alerts on the events table never see them; ' +
        'pass dagEnvironment({ eventIngestion: <MigrationMonitoring>.eventIngestion, ... })',
    );
    expect(() => external(directPlan, { MIGRATION_EVENTS_ENDPOINT: endpoint, MIGRATION_EVENTS_RULE_ID: ' ' })).toThrow(
      /environment\.MIGRATION_EVENTS_RULE_ID is missing, but MIGRATION_EVENTS_ENDPOINT is set/,
    );
    expect(() => external(directPlan, { MIGRATION_EVENTS_RULE_ID: 'dcr-00000000000000000000000000000000' })).toThrow(
      /^test\/TeamAirflow: environment\.MIGRATION_EVENTS_ENDPOINT is missing, but MIGRATION_EVENTS_RULE_ID is set/,
    );
    expect(() => external(directPlan, { MIGRATION_EVENTS_ENDPOINT: endpoint, MIGRATION_EVENTS_RULE_ID: Token.asString(ref('var.rule')) })).not.toThrow();
    // Neither: events stay in the task logs by choice (dagEnvironment without eventIngestion).
    expect(() => external(directPlan, {})).not.toThrow();
  });

  it('refuses deferred waits on a host without a triggerer: no deferred wait would ever resume', () => {
    const dataFactoryPlan = PLAN.dataFactory;
    const environment = (mode: string) => ({ MIGRATION_DATA_FACTORY_ID: FACTORY_ID, MIGRATION_WAIT_MODE: mode });
    expect(() => adopted(dataFactoryPlan, environment(' Deferrable '))).toThrow(
      'test/AirflowHost: environment.MIGRATION_WAIT_MODE is " Deferrable ", but this dataFactory host runs no triggerer, which resumes deferred tasks: ' +
        'every wait of the DAG would defer and never resume; leave MIGRATION_WAIT_MODE out (the DAG then reschedules its waits)',
    );
    expect(() => adopted(dataFactoryPlan, environment('reschedule'))).not.toThrow();
    expect(() => adopted(dataFactoryPlan, environment(Token.asString(ref('var.wait_mode'))))).not.toThrow();
    // An external Airflow's triggerer is its team's to know; the Kubernetes and Fabric hosts run one.
    expect(() => external(directPlan, { MIGRATION_WAIT_MODE: 'deferrable' })).not.toThrow();
    expect(() => fabricHostStack({ environment: { MIGRATION_WAIT_MODE: 'deferrable' } })).not.toThrow();
  });

  describe("refuses a secrets backend on another vault than the host's keyVault", () => {
    const kwargs = (vaultUrl: string) => `{"connections_prefix": "airflow-connections", "vault_url": "${vaultUrl}"}`;

    it('given as URLs or as references', () => {
      expect(() => external(directPlan, { AIRFLOW__SECRETS__BACKEND_KWARGS: kwargs('https://kv-other.vault.azure.net/') })).toThrow(
        'test/TeamAirflow: environment.AIRFLOW__SECRETS__BACKEND_KWARGS reads connections from vault_url https://kv-other.vault.azure.net/, ' +
          "but the host's keyVault, which backs them, is https://kv-test-1a2b.vault.azure.net/: pass one vault to dagEnvironment({ keyVault }) and the host",
      );
      const [other, team] = ['other', 'team'].map((name) => Token.asString(ref(`azurerm_key_vault.${name}.vault_uri`)));
      const keyVault = { ...KEY_VAULT, vaultUri: team };
      expect(() => kubernetesHost({ keyVault, environment: { ...ENVIRONMENT, AIRFLOW__SECRETS__BACKEND_KWARGS: kwargs(other) } })).toThrow(
        /^test\/airflow: environment\.AIRFLOW__SECRETS__BACKEND_KWARGS reads connections from vault_url \$\{azurerm_key_vault\.other\.vault_uri\}, but the host's keyVault, which backs them, is \$\{azurerm_key_vault\.team\.vault_uri\}/,
      );
    });

    it('passes a reference against a URL, or a lookup against a vault it manages: only their values at apply could tell', () => {
      type Vaults = { url: string; vault: string; lookup: string };
      const host = (hostVault: keyof Vaults, vaultUrl: keyof Vaults) => {
        const { stack, resourceGroup } = testStack();
        const vault = new KeyVault(stack, 'Vault', { name: 'kv-test-1a2b', location: 'westeurope', resourceGroupName: resourceGroup.name, tenantId: ENVIRONMENT.AZURE_TENANT_ID, skuName: 'standard' });
        const lookup = new DataAzurermKeyVault(stack, 'VaultLookup', { name: 'kv-test-1a2b', resourceGroupName: 'rg-test' });
        const vaults: Vaults = { url: KEY_VAULT.vaultUri, vault: vault.vaultUri, lookup: lookup.vaultUri };
        return new ExternalAirflowHost(stack, 'TeamAirflow', {
          ...hostBaseProps(resourceGroup),
          bundle: bundleOf(directPlan),
          keyVault: { ...KEY_VAULT, vaultUri: vaults[hostVault] },
          environment: { AIRFLOW__SECRETS__BACKEND_KWARGS: kwargs(vaults[vaultUrl]) },
        });
      };
      expect(() => host('lookup', 'url')).not.toThrow();
      expect(() => host('url', 'vault')).not.toThrow();
      expect(() => host('vault', 'lookup')).not.toThrow();
    });

    it('passes the same vault, however each side refers to it', () => {
      expect(() => external(directPlan, { AIRFLOW__SECRETS__BACKEND_KWARGS: kwargs('https://KV-test-1a2b.vault.azure.net') })).not.toThrow();
      const { stack, resourceGroup } = testStack();
      const vault = new KeyVault(stack, 'Vault', { name: 'kv-team', location: 'westeurope', resourceGroupName: resourceGroup.name, tenantId: ENVIRONMENT.AZURE_TENANT_ID, skuName: 'standard' });
      // Each read of vault.vaultUri is another token; both name the same attribute.
      expect(vault.vaultUri).not.toBe(vault.vaultUri);
      const keyVault = { id: vault.id, name: vault.name, vaultUri: vault.vaultUri };
      expect(
        () =>
          new ExternalAirflowHost(stack, 'TeamAirflow', {
            ...hostBaseProps(resourceGroup),
            bundle: bundleOf(directPlan),
            keyVault,
            environment: dagEnvironment({ planName: 'contoso-sql', tenantId: ENVIRONMENT.AZURE_TENANT_ID, subscriptionId: ENVIRONMENT.AZURE_SUBSCRIPTION_ID, migrationService: { id: ENVIRONMENT.MIGRATION_DMS_RESOURCE_ID, name: 'dms-test' }, keyVault: { ...keyVault, vaultUri: vault.vaultUri } }),
          }),
      ).not.toThrow();
    });

    it("refuses another stack's vault of the same name: two stacks' resources are two, whatever their names", () => {
      /** Stacks test and other, each with a vault Vault; the host in test on its own, the secrets backend on `backendIn`'s (or a lookup there). */
      const host = (backendIn: 'test' | 'other' | 'other lookup', otherId = 'other') => {
        const { app, stack, resourceGroup } = testStack();
        const otherStack = secondStack(app, otherId);
        const [vault, otherVault] = [stack, otherStack].map(
          (scope) => new KeyVault(scope, 'Vault', { name: `kv-${scope.node.id}`, location: 'westeurope', resourceGroupName: 'rg-test', tenantId: ENVIRONMENT.AZURE_TENANT_ID, skuName: 'standard' }),
        );
        const lookup = new DataAzurermKeyVault(otherStack, 'VaultLookup', { name: 'kv-test', resourceGroupName: 'rg-test' });
        const backendVault = { test: vault, other: otherVault, 'other lookup': lookup }[backendIn];
        return new ExternalAirflowHost(stack, 'TeamAirflow', {
          ...hostBaseProps(resourceGroup),
          bundle: bundleOf(directPlan),
          keyVault: { id: vault.id, name: vault.name, vaultUri: vault.vaultUri },
          environment: { AIRFLOW__SECRETS__BACKEND_KWARGS: kwargs(backendVault.vaultUri) },
        });
      };
      expect(() => host('other')).toThrow(
        'test/TeamAirflow: environment.AIRFLOW__SECRETS__BACKEND_KWARGS reads connections from vault_url ${other/azurerm_key_vault.Vault.vault_uri}, ' +
          "but the host's keyVault, which backs them, is ${azurerm_key_vault.Vault.vault_uri}: pass one vault to dagEnvironment({ keyVault }) and the host",
      );
      expect(() => host('test')).not.toThrow();
      expect(() => host('other lookup')).not.toThrow();
      // A stack's id may hold dots (cdktf refuses only whitespace and glob characters): a lookup there may still be the host's vault.
      expect(() => host('other lookup', 'prod.eu')).not.toThrow();
      expect(() => host('other', 'prod.eu')).toThrow('vault_url ${prod.eu/azurerm_key_vault.Vault.vault_uri}, ');
    });
  });

  it("refuses a bundle whose plan file is not JSON, naming it", () => {
    const { stack, resourceGroup } = testStack();
    const base = hostBaseProps(resourceGroup);
    const files = base.bundle.files.map((file) => (file.blobName === PLAN_BLOB_NAME ? { ...file, content: '{"name": ' } : file));
    expect(() => new ExternalAirflowHost(stack, 'TeamAirflow', { ...base, bundle: { ...base.bundle, files } })).toThrow(
      "test/TeamAirflow: bundle's dags/migration_plan.json is not JSON: pass dagBundleFor(plan)",
    );
  });
});

describe('with sqlAccess dataFactory, a host composed by hand needs the pipelines the DAG runs', () => {
  const throughFactory = PLAN.external;
  const PIPELINES =
    'migration_sql_query_self_hosted, migration_sql_statement_self_hosted, migration_sql_query_managed_instance, migration_sql_query_sql_database';

  /** A factory made here, an external host whose DAG runs SQL through `factoryId`, and the SQL pipelines on `pipelinesOn`. */
  function composed(factoryId: (factory: DataFactory) => string, pipelinesOn?: (factory: DataFactory, other: DataFactory) => IDataFactory) {
    const { app, stack, resourceGroup } = testStack();
    const factoryProps = { resourceGroupName: resourceGroup.name, location: 'westeurope', managedVirtualNetworkEnabled: true };
    const factory = new DataFactory(stack, 'Factory', { ...factoryProps, name: 'adf-contoso-sql' });
    const other = new DataFactory(stack, 'OtherFactory', { ...factoryProps, name: 'adf-contoso-other' });
    const host = new ExternalAirflowHost(stack, 'TeamAirflow', {
      ...hostBaseProps(resourceGroup),
      bundle: bundleOf(throughFactory),
      environment: { MIGRATION_DATA_FACTORY_ID: factoryId(factory) },
    });
    if (pipelinesOn) {
      sqlPipelines(stack, resourceGroup, pipelinesOn(factory, other)).grantRunPipelines(host.identity);
    }
    return { app, stack };
  }

  it('refuses at synth an app that creates the factory and not the pipelines: the SQL steps would fail at run time', () => {
    const { app } = composed((factory) => factory.id);
    expect(() => app.synth()).toThrow(
      `[test/TeamAirflow] the bundle's plan has airflow.sqlAccess dataFactory, so the DAG's SQL steps run pipelines ${PIPELINES} ` +
        'in the factory of environment.MIGRATION_DATA_FACTORY_ID, and this app deploys none of them there: ' +
        'those steps would fail at run time; add new SqlPipelines(...) on that factory and grantRunPipelines(<this host>.identity)',
    );
  });

  it('refuses pipelines on another factory than the one the DAG runs them in', () => {
    expect(() => composed((factory) => factory.id, (_, other) => other).stack.runAllValidations()).toThrow(/\[test\/TeamAirflow\] .* run pipelines migration_sql_query_self_hosted/);
  });

  it('passes with SqlPipelines on that factory, each side referring to it by its own reference', () => {
    const { stack } = composed((factory) => factory.id, (factory) => factory);
    expect(() => stack.runAllValidations()).not.toThrow();
    expect(warningsOf(stack).filter((warning) => warning.includes('sqlAccess'))).toEqual([]);
  });

  /** The factory in the app's first stack, the host in a second (by a cross-stack reference), the pipelines in `pipelinesIn`. */
  function acrossStacks(pipelinesIn?: 'factory' | 'host') {
    const { app, stack, resourceGroup } = testStack();
    const factory = new DataFactory(stack, 'Factory', { resourceGroupName: resourceGroup.name, location: 'westeurope', name: 'adf-contoso-sql', managedVirtualNetworkEnabled: true });
    const hostStack = secondStack(app, 'airflow');
    new ExternalAirflowHost(hostStack, 'TeamAirflow', {
      ...hostBaseProps(resourceGroup),
      bundle: bundleOf(throughFactory),
      environment: { MIGRATION_DATA_FACTORY_ID: factory.id },
    });
    if (pipelinesIn) {
      sqlPipelines(pipelinesIn === 'factory' ? stack : hostStack, resourceGroup, factory);
    }
    return { app, hostStack };
  }

  it('finds the factory and its pipelines in another stack than the host, as app.synth() sees them', () => {
    expect(() => acrossStacks().app.synth()).toThrow(`[airflow/TeamAirflow] the bundle's plan has airflow.sqlAccess dataFactory, so the DAG's SQL steps run pipelines ${PIPELINES} `);
    for (const pipelinesIn of ['factory', 'host'] as const) {
      const { app, hostStack } = acrossStacks(pipelinesIn);
      app.synth();
      expect(warningsOf(hostStack).filter((warning) => warning.includes('SqlPipelines'))).toEqual([]);
    }
  });

  /** Stacks test and other, each with a factory Factory; the host in test runs its SQL in `factoryIn`'s, the pipelines are on `pipelinesIn`'s. */
  function sameNamedFactories(factoryIn: 'test' | 'other', pipelinesIn: 'test' | 'other') {
    const { app, stack, resourceGroup } = testStack();
    const otherStack = secondStack(app, 'other');
    const groups = { test: resourceGroup, other: new ResourceGroup(otherStack, 'rg', { name: 'rg-other', location: 'westeurope' }) };
    const factories = Object.fromEntries(
      [stack, otherStack].map((scope) => [
        scope.node.id,
        new DataFactory(scope, 'Factory', { resourceGroupName: 'rg-test', location: 'westeurope', name: `adf-${scope.node.id}`, managedVirtualNetworkEnabled: true }),
      ]),
    );
    new ExternalAirflowHost(stack, 'TeamAirflow', {
      ...hostBaseProps(resourceGroup),
      bundle: bundleOf(throughFactory),
      environment: { MIGRATION_DATA_FACTORY_ID: factories[factoryIn].id },
    });
    sqlPipelines(TerraformStack.of(factories[pipelinesIn]), groups[pipelinesIn], factories[pipelinesIn]);
    return { app, stack };
  }

  it("refuses pipelines on another stack's factory of the same name, either way round, and passes them on the host's", () => {
    const refusal = `[test/TeamAirflow] the bundle's plan has airflow.sqlAccess dataFactory, so the DAG's SQL steps run pipelines ${PIPELINES} `;
    expect(() => sameNamedFactories('test', 'other').app.synth()).toThrow(refusal);
    expect(() => sameNamedFactories('other', 'test').app.synth()).toThrow(refusal);
    for (const factoryIn of ['test', 'other'] as const) {
      const { app, stack } = sameNamedFactories(factoryIn, factoryIn);
      app.synth();
      expect(warningsOf(stack).filter((warning) => warning.includes('SqlPipelines'))).toEqual([]);
    }
  });

  it('only warns for pipelines on the factory it creates referred to by an id or a lookup: they may be on that one', () => {
    const lookup = (factory: DataFactory) => new DataAzurermDataFactory(TerraformStack.of(factory), 'FactoryLookup', { name: factory.name, resourceGroupName: 'rg-test' });
    const { stack } = composed((factory) => factory.id, (factory) => lookup(factory));
    expect(() => stack.runAllValidations()).not.toThrow();
    expect(warningsOf(stack)).toContainEqual(expect.stringMatching(/, unless the factory this app deploys them on by an id or a lookup is that one \[ack: migration:data-factory:sql-pipelines-elsewhere\]$/));
  });

  it('only warns for a factory the app does not create: another deployment may hold the pipelines', () => {
    const { stack } = composed(() => FACTORY_ID);
    expect(() => stack.runAllValidations()).not.toThrow();
    expect(warningsOf(stack)).toContainEqual(
      `test/TeamAirflow: the bundle's plan has airflow.sqlAccess dataFactory, so the DAG's SQL steps run pipelines ${PIPELINES} ` +
        'in the factory of environment.MIGRATION_DATA_FACTORY_ID, and this app deploys none of them there: those steps would fail at run time; ' +
        'add new SqlPipelines(...) on that factory and grantRunPipelines(<this host>.identity), unless another deployment puts them in that existing factory [ack: migration:data-factory:sql-pipelines-elsewhere]',
    );
  });
});

/**
 * A DatabaseMigrationStack of `plan`, built and not synthesized: every host checks its bundle and
 * environment in its constructor, and the SQL pipelines check is a validation of the host, which
 * reads references as their own stack writes them, before or after the stacks are prepared. Its
 * aspects are invoked, as app.synth() invokes them before it runs the validations: an aspect that
 * changes what a validation reads (a pipeline's name) must not pass here and fail at synth. Each
 * example plan's stacks are synthesized by the slow suite's plan-tags test (every variant
 * `npm run validate` validates), every host's by database-migration-stack.test.ts.
 */
function migrationStack(plan: MigrationPlan): DatabaseMigrationStack {
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { plan });
  invokeAspects(stack);
  return stack;
}

describe('DatabaseMigrationStack hands every host an agreeing bundle and environment', () => {
  const examples = readdirSync(EXAMPLES).filter((name) => /\.(ya?ml|json)$/.test(name));

  it('for the default stack and every example plan', () => {
    expect(examples.length).toBeGreaterThanOrEqual(6);
    // The default stack's plan (examplePlan()) is examples/three-databases.yaml, loaded the same way below.
    expect(examples).toContain('three-databases.yaml');
    for (const name of examples) {
      expect(() => migrationStack(loadMigrationPlan(join(EXAMPLES, name))).runAllValidations()).not.toThrow();
    }
  });

  it.each(Object.keys(AIRFLOW_OF_HOST))('for host %s', (host) => {
    const airflow = AIRFLOW_OF_HOST[host as keyof typeof AIRFLOW_OF_HOST];
    for (const sqlAccess of host === 'kubernetes' || host === 'external' ? ['direct', 'dataFactory'] : ['dataFactory']) {
      const stack = migrationStack(examplePlanWith({ ...airflow, sqlAccess }));
      expect(() => stack.runAllValidations()).not.toThrow();
      expect(warningsOf(stack).filter((warning) => warning.includes('SqlPipelines'))).toEqual([]);
    }
  });
});
