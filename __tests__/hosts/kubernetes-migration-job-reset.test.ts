import { execFileSync } from 'node:child_process';
import {
  API_CALL_ATTEMPTS,
  DELETION_WAIT_SECONDS,
  MIGRATION_JOB_NAME,
  MIGRATION_JOB_RESET_NAME,
  MIGRATION_JOB_RESET_SCRIPT,
  RBAC_PROPAGATION_WAIT_SECONDS,
  RUNNING_MIGRATION_WAIT_SECONDS,
} from '../../lib/private/kubernetes/migration-job-reset';

/**
 * Runs the reset script under Python against a fake Kubernetes API: `gets` are the job the API
 * returns to each GET in turn (null: 404; `refused`: an API error with `code`, 403 unless given;
 * `unreachable`: no answer within the timeout), the last one for every GET after; `deletes` likewise
 * for each DELETE (`{}` accepted, `conflict`: 409). Time is simulated (`time.sleep` advances
 * `time.monotonic`).
 */
const HARNESS = String.raw`
import builtins, contextlib, io, json, os, ssl, sys, time, traceback, urllib.error, urllib.request
REASONS = {403: "Forbidden", 409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}
calls = []
gets = []
deletes = []
real_open = builtins.open
def fake_open(path, *args, **kwargs):
    if str(path).startswith("/var/run/secrets/kubernetes.io/serviceaccount/"):
        return io.StringIO({"namespace": "airflow-ns\n", "token": "t0ken\n"}[str(path).rsplit("/", 1)[1]])
    return real_open(path, *args, **kwargs)
builtins.open = fake_open
ssl.create_default_context = lambda cafile=None: ("context", cafile)
clock = [0.0]
time.monotonic = lambda: clock[0]
def sleep(seconds):
    clock[0] += seconds
time.sleep = sleep
class Response(io.BytesIO):
    def __enter__(self):
        return self
    def __exit__(self, *args):
        return False
def urlopen(request, context=None, timeout=None):
    calls.append({"method": request.get_method(), "url": request.full_url, "auth": request.get_header("Authorization"),
                  "body": json.loads(request.data) if request.data else None, "context": list(context)})
    answers = deletes if request.get_method() == "DELETE" else gets
    answer = answers.pop(0) if len(answers) > 1 else answers[0]
    if answer is None:
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)
    if "unreachable" in answer:
        raise TimeoutError(answer["unreachable"])
    if "refused" in answer or "conflict" in answer:
        code = 409 if "conflict" in answer else answer.get("code", 403)
        body = io.BytesIO(json.dumps({"kind": "Status", "message": answer.get("refused") or answer.get("conflict")}).encode())
        raise urllib.error.HTTPError(request.full_url, code, REASONS[code], {}, body)
    return Response(json.dumps(answer).encode())
urllib.request.urlopen = urlopen
script = compile(os.environ["SCRIPT"], "<reset>", "exec")
outcomes = {}
for name, scenario in json.loads(os.environ["SCENARIOS"]).items():
    gets[:] = scenario["gets"]
    deletes[:] = scenario["deletes"]
    calls.clear()
    clock[0] = 0.0
    for variable in [variable for variable in os.environ if variable.startswith("KUBERNETES_")]:
        del os.environ[variable]
    os.environ.update(scenario["service"])
    sys.argv = ["-c", os.environ["JOB"], os.environ["WAIT"]]
    outcome = {"exit": 0, "message": None}
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            exec(script, {"__name__": "__main__"})
    except SystemExit as stop:
        outcome = {"exit": stop.code if isinstance(stop.code, int) else 1, "message": stop.code if isinstance(stop.code, str) else None}
    except Exception:
        outcome = {"traceback": traceback.format_exc()}
    outcome["calls"] = list(calls)
    outcome["output"] = output.getvalue()
    outcomes[name] = outcome
print("RESULT " + json.dumps(outcomes))
`;

interface Call {
  method: string;
  url: string;
  auth: string;
  body: unknown;
  context: unknown[];
}

/** The process environment without the API server's service variables: each scenario sets its own. */
function withoutServiceVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KUBERNETES_')));
}

interface Scenario {
  readonly gets: unknown[];
  readonly deletes: unknown[];
  /** The API server's service variables of the pod (none unless given). */
  readonly service: Record<string, string>;
}

type Outcome = { exit: number; message: string | null; calls: Call[]; output: string };

const scenario = (gets: unknown[], deletes: unknown[] = [{}], service: Record<string, string> = {}): Scenario => ({ gets, deletes, service });

/**
 * Every scenario in one Python process (a process per scenario took most of this file's time): each
 * runs the script afresh, with its own answers, clock, calls, service variables and captured output.
 */
