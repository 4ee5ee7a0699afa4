import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { JobV1 } from '@cdktf/provider-kubernetes/lib/job-v1';
import { createHash } from 'node:crypto';
import { ITerraformDependable, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { AirflowPool } from '../../hosts/airflow-host';

/** Props of {@link AirflowPoolsJob}. */
export interface AirflowPoolsJobProps {
  /** Pools to create (or update) in Airflow. */
  readonly pools: readonly AirflowPool[];
  /** Namespace of the Airflow release. */
  readonly namespace: string;
  /** Provider of the job and its config map. */
  readonly provider: TerraformProvider;
  /** The Airflow image (the same one the chart runs). */
  readonly image: string;
  /** Secret whose key `connection` is Airflow's metadata connection (the chart reads the same one). */
  readonly metadataSecretName: string;
  /** The Helm release: the job runs after it, when the database migrations are done. */
  readonly dependsOn: readonly ITerraformDependable[];
}

/**
 * `airflow pools import` reads `{name: {slots, description, include_deferred}}` and creates or
 * updates each pool (apache/airflow `airflow-core/src/airflow/cli/commands/pool_command.py`).
 */
export function poolsImportFile(pools: readonly AirflowPool[]): string {
  const body = Object.fromEntries(
    pools.map((pool) => [pool.name, { slots: pool.slots, description: pool.description, include_deferred: false }]),
  );
  return `${JSON.stringify(body, null, 2)}\n`;
}

const POOLS_MOUNT = '/opt/airflow/pools';
/** The Airflow image's user (uid 50000, gid 0). */
const AIRFLOW_UID = 50000;

/**
 * Creates the DAG's pools in Airflow: a Kubernetes Job that runs `airflow pools import` against
 * the metadata database after the release is installed. A job rather than a chart hook because the
 * helm provider installs with `wait`, which the chart's hooks do not survive; rather than a task
 * of the DAG because pools must exist before the first run schedules anything. The job's name
 * carries the pools' hash, so a changed pool list replaces it and runs again; `import` updates
 * existing pools in place, so a rerun is harmless.
 */
export class AirflowPoolsJob extends Construct {
  /** The job. */
  public readonly job: JobV1;
  /** The pools file the job imports. */
  public readonly poolsFile: string;

  constructor(scope: Construct, id: string, props: AirflowPoolsJobProps) {
    super(scope, id);
    checkPools(this, props.pools);
    this.poolsFile = poolsImportFile(props.pools);
    const hash = createHash('sha256').update(this.poolsFile).digest('hex').slice(0, 10);
    const pools = new ConfigMapV1(this, 'Pools', {
      provider: props.provider,
      metadata: { name: `airflow-pools-${hash}`, namespace: props.namespace },
      data: { 'pools.json': this.poolsFile },
    });
    this.job = new JobV1(this, 'Job', {
      provider: props.provider,
      metadata: { name: `airflow-pools-import-${hash}`, namespace: props.namespace },
      waitForCompletion: true,
      timeouts: { create: '10m', update: '10m' },
      spec: {
        backoffLimit: 4,
        template: {
          metadata: { labels: { 'app.kubernetes.io/part-of': 'airflow', 'app.kubernetes.io/component': 'pools-import' } },
          spec: {
            restartPolicy: 'OnFailure',
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: String(AIRFLOW_UID), runAsGroup: '0' },
            container: [
              {
                name: 'pools-import',
                image: props.image,
                command: ['airflow', 'pools', 'import', `${POOLS_MOUNT}/pools.json`],
                env: [
                  {
                    name: 'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
                    valueFrom: { secretKeyRef: { name: props.metadataSecretName, key: 'connection' } },
                  },
                ],
                volumeMount: [{ name: 'pools', mountPath: POOLS_MOUNT, readOnly: true }],
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] } },
              },
            ],
            volume: [{ name: 'pools', configMap: { name: pools.metadata.name } }],
          },
        },
      },
      dependsOn: [...props.dependsOn],
    });
  }
}

function checkPools(scope: Construct, pools: readonly AirflowPool[]): void {
  const problems: string[] = [];
  const names = new Set<string>();
  pools.forEach((pool, index) => {
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(pool.name)) problems.push(`pools[${index}].name "${pool.name}" must be 1-256 letters, digits, _ . -`);
    if (!Number.isInteger(pool.slots) || pool.slots < 1) problems.push(`pools[${index}].slots ${pool.slots} must be a whole number >= 1`);
    if (names.has(pool.name)) problems.push(`pools[${index}].name "${pool.name}" appears twice`);
    names.add(pool.name);
  });
  if (problems.length > 0) throw new Error(`${scope.node.path}: ${problems.join('; ')}`);
}
