import { execFileSync } from 'node:child_process';
import { MIGRATION_JOB_NAME, MIGRATION_JOB_RESET_SCRIPT, RUNNING_MIGRATION_WAIT_SECONDS } from '../../lib/private/kubernetes/migration-job-reset';

/**
 * Runs the reset script under Python against a fake Kubernetes API: `gets` are the job the API
 * returns to each GET in turn (null: 404), the last one for every GET after. Time is simulated
 * (`time.sleep` advances `time.monotonic`).
 */
const HARNESS = String.raw`
import builtins, io, json, os, ssl, sys, time, urllib.error, urllib.request
gets = json.loads(os.environ["GETS"])
calls = []
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
    if request.get_method() == "DELETE":
        return Response(b"{}")
    job = gets.pop(0) if len(gets) > 1 else gets[0]
    if job is None:
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)
    if "refused" in job:
        body = io.BytesIO(json.dumps({"kind": "Status", "message": job["refused"]}).encode())
        raise urllib.error.HTTPError(request.full_url, 403, "Forbidden", {}, body)
    return Response(json.dumps(job).encode())
urllib.request.urlopen = urlopen
sys.argv = ["-c", os.environ["JOB"], os.environ["WAIT"]]
outcome = {"exit": 0, "message": None}
try:
    exec(compile(os.environ["SCRIPT"], "<reset>", "exec"), {"__name__": "__main__"})
except SystemExit as stop:
    outcome = {"exit": stop.code if isinstance(stop.code, int) else 1, "message": stop.code if isinstance(stop.code, str) else None}
outcome["calls"] = calls
print("RESULT " + json.dumps(outcome))
`;

interface Call {
  method: string;
  url: string;
  auth: string;
  body: unknown;
  context: unknown[];
}

function reset(gets: unknown[]): { exit: number; message: string | null; calls: Call[]; output: string } {
  const output = execFileSync('python3', ['-c', HARNESS], {
    env: { ...process.env, GETS: JSON.stringify(gets), SCRIPT: MIGRATION_JOB_RESET_SCRIPT, JOB: MIGRATION_JOB_NAME, WAIT: String(RUNNING_MIGRATION_WAIT_SECONDS) },
    encoding: 'utf8',
  });
  const line = output.split('\n').find((text) => text.startsWith('RESULT '))!;
  return { ...JSON.parse(line.slice('RESULT '.length)), output };
}

const job = (uid: string, condition?: 'Complete' | 'Failed') => ({
  metadata: { name: MIGRATION_JOB_NAME, uid },
  status: condition ? { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: condition, status: 'True' }] } : { active: 1 },
});
const JOB_URL = `https://kubernetes.default.svc/apis/batch/v1/namespaces/airflow-ns/jobs/${MIGRATION_JOB_NAME}`;

describe('the migration job reset script', () => {
  it('does nothing when there is no migration job (a first install, or one its TTL removed)', () => {
    const { exit, calls, output } = reset([null]);
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET']);
    expect(output).toContain(`no job ${MIGRATION_JOB_NAME}: nothing to delete`);
  });

  it("deletes a finished job with the service account's token, in the foreground, only that very job, and waits until it is gone", () => {
    const { exit, calls } = reset([job('uid-1', 'Complete'), job('uid-1', 'Complete'), null]);
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET', 'DELETE', 'GET', 'GET']);
    expect(calls.every((call) => call.url === JOB_URL && call.auth === 'Bearer t0ken')).toBe(true);
    expect(calls[0].context).toEqual(['context', '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt']);
    expect(calls[1].body).toEqual({ propagationPolicy: 'Foreground', preconditions: { uid: 'uid-1' } });
  });

  it('deletes a failed job too (a failed migration is retried by the next apply), after waiting for a running one to finish', () => {
    const { exit, calls } = reset([job('uid-2'), job('uid-2'), job('uid-2', 'Failed'), null]);
    expect(exit).toBe(0);
    expect(calls.map((call) => call.method)).toEqual(['GET', 'GET', 'GET', 'DELETE', 'GET']);
    expect(calls[3].body).toEqual({ propagationPolicy: 'Foreground', preconditions: { uid: 'uid-2' } });
  });

  it("says what the API refused, with the API's own message, instead of a traceback", () => {
    const refused = 'jobs.batch "airflow-run-airflow-migrations" is forbidden: User "system:serviceaccount:airflow-ns:x" cannot get resource "jobs"';
    const { exit, message, calls } = reset([{ refused }]);
    expect(exit).not.toBe(0);
    expect(message).toBe(`GET of job ${MIGRATION_JOB_NAME} refused: HTTP 403 Forbidden ${refused}`);
    expect(calls.map((call) => call.method)).toEqual(['GET']);
  });

  it('never deletes a migration still running: it fails, saying what to do, once the wait is over', () => {
    const { exit, message, calls } = reset([job('uid-3')]);
    expect(exit).not.toBe(0);
    expect(message).toBe(`job ${MIGRATION_JOB_NAME} is still running after ${RUNNING_MIGRATION_WAIT_SECONDS} s: let it finish, then apply again`);
    expect(calls.some((call) => call.method === 'DELETE')).toBe(false);
  });
});
