"""`connections.redact` on secrets the DAG never held (a connection string's bare value, a query's, a form body's),
as servers, drivers and SDKs quote them back: no run of the secret survives, whatever characters it holds."""
from __future__ import annotations

import json
import random
import string
import time
from urllib.parse import quote_plus

import pytest

from migration_orchestration_lib.connections import redact

# Redaction is the DAG's own code, the same on every Airflow: it runs on each Python the DAG runs on.
pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26]

LEAK_RUN = 4  # a run of the secret this long that survives is a leak

# Quotes, spaces, the characters that follow a closing quote and backslashes, many times more often than in random text.
SECRET_CHARACTERS = (string.ascii_letters + string.digits + "!#$%()*+,-./:<=>?@[]^_`{|}~&"
                     + "'\"" * 6 + " " * 8 + ",:)}]." * 2 + "\\" * 2)


def a_bare_secret(rng):
    """A value a connection string holds bare: no ';', no space at its ends, not opening with a brace or a quote."""
    while True:
        secret = "".join(rng.choice(SECRET_CHARACTERS) for _ in range(rng.randint(8, 24))).strip()
        if len(secret) >= 8 and secret[0] not in "{'\"":
            return secret


def connection_string(password, password_last):
    text = "Server=tcp:sql01.database.windows.net,1433;Database=Sales;UID=svc;PWD=%s" % password
    return text if password_last else text + ";Encrypt=yes"


# Texts quoting a connection string, as a driver, an SDK, Azure Resource Manager or a log line writes them.
QUOTING_TEXTS = {
    "pyodbc error (a tuple's repr)": lambda cs: "pyodbc.OperationalError: %r" % (
        ("08001", "[08001] [Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: timeout error (258) with %s" % cs),),
    "a call's repr": lambda cs: "pyodbc.connect(%r, timeout=30) failed: Login timeout expired" % cs,
    "a dict's repr": lambda cs: "Linked service properties %r were refused" % {"connectionString": cs, "connectVia": "ir-01"},
    "ARM error, a JSON member": lambda cs: json.dumps({"error": {"code": "BadRequest", "message": "Invalid linked service.",
                                                                 "details": [{"connectionString": cs, "type": "SqlServer"}]}}),
    "ARM error, compact JSON": lambda cs: json.dumps({"error": {"message": "Login failed: %s" % cs, "code": "UserError"}},
                                                     separators=(",", ":")),
    "ARM error quoting it in prose": lambda cs: json.dumps({"error": {
        "code": "InvalidParameter", "message": "The connection string '%s' is invalid. Check the server's name." % cs,
        "target": "properties.typeProperties.connectionString"}}),
    "a log line and a traceback": lambda cs: "ERROR copy failed, connection %s\n  File \"/x/run.py\", line 12, in run" % cs,
    "prose in double quotes": lambda cs: "Cannot connect using \"%s\": the login 'svc' failed (18456)." % cs,
    "prose in single quotes": lambda cs: "Cannot connect using '%s': the login 'svc' failed (18456)." % cs,
    "prose quoting it after a colon": lambda cs: "Invalid connection string: \"%s\" (at 12); login 'svc'" % cs,
    "prose quoting it after name=": lambda cs: "dsn='%s' rejected for user 'svc'. Check the server's name." % cs,
}
FORM_BODY = ("POST https://login.microsoftonline.com/t/oauth2/v2.0/token failed: grant_type=client_credentials&client_id=app"
             "&client_secret=%s&scope=https%%3A%%2F%%2Fx%%2F.default")

LOGIN_REPR = "SqlLogin(user='svc', password=%r, port=1433) refused"


def leaked(secret, text_without_it, redacted):
    """The runs of `secret` in `redacted` that are not in the text around it (nor made with the *** put in its place)."""
    runs = {secret[index:index + LEAK_RUN] for index in range(len(secret) - LEAK_RUN + 1)}
    redacted = redacted.replace("***", "\0")
    return sorted(run for run in runs if run in redacted and run not in text_without_it)


