/**
 * The secure defaults, as the synthesized JSON of each host's default stack has them: one named
 * assertion per setting, on every resource of its type in the stacks of every host that creates
 * one. The settings that stay open on purpose are asserted too, so docs/security.md's trade-offs
 * (the checkov skips) stay what the stack does. Their overrides and warnings:
 * weakening-overrides.test.ts.
 */
import { DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { SynthesizedStack } from '../helpers/test-stack';

type Host = keyof typeof AIRFLOW_OF_HOST;
const HOSTS = Object.keys(AIRFLOW_OF_HOST) as Host[];

/** Both stacks of a host's default deployment. */
function stacksOf(host: Host): SynthesizedStack[] {
  const props: Partial<DatabaseMigrationStackProps> = { plan: examplePlanWith(AIRFLOW_OF_HOST[host]) };
  const { synth, release } = synthMigrationStack(props);
  return release ? [synth, release] : [synth];
}

const STACKS = Object.fromEntries(HOSTS.map((host) => [host, stacksOf(host)])) as Record<Host, SynthesizedStack[]>;

function resourcesOf(host: Host, type: string): Array<Record<string, unknown>> {
  return STACKS[host].flatMap((stack) => Object.values(stack.resource[type] ?? {}) as Array<Record<string, unknown>>);
}

/** The value at a dotted path (`a.b`); a one-element list (a Terraform block) is looked into. */
function valueAt(resource: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => {
    const inner = Array.isArray(value) && value.length === 1 ? value[0] : value;
    return inner !== null && typeof inner === 'object' ? (inner as Record<string, unknown>)[key] : undefined;
  }, resource);
}

/** Per resource type: the hosts whose default stacks create it, and the value of each argument there. */
const SECURE_DEFAULTS: Readonly<Record<string, { readonly hosts: readonly Host[]; readonly settings: Readonly<Record<string, unknown>> }>> = {
  azurerm_key_vault: {
    hosts: HOSTS,
    settings: {
      rbac_authorization_enabled: true, // Azure RBAC, not access policies
      purge_protection_enabled: true,
      soft_delete_retention_days: 90,
      'network_acls.bypass': 'AzureServices',
      'network_acls.default_action': 'Allow', // trade-off CKV_AZURE_109
      public_network_access_enabled: true, // trade-off CKV_AZURE_189
    },
  },
  azurerm_log_analytics_workspace: { hosts: HOSTS, settings: { local_authentication_enabled: false } },
  azurerm_data_factory: {
    hosts: HOSTS,
    settings: {
      managed_virtual_network_enabled: true,
      public_network_enabled: true, // trade-off CKV_AZURE_104
      'identity.type': 'SystemAssigned', // a managed identity, no secret
    },
  },
  azurerm_kubernetes_cluster: {
    hosts: ['kubernetes'],
    settings: {
      local_account_disabled: true,
      run_command_enabled: false,
      role_based_access_control_enabled: true,
      'azure_active_directory_role_based_access_control.azure_rbac_enabled': true,
      oidc_issuer_enabled: true, // workload identity's tokens
      workload_identity_enabled: true,
      azure_policy_enabled: true,
      api_server_access_profile: undefined, // no IP ranges by default: trade-off CKV_AZURE_6
    },
  },
  azurerm_container_registry: { hosts: ['kubernetes'], settings: { admin_enabled: false, anonymous_pull_enabled: false } },
  azurerm_postgresql_flexible_server: {
    hosts: ['kubernetes'],
    settings: {
      public_network_access_enabled: false,
      administrator_password: undefined, // write-only: administrator_password_wo, not in the state
    },
  },
  azurerm_key_vault_secret: { hosts: ['kubernetes'], settings: { value: undefined } }, // write-only: value_wo
  azurerm_storage_account: {
    hosts: ['dataFactory', 'external'],
    settings: {
      min_tls_version: 'TLS1_2',
      https_traffic_only_enabled: true,
      allow_nested_items_to_be_public: false,
      shared_access_key_enabled: false, // no account keys, no SAS
      default_to_oauth_authentication: true, // the portal uses Entra ID
      cross_tenant_replication_enabled: false,
      infrastructure_encryption_enabled: true,
      'blob_properties.versioning_enabled': true,
      'blob_properties.delete_retention_policy.days': 30,
      'blob_properties.container_delete_retention_policy.days': 30,
    },
  },
  azurerm_storage_container: { hosts: ['dataFactory', 'external'], settings: { container_access_type: 'private' } },
};

const ASSERTIONS = Object.entries(SECURE_DEFAULTS).flatMap(([type, { hosts, settings }]) =>
  Object.entries(settings).map(([argument, expected]) => [`${type}.${argument}`, expected, type, argument, hosts] as const),
);

describe('the secure defaults of every host', () => {
  it.each(ASSERTIONS)('%s is %p', (_name, expected, type, argument, hosts) => {
    for (const host of hosts) {
      const resources = resourcesOf(host, type);
      expect({ host, found: resources.length > 0 }).toEqual({ host, found: true });
      for (const resource of resources) expect({ host, [argument]: valueAt(resource, argument) }).toEqual({ host, [argument]: expected });
    }
  });

  it.each(HOSTS)("lets public networks reach the migration events' endpoint on host %s (Airflow may run outside any VNet; every call needs Entra ID)", (host) => {
    const events = resourcesOf(host, 'azurerm_monitor_data_collection_endpoint').filter((endpoint) => String(endpoint.description).includes('Logs Ingestion'));
    expect(events.map((endpoint) => endpoint.public_network_access_enabled)).toEqual([true]);
  });

  it("leaves the write-only arguments that hold the secrets set (so the asserted absences mean 'write-only', not 'no password')", () => {
    const [server] = resourcesOf('kubernetes', 'azurerm_postgresql_flexible_server');
    expect(server.administrator_password_wo).toEqual(expect.any(String));
    for (const secret of resourcesOf('kubernetes', 'azurerm_key_vault_secret')) expect(secret.value_wo).toEqual(expect.any(String));
  });
});
