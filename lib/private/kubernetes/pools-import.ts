import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { createHash } from 'node:crypto';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { AirflowPool } from '../../hosts/airflow-host';
import type { ProjectedVolume, VolumeMount } from './chart-values';
import { poolsImportValue } from '../setup-outputs';

/** Props of {@link AirflowPoolsImport}. */
export interface AirflowPoolsImportProps {
  /** Pools to create (or update) in Airflow. */
  readonly pools: readonly AirflowPool[];
  /** Namespace of the Airflow release. */
  readonly namespace: string;
  /** Provider of the config map. */
  readonly provider: TerraformProvider;
}

/** What the chart's database-migration job runs and mounts to import the pools. */
export interface PoolsImportJobValues {
  readonly args: readonly string[];
  readonly extraVolumes: readonly ProjectedVolume[];
  readonly extraVolumeMounts: readonly VolumeMount[];
}

/**
 * `airflow pools import` reads `{name: {slots, description, include_deferred}}` and creates or
 * updates each pool; Airflow 3.3 here, so with `include_deferred` (2.6.3's import, for which the external
 * host's output leaves it out, takes exactly two keys) (apache/airflow `airflow-core/src/airflow/cli/commands/pool_command.py`).
 */
export function poolsImportFile(pools: readonly AirflowPool[]): string {
  const body = Object.fromEntries(
    Object.entries(poolsImportValue(pools)).map(([name, pool]) => [name, { ...pool, include_deferred: false }]),
  );
  return `${JSON.stringify(body, null, 2)}\n`;
}

const POOLS_MOUNT = '/opt/airflow/pools';
const POOLS_KEY = 'pools.json';

/**
 * The DAG's pools, imported by the chart's own database-migration job: the pools file as a config
 * map, mounted into that job (`migrateDatabaseJob.extraVolumes`/`extraVolumeMounts`), whose args run
 * `airflow db migrate` (the chart's default command) and then `airflow pools import`. The job runs
 * with the chart's metadata connection (`data.metadataSecretName`) like every Airflow pod, and the
 * helm release waits for it (`waitForJobs`), so the apply ends only once the pools exist; the DAG
 * has no schedule, so no run starts before that (and the scheduler queues no task of a pool that does
 * not exist yet). The config map's name carries the pools' hash: a changed pool list changes the
 * job's pod template, so the next release runs the job again; `import` updates pools in place.
 */
export class AirflowPoolsImport extends Construct {
  /** The config map holding the pools file. */
  public readonly configMap: ConfigMapV1;
  /** The pools file the job imports. */
  public readonly poolsFile: string;
  /** The `migrateDatabaseJob` values that import the pools. */
  public readonly jobValues: PoolsImportJobValues;

  constructor(scope: Construct, id: string, props: AirflowPoolsImportProps) {
    super(scope, id);
    checkPools(this, props.pools);
    this.poolsFile = poolsImportFile(props.pools);
    const hash = createHash('sha256').update(this.poolsFile).digest('hex').slice(0, 10);
    const name = `airflow-pools-${hash}`;
    this.configMap = new ConfigMapV1(this, 'Pools', {
      provider: props.provider,
      metadata: { name, namespace: props.namespace },
      data: { [POOLS_KEY]: this.poolsFile },
    });
    const volume: ProjectedVolume = { name: 'pools', projected: { sources: [{ configMap: { name, items: [{ key: POOLS_KEY, path: POOLS_KEY }] } }] } };
    this.jobValues = {
      args: ['bash', '-c', `airflow db migrate && exec airflow pools import ${POOLS_MOUNT}/${POOLS_KEY}`],
      extraVolumes: [volume],
      extraVolumeMounts: [{ name: volume.name, mountPath: POOLS_MOUNT, readOnly: true }],
    };
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
