/** Entra ID sign-in to the Kubernetes host's Airflow UI (`airflow.kubernetes.signIn`): plan, host, chart values. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrationPlan, parseMigrationPlan, type PlanProblem } from '../../lib/plan';
import { secretsToSet } from '../../lib/orchestration-factory/secrets-to-set';
import type { AirflowChartValues } from '../../lib/private/kubernetes/chart-values';
import { KubernetesSignIn } from '../../lib/hosts/kubernetes/kubernetes-sign-in';
import { signInWebserverConfig } from '../../lib/private/kubernetes/sign-in';
import { warningsOf } from '../helpers/test-stack';
import { EXAMPLE_PLAN, minimalPlan, planError, planFiles, problemsOf } from '../plan/plan-fixtures';
import { constructedChartValues, kubernetesHost, kubernetesHostStack } from './kubernetes-test-stack';

const CLIENT_ID = '0f2a4c6e-1b3d-4f5a-8c7e-9d0b1a2c3e4f';
const TENANT_ID = '7d1e3a5c-2b4d-4e6f-9a8b-0c1d2e3f4a5b';
const ADMINS = 'a1a1a1a1-0000-4000-8000-000000000001';
const APPROVERS = 'b2b2b2b2-0000-4000-8000-000000000002';
const ALICE = '5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60';
const SIGN_IN: KubernetesSignIn = { clientId: CLIENT_ID, roles: { Admin: [ADMINS], User: [APPROVERS] } };
const NO_SIGN_IN = /^test\/airflow: no signIn: the Airflow UI gets no auth manager and the chart creates no user, so nobody can sign in to it, and a cutover approval through hitl cannot be answered; .* \[ack: migration:kubernetes:no-sign-in\]$/;

function releaseValues(signIn?: KubernetesSignIn): { values: AirflowChartValues; warnings: string[] } {
  const { synth, stack } = kubernetesHostStack(signIn === undefined ? {} : { signIn });
  const release = Object.values(synth.resource.helm_release)[0] as { values: string[] };
  return { values: JSON.parse(release.values[0]) as AirflowChartValues, warnings: warningsOf(stack) };
}

describe("the API server's webserver_config.py", () => {
  it('is the file the DAG tests sign in through in Airflow 3.3 (dags/tests/test_entra_sign_in.py)', () => {
    const rendered = signInWebserverConfig({
      clientId: CLIENT_ID,
      tenantId: TENANT_ID,
      roles: { User: [APPROVERS], Admin: [ADMINS] },
      keyVaultUrl: 'https://kv-contoso-sql-0000.vault.azure.net/',
      revision: 'not rendered',
    });
    expect(rendered).toBe(readFileSync(join(__dirname, '..', '..', 'dags', 'tests', 'fixtures', 'entra_webserver_config.py'), 'utf8'));
  });
});

describe('the Kubernetes host with signIn', () => {
  let signedIn: ReturnType<typeof releaseValues>;
  beforeAll(() => {
    signedIn = releaseValues(SIGN_IN);
  });

  it("renders the API server's webserver_config.py from ids and references only: the deployment's tenant, the vault", () => {
    const config = signedIn.values.apiServer.apiServerConfig!;
    expect(config).toContain(`        client_id="${CLIENT_ID}",\n`);
    // The host stack's azurerm_client_config, read across stacks.
    expect(config).toMatch(/\n {8}tenant_id="\$\{data\.terraform_remote_state\.[^"]+dataazurerm_client_config[^"]+tenant_id\}",\n/);
    expect(config).toContain(`        roles={"Admin":["${ADMINS}"],"User":["${APPROVERS}"]},\n`);
    expect(config).toContain('        key_vault_url="https://kv-test-1a2b.vault.azure.net/",\n'); // the host fixtures' vault
    expect(config).toContain('        secret_name="airflow-sign-in-client-credential",\n');
    expect(config).not.toMatch(/client_secret\s*=/);
  });

  it('rolls the API server when the settings change, which FAB reads only at start and the chart does not roll it for', () => {
    const revision = (signIn: KubernetesSignIn) => constructedChartValues(kubernetesHost({ signIn }).host).apiServer.podAnnotations;
    expect(signedIn.values.apiServer.podAnnotations).toEqual({ 'checksum/sign-in': expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(revision(SIGN_IN)).toEqual(signedIn.values.apiServer.podAnnotations);
    expect(revision({ ...SIGN_IN, roles: { User: [APPROVERS.toUpperCase()], Admin: [ADMINS] } })).toEqual(signedIn.values.apiServer.podAnnotations);
    expect(revision({ ...SIGN_IN, roles: { Admin: [ADMINS] } })).not.toEqual(signedIn.values.apiServer.podAnnotations);
    expect(revision({ ...SIGN_IN, tenantId: TENANT_ID })).not.toEqual(signedIn.values.apiServer.podAnnotations);
  });

  it('takes a tenant of its own', () => {
    const { host } = kubernetesHost({ signIn: { ...SIGN_IN, tenantId: TENANT_ID } });
    expect(constructedChartValues(host).apiServer.apiServerConfig).toContain(`        tenant_id="${TENANT_ID}",\n`);
  });

  it("gives every Airflow container the DAG package's FAB auth manager, importable from the DAG folder", () => {
    expect(signedIn.values.env).toEqual(
      expect.arrayContaining([
        { name: 'AIRFLOW__CORE__AUTH_MANAGER', value: 'migration_orchestration_lib.entra_sign_in.EntraIdAuthManager' },
        { name: 'PYTHONPATH', value: '/opt/airflow/dags' },
      ]),
    );
    expect(signedIn.values.volumeMounts).toEqual([expect.objectContaining({ mountPath: '/opt/airflow/dags' })]);
  });

  it('leaves no sign-in warning', () => {
    expect(signedIn.warnings.filter((warning) => warning.includes('no-sign-in'))).toEqual([]);
  });

  it('refuses a client id, tenant or group that is not a GUID, and roles without an Admin group, naming the prop', () => {
    expect(() => kubernetesHost({ signIn: { ...SIGN_IN, clientId: 'airflow-ui' } })).toThrow(
      'test/airflow: signIn.clientId must be a GUID such as 00000000-0000-0000-0000-000000000000 (got "airflow-ui")',
    );
    expect(() => kubernetesHost({ signIn: { ...SIGN_IN, tenantId: 'contoso.onmicrosoft.com' } })).toThrow('test/airflow: signIn.tenantId must be a GUID');
    expect(() => kubernetesHost({ signIn: { clientId: CLIENT_ID, roles: { Admin: [ADMINS], Viewer: ['readers'] } } })).toThrow(
      'test/airflow: signIn.roles.Viewer[0] must be a GUID',
    );
    expect(() => kubernetesHost({ signIn: { clientId: CLIENT_ID, roles: { Admin: [] } } })).toThrow(
      'test/airflow: signIn.roles.Admin lists no group: name at least one Entra ID group whose members administer Airflow',
    );
  });
});

describe('the Kubernetes host without signIn', () => {
  it('configures no auth manager, as before, and warns that nobody can sign in or answer an approval', () => {
    const { values, warnings } = releaseValues();
    expect(values.apiServer.apiServerConfig).toBeUndefined();
    expect(values.env.map(({ name }) => name)).not.toEqual(expect.arrayContaining(['AIRFLOW__CORE__AUTH_MANAGER']));
    expect(warnings).toEqual([expect.stringMatching(NO_SIGN_IN)]);
  });
});

describe('the plan field airflow.kubernetes.signIn', () => {
  const files = planFiles();
  const withSignIn = (signIn: unknown, cutover?: unknown): any => ({ ...minimalPlan(), airflow: { kubernetes: { signIn } }, ...(cutover ? { cutover } : {}) });
  const problems = (plan: unknown) => problemsOf(() => parseMigrationPlan(plan)).map((p: PlanProblem) => `${p.path}: ${p.message}`);
  /** Nothing when the plan parses. */
  const problemsIfAny = (plan: unknown): string[] => {
    try {
      parseMigrationPlan(plan);
      return [];
    } catch {
      return problems(plan);
    }
  };

  it('is taken as written, its tenant left to the deployment', () => {
    expect(parseMigrationPlan(withSignIn(SIGN_IN)).airflow).toMatchObject({ host: 'kubernetes', kubernetes: { signIn: SIGN_IN } });
  });

  it('refuses ids that are not GUIDs, a role Airflow does not have and roles without an Admin group', () => {
    expect(problems(withSignIn({ clientId: 'airflow-ui', tenantId: 'contoso', roles: { Admin: [], Owner: [ADMINS] } }))).toEqual([
      'airflow.kubernetes.signIn.clientId: must be a GUID',
      'airflow.kubernetes.signIn.tenantId: must be a GUID',
      'airflow.kubernetes.signIn.roles.Admin: needs at least one group: its members administer Airflow',
      'airflow.kubernetes.signIn.roles.Owner: unknown field (allowed: Admin, Op, User, Viewer)',
    ]);
  });

  it('points at the file and line of a bad client id', () => {
    const kubernetes = '  kubernetes:               # every field optional; these are the defaults\n';
    const text = readFileSync(EXAMPLE_PLAN, 'utf8').replace(kubernetes, `${kubernetes}    signIn:\n      clientId: airflow-ui\n      roles: { Admin: [${ADMINS}] }\n`);
    expect(text).toContain('clientId: airflow-ui');
    const path = files.write('sign-in.yaml', text);
    const error = planError(() => loadMigrationPlan(path));
    const line = text.split('\n').indexOf('      clientId: airflow-ui') + 1;
    expect(error.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)).toEqual([`${line}:7 airflow.kubernetes.signIn.clientId: must be a GUID`]);
    expect(error.message).toContain('sign-in.yaml');
  });

  it("refuses an approver through hitl who is not an object id, which could never answer; airflowVariable's approvers are left alone", () => {
    const approval = (approvers: string[], channel?: string) => ({ approval: { required: true, approvers, ...(channel ? { channel } : {}) } });
    expect(problems(withSignIn(SIGN_IN, approval(['alice@contoso.com', ALICE])))).toEqual([
      'cutover.approval.approvers[0]: "alice@contoso.com" can never answer: with airflow.kubernetes.signIn an Airflow user is named by their Entra object id ' +
        "(FAB takes the ID token's oid claim), so an approver is that GUID; find a person's with: az ad user show --id <their sign-in name> --query id -o tsv",
    ]);
    expect(problemsIfAny(withSignIn(SIGN_IN, approval([ALICE])))).toEqual([]);
    expect(problemsIfAny(withSignIn(SIGN_IN, approval(['alice@contoso.com'], 'airflowVariable')))).toEqual([]);
    expect(problemsIfAny({ ...minimalPlan(), cutover: approval(['alice@contoso.com']) })).toEqual([]);
  });

  it("checks each database's approvers on the channel it resolves to, where they are written, once", () => {
    const plan = withSignIn(SIGN_IN, { approval: { required: true, approvers: ['alice@contoso.com'], channel: 'airflowVariable' } });
    plan.databases.push({ ...plan.databases[0], name: 'database_2', source: { server: 'sql01', database: 'Hr' } });
    plan.databases.push({ ...plan.databases[0], name: 'database_3', source: { server: 'sql01', database: 'Ops' } });
    plan.databases[0].cutover = { approval: { channel: 'hitl' } }; // the plan's approvers, asked through hitl
    plan.databases[1].cutover = { approval: { channel: 'hitl' } };
    plan.databases[2].cutover = { approval: { approvers: ['bob@contoso.com'], channel: 'hitl' } };
    expect(problems(plan)).toEqual([
      expect.stringMatching(/^databases\[2\]\.cutover\.approval\.approvers\[0\]: "bob@contoso\.com" can never answer: /),
      expect.stringMatching(/^cutover\.approval\.approvers\[0\]: "alice@contoso\.com" can never answer: /),
    ]);
  });

  it('adds the client secret to the secrets to set, by name and app, never a value', () => {
    const secrets = secretsToSet(parseMigrationPlan(withSignIn(SIGN_IN)));
    expect(secrets['airflow-sign-in-client-credential']).toBe(
      `the client secret of app registration ${CLIENT_ID} people sign in to the Airflow UI with (airflow.kubernetes.signIn); ` +
        'the API server reads it when it starts: restart it after setting a new one (docs/airflow-sign-in.md)',
    );
    expect(Object.keys(secretsToSet(parseMigrationPlan(minimalPlan())))).not.toContain('airflow-sign-in-client-credential');
  });
});
