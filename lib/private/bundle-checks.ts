import { Token } from 'cdktf';
import { IConstruct } from 'constructs';
import type { AirflowHostBaseProps, AirflowHostKind, AirflowPool, IAirflowHost } from '../hosts/airflow-host';
import { DEFERRABLE_WAITS, HOST_RUNS_TRIGGERER } from '../hosts/dag-environment';
import type { MigrationPlan } from '../plan/types';
import {
  BUNDLE_MANIFEST_BLOB_NAME,
  DAG_BLOB_NAME,
  DAG_FOLDER_PREFIX,
  dagLibraryBlobNames,
  parseRequirements,
  PLAN_BLOB_NAME,
  PLAN_SCHEMA_BLOB_NAME,
  readRequirementsFile,
  requirementName,
  REQUIREMENTS_BLOB_NAME,
} from './dag-bundle-loader';
import { asWritten, certainlyDiffer } from './as-written';
import { sha256Hex } from './text-digests';
import { HOST_INSTALLS_REQUIREMENTS_FROM, HOST_REQUIREMENTS } from './host-requirements';
import { PoolContractEntry, poolsOfContract } from './pools-contract';
import { checkSqlPipelinesAtSynth, pipelinesOfContract, SQL_PIPELINES_CONTRACT_BLOB_NAME } from './sql-pipelines-check';

/** The fields of the rendered plan (`dags/migration_plan.json`) that the host's props must agree with. */
interface RenderedPlan {
  readonly name?: unknown;
  readonly airflow?: { readonly host?: unknown; readonly sqlAccess?: unknown };
  readonly concurrency?: unknown;
}

/** Blob name of the contract that names the pools the bundle's DAG runs its tasks in. */
const POOLS_CONTRACT_BLOB_NAME = 'dags/migration_orchestration_lib/contracts/airflow_pools.json';

/** The files of a bundle the DAG cannot import or run without, besides its library's modules, and what each is. */
const REQUIRED_FILES: Readonly<Record<string, string>> = {
  [DAG_BLOB_NAME]: 'the DAG file',
  [PLAN_BLOB_NAME]: 'the rendered plan the DAG reads',
  [PLAN_SCHEMA_BLOB_NAME]: "the plan's schema, which the DAG checks the plan against",
  [REQUIREMENTS_BLOB_NAME]: "the DAG's requirements for the host's Airflow",
  [BUNDLE_MANIFEST_BLOB_NAME]: "the manifest the DAG checks its folder against, which it refuses to import without",
};

/** How many files an error names before it counts the rest. */
const NAMED_FILES = 3;

/**
 * What a host is given in code must be what the DAG can run with, or it fails only in Airflow:
 * - the bundle holds what the DAG imports (the DAG file, its library as this package ships it, the
 *   rendered plan and its schema) and `requirements.txt`, and what the host installs names every
 *   package of the DAG's requirements for that host;
 * - the environment is for the bundle's plan (`MIGRATION_PLAN_NAME`: the DAG refuses another plan's),
 *   has `MIGRATION_DATA_FACTORY_ID` when the plan's `sqlAccess` is dataFactory (and the synth then
 *   looks for the pipelines the DAG runs there), both event variables or neither, a secrets
 *   backend on the host's `keyVault`, and no deferred waits where the host runs no triggerer;
 * - the pools hold each pool of the bundle's contract, with the slots it or the plan gives;
 * - the bundle was made for a host that installs this host's requirements (and Airflow);
 * - its manifest lists its files as they are, or the DAG refuses to import them.
 * Checks only what the rendered plan states. A reference (a token) passes where only its value at
 * apply could tell; the vault and the factory are compared by what they refer to.
 */
