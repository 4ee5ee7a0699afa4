import { App, TerraformStack, Testing } from 'cdktf';
import { FabricApacheAirflowJob } from '../../lib/fabric/apache-airflow-job';
import { DataFabricCapacity } from '../../lib/fabric/data-capacity';
import { FabricProvider } from '../../lib/fabric/provider';
import { FabricWorkspace } from '../../lib/fabric/workspace';
import { FabricWorkspaceRoleAssignment } from '../../lib/fabric/workspace-role-assignment';
import { synthObject } from '../helpers/test-stack';

function fabricStack(): { app: App; stack: TerraformStack } {
  const app = Testing.app();
  return { app, stack: new TerraformStack(app, 'bindings') };
}

describe('microsoft/fabric 1.13 bindings', () => {
  it('requires the microsoft/fabric provider, 1.13 or a later 1.x', () => {
    const { stack } = fabricStack();
    new FabricProvider(stack, 'fabric', { useOidc: true, tenantId: 'tenant' });
    const out = synthObject(stack);
    expect(out.terraform?.required_providers).toEqual({ fabric: { source: 'microsoft/fabric', version: '~> 1.13' } });
    expect(out.provider).toEqual({ fabric: [{ use_oidc: true, tenant_id: 'tenant' }] });
  });

  it('writes every argument in snake_case and references ids as Terraform attributes', () => {
    const { stack } = fabricStack();
    new FabricProvider(stack, 'fabric');
    const capacity = new DataFabricCapacity(stack, 'capacity', { displayName: 'fccontoso' });
    const workspace = new FabricWorkspace(stack, 'ws', { displayName: 'ws-x', capacityId: capacity.id });
    new FabricWorkspaceRoleAssignment(stack, 'member', {
      workspaceId: workspace.id,
      principalId: 'object-id',
      principalType: 'ServicePrincipal',
      role: 'Viewer',
    });
    const job = new FabricApacheAirflowJob(stack, 'job', {
      workspaceId: workspace.id,
      displayName: 'aaj-x',
      definitionUpdateEnabled: false,
      definition: { 'apacheairflowjob-content.json': { source: 'content.json', tokens: { a: 'b' }, processingMode: 'GoTemplate' } },
    });
    const out = synthObject(stack);
    expect(out.data?.fabric_capacity.capacity).toEqual({ display_name: 'fccontoso' });
    expect(out.resource.fabric_workspace.ws).toEqual({ display_name: 'ws-x', capacity_id: '${data.fabric_capacity.capacity.id}' });
    expect(out.resource.fabric_workspace_role_assignment.member).toEqual({
      workspace_id: '${fabric_workspace.ws.id}',
      principal: { id: 'object-id', type: 'ServicePrincipal' },
      role: 'Viewer',
    });
    expect(out.resource.fabric_apache_airflow_job.job).toEqual({
      workspace_id: '${fabric_workspace.ws.id}',
      display_name: 'aaj-x',
      format: 'Default',
      definition_update_enabled: false,
      definition: { 'apacheairflowjob-content.json': { source: 'content.json', tokens: { a: 'b' }, processing_mode: 'GoTemplate' } },
    });
    expect(Testing.synth(stack)).not.toMatch(/displayName|workspaceId|capacityId/);
    expect(job.id).toMatch(/^\$\{TfToken\[/);
  });

  it('sets the format only with a definition', () => {
    const { stack } = fabricStack();
    new FabricApacheAirflowJob(stack, 'job', { workspaceId: 'ws', displayName: 'aaj-x' });
    expect(synthObject(stack).resource.fabric_apache_airflow_job.job).toEqual({ workspace_id: 'ws', display_name: 'aaj-x' });
  });
});
