import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ITerraformDependable, Lazy, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { DagBundle, DagBundleFile } from '../../orchestration-factory/dag-bundle';
import { AIRFLOWIGNORE_BLOB_NAME } from '../dag-bundle-loader';
import { defaultProviderBlock } from '../ensure-provider';
import { findPackageRoot } from '../package-root';
import { resourceAddress } from '../resource-address';
import { TerraformData } from '../terraform-data';
import { stagedAsset } from './staged-asset';
import { warn } from '../../core/warnings';

/**
 * The Fabric "Apache Airflow Job files" API takes files under `dags/` or `plugins/` only, at most
 * 2 MB each (microsoft/fabric-rest-api-specs `apacheAirflowJob/swagger.json`, Files_Create_Or_Update).
 * The smaller reading of "2 MB" is used so that no file passes here and fails in Fabric.
 */
export const FABRIC_MAX_FILE_BYTES = 2_000_000;
export const FABRIC_FILE_FOLDERS: readonly string[] = ['dags/', 'plugins/'];

/** The uploader, shipped as source beside this module (plain Node 20, no dependency). */
const UPLOADER = join('lib', 'hosts', 'fabric', 'fabric-upload-files.mjs');
const FILES_FOLDER = 'files';

/** Props of {@link FabricDagUpload}. */
export interface FabricDagUploadProps {
  /** The DAG package and rendered plan; files outside `dags/` and `plugins/` are not uploaded. */
  readonly bundle: DagBundle;
  /** Fabric id of the workspace. */
  readonly workspaceId: string;
  /** Fabric id of the Apache Airflow job. */
  readonly apacheAirflowJobId: string;
  /** What must exist before the upload (the job, the deployer's workspace role). */
  readonly dependsOn: readonly ITerraformDependable[];
  /**
   * Resources whose every update or replacement runs the upload again: the job, whose definition Fabric
   * overrides as a whole on each update (see {@link FabricDagUpload}).
   * @default - none
   */
  readonly uploadAgainAfterChangeOf?: readonly TerraformResource[];
}

/**
 * Uploads the DAG files through the Fabric files API from a `local-exec` step, again whenever the
 * bundle's content hash changes, the job is replaced, or a resource in `uploadAgainAfterChangeOf` (the
 * job) is updated: Fabric's updateDefinition "overrides the definition" of the job, and the job's
 * definition in Git form holds its `dags/` folder too, so an update that sends only
 * `apacheairflowjob-content.json` may leave the job without the DAG's files. The step authenticates as the deployer
 * (Azure CLI login, or `ARM_*`/`FABRIC_*` environment), so no secret is on its command line or in
 * Terraform state. Sign-in switches, ids and file paths set in the stack's `fabric` provider block
 * (which the provider prefers to its environment) reach the step as `FABRIC_*` variables, so it signs
 * in as the provider does. PUT overwrites, so running it twice leaves the same files; files an earlier bundle
 * uploaded and this one has not are deleted, and no other file (see the uploader's header).
 */
export class FabricDagUpload extends Construct {
  /** The files uploaded, by their path in the job (`dags/...`). */
  public readonly uploadedPaths: readonly string[];
  /** The `terraform_data` whose provisioner runs the upload. */
  public readonly upload: TerraformResource;

