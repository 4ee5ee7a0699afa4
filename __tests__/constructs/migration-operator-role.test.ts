import { ref, Token } from 'cdktf';
import { MigrationOperatorRole, MigrationOperatorRoleProps } from '../../lib/migration-operator-role';
import { resourceGroupIdOf } from '../../lib/private/arm-ids';
import { synthObject, testStack, warningsOf } from '../helpers/test-stack';

const GROUP = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups';
const MI = `${GROUP}/rg-data/providers/Microsoft.Sql/managedInstances/mi-prod`;
const SQLDB = `${GROUP}/rg-data/providers/Microsoft.Sql/servers/sql-prod`;
const VM = `${GROUP}/rg-data/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm-prod`;
const BACKUPS = `${GROUP}/rg-backups/providers/Microsoft.Storage/storageAccounts/stbackups`;

const AIRFLOW = { principalId: '66666666-7777-8888-9999-000000000000', principalType: 'ServicePrincipal' } as const;

function operatorRole(props: Partial<MigrationOperatorRoleProps>) {
  const { stack, resourceGroup } = testStack();
  const role = new MigrationOperatorRole(stack, 'Role', {
    resourceGroup,
    namePrefix: 'contoso-sql',
    migrationService: { id: `${GROUP}/rg-test/providers/Microsoft.DataMigration/sqlMigrationServices/dms`, name: 'dms' },
    targets: [{ kind: 'SqlMi', resourceId: MI }],
    ...props,
  });
  return { stack, role };
}

function synth(props: Partial<MigrationOperatorRoleProps>) {
  const { stack, role } = operatorRole(props);
  const granted = role.grantRunMigrations(AIRFLOW, { id: 'Airflow' });
  const json = synthObject(stack);
  const definitions = Object.values(json.resource.azurerm_role_definition) as Array<Record<string, any>>;
  const operator = definitions.find((d) => d.name === 'Database Migration Operator (contoso-sql)')!;
  const reader = definitions.find((d) => d.name === 'Database Migration Operation Reader (contoso-sql)')!;
  const assignments = Object.values(json.resource.azurerm_role_assignment) as Array<Record<string, any>>;
  const addressByScope = Object.fromEntries(
    Object.entries(json.resource.azurerm_role_assignment).map(([name, body]) => [`${String(body.scope)} ${String(body.description)}`, name]),
  );
  const moved = ((json as { moved?: Array<{ from: string; to: string }> }).moved ?? []).map(({ from, to }) => ({ from, to }));
  return { operator, reader, assignments, granted, addressByScope, moved };
}

