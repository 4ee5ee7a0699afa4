import { DataAzurermDataFactory } from '@cdktf/provider-azurerm/lib/data-azurerm-data-factory';
import { DataFactoryLinkedServiceAzureBlobStorage } from '@cdktf/provider-azurerm/lib/data-factory-linked-service-azure-blob-storage';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { Fn, ITerraformDependable, Op, Precondition } from 'cdktf';
import { Construct } from 'constructs';
import { AzapiResourceAction } from '../azapi/resource-action';
import { waitFor } from '../private/wait-for';
import { AlertOptions, CreatedLogAlert, CreatedMetricAlert } from '../monitoring/alerts';
import { MigrationMonitoring } from '../monitoring/migration-monitoring';
import { DAG_CONTAINER_NAME, UPLOADER_ROLE_PROPAGATION } from '../orchestration-factory/dag-storage';
import { AIRFLOW_VERSION_OF_HOST } from '../private/airflow-versions';
import { parseEnvironmentId } from '../private/arm-ids';
import { moveFromFormerId } from '../private/retired-addresses';
import { resourceAddress } from '../private/resource-address';
import { environmentToSetOutput, poolsToCreateOutput } from '../private/setup-outputs';
import { TerraformData } from '../private/terraform-data';
import { servicePrincipalIdentity } from '../private/airflow-identity';
import { waitForRoles } from '../private/role-propagation';
import { AirflowServicePrincipal, supportedSqlAccess } from '../plan/airflow-schema';
import { AIRFLOW_HOST_REQUIRED_PROPS, AirflowHostBaseProps, AirflowIdentity, IAirflowHost, SqlAccessKind } from './airflow-host';
import { DagStorageSettings, HostDagStorage } from './host-dag-storage';
import { validateNamePrefix } from '../private/naming';
import { checkBundleForHost } from '../private/bundle-checks';
import { onlyListed } from '../private/required-fields';
import { ALERT_OPTIONS, SERVICE_PRINCIPAL, checkGuid, requireProps, IF_GIVEN, DAG_STORAGE_SETTINGS } from '../private/prop-checks';
import { checkRegion } from '../private/azure-regions';

/** The only Airflow Data Factory's Workflow Orchestration Manager offers (MicrosoftDocs/azure-docs `concepts-workflow-orchestration-manager.md`). */
export const DATA_FACTORY_AIRFLOW_VERSION = AIRFLOW_VERSION_OF_HOST.dataFactory;
/** Its Python, which `azure-mgmt-datamigration` cannot install on (hence the DAG's own requirements file for it). */
export const DATA_FACTORY_PYTHON_VERSION = '3.8';

/** The parts of an environment id: the factory it belongs to and its own name. */
export interface DataFactoryEnvironment {
  /** ARM id of the factory the environment belongs to. */
  readonly factoryId: string;
  /** Name of that factory. */
  readonly factoryName: string;
  /** Resource group of that factory. */
  readonly resourceGroupName: string;
  /** Name of the environment (its integration runtime); the Airflow metrics' `IntegrationRuntimeName`. */
  readonly environmentName: string;
}

/** Overrides of an Airflow host's alerts. */
export interface AirflowAlertOptions {
  /** The task failures alert (`AirflowIntegrationRuntimeTaskInstanceFailures`). @default - severity 2, every 5 minutes over 15, total more than 0 */
  readonly taskFailures?: AlertOptions;
  /** The DAG import errors alert (`AirflowIntegrationRuntimeDAGProcessingImportErrors`). @default - severity 2, every 5 minutes over 15, total more than 0 */
  readonly dagImportErrors?: AlertOptions;
  /**
   * The missing pool alert (`alert-<namePrefix>-airflow-missing-pool`, on the scheduler's log; with `airflowLogs` only).
   * @default - severity 1, every 5 minutes over 15, count more than 0, per pool
   */
  readonly missingPool?: AlertOptions;
}

/** Props of {@link DataFactoryAirflowHost}. */
export interface DataFactoryAirflowHostProps extends AirflowHostBaseProps {
  /** ARM id of the existing Workflow Orchestration Manager environment (an integration runtime of type Airflow). */
  readonly environmentId: string;
  /** The application the environment runs the DAG as (its `AZURE_CLIENT_ID`). */
  readonly servicePrincipal: AirflowServicePrincipal;
  /**
   * The plan's monitoring: the environment's `Airflow*` logs go to its workspace, and its Airflow
   * alerts are made by it ({@link MigrationMonitoring.monitorDataFactoryAirflow}), with its alert
   * defaults and action group, listed by its `createdAlerts()`.
   */
  readonly monitoring: MigrationMonitoring;
  /** Overrides of the environment's Airflow alerts. @default - their defaults */
  readonly airflowAlerts?: AirflowAlertOptions;
  /**
   * A diagnostic setting on the environment's factory that sends the five `Airflow*` log categories
   * to the workspace. Turn off when the factory already has its five diagnostic settings, or its
   * owners do not want one more; the missing pool alert, which reads the scheduler's log there, goes with it.
   * @default true (warns when false)
   */
  readonly airflowLogs?: boolean;
  /** Settings of the DAG storage account. @default - secure defaults */
  readonly dagStorage?: DagStorageSettings;
  /** Principal that uploads the DAG blobs. @default - the identity running Terraform */
  readonly deployerPrincipalId?: string;
}

