import { DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { onlyResource, SynthesizedStack, warningsOf } from '../helpers/test-stack';

function build(props: Partial<DatabaseMigrationStackProps> = {}): { synth: SynthesizedStack; release?: SynthesizedStack; warnings: string[] } {
  const { synth, release, stack } = synthMigrationStack(props);
  return { synth, release, warnings: [stack, ...stack.releaseStacks].flatMap(warningsOf) };
}

/** A host that keeps the DAG in storage, where the storage lock applies. */
const EXTERNAL_HOST = { plan: examplePlanWith(AIRFLOW_OF_HOST.external) };

function reference(synth: SynthesizedStack, type: string): string {
  const ids = Object.keys(synth.resource[type] ?? {});
  expect(ids).toHaveLength(1);
  return `\${${type}.${ids[0]}.id}`;
}

const STATEFUL = ['azurerm_key_vault', 'azurerm_log_analytics_workspace'] as const;
/** The DAG storage only holds redeployable files: locked on request, not prevent_destroy by default. */
const LOCKED = [...STATEFUL, 'azurerm_storage_account'] as const;
const UNPROTECTED_WARNING = /is not protected by prevent_destroy|protectWorkspace is false/;

describe('protection of stateful resources', () => {
  it("by default: prevent_destroy on the Key Vault, the workspace and the Kubernetes host's metadata database, no locks, no warning", () => {
    const { synth, release, warnings } = build();
    for (const type of STATEFUL) {
      expect(onlyResource(synth, type).lifecycle).toEqual({ prevent_destroy: true });
    }
    expect(onlyResource(release!, 'azurerm_postgresql_flexible_server').lifecycle).toMatchObject({ prevent_destroy: true });
    expect(synth.resource.azurerm_management_lock).toBeUndefined();
    expect(warnings.filter((w) => UNPROTECTED_WARNING.test(w))).toEqual([]);
  });

  it('protectStatefulResources: false drops prevent_destroy and warns for each resource', () => {
    const { synth, release, warnings } = build({ protectStatefulResources: false });
    for (const type of STATEFUL) {
      expect(onlyResource(synth, type)).not.toHaveProperty('lifecycle.prevent_destroy');
    }
    expect(onlyResource(release!, 'azurerm_postgresql_flexible_server')).toHaveProperty('lifecycle.prevent_destroy', false);
    expect(warnings.filter((w) => UNPROTECTED_WARNING.test(w))).toEqual([
      expect.stringMatching(/Monitoring: protectWorkspace is false/),
      expect.stringMatching(/Orchestration\/KeyVault: Key Vault is not protected by prevent_destroy/),
      expect.stringMatching(/AirflowHost\/Database: Airflow metadata database is not protected by prevent_destroy/),
    ]);
  });

  it('lockStatefulResources: true adds a CanNotDelete lock on each and on the DAG storage, besides prevent_destroy', () => {
    const { synth } = build({ ...EXTERNAL_HOST, lockStatefulResources: true });
    const locks = Object.values(synth.resource.azurerm_management_lock ?? {});
    expect(locks.map((lock) => [lock.scope, lock.lock_level]).sort()).toEqual(
      LOCKED.map((type) => [reference(synth, type), 'CanNotDelete']).sort(),
    );
    for (const type of STATEFUL) {
      expect(onlyResource(synth, type).lifecycle).toEqual({ prevent_destroy: true });
    }
  });

  it('keeps the locks when prevent_destroy is off (a lock also stops deletion outside Terraform)', () => {
    const { synth } = build({ ...EXTERNAL_HOST, protectStatefulResources: false, lockStatefulResources: true });
    expect(Object.values(synth.resource.azurerm_management_lock ?? {}).map((lock) => lock.scope).sort()).toEqual(
      LOCKED.map((type) => reference(synth, type)).sort(),
    );
  });
});

describe('the DAG container (hosts that read the DAG from storage)', () => {
  const { synth } = build(EXTERNAL_HOST);

  it('lives in an account that keeps blob versions and soft-deleted blobs and containers', () => {
    const container = onlyResource(synth, 'azurerm_storage_container');
    expect(container).toMatchObject({ name: 'airflow-dags', container_access_type: 'private' });
    expect(container.storage_account_id).toBe(reference(synth, 'azurerm_storage_account'));

    const account = onlyResource(synth, 'azurerm_storage_account') as Record<string, any>;
    expect(account.blob_properties).toEqual({
      versioning_enabled: true,
      delete_retention_policy: { days: 30 },
      container_delete_retention_policy: { days: 30 },
    });
  });
});
