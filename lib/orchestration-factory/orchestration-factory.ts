import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { DataFactoryIntegrationRuntimeSelfHosted } from '@cdktf/provider-azurerm/lib/data-factory-integration-runtime-self-hosted';
import { DataFactoryLinkedServiceAzureBlobStorage } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-azure-blob-storage';
import { DataFactoryLinkedServiceKeyVault } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-key-vault';
import { DataFactoryLinkedServiceSqlServer } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-sql-server';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import { keyVaultName, resourceName, storageAccountName } from '../core/naming';
import { namedOutput } from '../core/outputs';
import { IDataFactory, IEventIngestion, IKeyVault, IResourceGroup } from '../core/references';
import { BuiltInRole } from '../core/role-names';
import { IMigrationService } from '../migration-service';
import { renderMigrationPlan } from '../plan/render';
import { MigrationPlan } from '../plan/types';
import { CredentialVault } from './credential-vault';
import { DagBundle, loadDagBundle } from './dag-bundle';
import { DAG_CONTAINER_NAME, DagStorage, DagStorageProps } from './dag-storage';
import { ManagedAirflowEnvironment } from './managed-airflow';

/** Props of {@link OrchestrationFactory}. */
export interface OrchestrationFactoryProps {
  /** Where everything is created. */
  readonly resourceGroup: IResourceGroup;
  /** The validated plan: source servers become linked services, the plan itself is uploaded for the DAG. */
  readonly plan: MigrationPlan;
  /** The DMS the DAG drives. */
  readonly migrationService: IMigrationService;
  /**
   * Where the DAG sends its events (`MigrationMonitoring.eventIngestion`).
   * @default - none: the DAG logs events to its task logs only, and the event-based alerts never fire (a warning says so)
   */
  readonly eventIngestion?: IEventIngestion;
  /**
   * Prefix of generated resource names.
   * @default - the plan name
   */
  readonly namePrefix?: string;
  /**
   * Azure region of everything created.
   * @default - the plan's location
   */
  readonly location?: string;
  /**
   * Tags on everything created.
   * @default - the plan's tags
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * An existing Key Vault holding the SQL credentials (RBAC mode).
   * @default - creates `kv-<prefix>-<suffix>` with purge protection
   */
  readonly keyVault?: IKeyVault;
  /** `prevent_destroy` on the Key Vault this construct creates. @default true */
  readonly protectKeyVault?: boolean;
  /** `CanNotDelete` lock on the Key Vault this construct creates. @default false */
  readonly lockKeyVault?: boolean;
  /**
   * Public network access of the factory. The self-hosted runtime and the managed Airflow reach
   * the factory over it unless you add private endpoints yourself.
   * @default true
   */
  readonly publicNetworkEnabled?: boolean;
  /**
   * Create the Data Factory managed Airflow environment and import the DAG into it. Microsoft
   * stopped the creation of new environments on 2026-01-01: turn this off to run the DAG elsewhere
   * (Apache Airflow jobs in Microsoft Fabric), using the `airflow_environment` output.
   * @default true
   */
  readonly managedAirflow?: boolean;
  /** Settings of the DAG storage account (secure defaults; weakening one warns). @default - secure defaults */
  readonly dagStorage?: Omit<DagStorageProps, 'resourceGroup' | 'accountName' | 'location' | 'tags' | 'bundle'>;
  /**
   * Principal that uploads the DAG blobs with Entra ID.
   * @default - the identity running Terraform (`azurerm_client_config.object_id`)
   */
  readonly deployerPrincipalId?: string;
}

/**
 * The orchestration side of a migration: a Data Factory (managed virtual network, managed
 * identity), its self-hosted integration runtime, the Key Vault with the SQL credentials and the
 * linked services that reference it, the DAG storage with the DAG package and the rendered plan,
 * and the managed Airflow environment that runs the DAG.
 */
