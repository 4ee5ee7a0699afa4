/** The DAG bundle in storage, for the hosts that read it from there (dataFactory, external). */
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ref, TerraformStack, Testing, Token } from 'cdktf';
import { HostDagStorage, HostDagStorageProps } from '../../lib/hosts/host-dag-storage';
import { DagStorage } from '../../lib/orchestration-factory/dag-storage';
import { renderMigrationPlan } from '../../lib/plan';
import { examplePlan } from '../helpers/example-plan';
import { examplePlanBundle } from '../helpers/host-fixtures';
import { onlyResource, resourcesOfType, synthObject, testStack, warningsOf } from '../helpers/test-stack';

/** The example plan, loaded once (deep-frozen), and its bundle (loaded once, frozen). */
const PLAN = examplePlan();

/**
 * The bundle's storage in a stack of its own, built: its props are checked and its secure defaults
 * warned about in the constructors (the provider check, a validation, is app.synth()'s: below).
 */
function built(settings: HostDagStorageProps['settings'] = {}, deployerPrincipalId = '00000000-0000-0000-0000-00000000000d') {
  const { stack, resourceGroup } = testStack();
  new HostDagStorage(stack, 'Bundle', {
    resourceGroup,
    namePrefix: PLAN.name,
    location: PLAN.location,
    bundle: examplePlanBundle(),
    deployerPrincipalId,
    settings,
  });
  return { stack, plan: PLAN };
}

/** As built(), and synthesized. */
function build(settings: HostDagStorageProps['settings'] = {}, deployerPrincipalId = '00000000-0000-0000-0000-00000000000d') {
  const { stack, plan } = built(settings, deployerPrincipalId);
  return { stack, plan, synth: synthObject(stack) };
}

describe('HostDagStorage', () => {
  const { synth, plan, stack } = build();

  it('secures the account: HTTPS, TLS 1.2, no public blobs, no shared keys, versioning and soft delete', () => {
    expect(onlyResource(synth, StorageAccount.tfResourceType)).toMatchObject({
      name: 'stcontososqldag09e6',
      https_traffic_only_enabled: true,
      min_tls_version: 'TLS1_2',
      allow_nested_items_to_be_public: false,
      shared_access_key_enabled: false,
      cross_tenant_replication_enabled: false,
      blob_properties: { versioning_enabled: true, delete_retention_policy: { days: 30 }, container_delete_retention_policy: { days: 30 } },
    });
    expect(onlyResource(synth, StorageContainer.tfResourceType)).toMatchObject({ name: 'airflow-dags', container_access_type: 'private' });
    expect(warningsOf(stack)).toEqual([]);
  });

  it('uploads the DAG, its library, the requirements and the rendered plan, each with a content hash', () => {
    const blobs = Object.values(resourcesOfType(synth, StorageBlob.tfResourceType));
    const names = blobs.map((b) => String(b.name));
    expect(names).toEqual(
      expect.arrayContaining(['dags/migration_orchestration.py', 'dags/migration_plan.json', 'dags/migration_plan.schema.json', 'dags/migration_bundle_manifest.json', 'requirements.txt']),
    );
    expect(names.some((n) => n.startsWith('dags/migration_orchestration_lib/contracts/airflow_pools.json'))).toBe(true);
    expect(names.filter((n) => /tests|__pycache__|requirements-/.test(n))).toEqual([]);
    expect(blobs.find((b) => b.name === 'dags/migration_plan.json')?.source_content).toBe(renderMigrationPlan(plan));
    for (const blob of blobs) expect(blob.content_md5).toMatch(/^[0-9a-f]{32}$/);
  });

  it('lets the deployer upload with Entra ID, and waits for that role before the first blob', () => {
    const [uploaderId, uploader] = Object.entries(resourcesOfType(synth, 'azurerm_role_assignment'))[0];
    expect(uploader).toMatchObject({ role_definition_name: 'Storage Blob Data Contributor', principal_id: '00000000-0000-0000-0000-00000000000d' });
    const [sleepId, sleep] = Object.entries(resourcesOfType(synth, 'time_sleep'))[0];
    expect(sleep.depends_on).toEqual([`azurerm_role_assignment.${uploaderId}`]);
    for (const blob of Object.values(resourcesOfType(synth, StorageBlob.tfResourceType))) {
      expect(blob.depends_on).toEqual([`time_sleep.${sleepId}`]);
    }
  });

  it('warns when a secure default is weakened', () => {
    const warnings = warningsOf(built({ versioningEnabled: false, sharedAccessKeyEnabled: true }).stack).join('\n');
    expect(warnings).toMatch(/versioningEnabled is false/);
    expect(warnings).toMatch(/sharedAccessKeyEnabled is true/);
  });

  it.each([
    [{ httpsOnly: false }, /httpsOnly is false, weaker than the secure default true/],
    [{ publicBlobAccess: true }, /publicBlobAccess is true, weaker than the secure default false/],
    [{ softDeleteRetentionInDays: 7 }, /softDeleteRetentionInDays is 7, weaker than the secure default 30/],
  ] as const)('warns for every other weakened default too: %o', (settings, warning) => {
    // Synthesized before the warnings are read: the list is exact, so it excludes a warning a synthesis adds too.
    expect(warningsOf(build(settings).stack)).toEqual([expect.stringMatching(warning)]);
  });

  it('does not warn for settings as strong as the defaults or stronger', () => {
    const settings = { minTlsVersion: 'TLS1_2', httpsOnly: true, publicBlobAccess: false, sharedAccessKeyEnabled: false, versioningEnabled: true, softDeleteRetentionInDays: 90 } as const;
    // Synthesized (build) first, as for the defaults above: no warning at construction nor at synthesis.
    expect(warningsOf(build(settings).stack)).toEqual([]);
  });
});