export function checkBundleForHost(
  host: IConstruct & IAirflowHost,
  props: Pick<AirflowHostBaseProps, 'bundle' | 'environment' | 'pools' | 'keyVault'>,
): void {
  const path = host.node.path;
  const files = new Map(props.bundle.files.map((file) => [file.blobName, file.content]));
  checkBundleFiles(path, files);
  let plan: RenderedPlan;
  try {
    plan = JSON.parse(files.get(PLAN_BLOB_NAME) as string) as RenderedPlan;
  } catch {
    throw new Error(`${path}: bundle's ${PLAN_BLOB_NAME} is not JSON: pass dagBundleFor(plan)`);
  }
  const planName = typeof plan.name === 'string' ? plan.name : undefined;

  const deployedPlan = props.environment.MIGRATION_PLAN_NAME;
  if (planName !== undefined && deployedPlan !== undefined && !Token.isUnresolved(deployedPlan) && deployedPlan.trim() !== planName) {
    throw new Error(
      `${path}: environment.MIGRATION_PLAN_NAME is "${deployedPlan}", but the bundle's plan (${PLAN_BLOB_NAME}) is "${planName}": ` +
        `the DAG refuses to import another plan's; pass dagEnvironment({ planName: "${planName}", ... }) and dagBundleFor(plan) of one plan`,
    );
  }

  const factoryId = props.environment.MIGRATION_DATA_FACTORY_ID;
  if (plan.airflow?.sqlAccess === 'dataFactory' && (factoryId === undefined || (!Token.isUnresolved(factoryId) && factoryId.trim() === ''))) {
    throw new Error(
      `${path}: environment.MIGRATION_DATA_FACTORY_ID is missing, but the bundle's plan has airflow.sqlAccess dataFactory: ` +
        "the DAG's SQL steps run as that factory's pipelines and fail without it; pass dagEnvironment({ dataFactory: <the OrchestrationFactory " +
        'that holds the SqlPipelines>, ... })',
    );
  }
  if (plan.airflow?.sqlAccess === 'dataFactory' && factoryId !== undefined) {
    checkSqlPipelinesAtSynth(host, factoryId, pipelinesOfContract(files.get(SQL_PIPELINES_CONTRACT_BLOB_NAME) as string));
  }

  checkPools(path, plan, props.pools, files.get(POOLS_CONTRACT_BLOB_NAME) as string);
  checkEventVariables(path, props.environment);
  checkWaitMode(host, props.environment);
  checkSecretsVault(host, props.environment, props.keyVault);

  const planHost = plan.airflow?.host;
  if (isHostKind(planHost) && HOST_REQUIREMENTS[planHost] !== HOST_REQUIREMENTS[host.kind]) {
    throw new Error(
      `${path}: bundle is for host ${planHost} (the airflow.host of its plan; requirements.txt from ${HOST_REQUIREMENTS[planHost]}), ` +
        `but this host is ${host.kind} (Airflow ${host.airflowVersion}, ${HOST_REQUIREMENTS[host.kind]}): ` +
        `pass dagBundleFor(plan) of a plan whose airflow.host is ${host.kind}`,
    );
  }
  checkInstalledRequirements(host, props.bundle.requirements, files.get(REQUIREMENTS_BLOB_NAME) as string);
  checkBundleManifest(path, files);
}

/**
 * What the host installs names every package of its DAG requirements file (any version: a patched
 * pin passes): without one the DAG fails to import on the host.
 */
function checkInstalledRequirements(host: IConstruct & IAirflowHost, requirements: readonly string[], requirementsText: string): void {
  const source = HOST_INSTALLS_REQUIREMENTS_FROM[host.kind];
  if (source === undefined) return;
  const names = (source === 'requirements' ? requirements : parseRequirements(requirementsText)).map(requirementName);
  // A URL or path that does not tell its package may be any of them: only a certain lack is refused.
  if (names.includes(undefined)) return;
  const installed = new Set(names);
  const needed = HOST_REQUIREMENTS[host.kind];
  const missing = parseRequirements(readRequirementsFile(needed)).map(requirementName).filter((name) => !installed.has(name));
  if (missing.length > 0) {
    const what = source === 'requirements' ? 'bundle.requirements' : `the bundle's ${REQUIREMENTS_BLOB_NAME}`;
    throw new Error(
      `${host.node.path}: ${what}, which this ${host.kind} host installs, lacks ${missing.join(', ')} of ${needed}: ` +
        'the DAG cannot import without them; pass dagBundleFor(plan)',
    );
  }
}

