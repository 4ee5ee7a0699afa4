import Ajv, { ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AirflowChartValues } from '../../lib/private/kubernetes/chart-values';
import { constructedChartValues, kubernetesHost, kubernetesHostStack } from './kubernetes-test-stack';

/** The pinned chart's schema, vendored (see vendor/airflow-chart/SOURCE.md). */
const CHART_SCHEMA = JSON.parse(readFileSync(join(__dirname, '..', '..', 'vendor', 'airflow-chart', 'values.schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
// Kubernetes' OpenAPI formats; Helm's validator ignores formats it does not know, so does this one.
ajv.addFormat('int32', true);
const validate = ajv.compile(CHART_SCHEMA);

/** Schema problems of a values document, plus top-level keys the chart does not declare. */
function problems(values: unknown): string[] {
  const found = validate(values) ? [] : (validate.errors ?? []).map(describeError);
  const declared = Object.keys(CHART_SCHEMA.properties);
  // Upstream's root object is open, so Helm would silently ignore a misspelt top-level key: refuse it here.
  const unknown = Object.keys(values as object).filter((key) => !declared.includes(key));
  return [...found, ...unknown.map((key) => `/${key}: not a value of the chart`)];
}

function describeError(error: ErrorObject): string {
  const extra = error.keyword === 'additionalProperties' ? ` (${(error.params as { additionalProperty: string }).additionalProperty})` : '';
  return `${error.instancePath || '/'}: ${error.message}${extra}`;
}

/** The values the synthesized helm_release carries (its `values` is the JSON of the typed values). */
function synthesizedValues(executor?: 'CeleryExecutor' | 'KubernetesExecutor'): AirflowChartValues {
  const { synth } = kubernetesHostStack(executor ? { executor } : {});
  const release = Object.values(synth.resource.helm_release)[0] as { values: string[] };
  return JSON.parse(release.values[0]) as AirflowChartValues;
}

function clone<T>(value: T): any {
  return JSON.parse(JSON.stringify(value));
}

describe('the Helm values against the pinned chart schema', () => {
  let values: AirflowChartValues;
  /** With KubernetesExecutor: one synthesis, read by the three tests below that check it. */
  let kubernetesExecutorValues: AirflowChartValues;
  beforeAll(() => {
    values = synthesizedValues();
    kubernetesExecutorValues = synthesizedValues('KubernetesExecutor');
  });

  it('the vendored schema closes the sections the host sets (otherwise this test could not fail)', () => {
    for (const section of ['data', 'pgbouncer', 'redis', 'scheduler', 'workers', 'triggerer', 'dagProcessor', 'apiServer', 'dags', 'migrateDatabaseJob']) {
      expect({ section, additionalProperties: CHART_SCHEMA.properties[section].additionalProperties }).toEqual({
        section,
        additionalProperties: false,
      });
    }
  });

  it('accepts the values the host synthesizes with CeleryExecutor', () => {
    expect(problems(values)).toEqual([]);
  });

  it('accepts the values the host synthesizes with KubernetesExecutor', () => {
    expect(problems(kubernetesExecutorValues)).toEqual([]);
  });

  it("accepts the values with Entra ID sign-in (the API server's webserver_config.py as apiServer.apiServerConfig), and refuses a misspelt key for it", () => {
    const { synth } = kubernetesHostStack({ signIn: { clientId: '0f2a4c6e-1b3d-4f5a-8c7e-9d0b1a2c3e4f', roles: { Admin: ['a1a1a1a1-0000-4000-8000-000000000001'] } } });
    const signedIn = JSON.parse((Object.values(synth.resource.helm_release)[0] as { values: string[] }).values[0]);
    expect(signedIn.apiServer.apiServerConfig).toContain('webserver_settings(');
    expect(problems(signedIn)).toEqual([]);
    const planted = clone(signedIn);
    planted.apiServer.webserverConfig = planted.apiServer.apiServerConfig;
    delete planted.apiServer.apiServerConfig;
    expect(problems(planted)).toEqual(['/apiServer: must NOT have additional properties (webserverConfig)']);
  });

  it('gives the scheduler, API server and PgBouncer a disruption budget: an AKS drain (several nodes at once with maxSurge) evicts one replica at a time', () => {
    const budgets = (of: AirflowChartValues) => ({
      scheduler: of.scheduler.podDisruptionBudget,
      apiServer: of.apiServer.podDisruptionBudget,
      pgbouncer: of.pgbouncer.podDisruptionBudget,
    });
    // maxUnavailable alone: the chart renders `config` as it is, and a budget with minAvailable too is refused.
    const oneAtATime = { enabled: true, config: { maxUnavailable: 1 } };
    const expected = { scheduler: oneAtATime, apiServer: oneAtATime, pgbouncer: oneAtATime };
    expect(budgets(values)).toEqual(expected);
    expect(budgets(kubernetesExecutorValues)).toEqual(expected);
  });

  it('sets the Celery worker count as workers.celery.replicas too: where the chart gives it a default, workers.replicas alone is ignored', () => {
    // apache/airflow#59730 deprecates workers.replicas for workers.celery.replicas, and the worker
    // deployment takes `workers.celery.replicas | default workers.replicas`; upstream's
    // helm-tests test_workers_replicas has a chart line where {replicas: 2} alone renders 1 replica.
    const workerCounts = (of: AirflowChartValues) => ({ replicas: of.workers.replicas, celery: of.workers.celery });
    expect(workerCounts(values)).toEqual({ replicas: 2, celery: { replicas: 2 } });
    expect(workerCounts(constructedChartValues(kubernetesHost({ executor: 'CeleryExecutor', celeryWorkers: 5 }).host))).toEqual({ replicas: 5, celery: { replicas: 5 } });
    expect(workerCounts(kubernetesExecutorValues)).toEqual({ replicas: 0, celery: { replicas: 0 } });
  });

  it('fails on a disruption budget key the chart does not have (planted: scheduler.podDisruptionBudget.maxUnavailable)', () => {
    const bad = clone(values);
    bad.scheduler.podDisruptionBudget.maxUnavailable = 1;
    expect(problems(bad)).toContain('/scheduler/podDisruptionBudget: must NOT have additional properties (maxUnavailable)');
  });

  it('fails on a renamed nested key (planted: pgbouncer.configSecret)', () => {
    const bad = clone(values);
    bad.pgbouncer.configSecret = bad.pgbouncer.configSecretName;
    delete bad.pgbouncer.configSecretName;
    expect(problems(bad)).toContain('/pgbouncer: must NOT have additional properties (configSecret)');
  });

  it('fails on a key the chart does not have in that section (planted: dagProcessor.labels)', () => {
    const bad = clone(values);
    bad.dagProcessor.labels = { 'azure.workload.identity/use': 'true' };
    expect(problems(bad)).toContain('/dagProcessor: must NOT have additional properties (labels)');
  });

  it("fails on a misspelt key of the database-migration job that imports the pools (planted: migrateDatabaseJob.extraVolumeMount)", () => {
    const bad = clone(values);
    bad.migrateDatabaseJob.extraVolumeMount = bad.migrateDatabaseJob.extraVolumeMounts;
    delete bad.migrateDatabaseJob.extraVolumeMounts;
    expect(problems(bad)).toContain('/migrateDatabaseJob: must NOT have additional properties (extraVolumeMount)');
  });

  it('fails on a pools mount without its path (planted: migrateDatabaseJob.extraVolumeMounts[0].mountPath removed)', () => {
    const bad = clone(values);
    delete bad.migrateDatabaseJob.extraVolumeMounts[0].mountPath;
    expect(problems(bad)).toContain("/migrateDatabaseJob/extraVolumeMounts/0: must have required property 'mountPath'");
  });

  it('fails on a renamed top-level key (planted: executors)', () => {
    const bad = clone(values);
    bad.executors = bad.executor;
    delete bad.executor;
    expect(problems(bad)).toContain('/executors: not a value of the chart');
  });

  it('fails on a value of the wrong type (planted: scheduler.replicas "2")', () => {
    const bad = clone(values);
    bad.scheduler.replicas = '2';
    expect(problems(bad)).toContain('/scheduler/replicas: must be integer');
  });

  it('fails on an executor name the chart refuses (planted: Celery)', () => {
    const bad = clone(values);
    bad.executor = 'Celery';
    expect(problems(bad).some((problem) => problem.startsWith('/executor: must match pattern'))).toBe(true);
  });

  it('fails when an env entry loses its value (a required key goes missing)', () => {
    const bad = clone(values);
    delete bad.env[0].value;
    expect(problems(bad)).toContain("/env/0: must have required property 'value'");
  });
});
