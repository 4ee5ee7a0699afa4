import { ContainerRegistry } from '@cdktf/provider-azurerm/lib/container-registry';
import { KubernetesCluster } from '@cdktf/provider-azurerm/lib/kubernetes-cluster';
import { KubernetesClusterNodePool } from '@cdktf/provider-azurerm/lib/kubernetes-cluster-node-pool';
import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { MonitorAlertPrometheusRuleGroup } from '@cdktf/provider-azurerm/lib/monitor-alert-prometheus-rule-group';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { Release } from '@cdktf/provider-helm/lib/release';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { Fn, ref, TerraformStack, Token } from 'cdktf';
import { X509Certificate } from 'node:crypto';
import {
  AIRFLOW_SERVICE_ACCOUNTS,
  AirflowChartValues,
  DAG_BUNDLE_HASH_ANNOTATION,
  SECRETS_GENERATION_ANNOTATION,
  WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
  WORKLOAD_IDENTITY_LABEL,
} from '../../lib/private/kubernetes/chart-values';
import { DATABASE_SECRET_LAYOUT } from '../../lib/private/kubernetes/airflow-release';
import { AIRFLOW_BASE_IMAGE, AIRFLOW_CHART, AIRFLOW_VERSION } from '../../lib/private/kubernetes/versions';
import { loadDagBundle } from '../../lib/private/dag-bundle-loader';
import { renderMigrationPlan } from '../../lib/plan';
import { airflowPools } from '../../lib/hosts/airflow-pools';
import { examplePlan } from '../helpers/example-plan';
import { onlyResource, resourcesOfType, synthesizedResource, synthesizedResources, SynthesizedStack, warningsOf } from '../helpers/test-stack';
import { findSecrets } from '../security/secret-scanner';
import { ACTION_GROUP_ID, ENVIRONMENT, KEY_VAULT, POOLS, examplePlanBundle } from '../helpers/host-fixtures';
import { KUBELOGIN_MODES, KubeloginMode, kubeloginModeFromEnvironment } from '../../lib/hosts/kubernetes/kubernetes-host';
import { constructedChartValues, kubernetesHost, kubernetesHostStack } from './kubernetes-test-stack';

const EXISTING_VNET = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub';

function chartValues(synth: SynthesizedStack): AirflowChartValues {
  const release = onlyResource(synth, 'helm_release') as { values: string[] };
  return JSON.parse(release.values[0]) as AirflowChartValues;
}

/** Chart values with each string holding a reference or a token marker as `<reference>`. */
function withoutReferences(values: AirflowChartValues): unknown {
  return JSON.parse(JSON.stringify(values), (_, value) => (typeof value === 'string' && value.includes('${') ? '<reference>' : value));
}

