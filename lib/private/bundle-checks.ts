import { Token } from 'cdktf';
import { IConstruct } from 'constructs';
import type { AirflowHostBaseProps, AirflowHostKind, IAirflowHost } from '../hosts/airflow-host';
import { PLAN_BLOB_NAME } from './dag-bundle-loader';
import { HOST_REQUIREMENTS } from './host-requirements';

/** The fields of the rendered plan (`dags/migration_plan.json`) that the host's props must agree with. */
interface RenderedPlan {
  readonly name?: unknown;
  readonly airflow?: { readonly host?: unknown; readonly sqlAccess?: unknown };
}

/**
 * A host's `bundle` and `environment` given in code must agree, or the DAG fails only in Airflow:
 * an environment for another plan (`MIGRATION_PLAN_NAME`: the DAG refuses to import), a plan with
 * `sqlAccess: dataFactory` but no `MIGRATION_DATA_FACTORY_ID` (its SQL steps fail at run time), or a
 * bundle made for a host whose requirements file (and Airflow) differs from this host's. Checks only
 * what the rendered plan states; a reference (a token) in the environment passes.
 */
export function checkBundleForHost(host: IConstruct & IAirflowHost, props: Pick<AirflowHostBaseProps, 'bundle' | 'environment'>): void {
  const file = props.bundle.files.find((candidate) => candidate.blobName === PLAN_BLOB_NAME);
  if (file === undefined) return;
  const path = host.node.path;
  let plan: RenderedPlan;
  try {
    plan = JSON.parse(file.content) as RenderedPlan;
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

  const planHost = plan.airflow?.host;
  if (isHostKind(planHost) && HOST_REQUIREMENTS[planHost] !== HOST_REQUIREMENTS[host.kind]) {
    throw new Error(
      `${path}: bundle is for host ${planHost} (the airflow.host of its plan; requirements.txt from ${HOST_REQUIREMENTS[planHost]}), ` +
        `but this host is ${host.kind} (Airflow ${host.airflowVersion}, ${HOST_REQUIREMENTS[host.kind]}): ` +
        `pass dagBundleFor(plan) of a plan whose airflow.host is ${host.kind}`,
    );
  }
}

function isHostKind(value: unknown): value is AirflowHostKind {
  return typeof value === 'string' && Object.hasOwn(HOST_REQUIREMENTS, value);
}
