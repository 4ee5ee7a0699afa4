import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fn, TerraformVariable, Testing, Token, ref } from 'cdktf';
import { Construct } from 'constructs';
import { FabricCapacity } from '@cdktf/provider-azurerm/lib/fabric-capacity';
import { FabricApacheAirflowJob } from '../../lib/fabric/apache-airflow-job';
import { FabricProvider } from '../../lib/fabric/provider';
import { FabricWorkspace } from '../../lib/fabric/workspace';
import { FabricWorkspaceRoleAssignment } from '../../lib/fabric/workspace-role-assignment';
import { FabricAirflowHost, FabricCapacitySku } from '../../lib/hosts/fabric/fabric-airflow-host';
import { AIRFLOWIGNORE_BLOB_NAME } from '../../lib/private/dag-bundle-loader';
import { SynthesizedStack, onlyResource, resourcesOfType, synthObject, testStack, warningsOf } from '../helpers/test-stack';
import { findSecrets } from '../security/secret-scanner';
import { CAPACITY_ID, KEY_VAULT, POOLS, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { fabricBundle, fabricHostStack } from './fabric-test-stack';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';

const NEW_CAPACITY = { sku: 'F8' as const, administrators: ['admin@contoso.com'] };

/**
 * The host on an existing capacity, with the fixture's defaults, and on a capacity it creates: each
 * built and synthesized once for the tests that only read them (a test that changes a stack builds its own).
 */
const DEFAULT = fabricHostStack();
const DEFAULT_SYNTH = synthObject(DEFAULT.stack);
const CREATED = fabricHostStack({ capacity: NEW_CAPACITY });
const CREATED_SYNTH = synthObject(CREATED.stack);
const CONTENT_PART = 'apacheairflowjob-content.json';

/** The job definition as the provider sends it: the template with its one token filled in. */
function renderedJobContent(synth: SynthesizedStack, stackFolder?: string): any {
  const part = (onlyResource(synth, 'fabric_apache_airflow_job').definition as any)[CONTENT_PART];
  const template = stackFolder ? readFileSync(join(stackFolder, part.source), 'utf8') : '{{ .apacheAirflowJobContent }}';
  // Go's text/template replaces `{{ .Name }}` with the token's text, unescaped.
  return JSON.parse(template.replace(/\{\{ \.(\w+) \}\}/g, (_, name: string) => part.tokens[name]));
}

function uploadStep(synth: SynthesizedStack) {
  const steps = Object.entries(resourcesOfType(synth, 'terraform_data')).filter(([, r]) => r.provisioner !== undefined);
  expect(steps).toHaveLength(1);
  return { id: steps[0][0], step: steps[0][1] as any };
}

describe('FabricAirflowHost', () => {
  describe('as an IAirflowHost', () => {
    const { host } = DEFAULT;

    it('is the fabric host on Airflow 2.10.5', () => {
      expect(host.kind).toBe('fabric');
      expect(host.airflowVersion).toBe('2.10.5');
    });

    it('reaches SQL Server only through Data Factory (Fabric Airflow jobs have no VNet)', () => {
      expect(host.supportedSqlAccess).toEqual(['dataFactory']);
    });

    it("acts as the plan's service principal", () => {
      expect(host.identity).toEqual({
        principalId: SERVICE_PRINCIPAL.objectId,
        clientId: SERVICE_PRINCIPAL.clientId,
        principalType: 'ServicePrincipal',
      });
    });
  });

  describe('capacity', () => {
    it('runs on an existing capacity, found in Fabric by the name its ARM id ends with', () => {
      const synth = DEFAULT_SYNTH;
      expect(resourcesOfType(synth, 'azurerm_fabric_capacity')).toEqual({});
      const lookups = synth.data?.fabric_capacity ?? {};
      expect(Object.values(lookups)).toEqual([expect.objectContaining({ display_name: 'fccontoso' })]);
      expect(onlyResource(synth, 'fabric_workspace').capacity_id).toBe(`\${data.fabric_capacity.${Object.keys(lookups)[0]}.id}`);
    });

    it('stops the plan, saying to resume it, when the capacity is paused', () => {
      const existing = Object.values(DEFAULT_SYNTH.data?.fabric_capacity ?? {})[0] as any;
      expect(existing.lifecycle.postcondition).toEqual([
        { condition: '${self.state == "Active"}', error_message: expect.stringMatching(/^Fabric capacity fccontoso is not Active \(paused\): resume it before terraform plan or apply/) },
      ]);
      const created = Object.values(CREATED_SYNTH.data?.fabric_capacity ?? {})[0] as any;
      expect(created.lifecycle.postcondition[0].error_message).toMatch(/^the Fabric capacity is not Active/);
    });

    it('creates a Fabric-tier capacity with its administrators, and looks it up once created', () => {
      const synth = CREATED_SYNTH;
      expect(Testing.synth(CREATED.stack)).toHaveResourceWithProperties(FabricCapacity, {
        sku: { name: 'F8', tier: 'Fabric' },
        administration_members: ['admin@contoso.com'],
        location: 'westeurope',
        resource_group_name: '${azurerm_resource_group.rg.name}',
      });
      const [capacityId, capacity] = Object.entries(resourcesOfType(synth, 'azurerm_fabric_capacity'))[0];
      expect(capacity.name).toMatch(/^[a-z][a-z0-9]{2,62}$/);
      expect(Object.values(synth.data?.fabric_capacity ?? {})).toEqual([
        expect.objectContaining({ display_name: `\${azurerm_fabric_capacity.${capacityId}.name}` }),
      ]);
    });

    it.each([
      ['a map token (Token.asStringMap, a resource’s tags attribute)', () => Token.asStringMap(ref('var.tags')), '${var.tags}'],
      ['a string token (Fn.merge)', () => Fn.merge([ref('var.tags'), { owner: 'dba' }]) as unknown as Record<string, string>, '${merge(var.tags, {"owner" = "dba"})}'],
      ['an IResolvable (a variable’s value)', () => ref('var.tags') as unknown as Record<string, string>, '${var.tags}'],
    ])('hands the capacity tags given as %s as they are, as every host takes them', (_given, tags, expression) => {
      const { stack } = fabricHostStack({ capacity: NEW_CAPACITY, capacityId: undefined, tags: tags() });
      expect(onlyResource(synthObject(stack), 'azurerm_fabric_capacity').tags).toBe(expression);
    });

    it.each([
      ['Token.asList (a variable’s list)', () => Token.asList(ref('var.admins')), '${var.admins}'],
      ['Fn.concat', () => Fn.concat([Token.asList(ref('var.admins')), ['admin@contoso.com']]), '${concat(var.admins, ["admin@contoso.com"])}'],
      ['an IResolvable', () => ref('var.admins') as unknown as string[], '${var.admins}'],
    ])('hands the capacity administrators given as %s as they are: their elements are known only at apply', (_given, administrators, expression) => {
      const { stack } = fabricHostStack({ capacity: { sku: 'F8', administrators: administrators() }, capacityId: undefined });
      expect(onlyResource(synthObject(stack), 'azurerm_fabric_capacity').administration_members).toBe(expression);
    });

    it('keeps the capacity name when the stack changes around it', () => {
      const name = (stack: ReturnType<typeof fabricHostStack>['stack']) =>
        Object.values(resourcesOfType(synthObject(stack), 'azurerm_fabric_capacity'))[0].name;
      const second = fabricHostStack({ capacity: NEW_CAPACITY, workspaceMembers: [{ principalId: '0f0f0f0f-0000-0000-0000-000000000003', principalType: 'User', role: 'Viewer' }] });
      expect(name(second.stack)).toBe(Object.values(resourcesOfType(CREATED_SYNTH, 'azurerm_fabric_capacity'))[0].name);
    });

    it.each<[string, object, RegExp]>([
      ['both', { capacity: NEW_CAPACITY, capacityId: CAPACITY_ID }, /set exactly one of capacityId .* and capacity/],
      ['neither', { capacityId: undefined }, /set exactly one of capacityId .* and capacity/],
      ['an F4', { capacity: { sku: 'F4' as FabricCapacitySku, administrators: ['a@contoso.com'] }, capacityId: undefined }, /capacity\.sku must be one of F8, F16, .*got "F4"/],
      ['no administrator', { capacity: { sku: 'F8', administrators: [] }, capacityId: undefined }, /capacity\.administrators must list at least one administrator/],
      ['a blank administrator', { capacity: { sku: 'F8', administrators: [' '] }, capacityId: undefined }, /none empty/],
      ['a capacity id of another type', { capacityId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/x' }, /capacityId must be the ARM id of a Fabric capacity/],
      ['a capacity id that is a reference', { capacityId: Token.asString(ref('azurerm_fabric_capacity.x.id')) }, /must be a literal ARM id/],
    ])('refuses %s', (_, props, message) => {
      expect(() => fabricHostStack(props)).toThrow(message);
    });
  });

  describe('workspace', () => {
    it('puts a workspace named after the plan on the capacity', () => {
      expect(Testing.synth(DEFAULT.stack)).toHaveResourceWithProperties(FabricWorkspace, { display_name: 'ws-contoso-sql' });
    });

    it('gives each member its role, before the DAG upload', () => {
      const { stack } = fabricHostStack({
        workspaceMembers: [
          { principalId: '0f0f0f0f-0000-0000-0000-000000000001', principalType: 'Group', role: 'Contributor' },
          { principalId: '0f0f0f0f-0000-0000-0000-000000000002', principalType: 'User', role: 'Viewer' },
        ],
      });
      const synth = synthObject(stack);
      expect(Testing.synth(stack)).toHaveResourceWithProperties(FabricWorkspaceRoleAssignment, {
        principal: { id: '0f0f0f0f-0000-0000-0000-000000000001', type: 'Group' },
        role: 'Contributor',
      });
      const assignments = Object.keys(resourcesOfType(synth, 'fabric_workspace_role_assignment'));
      expect(assignments).toHaveLength(2);
      expect(uploadStep(synth).step.depends_on).toEqual(
        expect.arrayContaining(assignments.map((id) => `fabric_workspace_role_assignment.${id}`)),
      );
    });

    it('keeps each member at its address when another is removed, and carries the numbered addresses of earlier versions', () => {
      const first = { principalId: '0f0f0f0f-0000-0000-0000-000000000001', principalType: 'Group', role: 'Contributor' } as const;
      const second = { principalId: '0f0f0f0f-0000-0000-0000-000000000002', principalType: 'User', role: 'Viewer' } as const;
      const addressOf = (synth: ReturnType<typeof synthObject>, principalId: string) =>
        Object.entries(resourcesOfType(synth, 'fabric_workspace_role_assignment')).find(([, a]) => (a.principal as { id: string }).id === principalId)![0];
      const both = synthObject(fabricHostStack({ workspaceMembers: [first, second] }).stack);
      const secondOnly = synthObject(fabricHostStack({ workspaceMembers: [second] }).stack);
      // The principal cannot change in place: a shifted list would replace the second member's role with
      // itself while the first's is deleted, and Fabric refuses a principal that already has a role.
      expect(addressOf(secondOnly, second.principalId)).toBe(addressOf(both, second.principalId));
      expect((both as any).moved).toEqual([
        { from: expect.stringMatching(/^fabric_workspace_role_assignment\.AirflowHost_WorkspaceMember0_[0-9A-F]+$/), to: `fabric_workspace_role_assignment.${addressOf(both, first.principalId)}` },
        { from: expect.stringMatching(/^fabric_workspace_role_assignment\.AirflowHost_WorkspaceMember1_[0-9A-F]+$/), to: `fabric_workspace_role_assignment.${addressOf(both, second.principalId)}` },
      ]);
    });

    it('refuses a member listed twice', () => {
      const member = { principalId: '0f0f0f0f-0000-0000-0000-000000000001', principalType: 'User', role: 'Viewer' } as const;
      expect(() => fabricHostStack({ workspaceMembers: [member, { ...member, principalId: member.principalId.toUpperCase(), role: 'Contributor' }] })).toThrow(
        'test/AirflowHost: workspaceMembers[1] is workspaceMembers[0] again (0F0F0F0F-0000-0000-0000-000000000001): a principal has one role in a workspace',
      );
    });

    it('assigns no role by default (the deployer is Admin as the creator)', () => {
      expect(resourcesOfType(DEFAULT_SYNTH, 'fabric_workspace_role_assignment')).toEqual({});
    });
  });

  describe('Apache Airflow job definition', () => {
    it('sets Airflow 2.10.5 on Python 3.12, the triggerer and Entra ID sign-in', () => {
      const airflow = renderedJobContent(DEFAULT_SYNTH).properties.typeProperties.airflowProperties;
      expect(airflow).toMatchObject({
        airflowVersion: '2.10.5',
        pythonVersion: '3.12',
        enableTriggerers: true,
        enableAADIntegration: true,
      });
    });

    it("installs the DAG's pinned requirements", () => {
      const { bundle } = DEFAULT;
      const airflow = renderedJobContent(DEFAULT_SYNTH).properties.typeProperties.airflowProperties;
      expect(airflow.airflowRequirements).toEqual(bundle.requirements);
      expect(airflow.airflowRequirements.length).toBeGreaterThan(0);
      expect(airflow.airflowRequirements.every((line: string) => line.includes('=='))).toBe(true);
    });

    it("sets the environment variables and the service principal's client id, and no secret", () => {
      const airflow = renderedJobContent(DEFAULT_SYNTH).properties.typeProperties.airflowProperties;
      expect(airflow.environmentVariables).toEqual({
        AZURE_TENANT_ID: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
        MIGRATION_EVENTS_STREAM: 'Custom-MigrationEvents_CL',
        AZURE_CLIENT_ID: SERVICE_PRINCIPAL.clientId,
        MIGRATION_WAIT_MODE: 'deferrable',
      });
    });

    it('sets them under both names Fabric has published for them, so the DAG finds its settings whichever Fabric reads', () => {
      const airflow = renderedJobContent(DEFAULT_SYNTH).properties.typeProperties.airflowProperties;
      expect(Object.keys(airflow.environmentVariables).length).toBeGreaterThan(0);
      expect(airflow.airflowEnvironmentVariables).toEqual(airflow.environmentVariables);
    });

    it('sets Airflow settings (the Key Vault secrets backend) as Airflow configuration overrides, as Microsoft documents', () => {
      const backend = 'airflow.providers.microsoft.azure.secrets.key_vault.AzureKeyVaultBackend';
      const kwargs = '{"connections_prefix": "airflow-connections", "vault_url": "https://kv-contoso.vault.azure.net/"}';
      const { stack } = fabricHostStack({
        environment: { AZURE_TENANT_ID: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', AIRFLOW__SECRETS__BACKEND: backend, AIRFLOW__SECRETS__BACKEND_KWARGS: kwargs },
      });
      const airflow = renderedJobContent(synthObject(stack)).properties.typeProperties.airflowProperties;
      expect(airflow.airflowConfigurationOverrides).toEqual({ AIRFLOW__SECRETS__BACKEND: backend, AIRFLOW__SECRETS__BACKEND_KWARGS: kwargs });
      expect(Object.keys(airflow.environmentVariables).filter((name) => name.startsWith('AIRFLOW__'))).toEqual([]);
      expect(airflow.environmentVariables.AZURE_TENANT_ID).toBe('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
    });

    it("defers the DAG's waits to the job's triggerer", () => {
      const airflow = renderedJobContent(DEFAULT_SYNTH).properties.typeProperties.airflowProperties;
      expect(airflow.enableTriggerers).toBe(true);
      expect(airflow.environmentVariables.MIGRATION_WAIT_MODE).toBe('deferrable');
    });

    it('runs on the starter pool with Small nodes by default', () => {
      const compute = renderedJobContent(DEFAULT_SYNTH).properties.typeProperties.computeProperties;
      expect(compute).toEqual({ computePool: 'StarterPool', computeSize: 'Small', extraNodes: 0 });
    });

    it('runs on a named custom pool with Large nodes when asked', () => {
      const { stack } = fabricHostStack({ computeSize: 'Large', computePool: 'migration-pool' });
      const compute = renderedJobContent(synthObject(stack)).properties.typeProperties.computeProperties;
      expect(compute).toMatchObject({ computePool: 'migration-pool', computeSize: 'Large' });
    });

    it("runs on the plan's custom pool with Large nodes, without the Starter pool's warning", () => {
      const fabric = { ...AIRFLOW_OF_HOST.fabric.fabric, computeSize: 'Large', computePool: 'migration-pool' };
      const { stack, synth } = synthMigrationStack({ plan: examplePlanWith({ ...AIRFLOW_OF_HOST.fabric, fabric }) });
      expect(renderedJobContent(synth).properties.typeProperties.computeProperties).toMatchObject({ computePool: 'migration-pool', computeSize: 'Large' });
      expect(warningsOf(stack)).not.toContainEqual(expect.stringContaining('no effect on the Starter pool'));
    });

    it('warns when a size would not be honoured or is below what Microsoft recommends', () => {
      expect(warningsOf(fabricHostStack().stack)).toEqual([]);
      expect(warningsOf(fabricHostStack({ computeSize: 'Large' }).stack)).toEqual([
        expect.stringContaining('computeSize Large has no effect on the Starter pool'),
      ]);
      const small = fabricHostStack({ capacity: NEW_CAPACITY, capacityId: undefined, computeSize: 'Large', computePool: 'prod' });
      expect(warningsOf(small.stack)).toEqual([expect.stringContaining('Microsoft recommends F16 or larger')]);
    });

    it('sends the only part an Airflow job accepts, from a template file that renders to that content', () => {
      const { stack, host } = DEFAULT;
      const synth = DEFAULT_SYNTH;
      const job = onlyResource(synth, 'fabric_apache_airflow_job') as any;
      expect(Object.keys(job.definition)).toEqual([CONTENT_PART]);
      expect(job.format).toBe('Default');
      const stackFolder = join(Testing.fullSynth(stack), 'stacks', 'test');
      expect(renderedJobContent(synth, stackFolder)).toEqual(host.jobContent);
    });

    it('interpolates references (ids, endpoints) into the content JSON, beside literal JSON text with quotes', () => {
      const { stack } = fabricHostStack({
        environment: {
          MIGRATION_EVENTS_ENDPOINT: Token.asString(ref('azurerm_monitor_data_collection_endpoint.dce.logs_ingestion_endpoint')),
          MIGRATION_EVENTS_RULE_ID: Token.asString(ref('azurerm_monitor_data_collection_rule.dcr.immutable_id')),
          AIRFLOW__SECRETS__BACKEND_KWARGS: `{"vault_url": "${Token.asString(ref('azurerm_key_vault.kv.vault_uri'))}"}`,
        },
        keyVault: { id: 'kv-id', name: 'kv', vaultUri: Token.asString(ref('azurerm_key_vault.kv.vault_uri')) },
      });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(FabricApacheAirflowJob, {
        definition: {
          [CONTENT_PART]: {
            source: expect.stringMatching(/^assets\/.+\/content\.json\.tmpl$/),
            tokens: {
              apacheAirflowJobContent: expect.stringContaining(
                '"MIGRATION_EVENTS_ENDPOINT":"${azurerm_monitor_data_collection_endpoint.dce.logs_ingestion_endpoint}"',
              ),
            },
          },
        },
      });
      const job = onlyResource(synthObject(stack), 'fabric_apache_airflow_job') as any;
      expect(job.definition[CONTENT_PART].tokens.apacheAirflowJobContent).toContain(
        '"AIRFLOW__SECRETS__BACKEND_KWARGS":"{\\"vault_url\\": \\"${azurerm_key_vault.kv.vault_uri}\\"}"',
      );
    });

    it('refuses a secret in the environment: the definition is kept in Terraform state', () => {
      expect(() => fabricHostStack({ environment: { AZURE_CLIENT_SECRET: 'x' } })).toThrow(
        /environment\.AZURE_CLIENT_SECRET: the Fabric host never puts a secret into the Apache Airflow job definition/,
      );
      expect(() => fabricHostStack({ environment: { SQL_PASSWORD: 'x' } })).toThrow(/environment\.SQL_PASSWORD/);
    });

    it('refuses an AZURE_CLIENT_ID that is not the service principal', () => {
      expect(() => fabricHostStack({ environment: { AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000001' } })).toThrow(
        /environment\.AZURE_CLIENT_ID .* differs from airflow\.fabric\.servicePrincipal\.clientId/,
      );
    });

    it('leaves no credential anywhere in the synthesized stack', () => {
      // With the capacity it creates (its administrators included), capacityId undefined.
      expect(findSecrets(CREATED_SYNTH)).toEqual([]);
    });
  });

  describe('DAG upload step', () => {
    it('uploads the DAG files and the rendered plan, not requirements.txt (the definition installs those) nor the ignore file', () => {
      const { host, bundle } = DEFAULT;
      expect(host.uploadedDagFiles).toContain('dags/migration_orchestration.py');
      expect(host.uploadedDagFiles).toContain('dags/migration_plan.json');
      expect(host.uploadedDagFiles).toContain('dags/migration_bundle_manifest.json');
      expect(host.uploadedDagFiles).not.toContain('requirements.txt');
      expect(host.uploadedDagFiles).toEqual(
        bundle.files.map((file) => file.blobName).filter((name) => name.startsWith('dags/') && name !== AIRFLOWIGNORE_BLOB_NAME),
      );
    });

    it('runs the shipped uploader with the workspace and job ids, and nothing secret, after the job exists', () => {
      const synth = DEFAULT_SYNTH;
      const { step } = uploadStep(synth);
      const jobId = Object.keys(resourcesOfType(synth, 'fabric_apache_airflow_job'))[0];
      const workspaceId = Object.keys(resourcesOfType(synth, 'fabric_workspace'))[0];
      const command: string = step.provisioner[0]['local-exec'].command;
      expect(command).toMatch(
        new RegExp(
          `^node "assets/[^"]+/upload\\.mjs" --workspace-id \\$\\{fabric_workspace\\.${workspaceId}\\.id\\} ` +
            `--job-id \\$\\{fabric_apache_airflow_job\\.${jobId}\\.id\\} --files "assets/[^"]+/files"$`,
        ),
      );
      expect(step.provisioner[0]['local-exec'].environment).toBeUndefined();
      expect(step.depends_on).toContain(`fabric_apache_airflow_job.${jobId}`);
      expect(step.triggers_replace).toEqual({ apacheAirflowJobId: `\${fabric_apache_airflow_job.${jobId}.id}` });
    });

    it("signs in as the fabric provider block says: its use_msi, use_oidc, use_cli and tenant_id reach the step's environment", () => {
      const tenantId = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
      const withMsi = uploadStep(synthObject(fabricHostStack({}, { useMsi: true, tenantId }).stack)).step;
      expect(withMsi.provisioner[0]['local-exec'].environment).toEqual({ FABRIC_USE_MSI: 'true', FABRIC_TENANT_ID: tenantId });
      const withoutOidc = uploadStep(synthObject(fabricHostStack({}, { useOidc: false }).stack)).step;
      expect(withoutOidc.provisioner[0]['local-exec'].environment).toEqual({ FABRIC_USE_OIDC: 'false' });
      const withCli = uploadStep(synthObject(fabricHostStack({}, { useCli: true }).stack)).step;
      expect(withCli.provisioner[0]['local-exec'].environment).toEqual({ FABRIC_USE_CLI: 'true' });
    });

    it("passes the block's other sign-in arguments the provider reads before its environment (use_dev_cli, file paths, OIDC request URL, Azure DevOps service connection, cloud), and none of its sensitive ones", () => {
      const { stack } = fabricHostStack();
      const provider = stack.node.findChild('fabric') as FabricProvider;
      const block = {
        use_dev_cli: true,
        client_id_file_path: 'client-id.txt',
        client_secret_file_path: 'client-secret.txt',
        client_certificate_file_path: 'deployer.pfx',
        oidc_request_url: 'https://token.example/idtoken',
        oidc_token_file_path: 'oidc-token.txt',
        azure_devops_service_connection_id: '00000000-0000-0000-0000-00000000c0de',
        environment: 'usgovernment',
        // Sensitive in the provider's schema: never copied into the local-exec environment.
        client_secret: 'block-secret',
        oidc_token: 'block-oidc-token',
        oidc_request_token: 'block-request-token',
        client_certificate: 'YmxvY2s=',
        client_certificate_password: 'block-password',
      };
      Object.entries(block).forEach(([argument, value]) => provider.addOverride(argument, value));
      const environment = uploadStep(synthObject(stack)).step.provisioner[0]['local-exec'].environment;
      expect(environment).toEqual({
        FABRIC_USE_DEV_CLI: 'true',
        FABRIC_CLIENT_ID_FILE_PATH: 'client-id.txt',
        FABRIC_CLIENT_SECRET_FILE_PATH: 'client-secret.txt',
        FABRIC_CLIENT_CERTIFICATE_FILE_PATH: 'deployer.pfx',
        FABRIC_OIDC_REQUEST_URL: 'https://token.example/idtoken',
        FABRIC_OIDC_TOKEN_FILE_PATH: 'oidc-token.txt',
        FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID: '00000000-0000-0000-0000-00000000c0de',
        FABRIC_ENVIRONMENT: 'usgovernment',
      });
      expect(JSON.stringify(environment)).not.toMatch(/block-|YmxvY2s=/);
    });

    it("gives the step the block's endpoint and private link switch, where the provider calls the Fabric API, and timeout, which bounds its call of the Azure CLI", () => {
      const { stack } = fabricHostStack();
      const provider = stack.node.findChild('fabric') as FabricProvider;
      provider.addOverride('endpoint', 'https://fabric-proxy.contoso.example');
      provider.addOverride('use_workspace_private_link_endpoint', true);
      provider.addOverride('timeout', '3m');
      expect(uploadStep(synthObject(stack)).step.provisioner[0]['local-exec'].environment).toEqual({
        FABRIC_ENDPOINT: 'https://fabric-proxy.contoso.example',
        FABRIC_USE_WORKSPACE_PRIVATE_LINK_ENDPOINT: 'true',
        FABRIC_TIMEOUT: '3m',
      });
    });

    it('warns at synth when the block sets a secret the step is not given, naming the variable to set instead', () => {
      const { stack } = fabricHostStack();
      stack.runAllValidations();
      expect(warningsOf(stack).filter((warning) => warning.includes('provider block sets'))).toEqual([]);
      const provider = stack.node.findChild('fabric') as FabricProvider;
      provider.addOverride('client_secret', 'block-secret');
      provider.addOverride('oidc_request_token', 'block-request-token');
      stack.runAllValidations();
      const warnings = warningsOf(stack).filter((warning) => warning.includes('provider block sets'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('sets client_secret, oidc_request_token: secrets are not copied into the DAG upload step');
      expect(warnings[0]).toContain('set FABRIC_CLIENT_SECRET, FABRIC_OIDC_REQUEST_TOKEN in the environment instead');
      expect(warnings[0]).not.toContain('block-');
    });

    it('signs in as the block says wherever and whenever the block gets its arguments: after the host, in a construct, by an override', () => {
      const { stack, resourceGroup } = testStack();
      new FabricAirflowHost(stack, 'AirflowHost', {
        resourceGroup,
        namePrefix: 'contoso-sql',
        location: 'westeurope',
        bundle: fabricBundle(JSON.stringify({ name: 'contoso-sql', databases: [] })),
        environment: {},
        keyVault: KEY_VAULT,
        pools: POOLS,
        servicePrincipal: SERVICE_PRINCIPAL,
        capacityId: CAPACITY_ID,
      });
      const tenantId = new TerraformVariable(stack, 'tenant_id', { type: 'string' }).stringValue;
      new FabricProvider(new Construct(stack, 'Providers'), 'fabric', { useOidc: true, tenantId });
      expect(uploadStep(synthObject(stack)).step.provisioner[0]['local-exec'].environment).toEqual({
        FABRIC_USE_OIDC: 'true',
        FABRIC_TENANT_ID: '${var.tenant_id}',
      });

      const bare = fabricHostStack();
      const provider = bare.stack.node.findChild('fabric') as FabricProvider;
      provider.addOverride('use_msi', true);
      // A user-assigned identity: the block's client id, not an environment's, is the one Terraform signs in as.
      provider.addOverride('client_id', SERVICE_PRINCIPAL.clientId);
      expect(uploadStep(synthObject(bare.stack)).step.provisioner[0]['local-exec'].environment).toEqual({
        FABRIC_USE_MSI: 'true',
        FABRIC_CLIENT_ID: SERVICE_PRINCIPAL.clientId,
      });
    });

    it("re-runs when the bundle's content hash changes, through a bare replace_triggered_by address", () => {
      const { bundle } = DEFAULT;
      const synth = DEFAULT_SYNTH;
      const { step } = uploadStep(synth);
      const [trigger] = step.lifecycle.replace_triggered_by;
      expect(trigger).toMatch(/^terraform_data\.[A-Za-z0-9_]+$/);
      const version = resourcesOfType(synth, 'terraform_data')[trigger.split('.')[1]];
      expect(version.triggers_replace).toEqual({ contentHash: bundle.contentHash });

      const changed = fabricHostStack({ bundle: fabricBundle(JSON.stringify({ name: 'contoso-sql', databases: ['db1'] })) });
      const changedVersion = resourcesOfType(synthObject(changed.stack), 'terraform_data')[trigger.split('.')[1]];
      expect(changedVersion.triggers_replace).not.toEqual(version.triggers_replace);
    });

    it("uploads again after every update of the job, whose definition (its dags/ folder included) Fabric's updateDefinition overrides", () => {
      const synth = DEFAULT_SYNTH;
      const jobId = Object.keys(resourcesOfType(synth, 'fabric_apache_airflow_job'))[0];
      // A bare address: replace_triggered_by fires on any planned update or replacement of the job.
      expect(uploadStep(synth).step.lifecycle.replace_triggered_by).toContain(`fabric_apache_airflow_job.${jobId}`);
    });

    it('stages the bundle byte for byte beside the Terraform JSON, with the shipped uploader', () => {
      const { stack, bundle } = DEFAULT;
      const command: string = uploadStep(DEFAULT_SYNTH).step.provisioner[0]['local-exec'].command;
      const [script, files] = [...command.matchAll(/"([^"]+)"/g)].map((match) => match[1]);
      const stackFolder = join(Testing.fullSynth(stack), 'stacks', 'test');
      expect(readFileSync(join(stackFolder, script), 'utf8')).toBe(
        readFileSync(join(__dirname, '..', '..', 'lib', 'hosts', 'fabric', 'fabric-upload-files.mjs'), 'utf8'),
      );
      for (const file of bundle.files.filter((f) => f.blobName.startsWith('dags/') && f.blobName !== AIRFLOWIGNORE_BLOB_NAME)) {
        expect(readFileSync(join(stackFolder, files, file.blobName), 'utf8')).toBe(file.content);
      }
    });

    it('refuses, at synth, a file the files API would reject (over 2 MB)', () => {
      const hugePlan = JSON.stringify({ name: 'contoso-sql', padding: 'x'.repeat(2_000_001) });
      expect(() => fabricHostStack({ bundle: fabricBundle(hugePlan) })).toThrow(
        /dags\/migration_plan\.json is 20000\d\d bytes: the Fabric files API accepts at most 2000000 bytes \(2 MB\) per file/,
      );
    });
  });

  describe('Airflow pools', () => {
    it('outputs the pools an operator must create, since Fabric cannot be told to', () => {
      const { host } = DEFAULT;
      const output = DEFAULT_SYNTH.output?.airflow_pools as any;
      expect(output.value).toEqual(POOLS);
      expect(output.description).toMatch(/Admin > Pools/);
      expect(host.poolsToCreate).toEqual(output.value);
    });
  });
});

describe('FabricAirflowHost props checked at construction', () => {
  it('refuses a workspace member whose principal id is not a GUID, naming the member, and takes a reference', () => {
    const member = { principalType: 'User', role: 'Viewer' } as const;
    expect(() =>
      fabricHostStack({ workspaceMembers: [{ ...member, principalId: '0f0f0f0f-0000-0000-0000-000000000001' }, { ...member, principalId: 'dba@contoso.com' }] }),
    ).toThrow('test/AirflowHost: workspaceMembers[1].principalId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "dba@contoso.com")');
    expect(() => fabricHostStack({ workspaceMembers: [{ ...member, principalId: Token.asString(ref('azuread_group.dbas.object_id')) }] })).not.toThrow();
  });

  it('refuses a service principal whose object id is not a GUID', () => {
    expect(() => fabricHostStack({ servicePrincipal: { ...SERVICE_PRINCIPAL, objectId: 'airflow' } })).toThrow(
      'test/AirflowHost: servicePrincipal.objectId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "airflow")',
    );
  });
});
