import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { ITerraformDependable, TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { federatedManagedIdentity, servicePrincipalIdentity, TOKEN_EXCHANGE_AUDIENCE } from '../private/airflow-identity';
import { withStableName } from '../private/outputs';
import { waitFor } from '../private/wait-for';
import { environmentToSetOutput, poolsToCreateOutput } from '../private/setup-outputs';
import { AirflowServicePrincipal, FederatedCredential, supportedSqlAccess } from '../plan/airflow-schema';
import { AIRFLOW_HOST_REQUIRED_PROPS, AirflowHostBaseProps, AirflowIdentity, IAirflowHost, SqlAccessKind } from './airflow-host';
import { DagStorageSettings, HostDagStorage } from './host-dag-storage';
import { resourceName, validateNamePrefix } from '../private/naming';
import { checkBundleForHost } from '../private/bundle-checks';
import { checkGuid, requireProps, IF_GIVEN, DAG_STORAGE_SETTINGS, SERVICE_PRINCIPAL } from '../private/prop-checks';
import { checkRegion } from '../private/azure-regions';
import { warn } from '../core/warnings';

/** Props of {@link ExternalAirflowHost}. */
export interface ExternalAirflowHostProps extends AirflowHostBaseProps {
  /**
   * An existing application the DAG runs as.
   * @default - a user-assigned managed identity is created
   */
  readonly servicePrincipal?: AirflowServicePrincipal;
  /**
   * Federated credentials of the created identity (the team's Airflow workers present these tokens).
   * @default - none
   */
  readonly federatedCredentials?: readonly FederatedCredential[];
  /** Settings of the DAG storage account. @default - secure defaults */
  readonly dagStorage?: DagStorageSettings;
  /** Principal that uploads the DAG blobs. @default - the identity running Terraform */
  readonly deployerPrincipalId?: string;
}

/**
 * An Airflow the team already runs (its own cluster, Astronomer, ...): the stack deploys everything
 * else, puts the DAG bundle in storage, and outputs what the team configures there: where the
 * bundle is, the environment variables, the identity the DAG acts as, and the pools to create.
 * The identity is the plan's service principal, or a managed identity created here, optionally
 * federated to the team's Airflow so that no secret exists. Either may read the bundle.
 */
export class ExternalAirflowHost extends Construct implements IAirflowHost {
  /** Always `external`. */
  public readonly kind = 'external' as const;
  /** The DAG runs on Airflow 3.1 or later (primary), 2.10.5 and 2.6.3, and refuses 3.0; the bundle's requirements are for 3.1+. */
  public readonly airflowVersion = '3.1+, 2.10.5 or 2.6.3';
  /** The team decides what its workers reach: Data Factory pipelines always work, direct where they see SQL Server. */
  public readonly supportedSqlAccess: readonly SqlAccessKind[] = supportedSqlAccess('external');
  /** The identity the DAG acts as: the plan's service principal, or the created managed identity. */
  public readonly identity: AirflowIdentity;
  /** The account the team's Airflow syncs the bundle from. */
  public readonly dagStorageAccountId: string;
  /** The created identity; undefined with a service principal. */
  public readonly managedIdentity?: UserAssignedIdentity;
  /** The bundle's storage. */
  public readonly dagStorage: HostDagStorage;

  constructor(scope: Construct, id: string, props: ExternalAirflowHostProps) {
    requireProps(scope, id, 'ExternalAirflowHost', props, {
      ...AIRFLOW_HOST_REQUIRED_PROPS,
      servicePrincipal: { ifGiven: SERVICE_PRINCIPAL },
      federatedCredentials: { ifGiven: { each: { name: 'string', issuer: 'string', subject: 'string' } } },
      dagStorage: DAG_STORAGE_SETTINGS,
      deployerPrincipalId: IF_GIVEN.string,
    });
    super(scope, id);
    validateNamePrefix(this, props.namePrefix);
    checkBundleForHost(this, props);
    checkRegion(this, 'location', props.location);
    checkGuid(this, 'deployerPrincipalId', props.deployerPrincipalId);
    const credentials = props.federatedCredentials ?? [];
    if (props.servicePrincipal) {
      if (credentials.length > 0) {
        throw new Error(`${this.node.path}: federatedCredentials apply to the managed identity this host creates, not to servicePrincipal`);
      }
      this.identity = servicePrincipalIdentity(this, props.servicePrincipal);
      warn(this, 'migration:secure-default:servicePrincipal',
        'servicePrincipal is set (the plan\'s airflow.external.servicePrincipal), weaker than the secure default, a managed identity the host creates: ' +
          'the DAG signs in with that application\'s client secret or certificate, which your Airflow keeps (AZURE_CLIENT_SECRET), unless you federate ' +
          'the application in Entra ID yourself; without servicePrincipal, federatedCredentials let your Airflow use the created identity with no secret',
      );
    } else {
      if (credentials.length === 0) {
        warn(this, 'migration:external-host:no-federated-credentials',
          `no federatedCredentials (the plan's airflow.external.federatedCredentials): nothing signs in as the identity this host creates ` +
            `(${resourceName('id', `${props.namePrefix}-airflow`)}) until you assign it to the Azure compute that runs your Airflow (VMs, scale sets, App Service, Container Apps: AZURE_CLIENT_ID then selects it ` +
            'through their managed identity endpoint), or add a federated credential for the issuer and subject of your Airflow\'s tokens',
        );
      }
      const federations = credentials.map((credential) => ({ ...credential, id: credential.name }));
      ({ managedIdentity: this.managedIdentity, identity: this.identity } = federatedManagedIdentity(this, props, federations));
    }

    this.dagStorage = new HostDagStorage(this, 'Bundle', { ...props, settings: props.dagStorage });
    this.dagStorageAccountId = this.dagStorage.accountId;
    this.dagStorage.grantRead(this.identity, {
      id: 'AirflowReadsDags',
      description: `The team's Airflow syncs the migration DAG (${props.namePrefix})`,
    });

    // The DAG processor too: it parses the DAG, which reads MIGRATION_PLAN_NAME and MIGRATION_WAIT_MODE then.
    const where = 'your Airflow (every process of it: scheduler, DAG processor, workers, triggerer, API server or webserver)';
    const bundleOutput = new TerraformOutput(this, 'DagBundle', {
      description:
        'Where the DAG bundle is: copy the container\'s dags/ folder into your DAGs folder (for example `az storage blob download-batch ' +
        '--auth-mode login`) and install requirements.txt (Airflow 3.1 or later; the package has requirements-fabric.txt for 2.10.5 and ' +
        'requirements-data-factory.txt for 2.6.3 on Python 3.8)',
      value: {
        storage_account: this.dagStorage.storage.account.name,
        container: this.dagStorage.storage.container.name,
        url: this.dagStorage.containerUrl,
        dags_folder: 'dags/',
        requirements: 'requirements.txt',
        content_hash: props.bundle.contentHash,
      },
    });
    withStableName(bundleOutput, 'airflow_dag_bundle', this);
    const identityOutput = new TerraformOutput(this, 'IdentityOutput', {
      description:
        'The identity the DAG acts as: set AZURE_CLIENT_ID to client_id. A created managed identity signs in through its federated ' +
        `credentials (each process presents a token of a credential's issuer and subject, audience ${TOKEN_EXCHANGE_AUDIENCE}, in the file ` +
        'AZURE_FEDERATED_TOKEN_FILE names; AKS workload identity\'s webhook sets it), or on the Azure compute it is assigned to (VMs, scale sets, App Service, Container Apps); ' +
        'a service principal needs its secret in AZURE_CLIENT_SECRET, set by you, never by the stack',
      value: {
        kind: this.managedIdentity ? 'managedIdentity' : 'servicePrincipal',
        client_id: this.identity.clientId,
        principal_id: this.identity.principalId,
      },
    });
    withStableName(identityOutput, 'airflow_identity', this);
    environmentToSetOutput(this, { ...props.environment, AZURE_CLIENT_ID: this.identity.clientId }, where);
    poolsToCreateOutput(this, props.pools, 'your Airflow', { importFile: true });
  }

  /**
   * Makes the bundle's blobs wait for `dependables`: an Airflow that syncs the container would
   * otherwise run the new DAG before them. One copied by hand is copied after the apply.
   */
  public deployDagAfter(...dependables: ITerraformDependable[]): void {
    waitFor(this.dagStorage.storage.blobs, dependables);
  }
}
