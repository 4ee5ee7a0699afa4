import { ContainerRegistry } from '@cdktf/provider-azurerm/lib/container-registry';
import { ContainerRegistryTask } from '@cdktf/provider-azurerm/lib/container-registry-task';
import { ContainerRegistryTaskScheduleRunNow } from '@cdktf/provider-azurerm/lib/container-registry-task-schedule-run-now';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { nameSeed, uniqueSuffix } from '../naming';
import { TerraformData } from '../terraform-data';
import { resourceAddress } from '../resource-address';
import { AIRFLOW_BASE_IMAGE, AIRFLOW_VERSION } from './versions';
import { HostPlacement } from '../host-placement';

/** Props of {@link AirflowImageBuild}. */
export interface AirflowImageBuildProps extends HostPlacement {
  /** Pinned pip requirements of the DAG, installed into the image at build time. */
  readonly requirements: readonly string[];
  /** Object id of the identity that pulls the image (the AKS kubelet identity). */
  readonly pullerObjectId: string;
  /** Registry SKU. @default "Standard" */
  readonly sku?: 'Basic' | 'Standard' | 'Premium';
}

const IMAGE_REPOSITORY = 'airflow-migration';
/** A small Microsoft image with bash and base64, for the step that writes the build context. */
const CONTEXT_WRITER_IMAGE = 'mcr.microsoft.com/azurelinux/base/core:3.0';
/** Both steps name it, so the build step sees the files the first step wrote. */
const BUILD_DIRECTORY = '/workspace/airflow-image';

/**
 * The Airflow image with the DAG's requirements installed at build time (never `pip install` at
 * pod start): an Azure Container Registry (admin user off) and an ACR task that builds
 * `FROM apache/airflow:<pinned>`. The task carries its own build context: its first step writes
 * the Dockerfile and requirements.txt (base64 in the task definition) into a working directory
 * the build step shares, so no public or SAS-protected context exists. The image tag is the
 * content hash, and the task runs again whenever that hash changes.
 */
export class AirflowImageBuild extends Construct {
  /** The registry. */
  public readonly registry: ContainerRegistry;
  /** `acr<prefix><hash>`: the registry's name, known at synth. */
  public readonly registryName: string;
  /** The build task. */
  public readonly task: ContainerRegistryTask;
  /** The run that builds and pushes the image; it finishes before anything that uses the image starts. */
  public readonly build: ContainerRegistryTaskScheduleRunNow;
  /** `<login server>/airflow-migration` */
  public readonly imageRepository: string;
  /** `req-<12 hex of the content hash>`: changes exactly when the image content does. */
  public readonly imageTag: string;
  /** The Dockerfile the task builds. */
  public readonly dockerfile: string;
  /** The requirements.txt installed into the image. */
  public readonly requirementsFile: string;
  /** The ACR task definition (YAML) before base64 encoding. */
  public readonly taskDefinition: string;

  constructor(scope: Construct, id: string, props: AirflowImageBuildProps) {
    super(scope, id);
    this.requirementsFile = `${props.requirements.join('\n')}\n`;
    // Airflow's image docs: pin apache-airflow in the same install so pip cannot replace it.
    this.dockerfile = [
      `FROM ${AIRFLOW_BASE_IMAGE}`,
      'COPY requirements.txt /requirements.txt',
      `RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt`,
      '',
    ].join('\n');
    const contentHash = createHash('sha256').update(this.dockerfile).update('\0').update(this.requirementsFile).digest('hex');
    this.imageTag = `req-${contentHash.slice(0, 12)}`;

    const compactPrefix = props.namePrefix.replace(/[^a-z0-9]/g, '');
    this.registryName = `acr${compactPrefix}${uniqueSuffix(nameSeed(props.namePrefix, props.location))}`;
    this.registry = new ContainerRegistry(this, 'Registry', {
      name: this.registryName,
      resourceGroupName: props.resourceGroup.name,
      location: props.location,
      sku: props.sku ?? 'Standard',
      adminEnabled: false,
      anonymousPullEnabled: false,
      tags: props.tags,
    });
    this.imageRepository = `${this.registry.loginServer}/${IMAGE_REPOSITORY}`;

    this.taskDefinition = acrTaskDefinition(this.dockerfile, this.requirementsFile, `${IMAGE_REPOSITORY}:${this.imageTag}`);
    this.task = new ContainerRegistryTask(this, 'Task', {
      name: 'build-airflow-image',
      containerRegistryId: this.registry.id,
      platform: { os: 'Linux', architecture: 'amd64' },
      encodedStep: { taskContent: Buffer.from(this.taskDefinition).toString('base64') },
      timeoutInSeconds: 3600,
      tags: props.tags,
    });
    const imageContent = new TerraformData(this, 'ImageContent', { contentHash });
    this.build = new ContainerRegistryTaskScheduleRunNow(this, 'Build', {
      containerRegistryTaskId: this.task.id,
      lifecycle: { replaceTriggeredBy: [resourceAddress(imageContent)] },
    });

    new RoleAssignment(this, 'KubeletPullsImages', {
      scope: this.registry.id,
      roleDefinitionName: 'AcrPull',
      principalId: props.pullerObjectId,
      principalType: 'ServicePrincipal',
      description: 'AKS kubelet pulls the Airflow image (Airflow host)',
    });
  }
}

/**
 * An ACR multi-step task: write the context, build, push. "Earlier steps can share artifacts with
 * later steps by specifying the same working directory" (ACR Tasks YAML reference, `workingDirectory`).
 */
function acrTaskDefinition(dockerfile: string, requirements: string, image: string): string {
  const encode = (text: string) => Buffer.from(text).toString('base64');
  return [
    'version: v1.1.0',
    'steps:',
    '  - id: write-context',
    `    cmd: ${CONTEXT_WRITER_IMAGE} bash -c "echo ${encode(dockerfile)} | base64 -d > Dockerfile && echo ${encode(requirements)} | base64 -d > requirements.txt"`,
    `    workingDirectory: ${BUILD_DIRECTORY}`,
    '  - id: build',
    `    build: -t {{.Run.Registry}}/${image} -f Dockerfile .`,
    `    workingDirectory: ${BUILD_DIRECTORY}`,
    '  - id: push',
    '    push:',
    `      - "{{.Run.Registry}}/${image}"`,
    '',
  ].join('\n');
}
