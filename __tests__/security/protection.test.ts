import { Testing, TerraformStack } from 'cdktf';
import { DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { MigrationService } from '../../lib/migration-service';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { onlyLogicalId, onlyResource, reference, SynthesizedStack, warningsOf } from '../helpers/test-stack';

function build(props: Partial<DatabaseMigrationStackProps> = {}): { synth: SynthesizedStack; release?: SynthesizedStack; warnings: string[] } {
  const { synth, release, stack } = synthMigrationStack(props);
  return { synth, release, warnings: [stack, ...stack.releaseStacks].flatMap(warningsOf) };
}

/** A host that keeps the DAG in storage, where the storage lock applies. */
const EXTERNAL_HOST = { plan: examplePlanWith(AIRFLOW_OF_HOST.external) };

/** `${<type>.<logical id>.id}` of the only resource of a type. */
function idOf(synth: SynthesizedStack, type: string): string {
  return reference(type, onlyLogicalId(synth, type));
}

function locksOf(synth: SynthesizedStack): Array<Record<string, unknown>> {
  return Object.values(synth.resource.azurerm_management_lock ?? {});
}

/** The migration service: an `azapi_resource` among several. */
function migrationService(synth: SynthesizedStack): { logicalId: string; resource: Record<string, unknown> } {
  const [[logicalId, resource]] = Object.entries(synth.resource.azapi_resource ?? {}).filter(([, r]) =>
    String((r as { type: string }).type).startsWith('Microsoft.DataMigration/sqlMigrationServices@'),
  );
  return { logicalId, resource: resource as Record<string, unknown> };
}

const STATEFUL = ['azurerm_key_vault', 'azurerm_log_analytics_workspace'] as const;
/** The DAG storage only holds redeployable files: locked on request, not prevent_destroy by default. */
const LOCKED = [...STATEFUL, 'azurerm_storage_account'] as const;
/** Protected as the workspace is, not locked: a lock on the workspace covers its tables. */
const EVENTS_TABLE = 'azurerm_log_analytics_workspace_table_custom_log';
const UNPROTECTED_WARNING = /is not protected by prevent_destroy|preventDestroy is false/;

describe('protection of stateful resources', () => {
  // The ReadOnly-locked stack, synthesized once for the two tests that read it.
  let readOnlyLocked: ReturnType<typeof build> | undefined;
  const withReadOnlyLock = () => (readOnlyLocked ??= build({ lock: { kind: 'ReadOnly' } }));
  // The external host's stack with CanNotDelete locks (the Kubernetes host's first stack's locks and the DAG storage's), for the two tests that read it.
  let canNotDeleteLocked: ReturnType<typeof build> | undefined;
  const withCanNotDeleteLock = () => (canNotDeleteLocked ??= build({ ...EXTERNAL_HOST, lock: { kind: 'CanNotDelete' } }));

  it("by default: prevent_destroy on the migration service, the Key Vault, the workspace, its events table and the Kubernetes host's metadata database, no locks, no warning", () => {
    const { synth, release, warnings } = build();
    for (const type of [...STATEFUL, EVENTS_TABLE]) {
      expect(onlyResource(synth, type).lifecycle).toEqual({ prevent_destroy: true });
    }
    expect(migrationService(synth).resource.lifecycle).toEqual({ prevent_destroy: true });
    expect(onlyResource(release!, 'azurerm_postgresql_flexible_server').lifecycle).toMatchObject({ prevent_destroy: true });
    expect(synth.resource.azurerm_management_lock).toBeUndefined();
    expect(warnings.filter((w) => UNPROTECTED_WARNING.test(w))).toEqual([]);
  });

  it('preventDestroy: false drops prevent_destroy and warns for each resource', () => {
    const { synth, release, warnings } = build({ preventDestroy: false });
    for (const type of [...STATEFUL, EVENTS_TABLE]) {
      expect(onlyResource(synth, type)).not.toHaveProperty('lifecycle.prevent_destroy');
    }
    expect(migrationService(synth).resource).not.toHaveProperty('lifecycle.prevent_destroy');
    expect(onlyResource(release!, 'azurerm_postgresql_flexible_server')).toHaveProperty('lifecycle.prevent_destroy', false);
    expect(warnings.filter((w) => UNPROTECTED_WARNING.test(w))).toEqual([
      expect.stringMatching(/MigrationService: migration service is not protected by prevent_destroy/),
      expect.stringMatching(/Monitoring: preventDestroy is false/),
      expect.stringMatching(/Monitoring\/Default: events table MigrationEvents_CL .* is not protected by prevent_destroy/),
      expect.stringMatching(/Orchestration\/KeyVault: Key Vault is not protected by prevent_destroy/),
      expect.stringMatching(/AirflowHost\/Database: Airflow metadata database is not protected by prevent_destroy/),
    ]);
  });

  it('lock adds a lock of that kind on each and on the DAG storage, besides prevent_destroy', () => {
    const { synth } = withCanNotDeleteLock();
    expect(locksOf(synth).map((lock) => [lock.scope, lock.lock_level]).sort()).toEqual(
      [...LOCKED.map((type) => idOf(synth, type)), reference('azapi_resource', migrationService(synth).logicalId)]
        .map((id) => [id, 'CanNotDelete'])
        .sort(),
    );
    for (const type of STATEFUL) {
      expect(onlyResource(synth, type).lifecycle).toEqual({ prevent_destroy: true });
    }
  });

  it("locks the Kubernetes host's metadata database too, in the release stack; ReadOnly gives the migration service CanNotDelete", () => {
    const { synth, release } = withReadOnlyLock();
    expect(locksOf(synth).map((lock) => [lock.scope, lock.lock_level]).sort()).toEqual(
      [
        ...STATEFUL.map((type) => [idOf(synth, type), 'ReadOnly']),
        [reference('azapi_resource', migrationService(synth).logicalId), 'CanNotDelete'],
      ].sort(),
    );
    const server = onlyLogicalId(release!, 'azurerm_postgresql_flexible_server');
    expect(locksOf(release!)).toEqual([
      expect.objectContaining({
        scope: reference('azurerm_postgresql_flexible_server', server),
        lock_level: 'ReadOnly',
        name: `lock-${reference('azurerm_postgresql_flexible_server', server, 'name')}`,
      }),
    ]);
  });

  it('puts a ReadOnly lock on after everything else in its stack, which it would refuse to create under its scope; CanNotDelete needs no order', () => {
    const addresses = (stack: SynthesizedStack) =>
      Object.entries(stack.resource).flatMap(([type, byName]) =>
        type === 'azurerm_management_lock' ? [] : Object.keys(byName as object).map((name) => `${type}.${name}`),
      );
    const { synth, release } = withReadOnlyLock();
    for (const stack of [synth, release!]) {
      for (const lock of locksOf(stack).filter((each) => each.lock_level === 'ReadOnly')) {
        expect([...(lock.depends_on as string[])].sort()).toEqual(addresses(stack).sort());
      }
    }
    // For instance the workspace's events table and the metadata server's database, children the lock would refuse.
    const workspaceLock = locksOf(synth).find((lock) => lock.scope === idOf(synth, 'azurerm_log_analytics_workspace'))!;
    expect(workspaceLock.depends_on).toContain(`azurerm_log_analytics_workspace_table_custom_log.${onlyLogicalId(synth, 'azurerm_log_analytics_workspace_table_custom_log')}`);
    expect(locksOf(release!)[0].depends_on).toContain(
      `azurerm_postgresql_flexible_server_database.${onlyLogicalId(release!, 'azurerm_postgresql_flexible_server_database')}`,
    );
    const canNotDeleteLocks = locksOf(withCanNotDeleteLock().synth);
    expect(canNotDeleteLocks).toHaveLength(LOCKED.length + 1);
    for (const lock of canNotDeleteLocks) expect(lock).not.toHaveProperty('depends_on');
  });

  it("gives the DAG storage its own lock when dagStorage.lock says so (the specific setting wins)", () => {
    const { synth } = build({ ...EXTERNAL_HOST, lock: { kind: 'CanNotDelete' }, dagStorage: { lock: { kind: 'ReadOnly', name: 'lock-dags' } } });
    const account = idOf(synth, 'azurerm_storage_account');
    expect(locksOf(synth).filter((lock) => lock.scope === account)).toEqual([
      expect.objectContaining({ lock_level: 'ReadOnly', name: 'lock-dags' }),
    ]);
  });

  it('keeps the locks when prevent_destroy is off (a lock also stops deletion outside Terraform)', () => {
    const { synth } = build({ ...EXTERNAL_HOST, preventDestroy: false, lock: { kind: 'CanNotDelete' } });
    expect(locksOf(synth).map((lock) => lock.scope).sort()).toEqual(
      [...LOCKED.map((type) => idOf(synth, type)), reference('azapi_resource', migrationService(synth).logicalId)].sort(),
    );
  });

  it('refuses a ReadOnly lock on a MigrationService of its own: it would refuse the listAuthKeys POST of every plan', () => {
    const stack = new TerraformStack(Testing.app(), 'own');
    const resourceGroup = { id: '/subscriptions/0/resourceGroups/rg-own', name: 'rg-own', location: 'westeurope' };
    expect(() => new MigrationService(stack, 'Dms', { resourceGroup, namePrefix: 'own', lock: { kind: 'ReadOnly' } })).toThrow(
      /Dms: lock.kind ReadOnly would refuse listAuthKeys.*use CanNotDelete/,
    );
  });

  it.each([
    [{ kind: 'DoNotDelete' }, /^contoso-sql: DatabaseMigrationStack: props\.lock\.kind must be one of 'CanNotDelete', 'ReadOnly' \(got the string "DoNotDelete"\)$/],
    [{ kind: 'CanNotDelete', name: 'lock/vault' }, /lock\.name "lock\/vault" must be 1 to 259 characters, none of/],
    [{ kind: 'CanNotDelete', name: 'x'.repeat(260) }, /lock\.name "x+" must be 1 to 259 characters/],
  ])('refuses a lock Azure would refuse: %j', (lock, message) => {
    expect(() => build({ lock: lock as never })).toThrow(message);
  });
});

describe('the DAG container (hosts that read the DAG from storage)', () => {
  const { synth } = build(EXTERNAL_HOST);

  it('lives in an account that keeps blob versions and soft-deleted blobs and containers', () => {
    const container = onlyResource(synth, 'azurerm_storage_container');
    expect(container).toMatchObject({ name: 'airflow-dags', container_access_type: 'private' });
    expect(container.storage_account_id).toBe(idOf(synth, 'azurerm_storage_account'));

    const account = onlyResource(synth, 'azurerm_storage_account') as Record<string, any>;
    expect(account.blob_properties).toEqual({
      versioning_enabled: true,
      delete_retention_policy: { days: 30 },
      container_delete_retention_policy: { days: 30 },
    });
  });
});