  constructor(scope: Construct, id: string, props: FabricDagUploadProps) {
    super(scope, id);
    const files = props.bundle.files.filter(
      // The ignore file only saves parsing; Fabric's file API is not documented to take a dot file.
      (file) => FABRIC_FILE_FOLDERS.some((folder) => file.blobName.startsWith(folder)) && file.blobName !== AIRFLOWIGNORE_BLOB_NAME,
    );
    files.forEach(checkSize);
    this.uploadedPaths = files.map((file) => file.blobName);

    const staged = new Map<string, string | Buffer>(files.map((file) => [`${FILES_FOLDER}/${file.blobName}`, file.content]));
    staged.set('upload.mjs', readFileSync(join(findPackageRoot(), UPLOADER)));
    const asset = stagedAsset(this, 'Files', staged);

    // Read at synth, when the stack's provider block is complete, wherever and whenever it was added.
    const environment = Lazy.anyValue({ produce: () => providerSignIn(this) });
    const dagVersion = new TerraformData(this, 'DagVersion', { contentHash: props.bundle.contentHash });
    this.upload = new TerraformResource(this, 'Upload', {
      terraformResourceType: 'terraform_data',
      terraformGeneratorMetadata: { providerName: 'terraform' },
      dependsOn: [...props.dependsOn],
      lifecycle: {
        replaceTriggeredBy: [resourceAddress(dagVersion), ...(props.uploadAgainAfterChangeOf ?? []).map(resourceAddress)],
      },
      provisioners: [
        {
          type: 'local-exec',
          command:
            `node "${asset.path}/upload.mjs" --workspace-id ${props.workspaceId} ` +
            `--job-id ${props.apacheAirflowJobId} --files "${asset.path}/${FILES_FOLDER}"`,
          environment: environment as unknown as Record<string, string>,
        },
      ],
    });
    this.upload.addOverride('triggers_replace', { apacheAirflowJobId: props.apacheAirflowJobId });
    this.node.addValidation({
      validate: () => {
        const block = defaultProviderBlock(this, 'fabric') ?? {};
        const secrets = SECRET_SIGN_IN_ARGUMENTS.filter((argument) => block[argument] !== undefined && block[argument] !== null);
        if (secrets.length > 0) {
          warn(this, 'migration:fabric:provider-secrets',
            `the fabric provider block sets ${secrets.join(', ')}: secrets are not copied into the DAG upload step's ` +
              'environment (no secret in its local-exec configuration), so the step signs in as another identity than Terraform, or fails: ' +
              `set ${secrets.map((argument) => `FABRIC_${argument.toUpperCase()}`).join(', ')} in the environment instead, which the provider reads too`,
          );
        }
        return [];
      },
    });
  }
}

/**
 * The `fabric` provider block's sign-in arguments (and where and how long it calls), and the variable the uploader reads
 * each from: every one the uploader reads that the provider's schema does not mark sensitive (microsoft/fabric 1.13.0,
 * `terraform providers schema -json`), so none of them is a secret in the local-exec environment.
 */
const SIGN_IN_ARGUMENTS = {
  use_msi: 'FABRIC_USE_MSI',
  use_oidc: 'FABRIC_USE_OIDC',
  use_dev_cli: 'FABRIC_USE_DEV_CLI',
  use_cli: 'FABRIC_USE_CLI',
  tenant_id: 'FABRIC_TENANT_ID',
  client_id: 'FABRIC_CLIENT_ID',
  client_id_file_path: 'FABRIC_CLIENT_ID_FILE_PATH',
  client_secret_file_path: 'FABRIC_CLIENT_SECRET_FILE_PATH',
  client_certificate_file_path: 'FABRIC_CLIENT_CERTIFICATE_FILE_PATH',
  oidc_request_url: 'FABRIC_OIDC_REQUEST_URL',
  oidc_token_file_path: 'FABRIC_OIDC_TOKEN_FILE_PATH',
  azure_devops_service_connection_id: 'FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID',
  environment: 'FABRIC_ENVIRONMENT',
  // Not sign-in, but read by the step as by the provider: the API it calls, and how long a CLI may take.
  endpoint: 'FABRIC_ENDPOINT',
  use_workspace_private_link_endpoint: 'FABRIC_USE_WORKSPACE_PRIVATE_LINK_ENDPOINT',
  timeout: 'FABRIC_TIMEOUT',
} as const;

/** The sign-in arguments the provider's schema marks sensitive: never put in the local-exec environment. */
const SECRET_SIGN_IN_ARGUMENTS = ['client_secret', 'client_certificate', 'client_certificate_password', 'oidc_token', 'oidc_request_token'] as const;

/**
 * What the stack's default `fabric` provider block says about signing in, as the variables the
 * uploader reads: the block's arguments in {@link SIGN_IN_ARGUMENTS} (as it synthesizes them,
 * overrides included) win over the provider's environment, and would not reach the uploader
 * otherwise. Undefined when the block sets none of them.
 */
function providerSignIn(scope: Construct): Record<string, string> | undefined {
  const block = defaultProviderBlock(scope, 'fabric') ?? {};
  const environment = Object.entries(SIGN_IN_ARGUMENTS)
    .filter(([argument]) => block[argument] !== undefined && block[argument] !== null)
    .map(([argument, variable]) => [variable, String(block[argument])]);
  return environment.length > 0 ? Object.fromEntries(environment) : undefined;
}

function checkSize(file: DagBundleFile): void {
  const bytes = Buffer.byteLength(file.content, 'utf8');
  if (bytes > FABRIC_MAX_FILE_BYTES) {
    throw new Error(
      `${file.blobName} is ${bytes} bytes: the Fabric files API accepts at most ${FABRIC_MAX_FILE_BYTES} bytes (2 MB) per file`,
    );
  }
}