export class OrchestrationFactory extends Construct implements IDataFactory {
  /** The `azurerm_data_factory` resource. */
  public readonly factory: DataFactory;
  /** ARM id of the factory. */
  public readonly id: string;
  /** Name of the factory. */
  public readonly name: string;
  /** Object id of the factory's system-assigned identity. */
  public readonly factoryPrincipalId: string;
  /** The self-hosted integration runtime that reaches the source SQL Servers from inside the corporate network. */
  public readonly selfHostedRuntime: DataFactoryIntegrationRuntimeSelfHosted;
  /** The Key Vault with the SQL credentials (created here unless `keyVault` was given). */
  public readonly keyVault: IKeyVault;
  /** Name of the Key Vault linked service the SQL Server linked services read their secrets through. */
  public readonly keyVaultLinkedServiceName: string;
  /** SQL Server linked service name per source server name. */
  public readonly sqlLinkedServiceNames: Readonly<Record<string, string>>;
  /** The storage account and container the DAG package and plan are uploaded to. */
  public readonly dagStorage: DagStorage;
  /** ARM id of the DAG storage account (monitoring logs its blob activity). */
  public readonly dagStorageAccountId: string;
  /** What is uploaded: the DAG package, the rendered plan and the requirements. */
  public readonly dagBundle: DagBundle;
  /** Environment variables the DAG needs, wherever Airflow runs. */
  public readonly airflowEnvironmentVariables: Readonly<Record<string, string>>;
  /** The managed Airflow environment; undefined with `managedAirflow: false`. */
  public readonly managedAirflow?: ManagedAirflowEnvironment;

  constructor(scope: Construct, id: string, props: OrchestrationFactoryProps) {
    super(scope, id);
    const { plan } = props;
    const prefix = props.namePrefix ?? plan.name;
    const location = props.location ?? plan.location;
    const tags = props.tags ?? plan.tags;
    const client = new DataAzurermClientConfig(this, 'Client', {});
    const airflowPrincipalId = plan.airflow.servicePrincipal.objectId;

    this.factory = new DataFactory(this, 'Factory', {
      name: resourceName('adf', prefix),
      resourceGroupName: props.resourceGroup.name,
      location,
      managedVirtualNetworkEnabled: true,
      publicNetworkEnabled: props.publicNetworkEnabled ?? true,
      identity: { type: 'SystemAssigned' },
      tags,
    });
    this.id = this.factory.id;
    this.name = this.factory.name;
    this.factoryPrincipalId = this.factory.identity.principalId;

    this.selfHostedRuntime = new DataFactoryIntegrationRuntimeSelfHosted(this, 'SelfHostedRuntime', {
      name: resourceName('shir', prefix),
      dataFactoryId: this.factory.id,
      description: 'Reaches the source SQL Servers from inside the corporate network',
    });

    this.keyVault =
      props.keyVault ??
      new CredentialVault(this, 'KeyVault', {
        resourceGroup: props.resourceGroup,
        vaultName: keyVaultName(prefix, props.resourceGroup.name + prefix),
        location,
        tenantId: client.tenantId,
        tags,
        preventDestroy: props.protectKeyVault,
        lock: props.lockKeyVault,
      });
    this.grant('FactoryReadsSecrets', this.factoryPrincipalId, BuiltInRole.KEY_VAULT_SECRETS_USER, this.keyVault.id);
    this.grant('AirflowReadsSecrets', airflowPrincipalId, BuiltInRole.KEY_VAULT_SECRETS_USER, this.keyVault.id);

    const keyVaultLinkedService = new DataFactoryLinkedServiceKeyVault(this, 'KeyVaultLinkedService', {
      name: 'ls_key_vault',
      dataFactoryId: this.factory.id,
      keyVaultId: this.keyVault.id,
      description: 'SQL credentials of the migration',
    });
    this.keyVaultLinkedServiceName = keyVaultLinkedService.name;

    const sqlNames: Record<string, string> = {};
    for (const server of plan.sourceServers) {
      const linked = new DataFactoryLinkedServiceSqlServer(this, `SqlServer-${server.name}`, {
        name: `ls_sql_${server.name.replace(/-/g, '_')}`,
        dataFactoryId: this.factory.id,
        integrationRuntimeName: this.selfHostedRuntime.name,
        description: `Source SQL Server ${server.host}`,
        keyVaultConnectionString: {
          linkedServiceName: keyVaultLinkedService.name,
          secretName: server.connectionStringSecretName,
        },
      });
      sqlNames[server.name] = linked.name;
    }
    this.sqlLinkedServiceNames = sqlNames;

    this.dagBundle = loadDagBundle(renderMigrationPlan(plan));
    this.dagStorage = new DagStorage(this, 'DagStorage', {
      ...props.dagStorage,
      resourceGroup: props.resourceGroup,
      accountName: storageAccountName(prefix, 'dag', props.resourceGroup.name + prefix),
      location,
      tags,
      bundle: this.dagBundle,
    });
    this.dagStorageAccountId = this.dagStorage.account.id;
    const uploader = this.grant(
      'DeployerUploadsDags',
      props.deployerPrincipalId ?? client.objectId,
      BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
      this.dagStorage.account.id,
    );
    this.dagStorage.waitForUploaderRole(uploader);
    const factoryReadsDags = this.grant(
      'FactoryReadsDags',
      this.factoryPrincipalId,
      BuiltInRole.STORAGE_BLOB_DATA_READER,
      this.dagStorage.account.id,
    );

    this.airflowEnvironmentVariables = this.dagEnvironment(props, client);
    if (!props.eventIngestion) {
      Annotations.of(this).addWarning(
        `${this.node.path}: no eventIngestion given: migration events stay in the task logs and the event-based alerts cannot fire`,
      );
    }

    if (props.managedAirflow ?? true) {
      // Key Vault references are not supported for the import linked service, hence the managed identity.
      const dagLinkedService = new DataFactoryLinkedServiceAzureBlobStorage(this, 'DagLinkedService', {
        name: 'ls_airflow_dags',
        dataFactoryId: this.factory.id,
        useManagedIdentity: true,
        serviceEndpoint: this.dagStorage.account.primaryBlobEndpoint,
        storageKind: 'StorageV2',
        description: 'DAG package the managed Airflow imports',
      });
      this.managedAirflow = new ManagedAirflowEnvironment(this, 'Airflow', {
        factory: this,
        environmentName: resourceName('airflow', prefix),
        location,
        settings: plan.airflow,
        environmentVariables: this.airflowEnvironmentVariables,
        requirements: this.dagBundle.requirements,
        dagLinkedServiceName: dagLinkedService.name,
        dagFolderPath: DAG_CONTAINER_NAME,
        dagContentHash: this.dagBundle.contentHash,
        importDependsOn: [dagLinkedService, factoryReadsDags, ...this.dagStorage.blobs],
      });
    }

    namedOutput(this, 'factory-name', { value: this.factory.name, description: 'Data Factory running the orchestration' });
    namedOutput(this, 'key-vault-uri', {
      value: this.keyVault.vaultUri,
      description: 'Key Vault for the SQL credentials (connection strings and airflow-connections-<id> secrets)',
    });
    namedOutput(this, 'dag-storage-account', {
      value: this.dagStorage.account.name,
      description: `Storage account whose ${DAG_CONTAINER_NAME} container holds the DAG package and the plan`,
    });
    namedOutput(this, 'self-hosted-runtime-auth-key', {
      value: this.selfHostedRuntime.primaryAuthorizationKey,
      description: 'Registers the self-hosted integration runtime node with the factory',
      sensitive: true,
    });
  }