describe('MigrationOperatorRole', () => {
  it('refuses a target whose ARM id is not of its kind: the role would hold the other kind\'s actions', () => {
    expect(() => synth({ targets: [{ kind: 'SqlMi', resourceId: MI }, { kind: 'SqlDb', resourceId: MI }] })).toThrow(
      `targets[1].resourceId: "${MI}" is not the ARM id of a SqlDb target (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Sql/servers/<name>)`,
    );
  });

  it('grants the grantee both roles and returns every assignment it made', () => {
    const { assignments, granted } = synth({});
    expect(granted).toHaveLength(assignments.length);
    expect(granted.map((assignment) => assignment.node.id)).toEqual(['Airflow-0', 'Airflow-4f4304c2', 'Airflow-operations-0', 'Airflow-operations-594b52cc']);
    for (const assignment of assignments) {
      expect(assignment).toMatchObject({ principal_id: AIRFLOW.principalId, principal_type: 'ServicePrincipal' });
    }
  });

  it('reads the backup storage account and nothing more of it (no keys, no blob service writes)', () => {
    const { operator, assignments } = synth({ backupStorageAccountId: BACKUPS });
    const storage = (operator.permissions[0].actions as string[]).filter((action) => action.startsWith('Microsoft.Storage/'));
    expect(storage).toEqual(['Microsoft.Storage/storageAccounts/read']);
    expect(assignments.map((a) => a.scope)).toContain(BACKUPS);
    expect(operator.assignable_scopes).toContain(`${GROUP}/rg-backups`);
  });

  it('has no storage right without a backup storage account (SqlDb copies directly)', () => {
    const { operator, assignments } = synth({ targets: [{ kind: 'SqlDb', resourceId: SQLDB }] });
    expect((operator.permissions[0].actions as string[]).some((action) => action.startsWith('Microsoft.Storage/'))).toBe(false);
    expect(assignments.some((a) => String(a.scope).includes('Microsoft.Storage'))).toBe(false);
  });

  it("acts on each target kind as Microsoft's custom role for DMS to that kind does, but deletes no SqlDb database (it existed before the migration)", () => {
    const targetActions = (kind: 'SqlMi' | 'SqlDb', resourceId: string) =>
      (synth({ targets: [{ kind, resourceId }] }).operator.permissions[0].actions as string[]).filter((action) => action.startsWith('Microsoft.Sql/'));
    expect(targetActions('SqlDb', SQLDB)).toEqual([
      'Microsoft.Sql/servers/read',
      'Microsoft.Sql/servers/write',
      'Microsoft.Sql/servers/databases/read',
      'Microsoft.Sql/servers/databases/write',
    ]);
    expect(targetActions('SqlMi', MI)).toEqual([
      'Microsoft.Sql/managedInstances/read',
      'Microsoft.Sql/managedInstances/write',
      'Microsoft.Sql/managedInstances/databases/read',
      'Microsoft.Sql/managedInstances/databases/write',
      'Microsoft.Sql/managedInstances/databases/delete',
    ]);
  });

  it("takes of DMS only what the DAG calls: migrations, the service and its migration list, not its runtime nodes' monitoring data nor a migration's delete", () => {
    const dataMigration = (synth({}).operator.permissions[0].actions as string[]).filter((action) => action.startsWith('Microsoft.DataMigration/'));
    expect(dataMigration).toEqual([
      'Microsoft.DataMigration/databaseMigrations/read',
      'Microsoft.DataMigration/databaseMigrations/write',
      'Microsoft.DataMigration/databaseMigrations/cancel/action',
      'Microsoft.DataMigration/databaseMigrations/cutover/action',
      'Microsoft.DataMigration/sqlMigrationServices/read',
      'Microsoft.DataMigration/sqlMigrationServices/listMigrations/read',
    ]);
  });

  it('cuts over only where a target kind migrates online: DMS has no cutover for SqlDb, whose migrations are offline only', () => {
    const cutsOver = (targets: MigrationOperatorRoleProps['targets']) =>
      (synth({ targets }).operator.permissions[0].actions as string[]).includes('Microsoft.DataMigration/databaseMigrations/cutover/action');
    expect(cutsOver([{ kind: 'SqlDb', resourceId: SQLDB }])).toBe(false);
    expect(cutsOver([{ kind: 'SqlMi', resourceId: MI }])).toBe(true);
    expect(cutsOver([{ kind: 'SqlVm', resourceId: VM }])).toBe(true);
    expect(cutsOver([{ kind: 'SqlDb', resourceId: SQLDB }, { kind: 'SqlMi', resourceId: MI }])).toBe(true);
  });

  it('cuts over only with an online migration: an offline one finishes without a cutover', () => {
    const cutsOver = (props: Partial<MigrationOperatorRoleProps>) =>
      (synth(props).operator.permissions[0].actions as string[]).includes('Microsoft.DataMigration/databaseMigrations/cutover/action');
    expect(cutsOver({ onlineMigrations: false })).toBe(false);
    expect(cutsOver({ onlineMigrations: false, targets: [{ kind: 'SqlVm', resourceId: VM }] })).toBe(false);
    expect(cutsOver({ onlineMigrations: true })).toBe(true);
    expect(cutsOver({ onlineMigrations: true, targets: [{ kind: 'SqlDb', resourceId: SQLDB }] })).toBe(false);
  });

  it('polls DMS operations through a reader role on the resource groups, which its assignable scopes allow', () => {
    const { operator, reader, assignments } = synth({ backupStorageAccountId: BACKUPS });
    expect(reader.permissions).toEqual([
      {
        actions: [
          'Microsoft.DataMigration/locations/operationResults/read',
          'Microsoft.DataMigration/locations/operationStatuses/read',
          'Microsoft.DataMigration/locations/sqlMigrationServiceOperationResults/read',
          // A rollback waits on the delete of a managed-instance database: Microsoft.Sql/locations/<region>/managedDatabaseAzureAsyncOperation.
          'Microsoft.Sql/locations/*/read',
        ],
      },
    ]);
    expect((operator.permissions[0].actions as string[]).some((action) => action.includes('/locations/'))).toBe(false);
    const readerScopes = assignments.filter((a) => String(a.description).startsWith('Database Migration Operation Reader')).map((a) => a.scope);
    expect(readerScopes).toEqual(['${azurerm_resource_group.rg.id}', `${GROUP}/rg-data`]);
    expect(reader.assignable_scopes).toEqual(readerScopes);
    // Nothing at subscription scope.
    expect(assignments.filter((a) => /^\/subscriptions\/[^/]+\/?$/.test(String(a.scope)))).toEqual([]);
  });

  it('reads no Microsoft.Sql operation without a SqlMi target: the DAG deletes databases only on managed instances', () => {
    const { reader } = synth({ targets: [{ kind: 'SqlDb', resourceId: SQLDB }] });
    expect((reader.permissions[0].actions as string[]).filter((action) => action.startsWith('Microsoft.Sql/'))).toEqual([]);
  });

  it('keeps every assignment at its address when a target is added before it (a scope change would replace it: ForceNew)', () => {
    const before = synth({ targets: [{ kind: 'SqlMi', resourceId: MI }], backupStorageAccountId: BACKUPS }).addressByScope;
    const after = synth({
      targets: [
        { kind: 'SqlDb', resourceId: SQLDB },
        { kind: 'SqlMi', resourceId: MI },
      ],
      backupStorageAccountId: BACKUPS,
    }).addressByScope;
    for (const [scope, address] of Object.entries(before)) {
      expect([scope, after[scope]]).toEqual([scope, address]);
    }
  });

  it("names each assignment's role in its scope's subscription, as Azure answers it (else azurerm replaces one in another subscription on every apply)", () => {
    const elsewhere = '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-data/providers/Microsoft.Sql/managedInstances/mi-other';
    const { assignments } = synth({ targets: [{ kind: 'SqlMi', resourceId: MI }, { kind: 'SqlMi', resourceId: elsewhere }] });
    const roleOn = (scope: string) => assignments.filter((assignment) => assignment.scope === scope).map((assignment) => assignment.role_definition_id);
    expect(roleOn(elsewhere)).toEqual([
      '/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Authorization/roleDefinitions/${azurerm_role_definition.Role_Definition_AC28234C.role_definition_id}',
    ]);
    expect(roleOn(MI)).toEqual([expect.stringMatching(/^\/subscriptions\/00000000-0000-0000-0000-000000000000\/providers\/Microsoft\.Authorization\/roleDefinitions\/\$\{azurerm_role_definition\.Role_Definition_[0-9A-F]{8}\.role_definition_id\}$/)]);
  });

  it('moves assignments from the positional addresses earlier versions gave them, so an upgrade replaces none', () => {
    const { granted, moved } = synth({ backupStorageAccountId: BACKUPS });
    const ids = granted.map((assignment) => assignment.node.id);
    // The migration service (first) and the own resource group (first reader scope) keep their ids.
    expect(ids).toEqual(expect.arrayContaining(['Airflow-0', 'Airflow-operations-0']));
    expect(ids).not.toEqual(expect.arrayContaining(['Airflow-1']));
    expect(moved).toHaveLength(3);
    for (const { from, to } of moved) {
      expect(from).toMatch(/^azurerm_role_assignment\.Role_Airflow-(operations-)?[12]_[0-9A-F]{8}$/);
      expect(to).toMatch(/^azurerm_role_assignment\.Role_Airflow-(operations-)?[0-9a-f]{8}_[0-9A-F]{8}$/);
    }
  });

  describe('props checked at construction', () => {
    it('refuses a backup storage id that is not a storage account, naming the construct, the prop and the value', () => {
      const container = `${BACKUPS}/blobServices/default/containers/backups`;
      expect(() => operatorRole({ backupStorageAccountId: container })).toThrow(
        `test/Role: backupStorageAccountId must be an ARM id like /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name> (got "${container}")`,
      );
      expect(() => operatorRole({ backupStorageAccountId: Token.asString(ref('azurerm_storage_account.backups.id')) })).not.toThrow();
    });

    it('refuses a grantee whose principal id is not a GUID, naming the construct that grants', () => {
      const { role: operator } = operatorRole({});
      expect(() => operator.grantRunMigrations({ principalId: 'airflow' })).toThrow(
        'test/Role: grantee.principalId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "airflow")',
      );
      expect(() => operator.grantRunMigrations({ principalId: Token.asString(ref('azurerm_user_assigned_identity.x.principal_id')) })).not.toThrow();
    });

    it("leaves a target reference's resource group to Terraform, and warns what a duplicate would do", () => {
      const target = Token.asString(ref('data.azurerm_mssql_managed_instance.mi.id'));
      const { stack, role: operator } = operatorRole({ targets: [{ kind: 'SqlMi', resourceId: target }] });
      operator.grantRunMigrations(AIRFLOW, { id: 'Airflow' });
      const json = synthObject(stack);
      const split = '${join("/", slice(split("/", data.azurerm_mssql_managed_instance.mi.id), 0, 5))}';
      const scopes = Object.values(json.resource.azurerm_role_assignment).map((assignment) => assignment.scope);
      expect(scopes).toContain(split);
      const definitions = Object.values(json.resource.azurerm_role_definition);
      for (const definition of definitions) {
        expect(definition.assignable_scopes).toBe(`\${distinct([azurerm_resource_group.rg.id, ${split.slice(2, -1)}])}`);
      }
      expect(warningsOf(stack)).toEqual([
        expect.stringContaining('targets[0].resourceId is a reference: its resource group is known only at apply'),
      ]);
    });

    it('names the prop of an id outside a resource group', () => {
      const { stack } = testStack();
      expect(() => resourceGroupIdOf(stack, 'targets[0].resourceId', '/subscriptions/s/providers/Microsoft.Sql/managedInstances/mi')).toThrow(
        'test: targets[0].resourceId must be the ARM id of a resource in a resource group (/subscriptions/<s>/resourceGroups/<rg>/providers/...) (got "/subscriptions/s/providers/Microsoft.Sql/managedInstances/mi")',
      );
      expect(resourceGroupIdOf(stack, 'targets[0].resourceId', MI)).toBe(`${GROUP}/rg-data`);
    });
  });
});
