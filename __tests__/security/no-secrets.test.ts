import { join } from 'node:path';
import { DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { DEFAULT_PLAN, ValidationVariant, validationVariants } from '../../scripts/validate-variants';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { SynthesizedStack } from '../helpers/test-stack';
import { variantStacks } from '../helpers/validate-variants';
import { findSecrets } from './secret-scanner';

/** The first stack, and the release stack where the host has one. */
function synthesizeAll(props: Partial<DatabaseMigrationStackProps> = {}): SynthesizedStack[] {
  const { synth, release } = synthMigrationStack(props);
  return release ? [synth, release] : [synth];
}

// Canaries break a stack on purpose, for the providers to refuse: not what a user deploys.
const VARIANTS = validationVariants(join(__dirname, '..', '..')).filter((variant) => !variant.mustFailWith);
/** Every stack of every validate variant, synthesized once for every test here. */
const STACKS_OF_VARIANT = new Map(VARIANTS.map((variant) => [variant.name, variantStacks(variant)]));

/** The stacks of the variant named `name` (a variant already synthesized is not synthesized again). */
function stacksOf(name: string): SynthesizedStack[] {
  const stacks = STACKS_OF_VARIANT.get(name);
  if (stacks === undefined) throw new Error(`no validate variant is named ${JSON.stringify(name)}`);
  return stacks;
}

/**
 * The default plan with no option: the stacks `synthMigrationStack()` gives (the same plan file,
 * no props, the same JSON), so they are not synthesized twice.
 */
const DEFAULT_VARIANT: ValidationVariant = (() => {
  const found = VARIANTS.find((variant) => variant.plan === DEFAULT_PLAN && !variant.editPlan && !variant.stack && !variant.buildStacks);
  if (found === undefined) throw new Error(`no validate variant synthesizes ${DEFAULT_PLAN} without options`);
  return found;
})();

const OTHER_HOSTS = ['dataFactory', 'fabric', 'external'] as const;
/**
 * The stacks of each host other than the default. Fabric's are the variant's on the default plan
 * (the same JSON as `examplePlanWith(AIRFLOW_OF_HOST.fabric)` but for the job's compute size,
 * `Large`); the other two differ from every variant (a host on the default plan), so they are
 * synthesized here, once for every test.
 */
const STACKS_OF_HOST: Record<(typeof OTHER_HOSTS)[number], SynthesizedStack[]> = {
  dataFactory: synthesizeAll({ plan: examplePlanWith(AIRFLOW_OF_HOST.dataFactory) }),
  fabric: stacksOf('Fabric host on an existing capacity'),
  external: synthesizeAll({ plan: examplePlanWith(AIRFLOW_OF_HOST.external) }),
};
/** A stack whose host reads the DAG from storage, so the scan sees the uploaded code and plan. */
const EXTERNAL_HOST_STACK = STACKS_OF_HOST.external[0];

/**
 * `doc` with the value at `path` replaced by `edit(value)`: the objects and arrays along the path
 * are copied, everything else is shared, so the synthesis itself is left as it was. Deep-equal to
 * a deep copy edited in place, without copying a megabyte of JSON per test.
 */
function edited(doc: any, path: readonly (string | number)[], edit: (value: any) => unknown): any {
  if (path.length === 0) return edit(doc);
  const [key, ...rest] = path;
  // As the in-place edit did (a TypeError), a path through something the stack lacks is refused: the secret is planted where the stack has it.
  if (doc === null || typeof doc !== 'object') throw new Error(`no object at ${JSON.stringify(key)} of the path: the stack has nothing there to edit`);
  const copy = Array.isArray(doc) ? [...doc] : { ...doc };
  copy[key] = edited(doc?.[key], rest, edit);
  return copy;
}

/** Anything an output may only show when it is sensitive. */
const SECRET_REFERENCE = /auth(?:orization)?_?key|sensitive_output|access_key|connection_string|password|secret/i;

// Fakes with the real shapes; none of them is or was a credential.
const FAKE_ACCOUNT_KEY = `${'Zm9vYmFy'.repeat(10)}QUJDRE==`;
const FAKE_ENTRA_SECRET = 'abc8Q~0123456789abcdefghijklmnopqrstuvwx';
const FAKE_JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJlLW5vdC1yZWFs';

describe('the synthesized default stack holds no secret', () => {
  const stacks = stacksOf(DEFAULT_VARIANT.name);

  it('has no credential in resources, data sources, providers, variables, outputs or the backend of either stack', () => {
    expect(stacks).toHaveLength(2);
    for (const synth of stacks) expect(findSecrets(synth)).toEqual([]);
  });

  it.each(OTHER_HOSTS)('has none with host %s either', (host) => {
    for (const synth of STACKS_OF_HOST[host]) expect(findSecrets(synth)).toEqual([]);
  });

  it('has none with SQL through Data Factory either', () => {
    for (const synth of synthesizeAll({ plan: examplePlanWith({ sqlAccess: 'dataFactory' }) })) expect(findSecrets(synth)).toEqual([]);
  });

  // The variants' stacks: the same JSON as the default plan with these backends but for the names
  // of the workspace (migration-prod) and of the storage account (stcontosotfstate).
  it.each([
    ['Terraform Cloud state', 'Terraform Cloud state'],
    ['azurerm state', 'azurerm state backend'],
  ])('has none with %s either', (_, variant) => {
    const stacks = stacksOf(variant);
    expect(stacks).toHaveLength(2);
    for (const synth of stacks) expect(findSecrets(synth)).toEqual([]);
  });

  it('scans the DAG code and the plan it uploads', () => {
    const blobs = Object.values(EXTERNAL_HOST_STACK.resource.azurerm_storage_blob ?? {}).map((blob) => String(blob.source_content ?? ''));
    expect(blobs.some((content) => content.includes('def '))).toBe(true);
    expect(blobs.some((content) => content.includes('"databases"'))).toBe(true);
    const configMaps = Object.values(stacks[1].resource.kubernetes_config_map_v1 ?? {}).flatMap((map) => Object.values((map.data ?? {}) as Record<string, string>));
    expect(configMaps.some((content) => content.includes('def '))).toBe(true);
  });

  it('declares no variable at all: no host takes a secret from Terraform', () => {
    for (const synth of [...stacks, ...Object.values(STACKS_OF_HOST).flat()]) expect(synth.variable).toBeUndefined();
  });

  it('marks every output that exposes a key or a sensitive response as sensitive', () => {
    const outputs = Object.entries(stacks[0].output ?? {}).filter(([name]) => !name.startsWith('cross-stack-output-'));
    const secretOutputs = outputs.filter(([, output]) => SECRET_REFERENCE.test(String(output.value)));
    expect(secretOutputs.map(([name]) => name).sort()).toEqual([
      'migration_service_auth_key_1',
      'migration_service_auth_key_2',
      'orchestration_self_hosted_runtime_auth_key',
    ]);
    expect(secretOutputs.filter(([, output]) => output.sensitive !== true).map(([name]) => name)).toEqual([]);
  });
});

/** The Terraform references (`${...}`) in every string of a value, however deep (an object output's members too). */
function referencesIn(value: unknown): string[] {
  if (typeof value === 'string') return value.match(/\$\{[^}]*\}/g) ?? [];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(referencesIn);
  return [];
}