describe('DagStorage', () => {
  it('refuses an accountName Azure Storage refuses, naming the prop (was: refused by Azure at apply)', () => {
    const props = (accountName: string) => {
      const { stack, resourceGroup } = testStack();
      return () => new DagStorage(stack, 'Dags', { resourceGroup, accountName, location: PLAN.location, bundle: examplePlanBundle() });
    };
    for (const accountName of ['st', 'StDags01', 'st-dags', 'a'.repeat(25)]) {
      expect(props(accountName)).toThrow(`test/Dags: accountName must be a storage account name: 3-24 lowercase letters and digits (got "${accountName}")`);
    }
    expect(props('stdags01')).not.toThrow();
    expect(props(Token.asString(ref('var.account')))).not.toThrow();
  });
});

describe("HostDagStorage and the stack's azurerm provider", () => {
  /** A bundle in a stack whose azurerm provider is set up by `provider`, synthesized as `cdktf synth` does: its warnings. */
  function warningsWithProvider(provider: (azurerm: AzurermProvider) => void, settings: HostDagStorageProps['settings'] = {}): string[] {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'team');
    provider(new AzurermProvider(stack, 'azurerm', { features: [{}] }));
    new HostDagStorage(stack, 'Bundle', {
      resourceGroup: { id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team', name: 'rg-team', location: 'westeurope' },
      namePrefix: PLAN.name,
      location: PLAN.location,
      bundle: examplePlanBundle(),
      deployerPrincipalId: '00000000-0000-0000-0000-00000000000d',
      settings,
    });
    app.synth();
    return warningsOf(stack);
  }
  const keysRefused = /^team\/Bundle\/DagStorage: the stack's azurerm provider does not set storageUseAzuread: true, .* 403 KeyBasedAuthenticationNotPermitted: .*ARM_STORAGE_USE_AZUREAD=true/;

  it('warns when the provider would write the blobs with an account key, which the account refuses', () => {
    expect(warningsWithProvider(() => undefined)).toEqual([expect.stringMatching(keysRefused)]);
    expect(warningsWithProvider((azurerm) => (azurerm.storageUseAzuread = false))).toEqual([expect.stringMatching(keysRefused)]);
  });

  it('does not warn when the provider uploads with Entra ID (an argument or an override), or the account takes keys', () => {
    expect(warningsWithProvider((azurerm) => (azurerm.storageUseAzuread = true))).toEqual([]);
    expect(warningsWithProvider((azurerm) => azurerm.addOverride('storage_use_azuread', true))).toEqual([]);
    expect(warningsWithProvider(() => undefined, { sharedAccessKeyEnabled: true })).toEqual([expect.stringMatching(/sharedAccessKeyEnabled is true, weaker/)]);
  });
});

describe('HostDagStorage props checked at construction', () => {
  it.each(['TLS1_0', 'TLS1_1'])('refuses minTlsVersion %s: Azure Storage has taken only TLS 1.2 and later since 2026-02-03', (version) => {
    expect(() => built({ minTlsVersion: version as never })).toThrow(
      `test/Bundle/DagStorage: minTlsVersion "${version}" is not one Azure Storage still accepts: it refuses TLS 1.0 and 1.1 on every account since 2026-02-03, so TLS1_2 (the default) is the lowest minimum`,
    );
  });

  it('refuses a deployer that is not an object id, and takes a reference', () => {
    expect(() => built({}, 'uploader')).toThrow('test/Bundle: deployerPrincipalId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "uploader")');
    expect(() => built({}, Token.asString(ref('var.deployer')))).not.toThrow();
  });
});