/** Every `[path, value]` string leaf of a document. */
function leaves(value: unknown, path: string[] = []): Array<[string, string]> {
  if (typeof value === 'string') return [[path.join('.'), value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => leaves(item, [...path, String(index)]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
  return [];
}

/** `${azurerm_user_assigned_identity.<id>.<attribute>}` of the Airflow identity, as the JSON holds it. */
function identityReference(synth: SynthesizedStack, attribute: 'client_id' | 'principal_id'): string {
  const identities = resourcesOfType(synth, 'azurerm_user_assigned_identity');
  const [logicalId] = Object.entries(identities).find(([, identity]) => identity.name === 'id-contoso-sql-airflow')!;
  return `\${azurerm_user_assigned_identity.${logicalId}.${attribute}}`;
}

/** A value the release stack reads from the host stack's state: `<type><logical id><attribute>` in an output name. */
function fromHostStack(type: string, logicalId: RegExp | string, attribute: string): RegExp {
  const id = typeof logicalId === 'string' ? logicalId : logicalId.source;
  return new RegExp(`^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-test\\.outputs\\.cross-stack-output-${type}${id}${attribute.replace(/[[\].]/g, '')}\\}$`);
}

/** The synthesized document without the DAG's own source files (the config maps that carry them). */
function withoutDagFiles(synth: SynthesizedStack): SynthesizedStack {
  const copy = JSON.parse(JSON.stringify(synth));
  for (const map of Object.values(copy.resource.kubernetes_config_map_v1 ?? {}) as any[]) {
    if (map.metadata.name.startsWith('airflow-dags-')) map.data = {};
  }
  return copy;
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

describe('KubernetesAirflowHost', () => {
  const { synth, host, hostStack, releaseStack, stack, release } = kubernetesHostStack();
  const json = JSON.stringify(synth);
  const values = chartValues(synth);

  describe('implements the host interface', () => {
    it('is the kubernetes host on the pinned Airflow 3, reaching SQL Server directly by default', () => {
      expect(host.kind).toBe('kubernetes');
      expect(host.airflowVersion).toBe(AIRFLOW_VERSION);
      expect(AIRFLOW_VERSION.startsWith('3.')).toBe(true);
      expect(host.supportedSqlAccess[0]).toBe('direct');
    });

    it('acts as the managed identity: principal and client id come from it', () => {
      const output = synth.output?.airflow_identity_client_id;
      expect(output?.value).toBe(identityReference(synth, 'client_id'));
      expect(host.identity.principalType).toBe('ServicePrincipal');
    });
  });

  it('gives the tests that construct only what they read as the synthesis writes it (synthesizedResources, constructedChartValues)', () => {
    // A fresh construction, never synthesized, against the synthesized stacks of the same props.
    const constructed = kubernetesHost();
    const hostTypes = [KubernetesCluster, KubernetesClusterNodePool, PrivateEndpoint, PrivateDnsZone, MonitorScheduledQueryRulesAlertV2, MonitorAlertPrometheusRuleGroup, RoleDefinition, RoleAssignment];
    for (const type of hostTypes) {
      expect(synthesizedResources(constructed.stack, type)).toEqual(resourcesOfType(hostStack, type.tfResourceType));
    }
    for (const type of [ConfigMapV1, SecretV1]) {
      expect(synthesizedResources(constructed.release, type)).toEqual(resourcesOfType(releaseStack, type.tfResourceType));
    }
    expect(withoutReferences(constructedChartValues(constructed.host))).toEqual(withoutReferences(values));
    // A resource that reads another stack's is refused: only a synthesis registers that stack's output.
    expect(() => synthesizedResources(constructed.release, PostgresqlFlexibleServer)).toThrow(/references azurerm_subnet\..*, not in test-airflow/);
  });

  describe('no secret exists anywhere', () => {
    it('has no AZURE_CLIENT_SECRET anywhere in the synthesized JSON (outside the DAG source it delivers)', () => {
      // The DAG package is delivered verbatim; one of its comments names the variable.
      expect(JSON.stringify(withoutDagFiles(synth))).not.toContain('AZURE_CLIENT_SECRET');
      expect(values.env.map((variable) => variable.name)).not.toContain('AZURE_CLIENT_SECRET');
    });

    it('holds no credential the secret scanner recognises', () => {
      expect(findSecrets(synth)).toEqual([]);
    });

    it('requires, in your release stack, a Terraform that keeps write-only arguments out of the state', () => {
      // Before 1.11 Terraform does not know `*_wo` arguments are write-only: the generated passwords would be stored.
      const release = JSON.stringify(releaseStack);
      for (const writeOnly of ['"administrator_password_wo"', '"value_wo"', '"data_wo"']) expect(release).toContain(writeOnly);
      expect((releaseStack.terraform as Record<string, unknown>).required_version).toBe('>= 1.11.0');
    });

    it('refuses an environment that carries a client secret', () => {
      expect(() => kubernetesHost({ environment: { ...ENVIRONMENT, AZURE_CLIENT_SECRET: 'x' } })).toThrow(
        /environment holds AZURE_CLIENT_SECRET: the Kubernetes host authenticates with workload identity/,
      );
      // A certificate's password, or any other secret, would be written into the Helm values in the clear.
      for (const name of ['AZURE_CLIENT_CERTIFICATE_PASSWORD', 'SQL_PASSWORD']) {
        expect(() => kubernetesHost({ environment: { ...ENVIRONMENT, [name]: 'x' } })).toThrow(`environment holds ${name}:`);
      }
    });

    it('refuses an Airflow connection in the environment and says where it goes instead', () => {
      // A managed-identity connection holds no secret, yet a connection's URL or extras may: it belongs in Key Vault.
      const connection = '{"conn_type": "azure", "extra": {"managed_identity_client_id": "00000000-0000-0000-0000-000000000001"}}';
      expect(() => kubernetesHost({ environment: { ...ENVIRONMENT, AIRFLOW_CONN_AZURE_DEFAULT: connection } })).toThrow(
        /environment holds AIRFLOW_CONN_AZURE_DEFAULT: .*; remove it; put connection azure_default into Key Vault instead, as the secret airflow-connections-azure-default, which Airflow's secrets backend reads$/,
      );
    });

    it("refuses Airflow's own keys in the environment: the host keeps them in write-only secrets, never in the Helm values", () => {
      for (const name of ['AIRFLOW__CORE__FERNET_KEY', 'AIRFLOW__API__SECRET_KEY', 'AIRFLOW__WEBSERVER__SECRET_KEY']) {
        expect(() => kubernetesHost({ environment: { ...ENVIRONMENT, [name]: 'x' } })).toThrow(`environment holds ${name}:`);
      }
    });

    it('leaves AZURE_CLIENT_ID and AZURE_TENANT_ID to the workload-identity webhook', () => {
      const names = values.env.map((variable) => variable.name);
      expect(names).not.toContain('AZURE_CLIENT_ID');
      expect(names).not.toContain('AZURE_TENANT_ID');
      expect(names).toEqual(expect.arrayContaining(['AZURE_SUBSCRIPTION_ID', 'AIRFLOW__SECRETS__BACKEND', 'AIRFLOW__SECRETS__BACKEND_KWARGS']));
    });

    it("defers the DAG's waits to the chart's triggerer", () => {
      expect(values.triggerer.enabled).toBe(true);
      expect(values.env).toContainEqual({ name: 'MIGRATION_WAIT_MODE', value: 'deferrable' });
    });

    it('sends generated secrets only to write-only arguments (never stored in state or plan)', () => {
      const localNames = Object.keys((synth as any).locals);
      expect(localNames.length).toBeGreaterThanOrEqual(5);
      const uses = leaves(synth.resource).filter(([, value]) => localNames.some((name) => value.includes(`local.${name}`)));
      expect(uses.length).toBeGreaterThan(0);
      for (const [path] of uses) {
        expect({ path, writeOnly: /(^|\.)(\w+_wo|data_wo)(\.|$)/.test(path) }).toEqual({ path, writeOnly: true });
      }
    });

    it('generates each secret from Terraform functions (no random provider) and versions writes by one generation', () => {
      const locals = Object.values((synth as any).locals) as string[];
      for (const expression of locals) {
        expect(expression).toMatch(/uuid\(\)/);
      }
      expect(Object.keys(synth.provider ?? {})).not.toContain('random');
      const server = onlyResource(synth, PostgresqlFlexibleServer.tfResourceType);
      const secret = onlyResource(synth, 'azurerm_key_vault_secret');
      expect(server.administrator_password_wo_version).toMatch(/parseint\(substr\(replace\(terraform_data\..*\.id/);
      expect(secret.value_wo_version).toBe(server.administrator_password_wo_version);
      for (const k8sSecret of Object.values(resourcesOfType(synth, 'kubernetes_secret_v1'))) {
        expect(k8sSecret.data_wo_revision).toBe(server.administrator_password_wo_version);
        expect(k8sSecret.data).toBeUndefined();
      }
    });

    it('rolls the Airflow, PgBouncer and Redis pods with each new generation: they read the secrets only at start', () => {
      const [generation] = Object.keys(resourcesOfType(synth, 'terraform_data')).filter((id) => id.includes('Secrets_Generation'));
      const rolls = { [SECRETS_GENERATION_ANNOTATION]: `\${terraform_data.${generation}.id}` };
      expect(values.airflowPodAnnotations).toMatchObject(rolls);
      expect(values.pgbouncer.podAnnotations).toEqual(rolls);
      expect(values.redis.podAnnotations).toEqual(rolls);
    });

    it('starts a new generation when the library writes the database secret otherwise, so a deployed stack gets it', () => {
      // The secret is write-only: without this trigger, PgBouncer's new settings (verify-full) never reach a deployed stack.
      const generation = Object.entries(resourcesOfType(synth, 'terraform_data')).find(([id]) => id.includes('Secrets_Generation'))![1];
      expect((generation.triggers_replace as Record<string, string>).databaseSecretLayout).toBe(DATABASE_SECRET_LAYOUT);
      let withAnotherCaFile = '';
      jest.isolateModules(() => {
        jest.doMock('../../lib/private/kubernetes/chart-values', () => ({
          ...jest.requireActual('../../lib/private/kubernetes/chart-values'),
          PGBOUNCER_SERVER_CA_FILE: '/etc/pgbouncer/other.crt',
        }));
        withAnotherCaFile = (require('../../lib/private/kubernetes/airflow-release') as { DATABASE_SECRET_LAYOUT: string }).DATABASE_SECRET_LAYOUT;
      });
      expect(withAnotherCaFile).toMatch(/^[0-9a-f]{16}$/);
      expect(withAnotherCaFile).not.toBe(DATABASE_SECRET_LAYOUT);
    });

    it('keeps the Fernet key through a new generation: only the other secrets take the new revision', () => {
      // The Fernet key encrypts the Variables in the metadata database, which a new generation keeps;
      // its value is stored nowhere, so a rewrite could not keep the old key beside the new one.
      const byName = Object.fromEntries(Object.values(resourcesOfType(synth, 'kubernetes_secret_v1')).map((s: any) => [s.metadata.name, s]));
      expect(byName['airflow-fernet-key'].lifecycle).toEqual({ ignore_changes: ['data_wo_revision'] });
      for (const name of ['airflow-database', 'airflow-webserver-secret-key', 'airflow-api-secret-key', 'airflow-jwt-secret', 'airflow-redis']) {
        expect({ name, lifecycle: byName[name].lifecycle }).toEqual({ name, lifecycle: undefined });
      }
    });
  });

  describe('metadata database', () => {
    it('is a PostgreSQL Flexible Server without public access, in a delegated subnet with a private DNS zone', () => {
      const server = onlyResource(synth, PostgresqlFlexibleServer.tfResourceType);
      expect(server.public_network_access_enabled).toBe(false);
      expect(server.delegated_subnet_id).toMatch(fromHostStack('azurerm_subnet', /airflow_Network_DatabaseSubnet_[0-9A-F]+/, 'id'));
      expect(server.private_dns_zone_id).toMatch(/azurerm_private_dns_zone\..*\.id/);
      expect(server.administrator_password).toBeUndefined();
      expect(server.administrator_password_wo).toMatch(/^\$\{local\./);
      const subnet = Object.values(resourcesOfType(synth, 'azurerm_subnet')).find((s) => s.name === 'snet-airflow-db')!;
      expect(subnet.delegation).toEqual([
        expect.objectContaining({ service_delegation: expect.objectContaining({ name: 'Microsoft.DBforPostgreSQL/flexibleServers' }) }),
      ]);
      const zones = Object.values(resourcesOfType(synth, 'azurerm_private_dns_zone')).map((zone) => zone.name as string);
      expect(zones.some((zone) => zone.endsWith('.private.postgres.database.azure.com'))).toBe(true);
    });

    it('keeps the password in Key Vault (write-only) and is protected from destroy', () => {
      const secret = onlyResource(synth, 'azurerm_key_vault_secret');
      expect(secret).toMatchObject({ name: 'airflow-metadata-db-password', key_vault_id: KEY_VAULT.id });
      expect(secret.value).toBeUndefined();
      expect(onlyResource(synth, PostgresqlFlexibleServer.tfResourceType).lifecycle).toMatchObject({ prevent_destroy: true });
    });

    it('reaches Airflow through PgBouncer (the metadata secret points at the pgbouncer service)', () => {
      const database = Object.values(resourcesOfType(synth, 'kubernetes_secret_v1')).find((s: any) => s.metadata.name === 'airflow-database') as any;
      expect(database.data_wo.connection).toMatch(/^postgresql:\/\/airflowadmin:\$\{local\.[^}]+\}@airflow-pgbouncer\.airflow:6543\/airflow-metadata\?/);
      expect(values.pgbouncer).toMatchObject({ enabled: true, configSecretName: 'airflow-database' });
      expect(values.data.metadataSecretName).toBe('airflow-database');
      expect(values.postgresql.enabled).toBe(false);
    });

    it("verifies the metadata server's certificate and name from PgBouncer (verify-full against Azure's PostgreSQL roots)", () => {
      const database = Object.values(resourcesOfType(synth, 'kubernetes_secret_v1')).find((s: any) => s.metadata.name === 'airflow-database') as any;
      const ini = (database.data_wo['pgbouncer.ini'] as string).split('\n');
      const [serverId] = Object.keys(resourcesOfType(synth, PostgresqlFlexibleServer.tfResourceType));
      // The name checked against the certificate is the server's FQDN, not its private zone's record or an address.
      expect(ini.find((line) => line.startsWith('airflow-metadata = '))).toMatch(
        new RegExp(`^airflow-metadata = host=\\$\\{azurerm_postgresql_flexible_server\\.${serverId}\\.fqdn\\} dbname=airflow port=5432 `),
      );
      expect(ini.filter((line) => line.startsWith('server_tls_'))).toEqual([
        'server_tls_sslmode = verify-full',
        'server_tls_ca_file = /etc/pgbouncer/root.crt',
        'server_tls_ciphers = normal',
      ]);
      // The chart mounts pgbouncer.ssl.ca at that path; it holds the three roots Microsoft lists, nothing else.
      const subjects = values.pgbouncer.ssl.ca
        .split(/(?<=-----END CERTIFICATE-----\n)/)
        .map((pem) => new X509Certificate(pem).subject.match(/CN=(.*)/)![1]);
      expect(subjects).toEqual(['DigiCert Global Root G2', 'Microsoft RSA Root Certificate Authority 2017', 'DigiCert Global Root CA']);
    });
  });

  describe('cluster', () => {
    it('has local accounts off, Entra ID with Azure RBAC, OIDC issuer and workload identity on', () => {
      expect(json).toHaveResourceWithProperties(KubernetesCluster, {
        local_account_disabled: true,
        azure_active_directory_role_based_access_control: { azure_rbac_enabled: true, tenant_id: expect.stringContaining('tenant_id') },
        oidc_issuer_enabled: true,
        workload_identity_enabled: true,
      });
    });

    it('uses Azure CNI (overlay) in the node subnet, a critical-add-ons system pool, Container Insights and the metrics add-on', () => {
      const cluster = onlyResource(synth, KubernetesCluster.tfResourceType) as any;
      expect(cluster.network_profile).toMatchObject({ network_plugin: 'azure', network_plugin_mode: 'overlay' });
      expect(cluster.default_node_pool).toMatchObject({ only_critical_addons_enabled: true, vnet_subnet_id: expect.stringContaining('NodeSubnet') });
      expect(cluster.oms_agent).toMatchObject({ msi_auth_for_monitoring_enabled: true });
      expect(cluster.monitor_metrics).toEqual({});
    });

    it('runs Airflow on an autoscaling user pool sized by the plan section (defaults 1-4 x Standard_D4ds_v5)', () => {
      expect(json).toHaveResourceWithProperties(KubernetesClusterNodePool, {
        mode: 'User',
        auto_scaling_enabled: true,
        min_count: 1,
        max_count: 4,
        vm_size: 'Standard_D4ds_v5',
      });
      const sized = kubernetesHost({ nodeVmSize: 'Standard_E8ds_v5', minNodes: 2, maxNodes: 10 });
      expect(synthesizedResource(sized.stack, KubernetesClusterNodePool)).toMatchObject({
        min_count: 2,
        max_count: 10,
        vm_size: 'Standard_E8ds_v5',
      });
    });

    it('names a temporary pool for each node pool, so a new VM size applies after deploy (azurerm refuses to change vm_size without one)', () => {
      // azurerm 4.x cycles a pool through `temporary_name_for_rotation` to change vm_size, and fails the
      // apply ("`temporary_name_for_rotation` must be specified when updating ...") when it is not set.
      const system = (onlyResource(synth, KubernetesCluster.tfResourceType) as any).default_node_pool;
      const airflow = onlyResource(synth, KubernetesClusterNodePool.tfResourceType) as any;
      const names = [system.name, system.temporary_name_for_rotation, airflow.name, airflow.temporary_name_for_rotation];
      expect(new Set(names).size).toBe(4);
      // AKS: a Linux pool name is 1-12 lowercase letters and digits, starting with a letter.
      for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9]{0,11}$/);
    });

    it('puts the system pool on ephemeral OS disks and writes the pods per node out', () => {
      const cluster = onlyResource(synth, KubernetesCluster.tfResourceType) as any;
      expect(cluster.default_node_pool).toMatchObject({ os_disk_type: 'Ephemeral', os_disk_size_gb: 64, max_pods: 110 });
      expect(onlyResource(synth, KubernetesClusterNodePool.tfResourceType)).toMatchObject({ max_pods: 110 });
    });

    it.each([
      [{ minNodes: 5, maxNodes: 2 }, /minNodes 5 is more than maxNodes 2/],
      [{ minNodes: -1 }, /minNodes -1 must be a whole number >= 0/],
      [{ maxNodes: 0 }, /maxNodes 0 must be a whole number from 1 to 1000/],
      [{ maxNodes: 2.5 }, /maxNodes 2.5 must be a whole number/],
    ])('refuses node counts %j', (props, message) => {
      expect(() => kubernetesHost(props)).toThrow(message);
    });

    it('refuses a kubelogin mode kubelogin does not have (a value read from the environment, unchecked by the type)', () => {
      expect(() => kubernetesHost({ kubeloginMode: 'SPN' as 'spn' })).toThrow(
        /\/airflow: kubeloginMode must be one of azurecli, workloadidentity, spn, msi, azd \(got "SPN"\)/,
      );
    });

    it('refuses a name prefix Azure would refuse in the names it makes, before deploy', () => {
      expect(() => kubernetesHost({ namePrefix: 'Team_Q3' })).toThrow(
        'namePrefix must be 1 to 40 lowercase letters, digits and inner hyphens (got "Team_Q3")',
      );
      // Valid alone, but dce-<prefix>-prometheus would pass the 44 characters of a data collection endpoint.
      expect(() => kubernetesHost({ namePrefix: 'a'.repeat(30) })).toThrow(
        `data collection endpoint name "dce-${'a'.repeat(30)}-prometheus" is 45 characters; Azure allows 44: shorten namePrefix`,
      );
      expect(() => kubernetesHost({ namePrefix: 'a'.repeat(29) })).not.toThrow();
    });

    it('lets the deployer administer the cluster through Azure RBAC (no admin kubeconfig exists)', () => {
      expect(json).toHaveResourceWithProperties(RoleAssignment, {
        role_definition_name: 'Azure Kubernetes Service RBAC Cluster Admin',
        principal_id: expect.stringContaining('azurerm_client_config'),
      });
      const helm = (synth.provider as any).helm[0];
      expect(helm.kubernetes.exec).toMatchObject({ command: 'kubelogin', args: expect.arrayContaining(['get-token', '--server-id']) });
      expect(JSON.stringify(helm)).not.toMatch(/client_key|client_certificate|kube_admin_config/);
    });

    it('turns AKS run command off (nothing here needs it), without a warning', () => {
      expect(onlyResource(synth, KubernetesCluster.tfResourceType)).toMatchObject({ run_command_enabled: false });
      expect(warningsOf(stack).filter((warning) => warning.includes('runCommandEnabled'))).toEqual([]);
    });

    it('lets run command be turned back on, with a synth warning', () => {
      const enabled = kubernetesHostStack({ runCommandEnabled: true });
      expect(onlyResource(enabled.hostStack, KubernetesCluster.tfResourceType)).toMatchObject({ run_command_enabled: true });
      const runCommand = (stack: TerraformStack) => warningsOf(stack).filter((warning) => !warning.endsWith('[ack: migration:kubernetes:no-sign-in]'));
      expect(runCommand(enabled.stack)).toEqual([expect.stringMatching(/^test\/airflow: runCommandEnabled is true, weaker than the secure default false \[ack: migration:secure-default:runCommandEnabled\]$/)]);
      expect(runCommand(kubernetesHostStack({ runCommandEnabled: false }).stack)).toEqual([]);
    });
  });

  describe('two stacks', () => {
    it('refuses to put the in-cluster resources into its own stack, saying why', () => {
      expect(() => kubernetesHost({ releaseStack: 'own' as any })).toThrow(/releaseStack is the host's own stack; give another stack, applied after this one/);
    });

    it('holds the cluster in its own stack and what runs in the cluster in the release stack', () => {
      expect(Object.keys(hostStack.resource)).toEqual(expect.arrayContaining(['azurerm_kubernetes_cluster', 'azurerm_container_registry']));
      expect(Object.keys(hostStack.resource)).not.toEqual(expect.arrayContaining(['helm_release']));
      expect(Object.keys(releaseStack.resource).sort()).toEqual(
        expect.arrayContaining(['azurerm_postgresql_flexible_server', 'helm_release', 'kubernetes_config_map_v1', 'kubernetes_namespace_v1']),
      );
      expect(hostStack.provider).not.toHaveProperty('kubernetes');
    });
  });

  describe('network', () => {
    const { synth: named } = kubernetesHostStack({ subnetId: `${EXISTING_VNET}/subnets/aks`, databaseSubnetId: `${EXISTING_VNET}/subnets/db` });

    it('creates a VNet with node, database and private-endpoint subnets when no subnet is named', () => {
      const subnets = Object.values(resourcesOfType(synth, 'azurerm_subnet')).map((s) => s.name);
      expect(subnets.sort()).toEqual(['snet-aks-nodes', 'snet-airflow-db', 'snet-private-endpoints'].sort());
      expect(onlyResource(synth, 'azurerm_virtual_network').address_space).toEqual(['10.60.0.0/16']);
    });

    it('puts every subnet it creates behind one network security group with Azure default rules', () => {
      const group = onlyResource(synth, 'azurerm_network_security_group');
      expect(group).toMatchObject({ name: 'nsg-contoso-sql-airflow' });
      expect(group.security_rule).toBeUndefined();
      const associations = Object.values(resourcesOfType(synth, 'azurerm_subnet_network_security_group_association'));
      const subnets = Object.keys(resourcesOfType(synth, 'azurerm_subnet')).map((id) => `\${azurerm_subnet.${id}.id}`);
      expect(associations.map((association) => association.subnet_id).sort()).toEqual(subnets.sort());
    });

    it('uses the named subnet and creates no VNet when subnetId is given', () => {
      expect(resourcesOfType(named, 'azurerm_virtual_network')).toEqual({});
      expect(resourcesOfType(named, 'azurerm_subnet')).toEqual({});
      expect(resourcesOfType(named, 'azurerm_network_security_group')).toEqual({});
      const cluster = onlyResource(named, KubernetesCluster.tfResourceType) as any;
      expect(cluster.default_node_pool.vnet_subnet_id).toBe(`${EXISTING_VNET}/subnets/aks`);
      expect(onlyResource(named, PostgresqlFlexibleServer.tfResourceType).delegated_subnet_id).toBe(`${EXISTING_VNET}/subnets/db`);
    });

    it("grants the AKS control plane only reading and joining its node subnet (not Network Contributor), on the node subnet only, not on the VNet holding the database's and endpoints' subnets", () => {
      const subnetRoles = (stack: SynthesizedStack) =>
        Object.entries(resourcesOfType(stack, 'azurerm_role_definition')).filter(([, role]) => String(role.name).startsWith('AKS Node Subnet User'));
      const controlPlaneRole = (stack: SynthesizedStack) => {
        const [[roleId]] = subnetRoles(stack);
        return Object.values(resourcesOfType(stack, RoleAssignment.tfResourceType)).filter(
          (grant) =>
            grant.role_definition_id === `\${azurerm_role_definition.${roleId}.role_definition_resource_id}` ||
            String(grant.role_definition_id).endsWith(`/providers/Microsoft.Authorization/roleDefinitions/\${azurerm_role_definition.${roleId}.role_definition_id}`),
        );
      };
      const [[, role]] = subnetRoles(synth);
      expect(role).toMatchObject({
        name: expect.stringMatching(/^AKS Node Subnet User \(.+\)$/),
        permissions: [{ actions: ['Microsoft.Network/virtualNetworks/subnets/read', 'Microsoft.Network/virtualNetworks/subnets/join/action'] }],
        assignable_scopes: ['${azurerm_resource_group.rg.id}'],
      });
      const builtIn = Object.values(resourcesOfType(synth, RoleAssignment.tfResourceType)).map((grant) => grant.role_definition_name);
      expect(builtIn).not.toContain('Network Contributor');
      const [nodeSubnetId] = Object.entries(resourcesOfType(synth, 'azurerm_subnet')).find(([, subnet]) => subnet.name === 'snet-aks-nodes')!;
      expect(controlPlaneRole(synth)).toEqual([expect.objectContaining({ scope: `\${azurerm_subnet.${nodeSubnetId}.id}` })]);
      // Upgrades from the VNet-wide grant, and from Network Contributor, replace it: the new grant must exist before the old one goes.
      expect(controlPlaneRole(synth)[0].lifecycle).toEqual({ create_before_destroy: true });
      expect(controlPlaneRole(named)).toEqual([expect.objectContaining({ scope: `${EXISTING_VNET}/subnets/aks` })]);
      // A named subnet's resource group is where the role must be assignable too.
      const [[, namedRole]] = subnetRoles(named);
      expect(namedRole.assignable_scopes).toBe(`\${distinct([azurerm_resource_group.rg.id, "${EXISTING_VNET.split('/providers/')[0]}"])}`);
    });

    it("names the control plane's subnet role in the named subnet's subscription, as Azure answers it (else azurerm replaces the assignment on every apply)", () => {
      const OTHER_SUBSCRIPTION = '/subscriptions/11111111-1111-1111-1111-111111111111';
      const vnet = `${OTHER_SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub`;
      const { stack: other } = kubernetesHost({ subnetId: `${vnet}/subnets/aks`, databaseSubnetId: `${vnet}/subnets/db` });
      const [roleId] = Object.entries(synthesizedResources(other, RoleDefinition)).find(([, role]) => String(role.name).startsWith('AKS Node Subnet User'))!;
      const grants = Object.values(synthesizedResources(other, RoleAssignment)).filter((grant) => grant.scope === `${vnet}/subnets/aks`);
      expect(grants.map((grant) => grant.role_definition_id)).toEqual([
        `${OTHER_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/\${azurerm_role_definition.${roleId}.role_definition_id}`,
      ]);
    });

    it('refuses a named node subnet without a delegated database subnet, saying why', () => {
      expect(() => kubernetesHost({ subnetId: `${EXISTING_VNET}/subnets/aks` })).toThrow(
        /subnetId is given but databaseSubnetId is not: the metadata database needs its own subnet delegated to Microsoft.DBforPostgreSQL\/flexibleServers/,
      );
    });

    it('gives Key Vault a private endpoint (vault) registered in privatelink.vaultcore.azure.net', () => {
      expect(json).toHaveResourceWithProperties(PrivateEndpoint, {
        private_service_connection: { name: 'kv-vault', private_connection_resource_id: KEY_VAULT.id, subresource_names: ['vault'], is_manual_connection: false },
      });
      const zones = Object.values(resourcesOfType(synth, 'azurerm_private_dns_zone')).map((zone) => zone.name);
      expect(zones).toContain('privatelink.vaultcore.azure.net');
    });
  });

  describe('image', () => {
    const task = onlyResource(synth, 'azurerm_container_registry_task') as any;
    const definition = decode(task.encoded_step.task_content);
    const embedded = [...definition.matchAll(/echo ([A-Za-z0-9+/=]+) \| base64 -d > ([\w.]+)/g)].map((match) => [match[2], decode(match[1])]);
    const files = Object.fromEntries(embedded);

    it('comes from a registry with the admin user off', () => {
      expect(json).toHaveResourceWithProperties(ContainerRegistry, { admin_enabled: false, anonymous_pull_enabled: false });
    });

    it('is built by an ACR task FROM the pinned apache/airflow image, carrying its own context', () => {
      expect(files.Dockerfile.split('\n')[0]).toBe(`FROM ${AIRFLOW_BASE_IMAGE}`);
      expect(AIRFLOW_BASE_IMAGE).toBe(`apache/airflow:${AIRFLOW_VERSION}-python3.12`);
      expect(definition).toMatch(/build: -t \{\{\.Run\.Registry\}\}\/airflow-migration:req-[0-9a-f]{12} -f Dockerfile \./);
      expect(task.docker_step).toBeUndefined();
    });

    it('installs the DAG requirements at build time, pinned with the Airflow it runs on', () => {
      const bundle = examplePlanBundle();
      expect(files['requirements.txt'].trim().split('\n')).toEqual(bundle.requirements);
      expect(files.Dockerfile).toContain(`pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt`);
      expect(json).not.toContain('_PIP_ADDITIONAL_REQUIREMENTS');
    });

    it('runs the build before the chart (in the stack applied first) and again when the requirements change (content-hash tag)', () => {
      const run = onlyResource(hostStack, 'azurerm_container_registry_task_schedule_run_now') as any;
      expect(run.lifecycle.replace_triggered_by).toEqual([expect.stringMatching(/^terraform_data\.[A-Za-z0-9_]+$/)]);
      expect(resourcesOfType(releaseStack, Release.tfResourceType)).not.toEqual({});
      expect(release.dependencies).toEqual([stack]);
      expect(host.image.endsWith(`/airflow-migration:${values.defaultAirflowTag}`)).toBe(true);
      const bundle = examplePlanBundle();
      const other = kubernetesHost({
        bundle: { ...bundle, requirements: bundle.requirements.map((line) => (line.startsWith('azure-identity==') ? 'azure-identity==1.19.0' : line)) },
      });
      expect(other.host.image).not.toBe(host.image);
    });

    it('is pulled by the kubelet identity with AcrPull', () => {
      expect(json).toHaveResourceWithProperties(RoleAssignment, {
        role_definition_name: 'AcrPull',
        principal_id: expect.stringContaining('kubelet_identity'),
      });
    });
  });

  describe('workload identity', () => {
    const credentials = Object.values(resourcesOfType(synth, 'azurerm_federated_identity_credential')) as any[];
    const components = ['scheduler', 'workers', 'triggerer', 'apiServer'] as const;

    it("federates exactly the chart's service accounts named in the values (subject system:serviceaccount:<ns>:<sa>)", () => {
      const fromValues = components.map((component) => values[component].serviceAccount.name);
      expect(fromValues).toEqual(Object.values(AIRFLOW_SERVICE_ACCOUNTS));
      expect(credentials.map((credential) => credential.subject).sort()).toEqual(
        fromValues.map((name) => `system:serviceaccount:${host.namespace}:${name}`).sort(),
      );
      for (const credential of credentials) {
        expect(credential.audience).toEqual(['api://AzureADTokenExchange']);
        expect(credential.issuer).toMatch(/azurerm_kubernetes_cluster\..*\.oidc_issuer_url/);
      }
    });

    it('annotates the workers with the task identity and the other components with the secrets reader, and labels their pods for the webhook', () => {
      const taskIdentity = expect.stringMatching(fromHostStack('azurerm_user_assigned_identity', /airflow_Identity_[0-9A-F]+/, 'client_id'));
      const secretsReader = expect.stringMatching(fromHostStack('azurerm_user_assigned_identity', /airflow_SecretsReaderIdentity_[0-9A-F]+/, 'client_id'));
      for (const component of components) {
        expect(values[component].serviceAccount).toEqual({
          create: true,
          name: AIRFLOW_SERVICE_ACCOUNTS[component],
          annotations: { [WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION]: component === 'workers' ? taskIdentity : secretsReader },
        });
        expect(values[component].labels).toEqual({ [WORKLOAD_IDENTITY_LABEL]: 'true' });
      }
      expect(values.workers.useWorkerDedicatedServiceAccounts).toBe(false);
    });

    it('lets the secrets reader (scheduler, triggerer, API server) read Key Vault secrets and nothing else', () => {
      const reader = Object.entries(resourcesOfType(synth, 'azurerm_user_assigned_identity')).find(([id]) => id.includes('SecretsReaderIdentity'))!;
      expect(reader[1].name).toBe('id-contoso-sql-airflow-secrets');
      const grants = Object.values(resourcesOfType(synth, 'azurerm_role_assignment')).filter((assignment) =>
        String(assignment.principal_id).includes(`azurerm_user_assigned_identity.${reader[0]}.`),
      );
      expect(grants.map((grant) => [grant.role_definition_name, grant.scope])).toEqual([['Key Vault Secrets User', expect.stringContaining('vault')]]);
      const federated = credentials.filter((credential) => String(credential.parent_id).includes(reader[0])).map((credential) => credential.subject);
      expect(federated.sort()).toEqual(['scheduler', 'triggerer', 'apiServer'].map((c) => `system:serviceaccount:${host.namespace}:${AIRFLOW_SERVICE_ACCOUNTS[c as 'scheduler']}`).sort());
    });

    it('creates the federated credentials of each identity one after another (Entra ID refuses concurrent writes)', () => {
      const chained = credentials.filter((credential) => credential.depends_on);
      expect(chained).toHaveLength(credentials.length - 2);
    });

    it('grants the identity nothing itself: the stack grants what the DAG needs to `identity`', () => {
      const principals = Object.values(resourcesOfType(synth, 'azurerm_role_assignment')).map((assignment) => assignment.principal_id);
      expect(principals).not.toContain(identityReference(synth, 'principal_id'));
    });
  });

  describe('chart', () => {
    it('installs the pinned official chart with the pinned Airflow, CeleryExecutor, PgBouncer and a triggerer', () => {
      expect(json).toHaveResourceWithProperties(Release, {
        repository: AIRFLOW_CHART.repository,
        chart: 'airflow',
        version: AIRFLOW_CHART.version,
        wait: true,
      });
      expect(values).toMatchObject({
        airflowVersion: AIRFLOW_VERSION,
        executor: 'CeleryExecutor',
        triggerer: { enabled: true },
        redis: { enabled: true, passwordSecretName: 'airflow-redis' },
        data: { brokerUrlSecretName: 'airflow-redis' },
      });
    });

    it('fixes the Fernet, webserver, API and JWT keys in write-only secrets and creates no admin/admin user', () => {
      expect(values).toMatchObject({
        fernetKeySecretName: 'airflow-fernet-key',
        webserverSecretKeySecretName: 'airflow-webserver-secret-key',
        apiSecretKeySecretName: 'airflow-api-secret-key',
        jwtSecretName: 'airflow-jwt-secret',
        apiServer: { defaultUser: { enabled: false } },
        webserver: { defaultUser: { enabled: false } },
      });
      const secretNames = Object.values(resourcesOfType(synth, 'kubernetes_secret_v1')).map((s: any) => s.metadata.name);
      expect(secretNames.sort()).toEqual(
        ['airflow-api-secret-key', 'airflow-database', 'airflow-fernet-key', 'airflow-jwt-secret', 'airflow-redis', 'airflow-webserver-secret-key'],
      );
    });

    it('runs KubernetesExecutor without Redis or a broker secret', () => {
      const k8s = kubernetesHost({ executor: 'KubernetesExecutor' });
      const k8sValues = constructedChartValues(k8s.host);
      expect(k8sValues).toMatchObject({ executor: 'KubernetesExecutor', redis: { enabled: false } });
      expect(k8sValues.data.brokerUrlSecretName).toBeUndefined();
      // In either stack, as the synthesis of both (`synth`) shows them.
      const secrets = [k8s.stack, k8s.release].flatMap((stack) => Object.values(synthesizedResources(stack, SecretV1)));
      expect(secrets.map((s) => s.metadata.name)).not.toContain('airflow-redis');
    });
  });

  describe('DAG delivery', () => {
    const bundle = examplePlanBundle();
    const volume = values.volumes[0];
    const items = volume.projected.sources.flatMap((source) => source.configMap.items);
    const configMaps = Object.values(resourcesOfType(synth, 'kubernetes_config_map_v1')) as any[];

    it('mounts every DAG file, the rendered plan and the ignore file as the DAGs folder, keeping the package layout', () => {
      const expected = bundle.files.filter((file) => file.blobName.startsWith('dags/')).map((file) => file.blobName.slice('dags/'.length));
      expect(items.map((item) => item.path).sort()).toEqual(expected.sort());
      expect(items.map((item) => item.path)).toEqual(
        expect.arrayContaining(['migration_orchestration.py', 'migration_plan.json', 'migration_orchestration_lib/dag_factory.py', 'migration_bundle_manifest.json', '.airflowignore']),
      );
      expect(values.volumeMounts).toEqual([{ name: volume.name, mountPath: '/opt/airflow/dags', readOnly: true }]);
      expect(values.dags).toEqual({ persistence: { enabled: false }, gitSync: { enabled: false } });
    });

    it('puts each file, unchanged, under the config map key its volume item names', () => {
      const data = Object.assign({}, ...configMaps.filter((map) => map.metadata.name.startsWith('airflow-dags-')).map((map) => map.data));
      for (const item of items) {
        expect(data[item.key]).toBe(bundle.files.find((file) => file.blobName === `dags/${item.path}`)!.content);
      }
    });

    it('annotates every Airflow pod with the bundle hash, so a new bundle rolls them', () => {
      expect(values.airflowPodAnnotations).toMatchObject({ [DAG_BUNDLE_HASH_ANNOTATION]: bundle.contentHash });
    });

    it('spreads a large bundle over several config maps, each under the 1 MiB object limit', () => {
      const big = { ...bundle, files: [...bundle.files, ...[1, 2, 3].map((n) => ({ ...bundle.files[0], blobName: `dags/big_${n}.py`, content: 'x'.repeat(500 * 1024) }))] };
      const large = kubernetesHost({ bundle: big });
      const parts = Object.values(synthesizedResources(large.release, ConfigMapV1)).filter((map) => map.metadata.name.startsWith('airflow-dags-'));
      expect(parts.length).toBeGreaterThanOrEqual(3);
      for (const part of parts) {
        expect(Buffer.byteLength(JSON.stringify(part.data))).toBeLessThan(1024 * 1024);
      }
      expect(constructedChartValues(large.host).volumes[0].projected.sources).toHaveLength(parts.length);
    });

    it('refuses a single file too large for a config map, saying what to do', () => {
      const huge = { ...bundle, files: [...bundle.files, { ...bundle.files[0], blobName: 'dags/huge.py', content: 'x'.repeat(1024 * 1024) }] };
      expect(() => kubernetesHost({ bundle: huge })).toThrow(/DAG file huge\.py is \d+ bytes; a config map holds at most \d+/);
    });
  });

  describe('pools', () => {
    // The plan's concurrency through the DAG's pools contract (dags/.../contracts/airflow_pools.json).
    const concurrency = { maxMigrationsPerService: 10, maxMigrationsPerSourceServer: 2, maxSqlStepsPerRuntime: 7 };
    const pools = airflowPools(concurrency);
    /** Props of a host whose pools are the DAG's for that concurrency, and whose bundle's plan has it. */
    const withConcurrency = (given: typeof concurrency) => ({
      pools: airflowPools(given),
      bundle: loadDagBundle(renderMigrationPlan({ ...examplePlan(), concurrency: given })),
    });
    const { synth: withPlanPools } = kubernetesHostStack(withConcurrency(concurrency));
    const job = chartValues(withPlanPools).migrateDatabaseJob;

    it("imports the plan's pools with the chart's own database-migration job, right after migrating the database", () => {
      const poolsMap = Object.values(resourcesOfType(withPlanPools, 'kubernetes_config_map_v1')).find((map: any) => map.metadata.name.startsWith('airflow-pools-')) as any;
      expect(JSON.parse(poolsMap.data['pools.json'])).toEqual({
        database_migration_admission: { slots: 1, description: pools[0].description, include_deferred: false },
        database_migration_sql: { slots: 7, description: pools[1].description, include_deferred: false },
      });
      expect(job.args).toEqual(['bash', '-c', 'airflow db migrate && exec airflow pools import /opt/airflow/pools/pools.json']);
      expect(job.extraVolumes).toEqual([{ name: 'pools', projected: { sources: [{ configMap: { name: poolsMap.metadata.name, items: [{ key: 'pools.json', path: 'pools.json' }] } }] } }]);
      expect(job.extraVolumeMounts).toEqual([{ name: 'pools', mountPath: '/opt/airflow/pools', readOnly: true }]);
    });

    it('creates the pools before the apply ends: the release waits for the job, which runs as a plain resource, not a hook', () => {
      const helm = onlyResource(withPlanPools, 'helm_release') as any;
      expect(helm).toMatchObject({ wait: true, wait_for_jobs: true });
      expect(job.useHelmHooks).toBe(false);
      expect(helm.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^kubernetes_config_map_v1\.airflow_Pools_/)]));
      // The one Kubernetes job Terraform runs is the reset below, which imports nothing.
      const jobs = Object.values(resourcesOfType(withPlanPools, 'kubernetes_job_v1')) as any[];
      expect(jobs.map((job) => job.spec.template.spec.container[0].command.slice(0, 2))).toEqual([['python', '-c']]);
      expect(jobs[0].spec.template.spec.container[0].command[2]).not.toMatch(/pools/);
    });

    it("keeps the finished migration job for the release's whole wait: a job gone before Helm checks it fails the apply", () => {
      // Helm checks jobs after the Deployments and StatefulSets, and a Get that finds no job ends its wait with
      // that error; the chart's default (300 s) can end while Celery workers still drain.
      const helm = onlyResource(withPlanPools, 'helm_release') as any;
      expect(job.ttlSecondsAfterFinished).toBe(helm.timeout);
      expect(job.ttlSecondsAfterFinished).toBeGreaterThan(300);
    });

    describe('a second apply within minutes that changes the release', () => {
      const helm = onlyResource(withPlanPools, 'helm_release') as any;
      /** The one Kubernetes job Terraform runs, and its address's name. */
      const resetJob = (): { resetId: string; reset: any; container: any } => {
        const jobs = Object.entries(resourcesOfType(withPlanPools, 'kubernetes_job_v1')) as Array<[string, any]>;
        expect(jobs).toHaveLength(1);
        const [[resetId, reset]] = jobs;
        return { resetId, reset, container: reset.spec.template.spec.container[0] };
      };

      it('first deletes the finished migration job, so Helm creates it afresh instead of patching its immutable pod template', () => {
        const { resetId, reset, container } = resetJob();
        expect(helm.depends_on).toContain(`kubernetes_job_v1.${resetId}`);
        expect(container.command.slice(3)).toEqual(['airflow-run-airflow-migrations', '600']);
        expect(reset).toMatchObject({ wait_for_completion: true, spec: { backoff_limit: 0, template: { spec: { restart_policy: 'Never' } } } });
        expect(reset.timeouts.create).toBe('25m');
      });

      it('runs exactly when the release changes: a change of its values or chart replaces the reset', () => {
        const { reset } = resetJob();
        const [trigger] = reset.lifecycle.replace_triggered_by as string[];
        const [, inputsId] = trigger.split('.');
        const inputs = resourcesOfType(withPlanPools, 'terraform_data')[inputsId] as any;
        expect(trigger).toBe(`terraform_data.${inputsId}`);
        expect(inputs.triggers_replace).toEqual({ values: helm.values[0], chart: `airflow-${AIRFLOW_CHART.version}` });
        expect(reset.metadata.generate_name).toBe('airflow-migration-job-reset-');
      });

      it('still resets at the next apply after one cut short once the inputs were replaced: the reset names their id in its pod template', () => {
        // replace_triggered_by fires only in the plan that replaces the inputs; a reference to their id stays unequal until the reset is replaced.
        const { reset, container } = resetJob();
        const [, inputsId] = (reset.lifecycle.replace_triggered_by as string[])[0].split('.');
        expect(container.env).toEqual([{ name: 'RELEASE_INPUTS_ID', value: `\${terraform_data.${inputsId}.id}` }]);
      });

      it("runs hardened as the image's own user, its entrypoint skipped, with small resources and no TTL", () => {
        const { reset, container } = resetJob();
        const pod = reset.spec.template.spec;
        // The Airflow image is USER 50000 with python on PATH; its entrypoint would first wait for the metadata database.
        expect(container.command[0]).toBe('python');
        expect(container.args).toBeUndefined();
        expect(pod.automount_service_account_token).toBe(true);
        expect(pod.security_context).toEqual({ run_as_non_root: true, run_as_user: '50000', seccomp_profile: { type: 'RuntimeDefault' } });
        expect(container.security_context).toEqual({ allow_privilege_escalation: false, read_only_root_filesystem: true, capabilities: { drop: ['ALL'] } });
        expect(container.resources).toEqual({ requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '128Mi' } });
        // A TTL would remove the job the provider keeps in state, and the next plan would create it again.
        expect(reset.spec.ttl_seconds_after_finished).toBeUndefined();
      });

      it("runs again after a node drain evicts it, instead of failing the apply (backoff_limit 0 counts every other failure)", () => {
        const { reset } = resetJob();
        expect(reset.spec.pod_failure_policy).toEqual({ rule: [{ action: 'Ignore', on_pod_condition: [{ type: 'DisruptionTarget', status: 'True' }] }] });
      });

      it("runs the release's own Airflow image, as a service account that may only get and delete that one job", () => {
        const { reset, container } = resetJob();
        const values = chartValues(withPlanPools);
        expect(container.image).toBe(`${values.defaultAirflowRepository}:${values.defaultAirflowTag}`);
        expect(reset.spec.template.spec.service_account_name).toBe('airflow-migration-job-reset');
        const [role] = Object.values(resourcesOfType(withPlanPools, 'kubernetes_role_v1')) as any[];
        expect(role.rule).toEqual([{ api_groups: ['batch'], resources: ['jobs'], resource_names: ['airflow-run-airflow-migrations'], verbs: ['get', 'delete'] }]);
        const [binding] = Object.values(resourcesOfType(withPlanPools, 'kubernetes_role_binding_v1')) as any[];
        expect(binding.role_ref).toEqual({ api_group: 'rbac.authorization.k8s.io', kind: 'Role', name: 'airflow-migration-job-reset' });
        expect(binding.subject).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: 'airflow-migration-job-reset' })]);
      });
    });

    it('gives the job the metadata connection every Airflow pod reads (the PgBouncer connection in the database secret)', () => {
      expect(values.data.metadataSecretName).toBe('airflow-database');
      const secret = Object.values(resourcesOfType(synth, 'kubernetes_secret_v1')).find((s: any) => s.metadata.name === 'airflow-database') as any;
      expect(Object.keys(secret.data_wo)).toContain('connection');
    });

    it('names the pools file after its content, so a changed pool list changes the job and runs it again', () => {
      // Read from the values the constructed release holds; the synthesized name below is the same for the same pools.
      const names = (given: typeof concurrency) => {
        return constructedChartValues(kubernetesHost(withConcurrency(given)).host).migrateDatabaseJob.extraVolumes[0].projected.sources[0].configMap.name;
      };
      const synthesized = job.extraVolumes[0].projected.sources[0].configMap.name;
      expect(names(concurrency)).toBe(synthesized);
      expect(names({ ...concurrency, maxSqlStepsPerRuntime: 8 })).not.toBe(synthesized);
    });

    it('refuses a pool without slots or with a duplicate name', () => {
      // The DAG's own pools are checked against its contract first (bundle-checks.test.ts); these are pools besides them.
      expect(() => kubernetesHost({ pools: [...POOLS, { name: 'a', slots: 0, description: '' }] })).toThrow(/pools\[2\]\.slots 0 must be a whole number >= 1/);
      expect(() => kubernetesHost({ pools: [...POOLS, POOLS[0]] })).toThrow(/pools\[2\]\.name "database_migration_admission" appears twice/);
    });
  });

  describe('monitoring', () => {
    it('collects Container Insights and managed Prometheus (workspace, collection rule, association)', () => {
      const rules = Object.values(resourcesOfType(synth, 'azurerm_monitor_data_collection_rule')) as any[];
      const prometheus = rules.find((rule) => rule.data_sources.prometheus_forwarder)!;
      expect(prometheus.data_flow).toEqual([{ streams: ['Microsoft-PrometheusMetrics'], destinations: ['MonitoringAccount1'] }]);
      expect(prometheus.destinations.monitor_account[0].monitor_account_id).toMatch(/azurerm_monitor_workspace\./);
      const insights = rules.find((rule) => rule.data_sources.extension)!;
      expect(insights.data_sources.extension[0]).toMatchObject({ extension_name: 'ContainerInsights', streams: ['Microsoft-ContainerInsights-Group-Default'] });
      expect(Object.values(resourcesOfType(synth, 'azurerm_monitor_data_collection_rule_association'))).toHaveLength(2);
    });

    it("scrapes the chart's statsd exporter through the metrics add-on's custom config map", () => {
      const scrape = Object.values(resourcesOfType(synth, 'kubernetes_config_map_v1')).find((map: any) => map.metadata.name === 'ama-metrics-prometheus-config') as any;
      expect(scrape.metadata.namespace).toBe('kube-system');
      expect(scrape.data['prometheus-config']).toContain('regex: airflow-statsd');
    });

    it("alerts on task failures, DAG import errors and a silent scheduler, through the given action group", () => {
      const group = onlyResource(synth, 'azurerm_monitor_alert_prometheus_rule_group') as any;
      expect(group.rule.map((rule: any) => rule.alert)).toEqual(['AirflowTaskFailures', 'AirflowDagImportErrors', 'AirflowSchedulerHeartbeatMissing']);
      expect(group.rule.map((rule: any) => rule.expression)).toEqual([
        expect.stringContaining('airflow_ti_failures'),
        expect.stringContaining('airflow_dag_processing_import_errors'),
        expect.stringContaining('airflow_scheduler_heartbeat'),
      ]);
      for (const rule of group.rule) {
        expect(rule.action).toEqual([{ action_group_id: ACTION_GROUP_ID }]);
      }
      expect(group.scopes).toEqual([expect.stringMatching(/azurerm_monitor_workspace\./), expect.stringMatching(/azurerm_kubernetes_cluster\./)]);
    });

    it('reads each counter under its scraped name and with `_total`, the name the workspace may store it under', () => {
      const expressions = (onlyResource(synth, 'azurerm_monitor_alert_prometheus_rule_group') as any).rule.map((rule: any) => rule.expression);
      expect(expressions).toEqual([
        '(sum(increase(airflow_ti_failures[15m])) or sum(increase(airflow_ti_failures_total[15m]))) > 0',
        'max(airflow_dag_processing_import_errors) > 0',
        '((sum(rate(airflow_scheduler_heartbeat[5m])) or sum(rate(airflow_scheduler_heartbeat_total[5m]))) or vector(0)) == 0',
      ]);
    });
  });
});