/** Every file the DAG needs is in the bundle (by name: a patched module passes). */
function checkBundleFiles(path: string, files: ReadonlyMap<string, string>): void {
  const missing = Object.entries(REQUIRED_FILES)
    .filter(([name]) => !files.has(name))
    .map(([name, what]) => `${name} (${what})`);
  const missingLibrary = dagLibraryBlobNames().filter((name) => !files.has(name));
  if (missingLibrary.length > 0) {
    const named = missingLibrary.slice(0, NAMED_FILES).join(', ');
    const more = missingLibrary.length > NAMED_FILES ? ` and ${missingLibrary.length - NAMED_FILES} more` : '';
    missing.push(`${named}${more} (the DAG's library, which the DAG file imports)`);
  }
  if (missing.length > 0) {
    throw new Error(`${path}: bundle lacks ${missing.join(', ')}: the DAG cannot import without them; pass dagBundleFor(plan)`);
  }
}

/**
 * The bundle's manifest lists its files as they are (a SHA-256 each): the DAG refuses to import a
 * folder where a listed file is missing or differs, so a bundle changed after `dagBundleFor` made
 * it would never import.
 */
function checkBundleManifest(path: string, files: ReadonlyMap<string, string>): void {
  let listed: unknown;
  try {
    listed = (JSON.parse(files.get(BUNDLE_MANIFEST_BLOB_NAME) as string) as { files?: unknown }).files;
  } catch {
    listed = undefined;
  }
  if (typeof listed !== 'object' || listed === null || Array.isArray(listed) || Object.keys(listed).length === 0) {
    throw new Error(`${path}: bundle's ${BUNDLE_MANIFEST_BLOB_NAME} lists no files: the DAG refuses to import without it; pass dagBundleFor(plan)`);
  }
  const differing = Object.entries(listed as Record<string, unknown>)
    .filter(([name, hash]) => {
      const content = files.get(`${DAG_FOLDER_PREFIX}${name}`);
      return content === undefined || sha256Hex(content) !== hash;
    })
    .map(([name]) => `${DAG_FOLDER_PREFIX}${name}`);
  if (differing.length > 0) {
    const named = differing.slice(0, NAMED_FILES).join(', ');
    const more = differing.length > NAMED_FILES ? ` and ${differing.length - NAMED_FILES} more` : '';
    throw new Error(
      `${path}: bundle's ${named}${more} ${differing.length === 1 ? 'differs' : 'differ'} from its ${BUNDLE_MANIFEST_BLOB_NAME} (missing or another content): ` +
        'the DAG refuses to import a folder whose files differ from its manifest; pass dagBundleFor(plan) unchanged, or change the SHA-256 ' +
        'of a file you change in the manifest too',
    );
  }
}

/**
 * The host's pools hold every pool of the bundle's contract (`contracts/airflow_pools.json`, what
 * its tasks run in), with the slots the contract fixes or the bundle's plan gives it. Airflow's
 * scheduler never schedules a task whose pool does not exist ("Tasks using non-existent pool ... will
 * not be scheduled"): the migration would wait forever without an error.
 */
function checkPools(path: string, plan: RenderedPlan, pools: readonly AirflowPool[], contractText: string): void {
  const contract = (JSON.parse(contractText) as { pools: PoolContractEntry[] }).pools;
  // A plan rendered by renderMigrationPlan always has its concurrency; without it only fixed slots are known.
  const concurrency = typeof plan.concurrency === 'object' && plan.concurrency !== null ? (plan.concurrency as MigrationPlan['concurrency']) : undefined;
  const needed = concurrency ? poolsOfContract(concurrency, contract) : contract.map((entry) => ({ name: entry.name, slots: entry.slots }));
  for (const [index, pool] of needed.entries()) {
    const entry = contract[index];
    const given = pools.find((candidate) => candidate.name === pool.name);
    if (given === undefined) {
      throw new Error(
        `${path}: pools has no pool ${pool.name}, which the bundle's DAG runs ${entry.tasks.join(', ')} in (${POOLS_CONTRACT_BLOB_NAME}): ` +
          'Airflow never schedules a task whose pool does not exist; pass airflowPools(plan.concurrency) of the bundle\'s plan',
      );
    }
    if (pool.slots !== undefined && !Token.isUnresolved(given.slots) && given.slots !== pool.slots) {
      const source = entry.slotsFrom === undefined ? POOLS_CONTRACT_BLOB_NAME : `the ${entry.slotsFrom} of the bundle's plan`;
      throw new Error(
        `${path}: pool ${pool.name} has ${given.slots} slots, but ${source} gives it ${pool.slots}: ` +
          `at most ${pool.slots} of the DAG's ${entry.tasks.join(', ')} tasks may run at once, not ${given.slots}; ` +
          'pass airflowPools(plan.concurrency) of the bundle\'s plan',
      );
    }
  }
}

