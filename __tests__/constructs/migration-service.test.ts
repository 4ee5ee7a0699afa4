import { ref, Token } from 'cdktf';
import { AzapiResource } from '../../lib/azapi/resource';
import { AzapiResourceAction } from '../../lib/azapi/resource-action';
import { DataAzapiResourceAction } from '../../lib/azapi/resource-action-data-source';
import { MigrationService } from '../../lib/migration-service';
import { onlyDataSource, onlyLogicalId, onlyResource, reference, rendered, synthObject, testStack } from '../helpers/test-stack';

describe('MigrationService', () => {
  function build(props: Partial<ConstructorParameters<typeof MigrationService>[2]> = {}) {
    const { stack, resourceGroup } = testStack();
    const service = new MigrationService(stack, 'migration-service', { resourceGroup, namePrefix: 'contoso-sql', ...props });
    return { stack, service, synth: synthObject(stack) };
  }

  it('creates the current DMS (sqlMigrationServices 2025-06-30) through AzAPI, not DMS classic', () => {
    const { synth } = build({ tags: { owner: 'platform' } });
    const dms = onlyResource(synth, AzapiResource.tfResourceType);
    expect(dms.type).toBe('Microsoft.DataMigration/sqlMigrationServices@2025-06-30');
    expect(dms.name).toBe('dms-contoso-sql');
    expect(dms.parent_id).toBe('${azurerm_resource_group.rg.id}');
    expect(dms.location).toBe('${azurerm_resource_group.rg.location}');
    expect(dms.tags).toEqual({ owner: 'platform' });
    expect(dms.body).toEqual({});
    expect(synth.resource.azurerm_database_migration_service).toBeUndefined();
  });

  it('refers to the service by id and name, like every reference', () => {
    const { stack, service } = build({ serviceName: 'dms-shared' });
    expect(service.name).toBe('dms-shared');
    expect(rendered(stack, { id: service.id })).toEqual({ id: reference(AzapiResource.tfResourceType, onlyLogicalId(synthObject(stack), AzapiResource.tfResourceType)) });
  });

  it('lists the auth keys on every plan into the sensitive output only', () => {
    const { synth } = build();
    const action = onlyDataSource(synth, DataAzapiResourceAction.tfResourceType);
    expect(action).toMatchObject({
      type: 'Microsoft.DataMigration/sqlMigrationServices@2025-06-30',
      action: 'listAuthKeys',
      method: 'POST',
      sensitive_response_export_values: ['authKey1', 'authKey2'],
    });
    expect(action.response_export_values).toEqual([]);
    const outputs = synth.output ?? {};
    expect(Object.keys(outputs).sort()).toEqual(['migration_service_auth_key_1', 'migration_service_auth_key_2']);
    for (const output of Object.values(outputs)) {
      expect(output.sensitive).toBe(true);
      expect(output.value).toMatch(/^\$\{data\.azapi_resource_action\.[^.]+\.sensitive_output\.authKey[12]\}$/);
    }
  });

  it('reads the keys as they are now, not as they were when first listed: a regenerated key replaces the old in the outputs', () => {
    // Was: the azapi_resource_action resource, which calls its action only when it is created (its
    // Read keeps the state), so after `az datamigration sql-service regenerate-auth-key` the outputs
    // handed out a key DMS no longer takes, and a new runtime node failed to register with it.
    const { synth } = build();
    expect(synth.resource[AzapiResourceAction.tfResourceType]).toBeUndefined();
    expect(Object.keys(synth.data?.[DataAzapiResourceAction.tfResourceType] ?? {})).toHaveLength(1);
  });

  it('can leave the keys out of the outputs, and then out of the state', () => {
    const { synth } = build({ exportAuthKeys: false });
    expect(synth.output).toBeUndefined();
    // Was: listAuthKeys ran on every plan all the same, its sensitive_output kept in the state.
    expect(synth.data?.[DataAzapiResourceAction.tfResourceType]).toBeUndefined();
    expect(synth.resource[AzapiResourceAction.tfResourceType]).toBeUndefined();
  });

  it('lists the keys once for whoever reads them, without outputs', () => {
    const { stack, service } = build({ exportAuthKeys: false });
    expect(rendered(stack, { first: service.authKey1, second: service.authKey2 })).toEqual({
      first: expect.stringMatching(/^\$\{data\.azapi_resource_action\.[^.]+\.sensitive_output\.authKey1\}$/),
      second: expect.stringMatching(/^\$\{data\.azapi_resource_action\.[^.]+\.sensitive_output\.authKey2\}$/),
    });
    expect(Object.keys(synthObject(stack).data?.[DataAzapiResourceAction.tfResourceType] ?? {})).toHaveLength(1);
  });

  it('imports an existing service by id and rejects other ids', () => {
    const id = '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms-x';
    expect(MigrationService.fromMigrationServiceId(id)).toEqual({ id, name: 'dms-x' });
    expect(() =>
      MigrationService.fromMigrationServiceId('/subscriptions/0000/resourceGroups/rg/providers/Microsoft.DataMigration/services/old'),
    ).toThrow(
      'MigrationService.fromMigrationServiceId: id must be an ARM id like ' +
        '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.DataMigration/sqlMigrationServices/<name> ' +
        '(got "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.DataMigration/services/old")',
    );
  });
});

describe('MigrationService props checked at construction', () => {
  function service(props: Partial<ConstructorParameters<typeof MigrationService>[2]>) {
    const { stack, resourceGroup } = testStack();
    return new MigrationService(stack, 'Dms', { resourceGroup, namePrefix: 'contoso-sql', ...props });
  }

  it.each(['d', '-dms', 'dms shared', 'dms/shared', `d${'x'.repeat(62)}`])('refuses the service name %j, which DMS refuses', (serviceName) => {
    expect(() => service({ serviceName })).toThrow(
      `test/Dms: serviceName must be a migration service name: 2-62 letters, digits, hyphens, periods and underscores, starting with a letter or digit (got "${serviceName}")`,
    );
  });

  it('takes the names DMS takes, and a reference', () => {
    expect(service({ serviceName: 'Dms_shared.2' }).name).toBe('Dms_shared.2');
    expect(service({ serviceName: `d${'x'.repeat(61)}` }).name).toHaveLength(62);
    expect(() => service({ serviceName: Token.asString(ref('var.dms_name')) })).not.toThrow();
  });

  it('refuses a name prefix with "--", which would make a Key Vault or Data Factory name Azure refuses', () => {
    expect(() => service({ namePrefix: 'contoso--sql' })).toThrow(
      'test/Dms: namePrefix must be free of "--" (Key Vault and Data Factory names refuse consecutive hyphens) (got "contoso--sql")',
    );
    expect(() => service({ namePrefix: Token.asString(ref('var.prefix')) })).not.toThrow();
  });
});
