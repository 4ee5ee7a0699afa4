"""No secret leaves the DAG (the product's rule): the SQL logins' passwords, the backup storage account
key and the source file share's password go into DMS request bodies and SQL logins only, never into a
log line, an XCom, an event row (its `Message` goes to a Log Analytics workspace many people read),
a record kept between runs, or a task's error. Each scenario runs one database's tasks (`task_driver`),
or every task of a plan of three databases on two source servers, on the rehearsal world with a
canary secret per connection, and looks for every canary (and its base64 and URL encodings) in
everything the run left behind. The failure scenarios have the servers
echo a secret in their error text, as a careless server (or a driver quoting its connection string)
would: that text must be redacted before it reaches an event, a log or an error."""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import time
from urllib.parse import quote, quote_plus

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib import connections, rehearsal
from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE
from migration_orchestration_lib.step_context import StepFailure
from task_driver import RunDriver
from world_view import WorldView

# Redaction is the DAG's own code, the same on every Airflow: each version runs the one-database
# scenarios (its logging and task runner), 3.3 alone the slower plan of several databases.
def on_every_airflow(test):
    return pytest.mark.airflow210(pytest.mark.airflow26(test))


class Canaries:
    """A recognizable secret per connection id (and one for the Key Vault connection strings Data
    Factory reads), handed out by the rehearsal's connection source."""

    def __init__(self):
        self.by_connection = {}
        # '+', '/' and '=' make the URL encodings differ from the value itself.
        self.key_vault = self.make("keyvault")

    def make(self, tag):
        return "c4nary+%s/%s=" % (tag.replace("_", "-"), secrets.token_hex(6))

    def replace(self, original):
        """The rehearsal's login for a connection, with that connection's canary as its secret."""
        return ConnectionSecret(connection_id=original.connection_id, host=original.host, port=original.port,
                                login=original.login, password=self.of(original.connection_id))

    def of(self, connection_id):
        return self.by_connection.setdefault(connection_id, self.make(connection_id))

    def all(self):
        return [self.key_vault] + list(self.by_connection.values())


def encodings(secret):
    """The value and the encodings a leak would obviously take (base64 at each alignment, URL)."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    for offset in range(3):
        encoded = base64.b64encode(("x" * offset + secret).encode()).decode()
        # drop the characters that mix with the prefix or the padding
        forms.add(encoded[(offset + 2) // 3 * 4 if offset else 0:][:-4])
        encoded = base64.urlsafe_b64encode(("x" * offset + secret).encode()).decode()
        forms.add(encoded[(offset + 2) // 3 * 4 if offset else 0:][:-4])
    return {form for form in forms if len(form) >= 8}


@pytest.fixture
def canaries(rehearsal_world, monkeypatch, tmp_path):
    """The rehearsal's secrets as canaries: its connection source (`RehearsalConnections`, the rehearsal's
    stand-in for Airflow connections) and the password it seeds into Data Factory's Key Vault secrets."""
    found = Canaries()
    original_get = rehearsal.RehearsalConnections.get
    monkeypatch.setattr(rehearsal.RehearsalConnections, "get", lambda self, connection_id: found.replace(original_get(self, connection_id)))
    monkeypatch.setattr(rehearsal, "REHEARSAL_PASSWORD", found.key_vault)
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    return found


class SeparateWorkers(RunDriver):
    """Airflow runs each task (each poke) in a process of its own: nothing the DAG remembered in one
    task, such as the secrets it fetched, is there in the next."""

    def _run_task(self, task):
        connections._known_secrets.clear()
        return super()._run_task(task)


def setup(directory, access="direct", **entry):
    document = plan_with_databases([database_entry("db", "Sales", **entry)])
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(directory, plan.database("db"), plan)


def echoing(canaries, plan, text, database="db"):
    """A server's error text that quotes the secrets it was given: the source login's password, the
    backup storage account key, and the connection string Data Factory read from Key Vault."""
    source = plan.source_of(plan.database(database))
    share = source.backup_file_share
    return "%s (login with '%s', key %s, share password %s; Server=%s;Password=%s;)" % (
        text, canaries.of(source.connection_id), canaries.of(plan.backup_storage.connection_id),
        canaries.of(share.connection_id), source.host, canaries.key_vault)


SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}
APPROVED_CUTOVER = {"windows": [SATURDAY_NIGHT], "expectedMinutes": 30,
                    "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}}
IN_THE_WINDOW = {"MIGRATION_SIMULATE_START": "2026-12-05T21:10:00Z", "MIGRATION_SIMULATE_APPROVAL": "db:approve"}

# (id, plan entry, sql access, fault: (after task, operation, kind, fields) or None, environment, outcome)
SCENARIOS = [
    ("online-SqlMi-direct", {"mode": "online"}, "direct", None, {}, "migrated"),
    ("online-SqlMi-dataFactory", {"mode": "online"}, "dataFactory", None, {}, "migrated"),
    ("offline-SqlMi-direct", {"mode": "offline"}, "direct", None, {}, "migrated"),
    ("offline-SqlVm-dataFactory", {"mode": "offline", "target": "vm-prod"}, "dataFactory", None, {}, "migrated"),
    ("online-SqlMi-approved-window", {"mode": "online", "cutover": APPROVED_CUTOVER}, "direct", None, IN_THE_WINDOW, "migrated"),
    ("SqlDb-direct", {"target": "db-prod"}, "direct", None, {}, "migrated"),
    ("SqlDb-dataFactory", {"target": "db-prod"}, "dataFactory", None, {}, "migrated"),
    ("dms-refuses-create", {"mode": "online"}, "direct",
     ("db.preflight", "create", "error", dict(count=12, status=400, code="InvalidParameterValue", message="accountKey is not valid")),
     {}, "rolled_back"),
    ("arm-outage-waited-out", {"mode": "online"}, "direct",
     ("db.start_migration", "get", "error", dict(count=6, status=503, code="ServiceUnavailable", message="try again later")),
     {}, "migrated"),
    ("dms-migration-fails", {"mode": "online"}, "direct",
     ("db.start_migration", "migrate", "migrationFailed", dict(code="RestoreFailed", message="cannot open the backup share")),
     {}, "rolled_back"),
    ("sql-login-fails-direct", {"mode": "online"}, "direct",
     ("db.start_migration", "sqlConnect", "error", dict(count=100, message="Login failed for user 'rehearsal'.")),
     {}, "rolled_back"),
    ("sql-login-fails-dataFactory", {"mode": "online"}, "dataFactory",
     ("db.start_migration", "sqlConnect", "error", dict(count=100, message="Login failed for user 'rehearsal'.")),
     {}, "rolled_back"),
    ("data-factory-pipeline-fails", {"mode": "offline"}, "dataFactory",
     ("db.start_migration", "pipelineRun", "lroFailed", dict(count=100, message="The Script activity failed")),
     {}, "rolled_back"),
    ("validation-mismatch-rollback", {"mode": "online"}, "direct", None, {"MIGRATION_SIMULATE_MISMATCH": "db"}, "rolled_back"),
    ("dms-ends-failed-rollback", {"mode": "offline"}, "direct", None, {"MIGRATION_SIMULATE_FAILURE": "db"}, "rolled_back"),
]


def leaks(canaries, places):
    """Each place (name -> text) that holds a canary or one of its encodings."""
    found = []
    for secret in canaries.all():
        forms = encodings(secret)
        for name, text in places.items():
            hits = [form for form in forms if form in text]
            if hits:
                found.append("%s holds %r (as %r)" % (name, secret, hits[0]))
    return found


def read(path):
    return open(path).read() if os.path.exists(path) else ""


def left_behind(driver, world_directory, tmp_path, caplog, capfd):
    """Everything a run leaves that people read (place -> its text)."""
    out, err = capfd.readouterr()
    return {
        "an event row": read(str(tmp_path / "events.jsonl")),
        "an XCom": json.dumps({"%s/%s" % key: value for key, value in driver.xcom.items()}, default=str),
        "a record": read(os.path.join(str(world_directory), RECORDS_FILE)),
        "a task error": json.dumps(driver.errors),
        "a log line": caplog.text + "\n".join(str(record.args) for record in caplog.records),
        "stdout/stderr": out + err,
    }


@on_every_airflow
@pytest.mark.parametrize("entry, access, fault, environment, outcome", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_no_secret_reaches_logs_xcom_events_records_or_errors(rehearsal_world, canaries, tmp_path, monkeypatch, caplog, capfd,
                                                               entry, access, fault, environment, outcome):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    plan, dag, world = setup(rehearsal_world, access, **entry)
    observe = world.observe
    if fault:
        after_task, operation, kind, fields = fault
        observe = world.fault_after(after_task, operation, kind, **dict(fields, message=echoing(canaries, plan, fields["message"])))
    driver = SeparateWorkers(dag, observe)
    with caplog.at_level(logging.DEBUG):
        driver.run_database("db")
        driver.run_outcome()

    if outcome == "migrated":
        assert driver.outcome("db") == "migrated", (driver.states, driver.errors)
    else:  # a step failed and the rollback ran (it may meet the same fault)
        assert "failed" in driver.states.values() and driver.states["db.rollback"] != "skipped", (driver.states, driver.errors)
    assert not fault or world.injected, "the fault was never injected"
    assert canaries.by_connection, "the run never asked for a secret"
    places = left_behind(driver, rehearsal_world, tmp_path, caplog, capfd)
    events = places["an event row"]
    assert events.strip(), "the run wrote no event"
    assert places["a record"].strip(), "the run kept no record (preflight records the source's access)"
    assert not leaks(canaries, places), leaks(canaries, places)
    if fault:  # redacted, not dropped: the server's reason still reaches the events
        assert fault[3]["message"] in events and "***" in events, events


def two_server_plan(access):
    """Three databases on two source servers, each server with its own login and share: `sales` and
    `hr` (to SqlDb) from sql01, `billing` (after `sales`) from sql02."""
    document = plan_with_databases([
        database_entry("sales", "Sales"),
        database_entry("hr", "Hr", target="db-prod"),
        database_entry("billing", "Billing", depends_on=["sales"], source={"server": "sql02", "database": "Billing"}),
    ])
    second = json.loads(json.dumps(document["sourceServers"][0]))
    second.update(name="sql02", host="sql02.corp.contoso.com", connectionId="mssql_source_sql02",
                  connectionStringSecretName="sql02-connection-string",
                  backupFileShare={"path": "\\\\fileserver02\\sqlbackups\\sql02", "connectionId": "smb_fileserver02"})
    document["sourceServers"].append(second)
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    return parse_plan(document)


@pytest.mark.parametrize("access", ["direct", "dataFactory"])
def test_no_secret_leaks_from_a_plan_of_several_databases_and_servers(rehearsal_world, canaries, tmp_path, caplog, capfd, access):
    """Every database's tasks and `run_outcome` in one run: two migrate, the third (on the other server)
    meets a DMS failure whose text quotes its own server's secrets, and rolls back. No canary of either
    server, the share logins, the storage key or Key Vault reaches anything the run left behind."""
    plan = two_server_plan(access)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    billing = WorldView(rehearsal_world, plan.database("billing"), plan)
    message = echoing(canaries, plan, "cannot open the backup share", database="billing")
    driver = SeparateWorkers(dag, billing.fault_after("billing.start_migration", "migrate", "migrationFailed",
                                                      code="RestoreFailed", message=message))
    with caplog.at_level(logging.DEBUG):
        for name in ("sales", "hr", "billing"):
            driver.run_database(name)
        driver.run_outcome()

    assert (driver.outcome("sales"), driver.outcome("hr")) == ("migrated", "migrated"), (driver.states, driver.errors)
    assert driver.states["billing.rollback"] not in ("skipped", "failed") and billing.injected, (driver.states, driver.errors)
    assert {"mssql_source_sql01", "mssql_source_sql02"} <= set(canaries.by_connection), canaries.by_connection
    places = left_behind(driver, rehearsal_world, tmp_path, caplog, capfd)
    events = places["an event row"]
    assert not leaks(canaries, places), leaks(canaries, places)
    assert "cannot open the backup share" in events and "***" in events, events


@on_every_airflow
@pytest.mark.parametrize("encode", [
    lambda s: s, lambda s: quote(s, safe=""), lambda s: quote_plus(s),
    lambda s: base64.b64encode(s.encode()).decode(),
    lambda s: base64.b64encode(("body=" + s).encode()).decode(),
    lambda s: base64.b64encode(('{"accountKey": "%s"}' % s).encode()).decode(),
], ids=["raw", "url", "url-plus", "base64", "base64-offset-2", "base64-in-json"])
def test_the_check_sees_a_secret_in_its_obvious_encodings(encode):
    found = Canaries()
    secret = found.of("backup_storage_key")
    assert leaks(found, {"an event row": "Message: %s." % encode(secret)})
    assert not leaks(found, {"an event row": "Message: ***."})


@on_every_airflow
def test_redact_takes_secrets_out_and_keeps_the_rest():
    from migration_orchestration_lib.connections import redact

    found = Canaries()
    found.replace(ConnectionSecret("share", "fs01", None, "svc", None))  # remembered on creation
    text = "refused: password %s (%s); Server=sql01;Password=kv-secret;AccountKey = k3y==;User ID=svc" % (
        found.of("share"), quote(found.of("share"), safe=""))
    assert redact(text) == "refused: password *** (***); Server=sql01;Password=***;AccountKey = ***;User ID=svc"


# (what a server, an SDK or a driver quoted back, holding a secret the DAG never held; what reaches an event)
NEVER_HELD = [
    ("a quoted connection-string value", 'Server=sql01;Password="pass word;42";User ID=sa', 'Server=sql01;Password="***";User ID=sa'),
    ("a braced ODBC value", "Server=sql01;PWD={pa}}ss;wo rd};UID=sa", "Server=sql01;PWD=***;UID=sa"),
    ("a value with spaces", "Server=sql01;Password=pass word 42;UID=sa", "Server=sql01;Password=***;UID=sa"),
    ("a value with quotes inside", "Server=sql01;Password=pa's\"s w'd;UID=sa", "Server=sql01;Password=***;UID=sa"),
    # (a quote inside followed by `)`, `}`, `]`, `,` or `:` and more of the secret: before, the rest was kept)
    ("a value with a quote before a closer inside", "Server=sql01;Password=M@g9\")aW;UID=sa", "Server=sql01;Password=***;UID=sa"),
    ("a value with quotes before closers in a JSON string", '{"cs": "Server=sql01;PWD=aN\'}+aMY\",_gOb", "n": 1}',
     '{"cs": "Server=sql01;PWD=***", "n": 1}'),
    ("a value with a quote before a closer at the end", "login failed: Server=sql01;Pwd=Vo@L']A[F':zVM",
     "login failed: Server=sql01;Pwd=***"),
    ("a connection string quoted in a call", "connect('Server=sql01;PWD=pa\\'ss', timeout=30) and \"PWD=pass\"}",
     "connect('Server=sql01;PWD=***', timeout=30) and \"PWD=***\"}"),
    ("a quoted value in a JSON string", '{"cs": "Server=sql01;Password=\\"pa;ss\\"\\"w\\";UID=sa"}',
     '{"cs": "Server=sql01;Password=***;UID=sa"}'),
    ("a form body", "body grant_type=client_credentials&client_id=app&client_secret=s3c'r%26t&scope=https://x/.default",
     "body grant_type=client_credentials&client_id=app&client_secret=***&scope=https://x/.default"),
    ("a URL's query", "GET https://h/api?password=p%40ss&db=Sales failed", "GET https://h/api?password=***&db=Sales failed"),
    ("a JSON request body", 'refused {"password": "pa\\"ss", "accountKey": "k3y==", "n": 1}',
     'refused {"password": "***", "accountKey": "***", "n": 1}'),
    ("an SDK model's repr", "request {'password': 'pa ss', 'user_name': 'sa'}", "request {'password': '***', 'user_name': 'sa'}"),
    ("request headers", "headers {'Authorization': 'Bearer abc.def-ghi', 'Accept': 'application/json'}",
     "headers {'Authorization': '***', 'Accept': 'application/json'}"),
    ("an Authorization header line", "Authorization: SharedKey stbackups:c2lnbmF0dXJl\nx-ms-version: 2025-01-05",
     "Authorization: ***\nx-ms-version: 2025-01-05"),
    ("a bearer token", "token Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln was refused", "token Bearer *** was refused"),
    ("a JWT alone", "federated token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln expired", "federated token *** expired"),
    ("a SAS signature", "GET https://st.blob.core.windows.net/c/b?sv=2022-11-02&sig=AbC%2Fd%3D&se=2026 failed",
     "GET https://st.blob.core.windows.net/c/b?sv=2022-11-02&sig=***&se=2026 failed"),
    # (a server's text cut short inside a quoted value: the rest may be all secret)
    ("a quoted value cut short", 'refused: Server=sql01;Password="pass word;4', 'refused: Server=sql01;Password="***'),
    ("a JSON request body cut short", 'refused {"user": "sa", "password": "pa\\"ss wo', 'refused {"user": "sa", "password": "***'),
]


@on_every_airflow
@pytest.mark.parametrize("text, redacted", [case[1:] for case in NEVER_HELD], ids=[case[0] for case in NEVER_HELD])
def test_redact_takes_out_a_secret_the_dag_never_held(text, redacted):
    """Was: a quoted, braced or spaced connection-string value kept all or part of the password, and a JSON
    member, a header, a bearer token, a SAS signature or a JWT stayed as they came."""
    from migration_orchestration_lib.connections import redact

    assert redact(text) == redacted


@on_every_airflow
def test_redact_takes_linear_time_over_a_long_text_of_values_never_closed():
    """A log with a braced value never closed after each of its 8,000 keys (190 kB). Was: each key's braced value was
    looked for to the end of the text before the bare value matched, in time squared (here half a minute; a megabyte, hours)."""
    from migration_orchestration_lib.connections import redact

    text = "Server=sql01;PWD={" + "Server=sql01;PWD={pa ss;" * 8000
    started = time.process_time()  # CPU time: on a busy machine the clock also counts waiting for a core
    assert redact(text) == "Server=sql01;PWD=***"
    assert time.process_time() - started < 5


@on_every_airflow
def test_redact_keeps_an_error_that_only_speaks_of_authorization_and_passwords():
    from migration_orchestration_lib.connections import redact

    text = ("(AuthorizationFailed) The client 'x' does not have authorization to perform action "
            "'Microsoft.Sql/servers/write'; login failed: password expired")
    assert redact(text) == text


@on_every_airflow
@pytest.mark.parametrize("field", ["migrationFailureError", "restoreBlockingReason"])
def test_a_dms_error_cut_short_inside_a_secret_keeps_no_part_of_it(field):
    """DMS's error text is shortened for a task's error (`MigrationStatus.describe`), a remembered secret quoted near
    where it is cut. Was: the text was cut first, so the secret's first characters reached the error, which `redact`,
    knowing only the whole secret, left as they were."""
    from migration_orchestration_lib.connections import redact
    from migration_orchestration_lib.migration_status import MigrationStatus

    secret = "Pa55-%s" % secrets.token_hex(12)
    ConnectionSecret("mssql_source_sql01", "sql01", None, "svc", secret)  # remembered on creation
    cut = {"migrationFailureError": 500, "restoreBlockingReason": 200}[field]
    text = "x" * (cut - 40) + " login refused for password '%s' " % secret + "y" * 500  # the cut 11 characters in
    properties = {"migrationStatus": "Failed", "migrationStatusDetails": {"restoreBlockingReason": text}}
    if field == "migrationFailureError":
        properties = {"migrationStatus": "Failed", "migrationFailureError": {"message": text}}
    said = redact(MigrationStatus.from_resource({"properties": properties}).describe())
    assert secret[:8] not in said, said


@on_every_airflow
@pytest.mark.parametrize("escape", [
    lambda s: json.dumps(s)[1:-1],
    lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    lambda s: repr(s)[1:-1],
    lambda s: s.replace("}", "}}"),
    lambda s: s.replace('"', '""'),
    lambda s: s.replace("'", "''"),
], ids=["json", "json-unicode", "python-repr", "odbc-braces", "ado-double-quotes", "sql-single-quotes"])
def test_redact_takes_out_a_remembered_secret_quoted_back_escaped(escape):
    """Was: a password with a quote, a backslash, a brace or a non-ASCII letter, quoted back escaped (in a
    request body, an SDK model's repr, a connection string), matched none of its remembered forms."""
    from migration_orchestration_lib.connections import redact

    secret = 'Pa"ss\\w}rd\'é-%s' % secrets.token_hex(4)
    ConnectionSecret("mssql_source_sql01", "sql01", None, "svc", secret)  # remembered on creation
    assert escape(secret) != secret
    assert redact("refused: the value %s was not accepted" % escape(secret)) == "refused: the value *** was not accepted"


@on_every_airflow
@pytest.mark.parametrize("encode", [
    lambda s: base64.b64encode(s.encode()).decode(),
    lambda s: base64.b64encode(("body=" + s).encode()).decode(),
    lambda s: base64.urlsafe_b64encode(('{"accountKey": "%s", "n": 1}' % s).encode()).decode(),
], ids=["base64", "base64-offset-2", "urlsafe-base64-in-json"])
def test_redact_takes_out_a_secret_a_server_echoes_encoded(encode):
    """Was: a request body a server echoed base64-encoded in its error (a blob, a token) kept the secret."""
    from migration_orchestration_lib.connections import redact

    found = Canaries()
    found.replace(ConnectionSecret("share", "fs01", None, "svc", None))  # remembered on creation
    text = "refused: request %s was not accepted" % encode(found.of("share"))
    assert leaks(found, {"an event row": text}), "the check must see the echo"
    assert not leaks(found, {"an event row": redact(text)}), redact(text)
    assert redact(text).startswith("refused: request ") and redact(text).endswith(" was not accepted")



@on_every_airflow
def test_every_logger_of_the_package_takes_secrets_out(caplog):
    """Was: `dms_gateway` logged DMS's answer to a create as it came, with a server's error text quoting the
    source login's password (seen through Data Factory, where the create happens on a later poke)."""
    import importlib
    import importlib.util
    import pkgutil

    import migration_orchestration_lib

    for module in pkgutil.iter_modules(migration_orchestration_lib.__path__):
        # The Kubernetes host's API server alone imports entra_sign_in, and only it has FAB 3 (not Data Factory's 2.6.3).
        if module.name == "entra_sign_in" and importlib.util.find_spec("airflow.providers.fab") is None:
            continue
        importlib.import_module("migration_orchestration_lib." + module.name)
    names = [name for name in logging.root.manager.loggerDict if name.startswith("migration_orchestration_lib.")]
    assert "migration_orchestration_lib.dms_gateway" in names, names
    found = Canaries()
    found.replace(ConnectionSecret("share", "fs01", None, "svc", None))  # remembered on creation
    with caplog.at_level(logging.INFO):
        for name in names:
            logging.getLogger(name).info("refused (%s): %s", "Password=%s" % found.of("share"), found.of("share"))
    assert len(caplog.records) == len(names)
    assert not leaks(found, {"a log line": caplog.text}), [name for name, record in zip(names, caplog.records) if found.of("share") in record.getMessage()]


class DriverError(Exception):
    """A database driver's error (its text quotes the connection string it was given)."""


def refused_login(ctx, fail):
    """A step reading its source login and meeting a driver that quotes it; `fail(text)` is the step's reaction."""
    login = ctx.services.connections.get(ctx.plan.source_of(ctx.database).connection_id)
    try:
        raise DriverError("Login failed. Server=%s;Password=%s;" % (login.host, login.password))
    except DriverError as driver:
        fail(str(driver))


def traceback_text(error):
    import traceback

    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def raise_unrelated(text):  # a step failing on its own terms while handling the driver's error
    raise StepFailure("the source server refused the login")


def raise_transient_from(text):
    raise ConnectionResetError("the source server closed the connection")


def raise_quoting(text):
    raise StepFailure("cannot connect: %s" % text)


@on_every_airflow
@pytest.mark.parametrize("fail, shown", [
    (raise_unrelated, "the source server refused the login"),
    (raise_transient_from, "the source server closed the connection"),
    (raise_quoting, "cannot connect: Login failed. Server="),
], ids=["step-failure-while-handling", "other-error-while-handling", "step-failure-quoting"])
def test_a_failed_task_raises_no_secret_in_its_exception_chain(rehearsal_world, canaries, fail, shown):
    """What Airflow logs with the traceback of a failed task: the error and every exception in its chain.
    Was: an error raised while handling a driver's error quoting the password carried it in its chain,
    for Airflow to log (no masker knows a connection string's password it never handed out)."""
    from task_driver import _TaskInstance

    plan, dag, world = setup(rehearsal_world)
    task = dag.get_task("db.preflight")
    task.step = lambda ctx: refused_login(ctx, fail)
    with pytest.raises(BaseException) as raised:
        task.execute({"ti": _TaskInstance({}, task.task_id, 1, 0), "run_id": "r", "task_reschedule_count": 0})

    text = traceback_text(raised.value)
    assert shown in text, text
    assert not leaks(canaries, {"a task's traceback": text}), text


@on_every_airflow
def test_a_step_failure_built_from_a_server_s_text_is_redacted():
    found = Canaries()
    found.replace(ConnectionSecret("share", "fs01", None, "svc", None))  # remembered on creation
    assert str(StepFailure("refused: %s" % found.of("share"))) == "refused: ***"


def test_hitl_await_cutover_shows_and_raises_no_secret(rehearsal_world, canaries, monkeypatch):
    """Channel hitl (Airflow >= 3.1): the gate's wait message, which the operator logs through Airflow's
    own logger, and its failure. Was: an Azure error waited out was logged as it came, and a failure
    was raised as it came."""
    from migration_orchestration_lib import cutover_steps
    from migration_orchestration_lib.airflow_compat import utc_now
    from migration_orchestration_lib.cutover_hitl import StepGate
    from migration_orchestration_lib.dms_gateway import DmsOperationFailed, DmsUnavailable
    from migration_orchestration_lib.settings import Timing
    from task_driver import _TaskInstance

    plan, dag, world = setup(rehearsal_world, mode="online", cutover=APPROVED_CUTOVER)
    gate = StepGate(plan, "db", Timing.for_environment({"MIGRATION_DRY_RUN": "1"}))
    context = {"ti": _TaskInstance({}, "db.await_cutover", 1, 0), "run_id": "r", "task_reschedule_count": 0}
    secret = canaries.of(plan.source_of(plan.database("db")).connection_id)
    for error in (DmsUnavailable("ARM answered 503: retry %s" % secret), DmsOperationFailed("refused")):
        error.__context__ = DriverError("Password=%s" % secret)

        def fail(ctx, error=error):
            ctx.services.connections.get(plan.source_of(ctx.database).connection_id)
            raise error

        monkeypatch.setattr(cutover_steps, "await_cutover", fail)
        try:
            shown = gate.decide(context, utc_now()).message
        except BaseException as raised:
            shown = traceback_text(raised)
        assert "ARM answered 503: retry ***" in shown or "refused" in shown, shown
        assert not leaks(canaries, {"what the operator logs": shown}), shown


def test_the_log_analytics_writer_uploads_and_logs_no_secret(monkeypatch, caplog):
    """The real writer (Logs Ingestion) gets every row from `build_event_row`, which redacts the message;
    an upload refused with the row quoted in its error is logged redacted too."""
    import azure.monitor.ingestion

    from migration_orchestration_lib.operators import write_event

    found = Canaries()
    secret = found.of("mssql_source_sql01")
    found.replace(ConnectionSecret("mssql_source_sql01", "sql01", None, "svc", None))  # remembered on reading
    uploaded = []

    class RefusingClient:
        def __init__(self, **settings):
            pass

        def upload(self, rule_id, stream_name, logs, **within):
            uploaded.extend(logs)
            raise ValueError("rejected rows %s" % json.dumps(logs))

    monkeypatch.setattr(azure.monitor.ingestion, "LogsIngestionClient", RefusingClient)
    monkeypatch.setenv("MIGRATION_EVENTS_ENDPOINT", "https://dce.example.ingest.monitor.azure.com")
    monkeypatch.setenv("MIGRATION_EVENTS_RULE_ID", "dcr-00000000000000000000000000000000")
    monkeypatch.setattr("migration_orchestration_lib.services._credential", lambda: object())
    with caplog.at_level(logging.INFO):
        write_event(run_id="r", plan_name="p", database="db", phase="start_migration", status="Failed", duration_seconds=1.0,
                    message="DMS refused: login with %s" % secret, target_kind="SqlMi", migration_operation_id=None)

    assert [row["Message"] for row in uploaded] == ["DMS refused: login with ***"]
    assert "Could not write migration event" in caplog.text
    assert not leaks(found, {"an uploaded row": json.dumps(uploaded), "a log line": caplog.text}), caplog.text


def test_a_secret_read_again_is_given_to_airflow_s_masker_once(monkeypatch):
    """Every connection read remembers its password; on Airflow 3 each masker call is also a message
    to the supervisor, so only forms new to this process go to Airflow's masker."""
    from migration_orchestration_lib import airflow_compat

    masked = []
    monkeypatch.setattr(airflow_compat, "mask_secret", masked.append)
    found = Canaries()
    for _ in range(3):
        found.replace(ConnectionSecret("share", "fs01", None, "svc", None))
    assert found.of("share") in masked and len(masked) == len(set(masked)), masked