/**
 * Outputs of a stack that show a key or a secret without being sensitive: cross-stack outputs and
 * outputs whose value is an object too (literal secrets are the scanner's: `findSecrets`).
 */
function unsensitiveSecretOutputs(synth: SynthesizedStack): string[] {
  return Object.entries(synth.output ?? {})
    .filter(([, output]) => referencesIn(output.value).some((reference) => SECRET_REFERENCE.test(reference)) && output.sensitive !== true)
    .map(([name]) => name);
}

describe('the stacks of every validate variant (every example plan, and each option that changes what is synthesized)', () => {
  it('are many: more than the hosts and options above', () => {
    expect(VARIANTS.length).toBeGreaterThan(20);
  });

  it.each(VARIANTS.map((variant) => variant.name))('%s: hold no secret in any stack', (name) => {
    for (const synth of stacksOf(name)) expect(findSecrets(synth)).toEqual([]);
  });

  it.each(VARIANTS.map((variant) => variant.name))('%s: mark every output that shows a key or a secret as sensitive', (name) => {
    for (const synth of stacksOf(name)) expect(unsensitiveSecretOutputs(synth)).toEqual([]);
  });

  it('would report an output that shows a key without being sensitive', () => {
    const [synth] = stacksOf(VARIANTS[0].name);
    const unsensitive = edited(synth, ['output', 'migration_service_auth_key_1', 'sensitive'], () => false);
    const doc = edited(unsensitive, ['output', 'airflow_keys'], () => ({
      value: { runtime: { primary: '${azurerm_data_factory_integration_runtime_self_hosted.r.primary_authorization_key}' } },
    }));
    expect(unsensitiveSecretOutputs(doc).sort()).toEqual(['airflow_keys', 'migration_service_auth_key_1']);
  });
});