/**
 * Before the factory is read: azurerm reads it and creates the DAG's linked service in its provider's
 * subscription (`data.azurerm_data_factory` and the linked services build their ids from the
 * provider's subscription), so an environment of another subscription would fail the plan as "not
 * found" instead of saying why.
 */
function inStackSubscription(host: Construct, factoryId: string): Precondition {
  const environmentSubscription = factoryId.split('/')[2];
  const deployedInto = new DataAzurermClientConfig(host, 'Client', {}).subscriptionId;
  return {
    condition: Op.eq(Fn.lower(deployedInto), environmentSubscription.toLowerCase()),
    errorMessage:
      `airflow.dataFactory.environmentId is in subscription ${environmentSubscription}, and the stack's azurerm provider deploys into ${deployedInto}: ` +
      "azurerm reads the environment's factory and creates the DAG's linked service in its provider's subscription. " +
      'Deploy the plan into the subscription of the environment (subscriptionId, or ARM_SUBSCRIPTION_ID)',
  };
}

/**
 * An existing Data Factory Airflow environment (Workflow Orchestration Manager) as the DAG's host.
 * Microsoft stopped the creation of new environments on 2026-01-01, so this host never creates
 * one: it uploads the DAG bundle (with the requirements for Airflow 2.6.3 on Python 3.8) to the DAG
 * storage and imports it into the environment through a Blob linked service in that environment's
 * factory and `airflow/sync`, again whenever the bundle changes. The environment keeps its own
 * settings: the stack outputs the environment variables and pools an operator sets there, since
 * rewriting the integration runtime would replace its whole definition (compute, secret included).
 */
export class DataFactoryAirflowHost extends Construct implements IAirflowHost {
  /** Always `dataFactory`. */
  public readonly kind = 'dataFactory' as const;
  /** 2.6.3, the only version Data Factory offers. */
  public readonly airflowVersion = DATA_FACTORY_AIRFLOW_VERSION;
  /** Data Factory's Airflow reaches data sources only through public endpoints: SQL goes through pipelines. */
  public readonly supportedSqlAccess: readonly SqlAccessKind[] = supportedSqlAccess('dataFactory');
  /** The plan's service principal, which the environment runs the DAG as. */
  public readonly identity: AirflowIdentity;
  /** The account the environment imports the bundle from. */
  public readonly dagStorageAccountId: string;
  /** The environment and its factory. */
  public readonly adoptedEnvironment: DataFactoryEnvironment;
  /** The bundle's storage. */
  public readonly dagStorage: HostDagStorage;
  /** The `airflow/sync` action that imports the bundle; replaced (re-run) when the bundle changes. */
  public readonly dagImport: AzapiResourceAction;
  /** The environment's Airflow alerts (task failures, DAG import errors; missing pool with `airflowLogs`), made by the plan's monitoring. */
  public readonly alerts: readonly (CreatedMetricAlert | CreatedLogAlert)[];