function resetAll<Name extends string>(scenarios: Record<Name, Scenario>): Record<Name, Outcome> {
  const output = execFileSync('python3', ['-c', HARNESS], {
    env: { ...withoutServiceVariables(), SCENARIOS: JSON.stringify(scenarios), SCRIPT: MIGRATION_JOB_RESET_SCRIPT, JOB: MIGRATION_JOB_NAME, WAIT: String(RUNNING_MIGRATION_WAIT_SECONDS) },
    encoding: 'utf8',
  });
  const line = output.split('\n').find((text) => text.startsWith('RESULT '))!;
  return JSON.parse(line.slice('RESULT '.length));
}

const job = (uid: string, condition?: 'Complete' | 'Failed') => ({
  metadata: { name: MIGRATION_JOB_NAME, uid },
  status: condition ? { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: condition, status: 'True' }] } : { active: 1 },
});
const JOB_URL = `https://kubernetes.default.svc:443/apis/batch/v1/namespaces/airflow-ns/jobs/${MIGRATION_JOB_NAME}`;

const REFUSED = 'jobs.batch "airflow-run-airflow-migrations" is forbidden: User "system:serviceaccount:airflow-ns:x" cannot get resource "jobs"';
const UNAVAILABLE = { refused: 'etcdserver: request timed out', code: 503 };
const CONFLICT = { conflict: 'Precondition failed: UID in precondition: uid-5, UID in object meta: uid-6' };
// Finished after 590 s of the 600; its pods then take 20 s to go.
const RUNNING_590_SECONDS = Array.from({ length: 59 }, () => job('uid-7'));
const DELETING_20_SECONDS = Array.from({ length: 10 }, () => job('uid-7', 'Complete'));

const SCENARIOS = {
  noJob: scenario([null]),
  finished: scenario([job('uid-1', 'Complete'), job('uid-1', 'Complete'), null]),
  failedAfterRunning: scenario([job('uid-2'), job('uid-2'), job('uid-2', 'Failed'), null]),
  refused: scenario([{ refused: REFUSED }]),
  refusedUntilBindingInForce: scenario([{ refused: REFUSED }, { refused: REFUSED }, job('uid-9', 'Complete'), null]),
  deleteRefused: scenario([job('uid-10', 'Complete')], [{ refused: REFUSED }]),
  stillRunning: scenario([job('uid-3')]),
  answersOnTheWay: scenario([UNAVAILABLE, { unreachable: 'The read operation timed out' }, job('uid-4', 'Complete'), null]),
  unreachable: scenario([{ unreachable: 'The read operation timed out' }]),
  replaced: scenario([job('uid-5', 'Complete'), job('uid-6', 'Complete'), null], [CONFLICT, {}]),
  deletionWaitOfItsOwn: scenario([...RUNNING_590_SECONDS, job('uid-7', 'Complete'), ...DELETING_20_SECONDS, null]),
  neverGone: scenario([job('uid-8', 'Complete')]),
  aks: scenario([null], [{}], { KUBERNETES_SERVICE_HOST: 'contoso-abc123.hcp.westeurope.azmk8s.io', KUBERNETES_SERVICE_PORT: '443', KUBERNETES_SERVICE_PORT_HTTPS: '443' }),
  ipv6: scenario([null], [{}], { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }),
};

