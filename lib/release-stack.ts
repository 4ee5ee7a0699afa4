import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { checkGuid, checkStateBackend, requireProps, IF_GIVEN } from './private/prop-checks';
import { applyStateBackend, localStatePathFrom, RELEASE_STACK_SUFFIX, releaseStateBackend } from './private/state-backend';
import { StateBackend, TERRAFORM_CLOUD_WORKSPACE_MAX } from './state-backend';
import { requireTerraformVersion } from './private/terraform-version';
import { refuseHclOutput } from './private/json-output';

/** Props of {@link ReleaseStack}. */
export interface ReleaseStackProps {
  /** The stack this one is applied after; values it reads from there come through its state. */
  readonly after: TerraformStack;
  /**
   * The first stack's backend: this stack keeps its state beside it, in the same kind of backend under a
   * name of its own (`<workspace>-airflow` in Terraform Cloud, the key with `-airflow` before `.tfstate` in a blob,
   * `terraform.<stack>-airflow.tfstate` locally).
   */
  readonly stateBackend: StateBackend;
  /** Subscription of the azurerm provider. @default - from the environment */
  readonly subscriptionId?: string;
}

/**
 * A second stack, applied after the first (`cdktf deploy` orders them; with plain Terraform, apply
 * the first stack's folder, then this one's). It reads what it needs from the first stack's state
 * through cdktf's cross-stack references (a `terraform_remote_state` of the first stack's backend).
 * The Kubernetes host puts here what runs in the cluster it created in the first stack.
 */
export class ReleaseStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: ReleaseStackProps) {
    requireProps(scope, id, 'ReleaseStack', props, { after: 'construct', stateBackend: 'object', subscriptionId: IF_GIVEN.string });
    super(scope, id);
    refuseHclOutput(this);
    requireTerraformVersion(this);
    checkGuid(this, 'subscriptionId', props.subscriptionId);
    new AzurermProvider(this, 'azurerm', { features: [{}], subscriptionId: props.subscriptionId });
    const stateBackend = releaseStateBackend(props.stateBackend);
    if (stateBackend.type === 'terraformCloud' && stateBackend.workspace.length > TERRAFORM_CLOUD_WORKSPACE_MAX) {
      const room = TERRAFORM_CLOUD_WORKSPACE_MAX - RELEASE_STACK_SUFFIX.length;
      throw new Error(
        `${id}: its Terraform Cloud workspace would be "${stateBackend.workspace}", ${stateBackend.workspace.length} characters; ` +
          `Terraform Cloud allows ${TERRAFORM_CLOUD_WORKSPACE_MAX}: give stateBackend.workspace ` +
          `(TFC_WORKSPACE, where stateBackendFromEnvironment() reads it) at most ${room}`,
      );
    }
    // After the length of the name it derives, which tells how much room the suffix leaves.
    checkStateBackend(this, props.stateBackend);
    if (props.stateBackend.type === 'terraformCloud' && stateBackend.type === 'terraformCloud') {
      refuseSelectedWorkspace(id, props.stateBackend.workspace, stateBackend.workspace);
    }
    applyStateBackend(this, stateBackend);
    this.addDependency(props.after);
    const firstState = this.registerIncomingCrossStackReference(props.after);
    if (props.stateBackend.type === 'local') {
      // cdktf reads the first stack's state at the path its backend names, which is relative to
      // that stack's folder; this stack runs in its own folder beside it (cdktf.out/stacks/<id>).
      firstState.addOverride('config.path', localStatePathFrom(this, props.after, props.stateBackend.path));
    }
  }
}

/**
 * Terraform 1.11 `init` refuses a cloud block naming a workspace other than `TF_WORKSPACE` ('Specified
 * workspace "name" conflicts with TF_WORKSPACE environment variable', tried offline). The two stacks
 * name two workspaces, so any `TF_WORKSPACE` fails one of them, the second after the first applied;
 * `stateBackendFromEnvironment` refuses only one other than the first stack's.
 */
function refuseSelectedWorkspace(id: string, firstWorkspace: string, releaseWorkspace: string): void {
  const selected = process.env.TF_WORKSPACE?.trim();
  if (!selected) return;
  throw new Error(
    `${id}: TF_WORKSPACE is set ("${selected}"), and terraform init refuses a cloud block that names another workspace than TF_WORKSPACE: ` +
      `this stack's names ${releaseWorkspace}, the first stack's ${firstWorkspace}, so one of them would fail; unset TF_WORKSPACE (the cloud blocks name their workspaces)`,
  );
}