  /** Ids and endpoints only: the client secret is added write-only by the managed Airflow construct. */
  private dagEnvironment(props: OrchestrationFactoryProps, client: DataAzurermClientConfig): Record<string, string> {
    const ingestion = props.eventIngestion;
    return {
      AZURE_CLIENT_ID: props.plan.airflow.servicePrincipal.clientId,
      AZURE_TENANT_ID: client.tenantId,
      AZURE_SUBSCRIPTION_ID: client.subscriptionId,
      MIGRATION_DMS_RESOURCE_ID: props.migrationService.serviceId,
      ...(ingestion && {
        MIGRATION_EVENTS_ENDPOINT: ingestion.endpointUrl,
        MIGRATION_EVENTS_RULE_ID: ingestion.dataCollectionRuleImmutableId,
        MIGRATION_EVENTS_STREAM: ingestion.streamName,
      }),
      AIRFLOW__SECRETS__BACKEND: 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend',
      AIRFLOW__SECRETS__BACKEND_KWARGS: `{"connections_prefix": "airflow-connections", "variables_prefix": null, "config_prefix": null, "vault_url": "${this.keyVault.vaultUri}"}`,
    };
  }

  private grant(id: string, principalId: string, roleDefinitionName: string, scope: string): RoleAssignment {
    return new RoleAssignment(this, id, { principalId, roleDefinitionName, scope, description: `${id} (database migration)` });
  }
}