def texts_quoting(secret):
    """(what quotes it, the text, the text with the secret as ***)."""
    for name, write in QUOTING_TEXTS.items():
        for password_last in (False, True):
            yield (name, write(connection_string(secret, password_last)), write(connection_string("***", password_last)))
    yield ("a dataclass's repr", LOGIN_REPR % secret, LOGIN_REPR % "***")
    yield ("a form body", FORM_BODY % quote_plus(secret), FORM_BODY % "***")
    if not any(character in secret for character in " &#"):  # one a form body can hold unencoded
        yield ("a form body, unencoded", FORM_BODY % secret, FORM_BODY % "***")


def test_no_run_of_a_bare_secret_survives_the_texts_that_quote_it():
    """2,000 random bare values (quotes, spaces and closing punctuation many times more often than in random text) in
    each text. Was: a quote in the value followed by a space or `,` `:` `)` `}` `]` read as closing the text that
    quotes it, and the value's rest was kept (182 of these values leaked, in 3,756 texts; 70 of 20,000 uniformly
    random printable values); a value a repr quotes (`password='...'`) kept its rest after a quote escaped by a
    backslash inside it (441 of them)."""
    rng = random.Random(45)
    leaks = []
    for _ in range(2000):
        secret = a_bare_secret(rng)
        for name, text, text_without_it in texts_quoting(secret):
            runs = leaked(secret, text_without_it, redact(text))
            if runs:
                leaks.append((name, secret, runs))
    assert not leaks, "%d leaks, the first: %r" % (len(leaks), leaks[:5])


# (a text quoting a secret the DAG never held, what reaches an event)
VALUES = [
    ("a quote and a space inside, in prose", "Login failed. Password=x' is wrong, try again",
     "Login failed. Password=***"),
    ("a quote and a space inside, mid-string", "Server=sql01;Password=ab' cd;UID=sa", "Server=sql01;Password=***;UID=sa"),
    ("a quote and a space inside, in JSON", '{"message": "Login failed: Server=a;Password=ab\' cd", "code": "X"}',
     '{"message": "Login failed: Server=a;Password=***", "code": "X"}'),
    ("a quote and a space inside, in a repr", "pyodbc.connect(\"Server=a;PWD=ab' cd\", timeout=30) failed",
     "pyodbc.connect(\"Server=a;PWD=***\", timeout=30) failed"),
    ("the quote that encloses it in prose, inside", "using 'Server=a;PWD=ab' cd': login 'svc' failed",
     "using 'Server=a;PWD=***' failed"),
    ("an escaped quote opening it, not in JSON", 'ERROR Server=a;PWD=\\"x"3}^X_s', "ERROR Server=a;PWD=***"),
    ("a backslash ending it, in prose", 'using "Server=a;PWD=x"y\\": login \'svc\' failed', 'using "Server=a;PWD=***": login \'svc\' failed'),
    ("an escaped quote opening it in a JSON string, inside prose's quotes",
     '{"message": "The value \'Server=a;PWD=\\"a;bcd\\"\' is bad"}', '{"message": "The value \'Server=a;PWD=***\' is bad"}'),
    ("a quote and a quoted word inside, after name= in prose", "dsn='Server=a;PWD=ab' 'cdef' rejected for user 'svc'",
     "dsn='Server=a;PWD=***'"),
    ("a doubled quote inside, in prose", "using 'Server=a;PWD=k{''5  .X_': login failed", "using 'Server=a;PWD=***': login failed"),
    # (a quoted value, a quote inside it escaped by a backslash: a dataclass's or a call's repr)
    ("a quoted value, a quote escaped inside", "Connection(server='sql01', password='s3cr\\'et value', timeout=30)",
     "Connection(server='sql01', password='***', timeout=30)"),
    ("a double-quoted value, a quote escaped inside", 'Login(user="sa", password="pa\\"ss word")', 'Login(user="sa", password="***")'),
    # (an environment variable's)
    # (the quotes of a list quoted whole do not pair up: the words to the line's last quote go with the value)
    ("an environment variable in a command's repr",
     "Command '['docker', 'run', '-e', 'MSSQL_SA_PASSWORD=Str0ng!Pass', 'mssql']' returned non-zero exit status 125.",
     "Command '['docker', 'run', '-e', 'MSSQL_SA_PASSWORD=***' returned non-zero exit status 125."),
    ("an environment variable in a log line", "env: AZURE_CLIENT_SECRET=Qx8~abc.def AZURE_TENANT_ID=t1",
     "env: AZURE_CLIENT_SECRET=***"),
    # (a quoted key's value: PowerShell's hashtable)
    ("a quoted key's quoted value with ';' inside", '@{"Server"="sql01"; "Password"="pa;ss w0rd"; "User"="sa"}',
     '@{"Server"="sql01"; "Password"="***"; "User"="sa"}'),
    ("a quoted key's bare value", "'PWD' = s3cr3t, 'UID' = 'sa'", "'PWD' = ***"),
    # (a URL's password)
    ("a connection's URI", "cannot parse AIRFLOW_CONN_MSSQL_SOURCE='mssql://svc:S3cr%40t@sql01:1433/Sales?encrypt=yes'",
     "cannot parse AIRFLOW_CONN_MSSQL_SOURCE='mssql://svc:***@sql01:1433/Sales?encrypt=yes'"),
    ("a URL's password holding '@' unencoded", "broker amqp://guest:p@ss@rabbit:5672/vhost down",
     "broker amqp://guest:***@rabbit:5672/vhost down"),
    # (a JSON member whose name ends with a secret's: a request body Azure Resource Manager quotes back)
    ("a JSON member named ...Password",
     '{"properties": {"administratorLogin": "sa", "administratorLoginPassword": "Pa55 w0rd!", "version": "12.0"}}',
     '{"properties": {"administratorLogin": "sa", "administratorLoginPassword": "***", "version": "12.0"}}'),
    ("a repr's member named ...AccountKey", "{'storageAccountKey': 'k3y+abc==', 'container': 'backups'}",
     "{'storageAccountKey': '***', 'container': 'backups'}"),
    # (what the closing quote of the text quoting it keeps, as before)
    ("closed by a repr's quote", "connect('Server=sql01;PWD=pa\\'ss', timeout=30)", "connect('Server=sql01;PWD=***', timeout=30)"),
    ("closed by a JSON string's end", '{"error":{"message":"Server=a;Password=abc","code":"X"}}',
     '{"error":{"message":"Server=a;Password=***","code":"X"}}'),
    ("closed by prose's quote", "The connection string 'Server=a;Password=abc' is invalid. Check the server's name.",
     "The connection string 'Server=a;Password=***' is invalid. Check the server's name."),
    ("a query in quotes", "'https://h/api?password=abc' failed", "'https://h/api?password=***' failed"),
]