  constructor(scope: Construct, id: string, props: DataFactoryAirflowHostProps) {
    requireProps(scope, id, 'DataFactoryAirflowHost', props, {
      ...AIRFLOW_HOST_REQUIRED_PROPS,
      environmentId: 'string',
      servicePrincipal: SERVICE_PRINCIPAL,
      monitoring: 'construct',
      airflowAlerts: { ifGiven: onlyListed({ taskFailures: ALERT_OPTIONS, dagImportErrors: ALERT_OPTIONS, missingPool: ALERT_OPTIONS }) },
      airflowLogs: IF_GIVEN.boolean,
      dagStorage: DAG_STORAGE_SETTINGS,
      deployerPrincipalId: IF_GIVEN.string,
    });
    super(scope, id);
    validateNamePrefix(this, props.namePrefix);
    checkBundleForHost(this, props);
    checkRegion(this, 'location', props.location);
    checkGuid(this, 'deployerPrincipalId', props.deployerPrincipalId);
    this.adoptedEnvironment = parseEnvironmentId(props.environmentId);
    const { factoryId, environmentName } = this.adoptedEnvironment;
    this.identity = servicePrincipalIdentity(this, props.servicePrincipal);

    this.dagStorage = new HostDagStorage(this, 'Bundle', { ...props, settings: props.dagStorage });
    this.dagStorageAccountId = this.dagStorage.accountId;

    // The import reads the blobs as the factory's managed identity: Key Vault references are not
    // supported in the linked service used to import DAGs (concepts-workflow-orchestration-manager.md).
    const factory = new DataAzurermDataFactory(this, 'Factory', {
      name: this.adoptedEnvironment.factoryName,
      resourceGroupName: this.adoptedEnvironment.resourceGroupName,
      lifecycle: { precondition: [inStackSubscription(this, factoryId)] },
    });
    const factoryReads = this.dagStorage.grantRead(
      { principalId: factory.identity.get(0).principalId, principalType: 'ServicePrincipal' },
      {
        id: 'FactoryReadsDags',
        description: `Data Factory ${this.adoptedEnvironment.factoryName} imports the migration DAG (${props.namePrefix})`,
      },
    );
    const readPropagation = waitForRoles(this, 'FactoryReadPropagation', UPLOADER_ROLE_PROPAGATION, {
      role_assignment_id: factoryReads,
    });
    const linkedService = new DataFactoryLinkedServiceAzureBlobStorage(this, 'DagLinkedService', {
      name: `ls_${props.namePrefix.replace(/-/g, '_')}_airflow_dags`,
      dataFactoryId: factoryId,
      useManagedIdentity: true,
      serviceEndpoint: this.dagStorage.storage.account.primaryBlobEndpoint,
      storageKind: 'StorageV2',
      description: `DAG bundle of migration plan ${props.namePrefix}, imported into ${environmentName}`,
    });
    const dagVersion = new TerraformData(this, 'DagVersion', { contentHash: props.bundle.contentHash });
    this.dagImport = new AzapiResourceAction(this, 'DagImport', {
      type: 'Microsoft.DataFactory/factories@2018-06-01',
      resourceId: factoryId,
      action: 'airflow/sync',
      method: 'POST',
      body: {
        IntegrationRuntimeName: environmentName,
        LinkedServiceName: linkedService.name,
        StorageFolderPath: DAG_CONTAINER_NAME,
        Overwrite: true,
        CopyFolderStructure: true,
        // The bundle's requirements.txt is the DAG's file for Airflow 2.6.3 on Python 3.8.
        AddRequirementsFromFile: true,
      },
      dependsOn: [linkedService, readPropagation, ...this.dagStorage.storage.blobs],
      // A bare address: cdktf 0.21 writes a resource given here as "${...}", which Terraform's JSON rejects.
      lifecycle: { replaceTriggeredBy: [resourceAddress(dagVersion)] },
    });

    this.alerts = this.monitor(props);
    environmentToSetOutput(this, { ...props.environment, AZURE_CLIENT_ID: this.identity.clientId }, `the Data Factory Airflow environment ${environmentName}`);
    poolsToCreateOutput(this, props.pools, `the Data Factory Airflow environment ${environmentName}`);
  }

  /**
   * Makes the DAG import wait for `dependables`. The blobs alone change nothing the environment
   * runs: it runs what `airflow/sync` copied in.
   */
  public deployDagAfter(...dependables: ITerraformDependable[]): void {
    waitFor([this.dagImport], dependables);
  }

  /**
   * The environment's own signals, on its factory, made by the plan's monitoring: the Airflow
   * metrics (dimension = the environment's name) and, unless turned off, its `Airflow*` logs in the
   * workspace.
   */
  private monitor(props: DataFactoryAirflowHostProps): readonly (CreatedMetricAlert | CreatedLogAlert)[] {
    const { alerts, airflowLogs, missingPoolAlert } = props.monitoring.monitorDataFactoryAirflow(this.adoptedEnvironment, {
      airflowLogs: props.airflowLogs,
      airflowTaskFailuresAlert: props.airflowAlerts?.taskFailures,
      airflowDagImportErrorsAlert: props.airflowAlerts?.dagImportErrors,
      missingPoolAlert: props.airflowAlerts?.missingPool,
    });
    // This host used to make them under its own construct: `moved` blocks keep them in Terraform's
    // state at their new addresses instead of deleting and re-creating them.
    const [taskFailures, dagImportErrors] = alerts;
    moveFromFormerId(this, 'AirflowTaskFailuresAlert', taskFailures.resource);
    moveFromFormerId(this, 'AirflowDagImportErrorsAlert', dagImportErrors.resource);
    if (airflowLogs) moveFromFormerId(this, 'AirflowLogs', airflowLogs);
    return missingPoolAlert ? [...alerts, missingPoolAlert] : alerts;
  }
}