describe('the migration job reset script', () => {
  let outcomes: Record<keyof typeof SCENARIOS, Outcome & { traceback?: string }>;
  beforeAll(() => {
    outcomes = resetAll(SCENARIOS);
  });
  /** The outcome of a scenario; a traceback out of the script fails the test that reads it. */
  const reset = (name: keyof typeof SCENARIOS): Outcome => {
    const { traceback, ...outcome } = outcomes[name];
    if (traceback !== undefined) throw new Error(`the reset script raised:\n${traceback}`);
    return outcome;
  };

  it('does nothing when there is no migration job (a first install, or one its TTL removed)', () => {
    const { exit, calls, output } = reset('noJob');
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET']);
    expect(output).toContain(`no job ${MIGRATION_JOB_NAME}: nothing to delete`);
  });

  it("deletes a finished job with the service account's token, in the foreground, only that very job, and waits until it is gone", () => {
    const { exit, calls } = reset('finished');
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET', 'DELETE', 'GET', 'GET']);
    expect(calls.every((call) => call.url === JOB_URL && call.auth === 'Bearer t0ken')).toBe(true);
    expect(calls[0].context).toEqual(['context', '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt']);
    expect(calls[1].body).toEqual({ propagationPolicy: 'Foreground', preconditions: { uid: 'uid-1' } });
  });

  it('deletes a failed job too (a failed migration is retried by the next apply), after waiting for a running one to finish', () => {
    const { exit, calls } = reset('failedAfterRunning');
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET', 'GET', 'GET', 'DELETE', 'GET']);
    expect(calls[3].body).toEqual({ propagationPolicy: 'Foreground', preconditions: { uid: 'uid-2' } });
  });

  it('takes a 403 on the first calls for a role binding not yet in force (each API server authorizes from its own cache) and goes on once it is', () => {
    const { exit, calls, output } = reset('refusedUntilBindingInForce');
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET', 'GET', 'GET', 'DELETE', 'GET']);
    expect(output).toContain(`GET of job ${MIGRATION_JOB_NAME} refused (HTTP 403 Forbidden ${REFUSED}); waiting for the role binding to take effect`);
    expect(output).toContain(`deleted the finished job ${MIGRATION_JOB_NAME}`);
  });

  it("fails with one line naming the missing permission and the API's own message, instead of a traceback, once the role binding had its time", () => {
    const { exit, message, calls } = reset('refused');
    expect(exit).not.toBe(0);
    expect(message).toBe(
      `GET of job ${MIGRATION_JOB_NAME} refused for ${RBAC_PROPAGATION_WAIT_SECONDS} s: the service account airflow-ns/${MIGRATION_JOB_RESET_NAME} lacks "get" ` +
        `on jobs.batch "${MIGRATION_JOB_NAME}", which its role and role binding ${MIGRATION_JOB_RESET_NAME} grant: HTTP 403 Forbidden ${REFUSED}`,
    );
    expect(message).not.toContain('\n');
    // Bounded: a call every 2 s for the wait, not the transient answers' attempts.
    expect(calls.map((call) => call.method)).toEqual(Array.from({ length: RBAC_PROPAGATION_WAIT_SECONDS / 2 + 1 }, () => 'GET'));
  });

  it('fails at once on a 403 after a call went through (the binding is in force: the permission is missing), naming it', () => {
    const { exit, message, calls } = reset('deleteRefused');
    expect(exit).not.toBe(0);
    expect(message).toBe(
      `DELETE of job ${MIGRATION_JOB_NAME} refused: the service account airflow-ns/${MIGRATION_JOB_RESET_NAME} lacks "delete" ` +
        `on jobs.batch "${MIGRATION_JOB_NAME}", which its role and role binding ${MIGRATION_JOB_RESET_NAME} grant: HTTP 403 Forbidden ${REFUSED}`,
    );
    expect(calls.map((call) => call.method)).toEqual(['GET', 'DELETE']);
  });

  it('never deletes a migration still running: it fails, saying what to do, once the wait is over', () => {
    const { exit, message, calls } = reset('stillRunning');
    expect(exit).not.toBe(0);
    expect(message).toBe(`job ${MIGRATION_JOB_NAME} is still running after ${RUNNING_MIGRATION_WAIT_SECONDS} s: let it finish, then apply again`);
    expect(calls.some((call) => call.method === 'DELETE')).toBe(false);
  });

  it('tries a call again after an answer on the way (a 503 from an API server restarting, a timeout), then goes on', () => {
    const { exit, calls, output } = reset('answersOnTheWay');
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET', 'GET', 'GET', 'DELETE', 'GET']);
    expect(output).toContain(`GET of job ${MIGRATION_JOB_NAME} failed (HTTP 503 Service Unavailable etcdserver: request timed out); trying again`);
    expect(output).toContain(`deleted the finished job ${MIGRATION_JOB_NAME}`);
  });

  it('gives up after a few attempts with one line naming the call, the job and the last answer', () => {
    const { exit, message, calls } = reset('unreachable');
    expect(exit).not.toBe(0);
    expect(message).toBe(`GET of job ${MIGRATION_JOB_NAME} failed ${API_CALL_ATTEMPTS} times, the last: TimeoutError: The read operation timed out`);
    expect(calls).toHaveLength(API_CALL_ATTEMPTS);
  });

  it('reads the job again when its DELETE finds another job under the name (409: the uid precondition failed), and deletes that one', () => {
    const { exit, calls } = reset('replaced');
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET', 'DELETE', 'GET', 'DELETE', 'GET']);
    expect(calls[3].body).toEqual({ propagationPolicy: 'Foreground', preconditions: { uid: 'uid-6' } });
  });

  it('gives the deletion its own wait, whatever the wait for a running migration left of its own', () => {
    const { exit, calls } = reset('deletionWaitOfItsOwn');
    expect(exit).toBe(0);
    expect(calls.filter((call) => call.method === 'DELETE')).toHaveLength(1);
  });

  it('fails with one line when the job is not gone within the deletion wait', () => {
    const { exit, message } = reset('neverGone');
    expect(exit).not.toBe(0);
    expect(message).toBe(`job ${MIGRATION_JOB_NAME} is still being deleted after ${DELETION_WAIT_SECONDS} s`);
  });

  it("calls the API server the kubelet names in KUBERNETES_SERVICE_HOST (Kubernetes promises a certificate for it, not for kubernetes.default.svc)", () => {
    const aks = reset('aks');
    expect(aks.calls[0].url).toBe(`https://contoso-abc123.hcp.westeurope.azmk8s.io:443/apis/batch/v1/namespaces/airflow-ns/jobs/${MIGRATION_JOB_NAME}`);
    const ipv6 = reset('ipv6');
    expect(ipv6.calls[0].url).toBe(`https://[fd00::1]:6443/apis/batch/v1/namespaces/airflow-ns/jobs/${MIGRATION_JOB_NAME}`);
  });
});