@pytest.mark.parametrize("text, redacted", [case[1:] for case in VALUES], ids=[case[0] for case in VALUES])
def test_redact_takes_out_a_value_whole(text, redacted):
    assert redact(text) == redacted


ADVERSARIAL_TEXTS = {
    "keys in prose quotes, each value with a quote and a space": "using '" + "PWD=a' b' " * 40000,
    "keys in a call's arguments": "(" + '"PWD=a", ' * 40000,
    "quotes of one kind opened, of the other closed and opened": "'(" * 50000 + '" ' * 50000 + "PWD=x",
    "a key and its quote on each of many lines": "x 'PWD=a' b'\n" * 30000,
    "a JSON string of escaped quotes never closed": '{"a": "' + 'PWD=\\"x ' * 40000,
    "one value among many quotes": "using 'PWD=" + "a' " * 120000,
    "a URL's password of many '@'": "x://u:" + "@" * 300000,
    "a scheme's characters, no scheme": "a." * 200000,
}


@pytest.mark.parametrize("text", ADVERSARIAL_TEXTS.values(), ids=ADVERSARIAL_TEXTS.keys())
def test_redact_finds_where_bare_values_end_in_linear_time(text):
    """Where a bare value ends depends on the quotes before its key and on the line after it: each is read once (a
    text of 300 to 400 kB in well under a second; read again for each key or each quote, minutes)."""
    started = time.monotonic()
    redact(text)
    assert time.monotonic() - started < 5