/** The two variables the DAG writes its events with: it uploads only with both (events.py `can_upload`). */
const EVENT_VARIABLES = ['MIGRATION_EVENTS_ENDPOINT', 'MIGRATION_EVENTS_RULE_ID'] as const;

/**
 * Both event variables or neither: with one, the DAG writes its events to the task log only and the
 * alerts on the events table never fire. Neither is a choice (`dagEnvironment` without `eventIngestion`).
 */
function checkEventVariables(path: string, environment: Readonly<Record<string, string>>): void {
  const isSet = (name: string) => environment[name] !== undefined && (Token.isUnresolved(environment[name]) || environment[name].trim() !== '');
  const [given, missing] = [EVENT_VARIABLES.filter(isSet), EVENT_VARIABLES.filter((name) => !isSet(name))];
  if (given.length === 1) {
    throw new Error(
      `${path}: environment.${missing[0]} is missing, but ${given[0]} is set: the DAG writes its events only with both, ` +
        'and would leave them in the task logs, where the alerts on the events table never see them; ' +
        'pass dagEnvironment({ eventIngestion: <MigrationMonitoring>.eventIngestion, ... })',
    );
  }
}

/**
 * No deferred waits on a host without a triggerer: a task that defers waits for the triggerer to
 * resume it, so every wait of the DAG (`MIGRATION_WAIT_MODE=deferrable`) would never end. The DAG
 * reads the value trimmed, in any case (settings.py `Timing.for_environment`).
 */
function checkWaitMode(host: IConstruct & IAirflowHost, environment: Readonly<Record<string, string>>): void {
  const [[variable, deferrable]] = Object.entries(DEFERRABLE_WAITS);
  const mode = environment[variable];
  if (HOST_RUNS_TRIGGERER[host.kind] === false && mode !== undefined && !Token.isUnresolved(mode) && mode.trim().toLowerCase() === deferrable) {
    throw new Error(
      `${host.node.path}: environment.${variable} is "${mode}", but this ${host.kind} host runs no triggerer, which resumes deferred tasks: ` +
        `every wait of the DAG would defer and never resume; leave ${variable} out (the DAG then reschedules its waits)`,
    );
  }
}

/**
 * The vault Airflow's secrets backend reads connections from (`vault_url` of
 * `AIRFLOW__SECRETS__BACKEND_KWARGS`) is the host's `keyVault`, which backs them: the Kubernetes host
 * gives its secrets reader read access to that one and a private endpoint, so another vault's
 * connections would be refused or unreachable at run time. Both sides are compared as Terraform
 * writes them, each reference as the vault's own attribute; a reference against a URL, or a lookup,
 * passes (only its value at apply could tell).
 */
function checkSecretsVault(host: IConstruct, environment: Readonly<Record<string, string>>, keyVault: AirflowHostBaseProps['keyVault']): void {
  const kwargs = environment.AIRFLOW__SECRETS__BACKEND_KWARGS;
  if (kwargs === undefined) return;
  let vaultUrl: unknown;
  try {
    vaultUrl = (JSON.parse(String(asWritten(host, kwargs))) as { vault_url?: unknown }).vault_url;
  } catch {
    return; // not JSON once resolved: nothing to compare
  }
  const vaultUri = asWritten(host, keyVault.vaultUri);
  const normalized = (url: unknown) => (typeof url === 'string' ? url.replace(/\/+$/, '').toLowerCase() : url);
  if (typeof vaultUrl === 'string' && certainlyDiffer(normalized(vaultUrl), normalized(vaultUri))) {
    throw new Error(
      `${host.node.path}: environment.AIRFLOW__SECRETS__BACKEND_KWARGS reads connections from vault_url ${vaultUrl}, but the host's keyVault, ` +
        `which backs them, is ${String(vaultUri)}: pass one vault to dagEnvironment({ keyVault }) and the host`,
    );
  }
}

function isHostKind(value: unknown): value is AirflowHostKind {
  return typeof value === 'string' && Object.hasOwn(HOST_REQUIREMENTS, value);
}