describe('KubernetesAirflowHost props checked at construction', () => {
  const GROUP = '7d1f3c9e-2b4a-4e6f-9a1b-3c5d7e9f1a2b';
  const ZONE = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net';

  it('refuses a deployer that is not an object id, and takes a reference', () => {
    expect(() => kubernetesHost({ deployerPrincipalId: 'me' })).toThrow('test/airflow: deployerPrincipalId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "me")');
    expect(() => kubernetesHost({ deployerPrincipalId: Token.asString(ref('var.deployer')) })).not.toThrow();
  });

  it('refuses an admin group that is not an object id, naming its place, and takes references', () => {
    expect(() => kubernetesHost({ adminGroupObjectIds: [GROUP, 'aks-admins'] })).toThrow(
      'test/airflow: adminGroupObjectIds[1] must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "aks-admins")',
    );
    expect(() => kubernetesHost({ adminGroupObjectIds: [GROUP, Token.asString(ref('azuread_group.admins.object_id'))] })).not.toThrow();
    expect(() => kubernetesHost({ adminGroupObjectIds: Token.asList(ref('var.admin_groups')) })).not.toThrow();
  });

  it("hands authorizedIpRanges and adminGroupObjectIds to the cluster as they are: what cdktf's list functions return is taken, not spread into characters", () => {
    const { stack } = kubernetesHost({
      authorizedIpRanges: Fn.concat([Token.asList(ref('var.office_ranges')), ['203.0.113.0/24']]),
      adminGroupObjectIds: Fn.distinct(Token.asList(ref('var.admin_groups'))),
    });
    const cluster = synthesizedResource(stack, KubernetesCluster) as {
      api_server_access_profile: { authorized_ip_ranges: unknown };
      azure_active_directory_role_based_access_control: { admin_group_object_ids: unknown };
    };
    expect(cluster.api_server_access_profile.authorized_ip_ranges).toBe('${concat(var.office_ranges, ["203.0.113.0/24"])}');
    expect(cluster.azure_active_directory_role_based_access_control.admin_group_object_ids).toBe('${distinct(var.admin_groups)}');
  });

  it('refuses a namespace Kubernetes refuses, before the first stack federates identities to it', () => {
    for (const namespace of ['Airflow', 'airflow_prod', '-airflow', 'a'.repeat(64)]) {
      expect(() => kubernetesHost({ namespace })).toThrow(
        `test/airflow: namespace must be a Kubernetes namespace name: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit (got "${namespace}")`,
      );
    }
    expect(() => kubernetesHost({ namespace: 'airflow-prod' })).not.toThrow();
  });

  it("refuses a nodeVmSize outside Microsoft's VM size naming and a kubernetesVersion AKS does not take, naming the prop (was: refused by Azure at apply)", () => {
    for (const nodeVmSize of ['D4ds_v5', 'Standard D4ds_v5', 'standard_d4ds_v5']) {
      expect(() => kubernetesHost({ nodeVmSize })).toThrow(`test/airflow: nodeVmSize must be an Azure VM size such as Standard_D4ds_v5 (got "${nodeVmSize}")`);
    }
    for (const kubernetesVersion of ['v1.30', '1', '1.30.x', 'latest']) {
      expect(() => kubernetesHost({ kubernetesVersion })).toThrow(
        `test/airflow: kubernetesVersion must be a Kubernetes version AKS takes: major.minor (1.30) or major.minor.patch (1.30.5) (got "${kubernetesVersion}")`,
      );
    }
    // A constrained vCPU size, a version as a minor alias and as a patch, and references pass.
    for (const props of [{ nodeVmSize: 'Standard_E4-2ds_v5' }, { kubernetesVersion: '1.30' }, { kubernetesVersion: '1.30.5' }, { nodeVmSize: Token.asString(ref('var.size')) }]) {
      expect(() => kubernetesHost(props)).not.toThrow();
    }
  });

  it('registers the Key Vault endpoint in an existing private DNS zone, refusing an id of anything else', () => {
    const { stack } = kubernetesHost({ keyVaultPrivateDnsZoneId: ZONE });
    // By Terraform type, as the synthesis names them, not by class: a zone of that type made any other way counts too.
    expect(synthesizedResources(stack, PrivateDnsZone)).toEqual({});
    expect(synthesizedResource(stack, PrivateEndpoint)).toMatchObject({ private_dns_zone_group: { private_dns_zone_ids: [ZONE] } });
    const vnet = ZONE.replace('privateDnsZones/privatelink.vaultcore.azure.net', 'virtualNetworks/vnet-hub');
    expect(() => kubernetesHost({ keyVaultPrivateDnsZoneId: vnet })).toThrow(
      `test/airflow: keyVaultPrivateDnsZoneId must be an ARM id like /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/<zone> (got "${vnet}")`,
    );
    expect(() => kubernetesHost({ keyVaultPrivateDnsZoneId: Token.asString(ref('azurerm_private_dns_zone.kv.id')) })).not.toThrow();
  });

  it('refuses a subnet id that names no subnet, as the plan does, and takes references', () => {
    const subnets = {
      subnetId: `${EXISTING_VNET}/subnets/aks`,
      databaseSubnetId: `${EXISTING_VNET}/subnets/airflow-db`,
      privateEndpointSubnetId: `${EXISTING_VNET}/subnets/endpoints`,
    };
    for (const prop of Object.keys(subnets)) {
      expect(() => kubernetesHost({ ...subnets, [prop]: EXISTING_VNET })).toThrow(
        `test/airflow: ${prop} must be an ARM id like /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet> (got "${EXISTING_VNET}")`,
      );
    }
    const references = Object.fromEntries(Object.keys(subnets).map((prop) => [prop, Token.asString(ref(`var.${prop}`))]));
    expect(() => kubernetesHost(references)).not.toThrow();
  });

  it('synthesizes what the checks above take: a reference in each prop that takes one, beside the longest name prefix and each version and size', () => {
    // Each is taken alone at construction above; here each is synthesized too, the values one prop takes in two stacks.
    const taken = {
      namePrefix: 'a'.repeat(29),
      deployerPrincipalId: Token.asString(ref('var.deployer')),
      adminGroupObjectIds: [GROUP, Token.asString(ref('azuread_group.admins.object_id'))],
      namespace: 'airflow-prod',
      kubernetesVersion: '1.30.5',
      nodeVmSize: Token.asString(ref('var.size')),
      keyVaultPrivateDnsZoneId: Token.asString(ref('azurerm_private_dns_zone.kv.id')),
      ...Object.fromEntries(['subnetId', 'databaseSubnetId', 'privateEndpointSubnetId'].map((prop) => [prop, Token.asString(ref(`var.${prop}`))])),
    };
    expect(() => kubernetesHostStack(taken)).not.toThrow();
    expect(() => kubernetesHostStack({ nodeVmSize: 'Standard_E4-2ds_v5', kubernetesVersion: '1.30', adminGroupObjectIds: Token.asList(ref('var.admin_groups')) })).not.toThrow();
  });

  it('refuses a kubelogin mode kubelogin does not have (a caller without the types), before Terraform runs it', () => {
    expect(() => kubernetesHost({ kubeloginMode: 'azureCli' as KubeloginMode })).toThrow(
      `test/airflow: kubeloginMode must be one of ${KUBELOGIN_MODES.join(', ')} (got "azureCli")`,
    );
    // A reference too: the mode decides kubelogin's arguments at synth (`spn` adds --use-azurerm-env-vars).
    expect(() => kubernetesHost({ kubeloginMode: Token.asString(ref('var.kubelogin_mode')) as KubeloginMode })).toThrow(
      /test\/airflow: kubeloginMode must be one of /,
    );
  });

  it('reads the kubelogin mode from AIRFLOW_KUBELOGIN_MODE, and refuses a wrong one under that name, not the prop the user never set', () => {
    expect(kubeloginModeFromEnvironment({})).toBeUndefined();
    expect(kubeloginModeFromEnvironment({ AIRFLOW_KUBELOGIN_MODE: ' ' })).toBeUndefined();
    expect(kubeloginModeFromEnvironment({ AIRFLOW_KUBELOGIN_MODE: ' spn\n' })).toBe('spn');
    expect(() => kubeloginModeFromEnvironment({ AIRFLOW_KUBELOGIN_MODE: 'SPN' })).toThrow(
      new Error(`Invalid AIRFLOW_KUBELOGIN_MODE "SPN": one of ${KUBELOGIN_MODES.join(', ')}`),
    );
  });
});

describe('KubernetesAirflowHost: the missing pool alert', () => {
  const missingPool = (stack: TerraformStack) => synthesizedResource(stack, MonitorScheduledQueryRulesAlertV2);

  it("reads the release's namespace of its own cluster, and takes the host's missingPoolAlert overrides", () => {
    const { stack } = kubernetesHost({ namespace: 'migration', missingPoolAlert: { severity: 0, windowMinutes: 30 } });
    expect(missingPool(stack)).toMatchObject({ name: 'alert-contoso-sql-airflow-missing-pool', severity: 0, window_duration: 'PT30M' });
    expect(missingPool(stack).criteria[0].query).toContain('where PodNamespace == "migration" and ContainerName == "scheduler"');
    expect(missingPool(stack).criteria[0].query).toContain('| where _ResourceId =~ "${azurerm_kubernetes_cluster.');
  });

  it('refuses an unknown field of missingPoolAlert, naming it', () => {
    expect(() => kubernetesHost({ missingPoolAlert: { severty: 0 } as never })).toThrow(/missingPoolAlert\.severty is an unknown field/);
  });
});
