import { TerraformMetaArguments, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { fabricElementConfig } from './generator-metadata';
import { requireProps, IF_GIVEN } from '../private/prop-checks';

/** The only definition part an Apache Airflow job accepts (format `Default`). */
export const APACHE_AIRFLOW_JOB_CONTENT_PART = 'apacheairflowjob-content.json';

/** One definition part: a file the provider reads, optionally filled in with tokens. */
export interface FabricDefinitionPart {
  /** Path of the source file, relative to the folder Terraform runs in (or absolute). */
  readonly source: string;
  /**
   * Values substituted for `{{ .Name }}` placeholders in the source (Go templates).
   * @default - none
   */
  readonly tokens?: { readonly [name: string]: string };
  /**
   * How the source is processed.
   * @default "GoTemplate"
   */
  readonly processingMode?: 'GoTemplate' | 'Parameters' | 'None';
}

/** Arguments of `fabric_apache_airflow_job` (microsoft/fabric 1.13). */
export interface FabricApacheAirflowJobConfig extends TerraformMetaArguments {
  /** Fabric id of the workspace. */
  readonly workspaceId: string;
  /** Job display name. */
  readonly displayName: string;
  /**
   * Job description.
   * @default - none
   */
  readonly description?: string;
  /**
   * The job definition: environment, requirements and compute (not the DAG files, which go
   * through the files API).
   * @default - no definition: Fabric's defaults
   */
  readonly definition?: {
    /** The `apacheairflowjob-content.json` part. */
    readonly [APACHE_AIRFLOW_JOB_CONTENT_PART]: FabricDefinitionPart;
  };
  /**
   * Send the definition again when its processed content changes.
   * @default true
   */
  readonly definitionUpdateEnabled?: boolean;
}

/** `fabric_apache_airflow_job`: an Apache Airflow job (a managed Airflow environment) in a workspace. */
export class FabricApacheAirflowJob extends TerraformResource {
  /** The resource's Terraform type name. */
  public static readonly tfResourceType = 'fabric_apache_airflow_job';

  private readonly config: FabricApacheAirflowJobConfig;

  constructor(scope: Construct, id: string, config: FabricApacheAirflowJobConfig) {
    requireProps(scope, id, 'FabricApacheAirflowJob', config, { workspaceId: 'string', displayName: 'string', description: IF_GIVEN.string, definition: IF_GIVEN.object, definitionUpdateEnabled: IF_GIVEN.boolean });
    super(scope, id, fabricElementConfig(FabricApacheAirflowJob.tfResourceType, config));
    this.config = config;
  }

  /** Fabric id (GUID) of the job. */
  public get id(): string {
    return this.getStringAttribute('id');
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    const c = this.config;
    const part = c.definition?.[APACHE_AIRFLOW_JOB_CONTENT_PART];
    return {
      workspace_id: c.workspaceId,
      display_name: c.displayName,
      description: c.description,
      format: part && 'Default',
      definition: part && {
        [APACHE_AIRFLOW_JOB_CONTENT_PART]: {
          source: part.source,
          tokens: part.tokens,
          processing_mode: part.processingMode,
        },
      },
      definition_update_enabled: c.definitionUpdateEnabled,
    };
  }
}
