import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { DataFactoryIntegrationRuntimeSelfHosted } from '@cdktf/provider-azurerm/lib/data-factory-integration-runtime-self-hosted';
import { DataFactoryLinkedServiceKeyVault } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-key-vault';
import { DataFactoryLinkedServiceSqlServer } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-sql-server';
import { Construct } from 'constructs';
import { ResourceLock } from '../core/protection';
import { IDataFactory, IKeyVault, IResourceGroup } from '../core/references';
import { MigrationPlan } from '../plan/types';
import { keyVaultName, nameSeed, resourceName, validateNamePrefix } from '../private/naming';
import { namedOutput } from '../private/outputs';
import { KEY_VAULT, LOCK, RESOURCE_GROUP, checkKeyVaultName, requireProps, IF_GIVEN } from '../private/prop-checks';
import { CredentialVault, grantReadSecrets } from './credential-vault';
import { secretsToSet, sourceLinkedServiceName, terraformLiteral } from './secrets-to-set';
import { checkRegion } from '../private/azure-regions';

/** Props of {@link OrchestrationFactory}. */
export interface OrchestrationFactoryProps {
  /** Where everything is created. */
  readonly resourceGroup: IResourceGroup;
  /** The validated plan: its source servers become linked services. */
  readonly plan: MigrationPlan;
  /**
   * Prefix of generated resource names: lowercase letters, digits and single inner hyphens (at most 15
   * characters with the Key Vault it creates, whose name Azure limits to 24).
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
  /**
   * Name of the Key Vault this construct creates. Give the name an earlier version generated to keep
   * that vault (it derived the 4-character suffix from internal token text; `terraform state show`
   * on the vault shows it): a new name would replace a vault that `prevent_destroy` protects.
   * @default `kv-<prefix>-<4 hex characters of a hash of the prefix and location>`
   */
  readonly keyVaultName?: string;
  /**
   * `prevent_destroy` on the construct's stateful resource: the Key Vault it creates (none with `keyVault`).
   * @default true (warns when false)
   */
  readonly preventDestroy?: boolean;
  /**
   * A management lock on the construct's stateful resource: the Key Vault it creates (none with `keyVault`).
   * @default - no lock
   */
  readonly lock?: ResourceLock;
  /**
   * Public network access of the factory. The self-hosted runtime reaches the factory over it
   * unless you add private endpoints yourself.
   * @default true
   */
  readonly publicNetworkEnabled?: boolean;
}

/**
 * The orchestration side of a migration: a Data Factory (managed virtual network, managed
 * identity), its self-hosted integration runtime, the Key Vault with the SQL credentials and the
 * linked services that reference it. The DAG runs on an Airflow host (`lib/hosts`); this factory
 * also runs its SQL steps when the plan says `sqlAccess: dataFactory` (`SqlPipelines`).
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
  constructor(scope: Construct, id: string, props: OrchestrationFactoryProps) {
    requireProps(scope, id, 'OrchestrationFactory', props, {
      resourceGroup: RESOURCE_GROUP,
      plan: 'object',
      namePrefix: IF_GIVEN.string,
      location: IF_GIVEN.string,
      tags: IF_GIVEN.map,
      keyVault: { ifGiven: KEY_VAULT },
      keyVaultName: IF_GIVEN.string,
      preventDestroy: IF_GIVEN.boolean,
      lock: LOCK,
      publicNetworkEnabled: IF_GIVEN.boolean,
    });
    super(scope, id);
    const { plan } = props;
    const prefix = props.namePrefix ?? plan.name;
    validateNamePrefix(this, prefix);
    checkKeyVaultName(this, 'keyVaultName', props.keyVaultName);
    if (props.keyVault !== undefined && props.keyVaultName !== undefined) {
      throw new Error(
        `${this.node.path}: keyVaultName names the Key Vault this construct creates, and with keyVault (${props.keyVault.name}) it creates none: leave one of them out`,
      );
    }
    const location = props.location ?? plan.location;
    checkRegion(this, props.location === undefined ? 'plan.location' : 'location', location);
    const tags = props.tags ?? plan.tags;
    const client = new DataAzurermClientConfig(this, 'Client', {});

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
        vaultName: props.keyVaultName ?? keyVaultName(prefix, nameSeed(prefix, location)),
        location,
        tenantId: client.tenantId,
        tags,
        preventDestroy: props.preventDestroy,
        lock: props.lock,
      });
    // The factory's own scope and id: the address it has had since before this grant existed.
    grantReadSecrets(this, this.keyVault, { principalId: this.factoryPrincipalId }, {
      id: 'FactoryReadsSecrets',
      description: 'FactoryReadsSecrets (database migration)',
    });

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
        name: sourceLinkedServiceName(server.name),
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

    namedOutput(this, 'factory-name', { value: this.factory.name, description: 'Data Factory running the orchestration' });
    namedOutput(this, 'key-vault-uri', {
      value: this.keyVault.vaultUri,
      description: 'Key Vault for the SQL credentials (connection strings and airflow-connections-<id> secrets)',
    });
    // Names and what each holds, never a value: the person sets the values in the vault.
    namedOutput(this, 'secrets-to-set', {
      value: Object.fromEntries(Object.entries(secretsToSet(plan)).map(([name, what]) => [name, terraformLiteral(what)])),
      description: 'The Key Vault secrets to set after the first deploy (name: what it holds), values never in Terraform',
    });
    namedOutput(this, 'self-hosted-runtime-auth-key', {
      value: this.selfHostedRuntime.primaryAuthorizationKey,
      description: 'Registers the self-hosted integration runtime node with the factory',
      sensitive: true,
    });
  }
}