describe('the secret scanner', () => {
  const synth = EXTERNAL_HOST_STACK;
  const blobId = Object.keys(synth.resource.azurerm_storage_blob)[0];
  const storageAccountId = Object.keys(synth.resource.azurerm_storage_account)[0];
  const sqlLinkedServiceId = Object.keys(synth.resource.azurerm_data_factory_linked_service_sql_server)[0];
  const dmsId = Object.keys(synth.resource.azapi_resource).find((id) => id.includes('MigrationService'))!;

  const blob = ['resource', 'azurerm_storage_blob', blobId, 'source_content'];
  const sqlConnectionString = ['resource', 'azurerm_data_factory_linked_service_sql_server', sqlLinkedServiceId, 'connection_string'];

  // Each: what to plant, where (the value at a path, edited), where the scanner must find it, and as what.
  it.each<[string, readonly (string | number)[], (value: any) => unknown, string, string]>([
    ['an account key in a DAG file', blob, (code) => `${code}\nKEY = "${FAKE_ACCOUNT_KEY}"\n`, `resource.azurerm_storage_blob.${blobId}.source_content`, 'storage-account-key'],
    [
      'AccountKey= in a connection string',
      sqlConnectionString,
      () => 'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net',
      `resource.azurerm_data_factory_linked_service_sql_server.${sqlLinkedServiceId}.connection_string`,
      'storage-account-key',
    ],
    [
      'a SQL login in a connection string',
      sqlConnectionString,
      () => 'Server=sql01;Database=Sales;User ID=sa;Password=Hunter2!;',
      `resource.azurerm_data_factory_linked_service_sql_server.${sqlLinkedServiceId}.connection_string`,
      'connection-string-credential',
    ],
    [
      'a JSON password in an AzAPI body',
      ['resource', 'azapi_resource', dmsId, 'body'],
      () => ({ properties: { note: '{"password": "Hunter2!"}' } }),
      `resource.azapi_resource.${dmsId}.body.properties.note`,
      'password',
    ],
    [
      'a literal client secret in the environment variables an output lists',
      ['output', 'airflow_environment_variables', 'value', 'AZURE_CLIENT_SECRET'],
      () => 'not-a-reference',
      'output.airflow_environment_variables.value.AZURE_CLIENT_SECRET',
      'literal value of "AZURE_CLIENT_SECRET"',
    ],
    ['an Entra ID client secret in the provider', ['provider', 'azurerm', 0, 'client_secret'], () => FAKE_ENTRA_SECRET, 'provider.azurerm.0.client_secret', 'client-secret'],
    [
      'a private key as a variable default',
      ['variable'],
      () => ({ ssh_key: { type: 'string', default: '-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----' } }),
      'variable.ssh_key.default',
      'private-key',
    ],
    [
      'a default on a variable named like a password',
      ['variable'],
      () => ({ sql_password: { type: 'string', default: 'Hunter2!' } }),
      'variable.sql_password.default',
      'literal value of "sql_password"',
    ],
    [
      'a SAS token in an unsensitive output',
      ['output', 'airflow_dag_bundle', 'value', 'url'],
      () => 'https://st.blob.core.windows.net/airflow-dags?sv=2022-11-02&ss=b&sp=r&sig=AbCdEfGhIjKlMnOpQrStUvWx%3D',
      'output.airflow_dag_bundle.value.url',
      'sas-token',
    ],
    [
      'a JWT in a tag',
      ['resource', 'azurerm_storage_account', storageAccountId, 'tags', 'owner'],
      () => FAKE_JWT,
      `resource.azurerm_storage_account.${storageAccountId}.tags.owner`,
      'jwt',
    ],
    [
      'a quoted pwd literal in DAG code',
      blob,
      (code) => `${code}\nconnect(server, user="sa", pwd="Hunter2!")\n`,
      `resource.azurerm_storage_blob.${blobId}.source_content`,
      'password',
    ],
  ])('reports %s', (_, at, plant, path, rule) => {
    expect(findSecrets(edited(synth, at, plant))).toContainEqual(expect.objectContaining({ path, rule }));
  });

  it('reports a secret in a long text again wherever the same text recurs (a scan is remembered by content)', () => {
    const longest = Object.values(synth.resource.azurerm_storage_blob)
      .map((each) => String(each.source_content ?? ''))
      .reduce((a, b) => (b.length > a.length ? b : a));
    const code = `${longest}\nKEY = "${FAKE_ACCOUNT_KEY}"\n`;
    expect(code.length).toBeGreaterThan(10_000);
    const paths = (doc: unknown) => findSecrets(doc).map((finding) => `${finding.path} ${finding.rule}`);
    expect(paths({ first: code, second: { again: code } })).toEqual(['first storage-account-key', 'second.again storage-account-key']);
    expect(paths({ third: code })).toEqual(['third storage-account-key']);
  });

  it.each<[string, string]>([
    ['a password taken from a Terraform variable', 'Server=sql01;User ID=sa;Password=${var.sql_password};'],
    ['an account key taken from a resource', 'AccountName=st;AccountKey=${azurerm_storage_account.st.primary_access_key}'],
    ['a password read from a connection in code', 'conn = connect(\n    password=secret.password,\n)\nbody = {"password": login.password}'],
    ['the word secret in prose', 'Client secret of the Entra ID application (airflow_client_secret)'],
  ])('accepts %s', (_, text) => {
    expect(findSecrets({ resource: { t: { x: { value: text, client_secret: '${var.client_secret}' } } } })).toEqual([]);
  });

  it('masks what it found', () => {
    const doc = edited(synth, ['provider', 'azurerm', 0, 'client_secret'], () => FAKE_ENTRA_SECRET);
    const excerpts = findSecrets(doc).map((finding) => finding.excerpt);
    expect(excerpts.length).toBeGreaterThan(0);
    expect(excerpts.join(' ')).not.toContain(FAKE_ENTRA_SECRET);
  });

  it('plants into copies: the stack the tests above edit still holds no secret', () => {
    expect(findSecrets(synth)).toEqual([]);
  });
});
