import { Annotations, dependable, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { AzapiResource } from '../azapi/resource';
import { AzapiResourceAction } from '../azapi/resource-action';
import { IDataFactory } from '../core/references';
import { TerraformData } from '../core/terraform-data';
import { AirflowSettings } from '../plan/types';

/** Data Factory resource types the managed Airflow is driven through (2018-06-01 is the only version). */
const INTEGRATION_RUNTIME_TYPE = 'Microsoft.DataFactory/factories/integrationRuntimes@2018-06-01';
const FACTORY_TYPE = 'Microsoft.DataFactory/factories@2018-06-01';
const CLIENT_SECRET_PATH = 'properties.typeProperties.airflowProperties.airflowEnvironmentVariables.AZURE_CLIENT_SECRET';

/** Props of {@link ManagedAirflowEnvironment}. */
export interface ManagedAirflowEnvironmentProps {
  /** The Data Factory the environment belongs to. */
  readonly factory: IDataFactory;
  /** Name of the Airflow integration runtime. */
  readonly environmentName: string;
  /** Azure region of the environment. */
  readonly location: string;
  /** The plan's `airflow` section: version, size, extra nodes, service principal. */
  readonly settings: AirflowSettings;
  /** Environment variables the DAG reads (ids and endpoints only, never secrets). */
  readonly environmentVariables: Readonly<Record<string, string>>;
  /** Pinned pip requirements installed into the environment. */
  readonly requirements: readonly string[];
  /** Blob linked service the DAGs are imported from. */
  readonly dagLinkedServiceName: string;
  /** Folder (container) holding `dags/` and `requirements.txt`. */
  readonly dagFolderPath: string;
  /** Changes whenever an uploaded file changes: the import runs again. */
  readonly dagContentHash: string;
  /** Resources the import must wait for (the uploaded blobs, the linked service). */
  readonly importDependsOn: readonly import('cdktf').ITerraformDependable[];
}

/**
 * Data Factory's managed Airflow (Workflow Orchestration Manager): an integration runtime of type
 * `Airflow`, which azurerm does not model and which is missing from the published swagger, hence
 * AzAPI with schema validation off. The service principal's secret is a write-only property fed by
 * the sensitive variable `airflow_client_secret`: it is in neither the JSON nor the state.
 */
export class ManagedAirflowEnvironment extends Construct {
  /** The Airflow integration runtime (`azapi_resource`). */
  public readonly environment: AzapiResource;
  /** The `airflow/sync` action that imports the DAG files; runs again when they change. */
  public readonly dagImport: AzapiResourceAction;
  /** Name of the Airflow integration runtime. */
  public readonly environmentName: string;

  constructor(scope: Construct, id: string, props: ManagedAirflowEnvironmentProps) {
    super(scope, id);
    this.environmentName = props.environmentName;
    Annotations.of(this).addWarning(
      'Microsoft stopped the creation of new Workflow Orchestration Manager (managed Airflow) environments in Data Factory on 2026-01-01; ' +
        'a new deployment of this environment will be rejected. Existing environments keep working. For new ones run the same DAG in ' +
        'Apache Airflow jobs in Microsoft Fabric and set managedAirflow: false (see README, "Where Airflow runs").',
    );

    const clientSecret = new TerraformVariable(this, 'ClientSecret', {
      type: 'string',
      sensitive: true,
      nullable: false,
      description: 'Client secret of the Entra ID application the managed Airflow runs as (airflow.servicePrincipal in the plan)',
    });
    clientSecret.overrideLogicalId('airflow_client_secret');
    const clientSecretVersion = new TerraformVariable(this, 'ClientSecretVersion', {
      type: 'string',
      default: '1',
      description: 'Change to resend airflow_client_secret after rotating it (it is write-only, so Terraform cannot see a new value)',
    });
    clientSecretVersion.overrideLogicalId('airflow_client_secret_version');

    this.environment = new AzapiResource(this, 'Environment', {
      type: INTEGRATION_RUNTIME_TYPE,
      name: props.environmentName,
      parentId: props.factory.id,
      // The only place schema validation is off: azapi 2.12's embedded schema of
      // integrationRuntimes@2018-06-01 knows only the types Managed and SelfHosted, so validate fails
      // with "`properties.type`'s value `Airflow` is invalid. The supported values are [Managed,
      // SelfHosted]" (the published swagger lacks the Airflow type too).
      schemaValidationEnabled: false,
      body: {
        properties: {
          type: 'Airflow',
          typeProperties: {
            computeProperties: {
              location: props.location,
              computeSize: props.settings.computeSize,
              extraNodes: props.settings.extraNodes,
            },
            airflowProperties: {
              airflowVersion: props.settings.version,
              airflowEnvironmentVariables: { ...props.environmentVariables },
              airflowRequirements: [...props.requirements],
              enableAADIntegration: true,
            },
          },
        },
      },
      sensitiveBody: {
        properties: {
          typeProperties: {
            airflowProperties: { airflowEnvironmentVariables: { AZURE_CLIENT_SECRET: clientSecret.stringValue } },
          },
        },
      },
      sensitiveBodyVersion: { [CLIENT_SECRET_PATH]: clientSecretVersion.stringValue },
      responseExportValues: [],
    });

    // terraform_data carries the content hash so that any change to the DAG files re-runs the import.
    const dagVersion = new TerraformData(this, 'DagVersion', { contentHash: props.dagContentHash });
    this.dagImport = new AzapiResourceAction(this, 'DagImport', {
      type: FACTORY_TYPE,
      resourceId: props.factory.id,
      action: 'airflow/sync',
      method: 'POST',
      body: {
        IntegrationRuntimeName: props.environmentName,
        LinkedServiceName: props.dagLinkedServiceName,
        StorageFolderPath: props.dagFolderPath,
        Overwrite: true,
        CopyFolderStructure: true,
        AddRequirementsFromFile: true,
      },
      dependsOn: [this.environment, ...props.importDependsOn],
      // A bare address, as cdktf writes depends_on: cdktf 0.21 turns a resource given here into
      // "${terraform_data.x}", which Terraform's JSON syntax rejects (hashicorp/terraform-cdk#3532).
      lifecycle: { replaceTriggeredBy: [dependable(dagVersion)] },
    });
  }
}
