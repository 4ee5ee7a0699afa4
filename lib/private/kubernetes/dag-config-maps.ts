import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { DagBundle, DagBundleFile } from '../../orchestration-factory/dag-bundle';
import { ProjectedVolume } from './chart-values';

/** Props of {@link DagConfigMaps}. */
export interface DagConfigMapsProps {
  /** The DAG package and the rendered plan. */
  readonly bundle: DagBundle;
  /** Namespace of the Airflow release. */
  readonly namespace: string;
  /** Provider of the config maps. */
  readonly provider: TerraformProvider;
  /** Prefix of the config map names (`<prefix>-1`, `<prefix>-2`, ...). */
  readonly namePrefix: string;
}

/** What the bundle keeps under `dags/`: the DAG folder's content, with its package layout. */
const DAG_FOLDER_PREFIX = 'dags/';
/**
 * Kubernetes stores an object in etcd only up to 1 MiB; leave room for metadata and the key
 * names, and spread larger bundles over several config maps.
 */
export const MAX_CONFIG_MAP_BYTES = 900 * 1024;
/** Config map keys may only hold letters, digits, `-`, `_` and `.`. */
const KEY_ALPHABET = /[^A-Za-z0-9._-]/g;

/** One file of the DAG folder: its config map key and its path under the mount. */
export interface DagFolderEntry {
  /** Config map key (letters, digits, `-`, `_`, `.`). */
  readonly key: string;
  /** Path under the DAGs folder, for example `migration_orchestration_lib/steps.py`. */
  readonly path: string;
  /** File content. */
  readonly content: string;
}

/**
 * The DAG package and the rendered plan as config maps, projected into one volume that the
 * chart mounts as the DAGs folder. Each file keeps its path (`migration_orchestration_lib/...`):
 * the volume's `items` map a flat key back to the file's place in the package.
 */
export class DagConfigMaps extends Construct {
  /** The config maps, in order. */
  public readonly configMaps: readonly ConfigMapV1[];
  /** The volume the chart mounts at the DAGs folder. */
  public readonly volume: ProjectedVolume;

  constructor(scope: Construct, id: string, props: DagConfigMapsProps) {
    super(scope, id);
    const chunks = chunkBySize(this, dagFolderEntries(this, props.bundle.files));
    this.configMaps = chunks.map(
      (entries, index) =>
        new ConfigMapV1(this, `Part${index + 1}`, {
          provider: props.provider,
          metadata: {
            name: `${props.namePrefix}-${index + 1}`,
            namespace: props.namespace,
            labels: { 'app.kubernetes.io/part-of': 'airflow', 'app.kubernetes.io/component': 'dags' },
          },
          data: Object.fromEntries(entries.map((entry) => [entry.key, entry.content])),
        }),
    );
    this.volume = {
      name: 'dags',
      projected: {
        sources: chunks.map((entries, index) => ({
          configMap: {
            name: `${props.namePrefix}-${index + 1}`,
            items: entries.map((entry) => ({ key: entry.key, path: entry.path })),
          },
        })),
      },
    };
  }
}

/** The bundle's files under `dags/`, with a config map key each (requirements go into the image instead). */
export function dagFolderEntries(scope: Construct, files: readonly DagBundleFile[]): DagFolderEntry[] {
  const entries = files
    .filter((file) => file.blobName.startsWith(DAG_FOLDER_PREFIX))
    .map((file) => {
      const path = file.blobName.slice(DAG_FOLDER_PREFIX.length);
      return { key: path.replace(/\//g, '.').replace(KEY_ALPHABET, '_'), path, content: file.content };
    });
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const other = seen.get(entry.key);
    if (other !== undefined) {
      throw new Error(`${scope.node.path}: DAG files ${other} and ${entry.path} map to the same config map key ${entry.key}; rename one`);
    }
    seen.set(entry.key, entry.path);
  }
  return entries;
}

function chunkBySize(scope: Construct, entries: readonly DagFolderEntry[]): DagFolderEntry[][] {
  const chunks: DagFolderEntry[][] = [];
  let current: DagFolderEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const entrySize = Buffer.byteLength(entry.key) + Buffer.byteLength(entry.content);
    if (entrySize > MAX_CONFIG_MAP_BYTES) {
      throw new Error(
        `${scope.node.path}: DAG file ${entry.path} is ${entrySize} bytes; a config map holds at most ${MAX_CONFIG_MAP_BYTES} ` +
          '(Kubernetes keeps objects up to 1 MiB): split the plan or deliver the DAG another way',
      );
    }
    if (size + entrySize > MAX_CONFIG_MAP_BYTES && current.length > 0) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += entrySize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
