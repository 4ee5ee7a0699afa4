import { JobV1 } from '@cdktf/provider-kubernetes/lib/job-v1';
import { RoleBindingV1 } from '@cdktf/provider-kubernetes/lib/role-binding-v1';
import { RoleV1 } from '@cdktf/provider-kubernetes/lib/role-v1';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { ITerraformDependable, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { resourceAddress } from '../resource-address';
import { TerraformData } from '../terraform-data';
import { RELEASE_NAME } from './chart-values';

/** The chart's database-migration job (`templates/jobs/migrate-database-job.yaml`: `<release>-run-airflow-migrations`). */
export const MIGRATION_JOB_NAME = `${RELEASE_NAME}-run-airflow-migrations`;
/** Name of the reset job's service account, role and role binding; the job's own name prefix. */
export const MIGRATION_JOB_RESET_NAME = `${RELEASE_NAME}-migration-job-reset`;
/** The reset container's variable holding the id of the release inputs it ran for. */
export const RELEASE_INPUTS_ID_VARIABLE = 'RELEASE_INPUTS_ID';
/** How long the reset waits for a migration job still running (a previous apply's) to finish. */
export const RUNNING_MIGRATION_WAIT_SECONDS = 600;

/** The user the Airflow image runs as (its Dockerfile's `AIRFLOW_UID`, the chart's `uid`). */
export const AIRFLOW_IMAGE_UID = 50000;
/** How long the reset waits for the deleted migration job to be gone (its pods deleted first). */
export const DELETION_WAIT_SECONDS = 120;
/** How often the reset tries one API call that failed on the way (a timeout, a 5xx, a 429) before it gives up. */
export const API_CALL_ATTEMPTS = 5;
/**
 * How long the reset takes a 403 for a role binding not yet in force: Terraform creates the binding just
 * before the job, and each API server authorizes from its own watch-fed cache of RBAC objects, which usually
 * catches up within a second (kubernetes/kubernetes#34047; the e2e framework waits up to 5 s for it).
 */
export const RBAC_PROPAGATION_WAIT_SECONDS = 30;

/**
 * Deletes the migration job once it has finished, and waits until it is gone (Python's standard
 * library only: the Airflow image has nothing else the reset could rely on). A job still running is
 * waited for, never cut short: `airflow db migrate` is not stopped halfway. Arguments: the job's
 * name, then how many seconds to wait for it to finish. The deletion is in the foreground: the API
 * server keeps the job until the garbage collector has deleted its pods (a batch/v1 job deleted
 * through the API without a policy orphans them), so no pod of the old job is left when Helm
 * creates the new one under the same name. The API server is the one the kubelet names in
 * `KUBERNETES_SERVICE_HOST` and its port, as client-go's and the Python client's in-cluster
 * configuration find it: Kubernetes does not promise a certificate valid for
 * `kubernetes.default.svc`, only for that host (kubernetes.io, "Accessing the Kubernetes API from a
 * Pod"); it is the path Airflow's own Kubernetes client takes. A call that fails on the way is
 * tried again; a DELETE refused because another job now has the name (409: its uid precondition
 * failed) reads the job again. A 403 before any call went through is tried again for a while (the
 * role binding, created just before, may not be in force yet); after that it fails naming the
 * permission the service account lacks.
 */
export const MIGRATION_JOB_RESET_SCRIPT = `
import http.client, json, os, ssl, sys, time, urllib.error, urllib.request
ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
ATTEMPTS = ${API_CALL_ATTEMPTS}
DELETION_WAIT_SECONDS = ${DELETION_WAIT_SECONDS}
RBAC_PROPAGATION_WAIT_SECONDS = ${RBAC_PROPAGATION_WAIT_SECONDS}
ACCOUNT_NAME = "${MIGRATION_JOB_RESET_NAME}"
TRANSIENT = (429, 500, 502, 503, 504)
REPLACED = object()
authorized = False
name, wait_seconds = sys.argv[1], int(sys.argv[2])
namespace = open(ACCOUNT + "/namespace").read().strip()
host = os.environ.get("KUBERNETES_SERVICE_HOST") or "kubernetes.default.svc"
port = os.environ.get("KUBERNETES_SERVICE_PORT_HTTPS") or os.environ.get("KUBERNETES_SERVICE_PORT") or "443"
server = "[%s]:%s" % (host, port) if ":" in host else "%s:%s" % (host, port)
url = "https://%s/apis/batch/v1/namespaces/%s/jobs/%s" % (server, namespace, name)
context = ssl.create_default_context(cafile=ACCOUNT + "/ca.crt")
started = time.monotonic()

def call(method, body=None):
    global authorized
    attempt = 0
    while True:
        token = open(ACCOUNT + "/token").read().strip()
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                authorized = True
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code in (404, 409):
                authorized = True
            if error.code == 404:
                return None
            if error.code == 409 and method == "DELETE":
                return REPLACED
            try:
                detail = json.load(error).get("message") or ""
            except Exception:
                detail = ""
            problem = " ".join(("HTTP %d %s %s" % (error.code, error.reason, detail)).split())
            if error.code == 403:
                if not authorized and time.monotonic() < started + RBAC_PROPAGATION_WAIT_SECONDS:
                    print("%s of job %s refused (%s); waiting for the role binding to take effect" % (method, name, problem), flush=True)
                    time.sleep(2)
                    continue
                sys.exit('%s of job %s refused%s: the service account %s/%s lacks "%s" on jobs.batch "%s", which its role and role binding %s grant: %s'
                         % (method, name, "" if authorized else " for %d s" % RBAC_PROPAGATION_WAIT_SECONDS,
                            namespace, ACCOUNT_NAME, method.lower(), name, ACCOUNT_NAME, problem))
            if error.code not in TRANSIENT:
                sys.exit("%s of job %s refused: %s" % (method, name, problem))
        except (OSError, http.client.HTTPException, ValueError) as error:
            problem = " ".join(("%s: %s" % (type(error).__name__, error)).split())
        attempt += 1
        if attempt == ATTEMPTS:
            sys.exit("%s of job %s failed %d times, the last: %s" % (method, name, ATTEMPTS, problem))
        print("%s of job %s failed (%s); trying again" % (method, name, problem), flush=True)
        time.sleep(2 ** attempt)

def finished(job):
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions)

deadline = time.monotonic() + wait_seconds
for reading in range(ATTEMPTS):
    job = call("GET")
    while job is not None and not finished(job):
        if time.monotonic() > deadline:
            sys.exit("job %s is still running after %d s: let it finish, then apply again" % (name, wait_seconds))
        print("job %s is running; waiting for it to finish" % name, flush=True)
        time.sleep(10)
        job = call("GET")
    if job is None:
        print("no job %s: nothing to delete" % name)
        sys.exit(0)
    uid = job["metadata"]["uid"]
    if call("DELETE", {"propagationPolicy": "Foreground", "preconditions": {"uid": uid}}) is not REPLACED:
        break
    print("job %s was replaced before its deletion; reading it again" % name, flush=True)
else:
    sys.exit("job %s was replaced %d times while the reset deleted it: apply again" % (name, ATTEMPTS))
gone_by = time.monotonic() + DELETION_WAIT_SECONDS
while call("GET") is not None:
    if time.monotonic() > gone_by:
        sys.exit("job %s is still being deleted after %d s" % (name, DELETION_WAIT_SECONDS))
    time.sleep(2)
print("deleted the finished job %s" % name)
`.trimStart();

/** Props of {@link MigrationJobReset}. */
export interface MigrationJobResetProps {
  readonly provider: TerraformProvider;
  /** The release's namespace (a reference, so the reset follows its creation). */
  readonly namespace: string;
  /** The Airflow image (`repository:tag`): the reset runs its Python. */
  readonly image: string;
  /**
   * What the release installs (its values, the chart version): a change replaces the reset job, so
   * it runs before exactly the applies that upgrade the release.
   */
  readonly releaseInputs: Readonly<Record<string, string>>;
  /** What must exist before the reset runs (the host's metadata database; the image comes from the cluster stack, applied first). */
  readonly dependsOn: readonly ITerraformDependable[];
}

/**
 * Deletes the chart's finished database-migration job before each apply that changes the release,
 * so Helm creates it afresh instead of patching it. The job runs as a plain resource (not a hook:
 * `helm --wait` would deadlock on it) under a fixed name, and a job's pod template is immutable: a
 * second apply that changes it (the DAG bundle, the secrets' generation, the image, the pools) while
 * the finished job is still there fails with "field is immutable" (apache/airflow#27561). Helm
 * creates a resource of the release that is missing from the cluster (`kube.Client.Update`), and the
 * release still waits for the new job (`wait_for_jobs`), so the apply still ends only once the pools
 * are imported. The reset can only `get` and `delete` that one job.
 */
export class MigrationJobReset extends Construct {
  /** The reset's Kubernetes job; the release depends on it. */
  public readonly job: JobV1;

  constructor(scope: Construct, id: string, props: MigrationJobResetProps) {
    super(scope, id);
    const { provider, namespace } = props;
    const metadata = { name: MIGRATION_JOB_RESET_NAME, namespace };
    const account = new ServiceAccountV1(this, 'ServiceAccount', { provider, metadata });
    const role = new RoleV1(this, 'Role', {
      provider,
      metadata,
      rule: [{ apiGroups: ['batch'], resources: ['jobs'], resourceNames: [MIGRATION_JOB_NAME], verbs: ['get', 'delete'] }],
    });
    const binding = new RoleBindingV1(this, 'RoleBinding', {
      provider,
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: MIGRATION_JOB_RESET_NAME },
      subject: [{ kind: 'ServiceAccount', name: MIGRATION_JOB_RESET_NAME, namespace }],
      dependsOn: [role, account],
    });
    const releaseInputs = new TerraformData(this, 'ReleaseInputs', props.releaseInputs);
    this.job = new JobV1(this, 'Job', {
      provider,
      // A new name for each run: the replaced job may still be on its way out.
      metadata: { generateName: `${MIGRATION_JOB_RESET_NAME}-`, namespace },
      spec: {
        // What fails here (a migration job still running, the API refusing) fails again at once.
        backoffLimit: 0,
        // A pod evicted or preempted (an AKS node drain) is run again, not counted: the reset starts over
        // safely, and an apply no longer fails on a drain (kubernetes.io, "Pod failure policy").
        podFailurePolicy: { rule: [{ action: 'Ignore', onPodCondition: [{ type: 'DisruptionTarget', status: 'True' }] }] },
        // No TTL: the provider forgets a job that is gone and would create it again at the next plan.
        // It deletes the job it replaces in the foreground, so one finished reset pod is left at most.
        template: {
          metadata: {},
          spec: {
            serviceAccountName: MIGRATION_JOB_RESET_NAME,
            // Its token is what the reset calls the API with.
            automountServiceAccountToken: true,
            restartPolicy: 'Never',
            securityContext: {
              runAsNonRoot: true,
              runAsUser: String(AIRFLOW_IMAGE_UID),
              seccompProfile: { type: 'RuntimeDefault' },
            },
            container: [
              {
                name: 'reset',
                image: props.image,
                // `command`, not `args`: the image's entrypoint (dumb-init, /entrypoint) would first check
                // the metadata database connection, which the reset neither has nor needs.
                command: ['python', '-c', MIGRATION_JOB_RESET_SCRIPT, MIGRATION_JOB_NAME, String(RUNNING_MIGRATION_WAIT_SECONDS)],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '128Mi' } },
                // The inputs' id in the pod template, which a new id replaces: an apply cut short after
                // the inputs were replaced, before the reset ran, still resets at the next apply
                // (replace_triggered_by fires only in the apply that replaces the inputs).
                env: [{ name: RELEASE_INPUTS_ID_VARIABLE, value: releaseInputs.getStringAttribute('id') }],
              },
            ],
          },
        },
      },
      waitForCompletion: true,
      timeouts: { create: '25m', update: '25m' },
      lifecycle: { replaceTriggeredBy: [resourceAddress(releaseInputs)] },
      dependsOn: [binding, ...props.dependsOn],
    });
  }
}
