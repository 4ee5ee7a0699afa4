"""`connections.redact` on secrets the DAG never held (a connection string's bare value, a query's, a form body's),
as servers, drivers and SDKs quote them back: no run of the secret survives, whatever characters it holds."""
from __future__ import annotations

import json
import random
import string
import time
from urllib.parse import quote_plus
from xml.sax.saxutils import escape, quoteattr

import pytest
import yaml

from migration_orchestration_lib.connections import redact

# Redaction is the DAG's own code (the standard library's `re` and `json`, no Airflow), the same on every Airflow: it
# runs on each Python the DAG runs on, 3.12 (Airflow 3.3.2, the whole suite) and 3.8 (airflow26), not on airflow210
# (Airflow 2.10.5's environment runs the same Python 3.12 as 3.3.2's, dags/airflow-environments.txt).
# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

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


# A connection string's secret key: its own, or one ending with a secret's name (an SDK's or a template's setting).
SECRET_KEYS = ("PWD", "Password", "adminPassword", "sqlAdminPwd", "storageAccountKey", "AZURE_CLIENT_SECRET")


def connection_string(password, password_last, key="PWD"):
    text = "Server=tcp:sql01.database.windows.net,1433;Database=Sales;UID=svc;%s=%s" % (key, password)
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
    # (the quote closing it is not told from the secret's own: the words after it to the line's end go with the value)
    "prose in single quotes, an unpaired quote after it": lambda cs: "Cannot connect using '%s': the login 'svc" % cs,
    "prose in double quotes, an unpaired quote after it": lambda cs: 'Cannot connect using "%s" for "svc. Retry.' % cs,
    "prose quoting it after a colon": lambda cs: "Invalid connection string: \"%s\" (at 12); login 'svc'" % cs,
    "prose quoting it after name=": lambda cs: "dsn='%s' rejected for user 'svc'. Check the server's name." % cs,
}
FORM_BODY = ("POST https://login.microsoftonline.com/t/oauth2/v2.0/token failed: grant_type=client_credentials&client_id=app"
             "&client_secret=%s&scope=https%%3A%%2F%%2Fx%%2F.default")

LOGIN_REPR = "SqlLogin(user='svc', password=%r, port=1433) refused"

# Texts holding a secret under a key named like one or ending so, `key: value` (YAML, a printed mapping, JSON, a repr)
# or `key=value`: (what holds it, how the text writes it).
KEYED_TEXTS = {
    "YAML, a bare value": lambda s: "database:\n  server: sql01\n  password: %s\n  user: sa" % s,
    "YAML, a double-quoted value": lambda s: "Password:  %s\nUser: sa" % json.dumps(s),
    "YAML, a single-quoted value": lambda s: "client_secret: '%s'\nclient_id: app" % s.replace("'", "''"),
    "YAML, a block scalar": lambda s: "database:\n  password: |-\n    %s\n    %s\n\n  user: sa" % (s[:6], s[6:]),
    "YAML, a folded block scalar in a list": lambda s: "- name: sql01\n  adminPassword: >  # rotated\n\n      %s\n- name: x" % s,
    "YAML, a plain value folded onto more lines": lambda s: "db:\n  password: %s\n    %s\n  user: sa" % (s[:6], s[6:]),
    "YAML, a tagged block scalar": lambda s: "password: !!str |\n  %s\nuser: sa" % s,
    "YAML, a value below its key's comment": lambda s: "db:\n  adminPassword:  # rotated monthly\n    %s\n  user: sa" % s,
    "YAML, an anchored value below its key": lambda s: "client_secret: &secret\n  %s\nclient_id: app" % s,
    "a printed mapping": lambda s: "Name: stbackups\nAccountKey: %s\nContainer: backups" % s,
    "a log line": lambda s: "INFO settings loaded, adminPassword: %s" % s,
    "a JSON body": lambda s: "refused %s" % json.dumps({"user": "sa", "password": s, "n": 1}),
    "a compact JSON body": lambda s: json.dumps({"clientSecret": s, "tenant": "t1"}, separators=(",", ":")),
    "a JSON body in a JSON string": lambda s: json.dumps({"error": {"message": "bad body %s" % json.dumps({"adminPassword": s}),
                                                                    "code": "X"}}),
    "a dict's repr": lambda s: "request %r" % {"password": s, "user": "sa"},
    "a dict's repr in a JSON string": lambda s: json.dumps({"message": "request %r" % {"sqlAdminPwd": s}}),
    "key: value in a JSON string": lambda s: json.dumps({"message": "config error: password: %s" % s, "code": "X"}),
    "key: value in prose quotes": lambda s: "Setting 'adminPassword: %s' is invalid for user 'svc'." % s,
    "an environment variable": lambda s: "DB_ADMIN_PASSWORD=%s\nDB_USER=sa" % s,
    "a query's camelCase key": lambda s: "GET https://h/api?adminPassword=%s&db=Sales failed" % quote_plus(s),
    # (a command line: a flag's argument, bare to the next space, or quoted in a list's repr, as subprocess's
    # CalledProcessError writes the command)
    "a command line's flag": lambda s: "az login --service-principal -u app --client-secret %s --tenant t1" % "".join(s.split()),
    "sqlcmd's -P": lambda s: "sqlcmd -S sql01 -U sa -P %s -d Sales -Q \"SELECT 1\"" % "".join(s.split()),
    "a command's repr": lambda s: "Command %r returned non-zero exit status 1." % (["sqlcmd", "-S", "sql01", "-P", s, "-d", "Sales"],),
    "sqlcmd's -P, its value attached": lambda s: "sqlcmd -S sql01 -U sa -P%s -d Sales" % "".join(s.split()),
    "a PowerShell parameter": lambda s: "Invoke-Sqlcmd -ServerInstance sql01 -Password %s -Query 'SELECT 1'" % "".join(s.split()),
    # (hyphenated keys, an HTTP header, a bare `secret`, `apiKey`, `api_key`, a YAML `token`)
    "a hyphenated key": lambda s: "auth:\n  client-secret: %s\n  client-id: app" % s,
    "an HTTP header": lambda s: "GET /v1/items HTTP/1.1\nx-api-key: %s\nHost: h" % s,
    "YAML's bare secret": lambda s: "webhook:\n  secret: %s\n  url: https://h" % s,
    "YAML's apiKey": lambda s: "- name: monitor\n  apiKey: %s\n  site: eu" % s,
    "an environment variable's api_key": lambda s: "API_KEY=%s\nREGION=eu" % s,
    "YAML's token": lambda s: "registry:\n  token: %s\n  user: sa" % s,
    # (XML: an element's text, escaped as XML escapes it; an attribute)
    "an XML element": lambda s: "<connection><user>sa</user><Password>%s</Password></connection>" % escape(s),
    "an XML attribute": lambda s: "<add name=\"src\" password=%s user=\"sa\"/>" % quoteattr(s),
}
# The keyed texts whose bare value runs to its line's end (a block scalar's, to its block's): a ';' in it is the secret's.
TO_THE_LINE_END = {"YAML, a bare value", "YAML, a block scalar", "YAML, a folded block scalar in a list", "a printed mapping",
                   "a log line", "key: value in a JSON string", "YAML, a tagged block scalar",
                   "YAML, a plain value folded onto more lines", "YAML, a value below its key's comment", "YAML, an anchored value below its key",
                   "a hyphenated key", "an HTTP header", "YAML's bare secret", "YAML's apiKey", "YAML's token"}


def leaked(secret, text_without_it, redacted):
    """The runs of `secret` in `redacted` that are not in the text around it (nor made with the *** put in its place)."""
    runs = {secret[index:index + LEAK_RUN] for index in range(len(secret) - LEAK_RUN + 1)}
    redacted = redacted.replace("***", "\0")
    return sorted(run for run in runs if run in redacted and run not in text_without_it)


def texts_quoting(secret, key="PWD"):
    """(what quotes it, the text, the text with the secret as ***)."""
    for name, write in QUOTING_TEXTS.items():
        for password_last in (False, True):
            yield (name, write(connection_string(secret, password_last, key)),
                   write(connection_string("***", password_last, key)))
    yield ("a dataclass's repr", LOGIN_REPR % secret, LOGIN_REPR % "***")
    yield ("a form body", FORM_BODY % quote_plus(secret), FORM_BODY % "***")
    if not any(character in secret for character in " &#"):  # one a form body can hold unencoded
        yield ("a form body, unencoded", FORM_BODY % secret, FORM_BODY % "***")


def test_no_run_of_a_bare_secret_survives_the_texts_that_quote_it():
    """2,000 random bare values (quotes, spaces and closing punctuation many times more often than in random text) in
    each text, the connection string's key each of `SECRET_KEYS` in turn (was: a key ending with a secret's name after a
    letter, `adminPassword=`, was none: 25,962 of the 52,000 texts leaked). Was: a quote in the value followed by a
    space or `,` `:` `)` `}` `]` read as closing the text that quotes it, and the value's rest was kept (182 of these
    values leaked, in 3,756 texts; 70 of 20,000 uniformly random printable values); a value a repr quotes
    (`password='...'`) kept its rest after a quote escaped by a backslash inside it (441 of them)."""
    rng = random.Random(45)
    leaks = []
    for index in range(2000):
        secret = a_bare_secret(rng)
        for name, text, text_without_it in texts_quoting(secret, SECRET_KEYS[index % len(SECRET_KEYS)]):
            runs = leaked(secret, text_without_it, redact(text))
            if runs:
                leaks.append((name, secret, runs))
    assert not leaks, "%d leaks, the first: %r" % (len(leaks), leaks[:5])


def test_no_run_of_a_secret_survives_a_key_named_like_a_secret():
    """2,000 random values (those of `test_no_run_of_a_bare_secret_survives_the_texts_that_quote_it`; a `;` in those to
    their line's end) under a key named like a secret or ending so, `key: value` or `key=value` (YAML, a printed
    mapping, JSON, a repr, an environment variable, a query). Was (21,851 of the 32,000 texts leaked): `key: value`
    was no key (YAML, a printed mapping, a JSON member inside a JSON string), nor a key ending with a secret's name
    after a letter (`adminPassword=`); a quoted value in a JSON string kept its rest after a quote it escaped, a
    single-quoted one after a backslash before a doubled quote (YAML's `'a\\''b'`); a YAML block scalar's lines were
    kept (`password: |`: only its header was a value). Was (19,965 of the 22,000 texts of the shapes below `a query's
    camelCase key` leaked): a flag's argument (`--client-secret x`, sqlcmd's `-P x`, a command's repr), a hyphenated
    key (`client-secret:`, `x-api-key:`), a bare `secret:`, `apiKey:`, `API_KEY=` or YAML's `token:`, an XML element
    were no keys. Was (3,913 of 4,000 texts leaked): sqlcmd's `-Px`, its value attached, and PowerShell's `-Password x` were no keys."""
    rng = random.Random(46)
    leaks = []
    for _ in range(2000):
        secret = a_bare_secret(rng)
        for name, write in KEYED_TEXTS.items():
            value = secret[:4] + ";" + secret[4:] if name in TO_THE_LINE_END else secret
            runs = leaked(value, write("***"), redact(write(value)))
            if runs:
                leaks.append((name, value, runs))
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
    # (`key: value`: YAML, a printed mapping; its bare value to the line's end)
    ("YAML's bare value", "database:\n  password: hunter2\n  user: sa", "database:\n  password: ***\n  user: sa"),
    ("YAML's quoted value", 'Password:  "x y"\nUser: sa', 'Password:  "***"\nUser: sa'),
    ("YAML's client_secret", "client_secret: abc~def.ghi\nclient_id: app", "client_secret: ***\nclient_id: app"),
    ("YAML's block scalar", "db:\n  password: |\n    hunter2\n    more\n\n  user: sa", "db:\n  password: ***\n\n  user: sa"),
    ("YAML's folded block scalar in a list", "- adminPassword: >-  # the admin's\r\n    hunter 2\r\n- next: 1",
     "- adminPassword: ***\r\n- next: 1"),
    ("YAML's plain value folded onto more lines (PyYAML's safe_dump of a passphrase)",
     yaml.safe_dump({"db": {"password": "correct horse battery staple " * 3 + "end", "user": "sa"}}),
     "db:\n  password: ***\n  user: sa\n"),
    ("a quoted value cut short in a YAML value's lines, to the end as ever", "password: |\n  PWD='ab\ncd ef",
     "password: ***'***"),
    ("YAML's value below its key's comment", "password: # rotated\n  hunter2\nuser: sa", "password: ***\nuser: sa"),
    ("YAML's tagged block scalar", "password: !!str |-\n  hunter2\nuser: sa", "password: ***\nuser: sa"),
    ("YAML's anchored value below its key", "db:\n  password: &pw\n    hunter2\n  user: sa", "db:\n  password: ***\n  user: sa"),
    ("a printed mapping's AccountKey", "  Name: stbackups\n  AccountKey: k3y+ab;c==\n  Container: backups",
     "  Name: stbackups\n  AccountKey: ***\n  Container: backups"),
    ("a flow mapping's value, to the line's end", "settings {password: hunter2, user: sa}\nnext", "settings {password: ***\nnext"),
    ("a JSON member inside a JSON string", '{"error": {"message": "bad body {\\"password\\": \\"x y\\", \\"n\\": 1}"}}',
     '{"error": {"message": "bad body {\\"password\\": ***, \\"n\\": 1}"}}'),
    ("a JSON member inside a JSON string, a quote inside", json.dumps({"message": "bad body %s" % json.dumps({"password": 'a" b'})}),
     '{"message": "bad body {\\"password\\": ***}"}'),
    ("a repr's member inside a JSON string, a quote inside", json.dumps({"message": "request %r" % {"password": "a'\" b"}}),
     '{"message": "request {\'password\': \'***\'}"}'),
    ("YAML's single-quoted value, a backslash before a doubled quote", "client_secret: 'ab\\''cd ef'\nclient_id: app",
     "client_secret: '***'\nclient_id: app"),
    ("key: value in a JSON string", '{"message": "config error: password: ab;c d", "code": "X"}',
     '{"message": "config error: password: ***", "code": "X"}'),
    # (a key ending with a secret's name: camelCase, an SDK's or a template's setting)
    ("a camelCase key", "Server=sql01;adminPassword=hunter2;UID=sa", "Server=sql01;adminPassword=***;UID=sa"),
    ("a compound key ending with Pwd", "deploy sqlAdminPwd=hunter2", "deploy sqlAdminPwd=***"),
    ("a camelCase key, colon", "adminPassword: hunter2", "adminPassword: ***"),
    ("a query's camelCase key", "GET https://h/api?adminPassword=p%40ss&db=Sales failed",
     "GET https://h/api?adminPassword=***&db=Sales failed"),
    # (a command line: a flag's argument to the next space, quoted whole; sqlcmd's and bcp's -P)
    ("a flag's argument", "run.sh --password hunter2 --user sa", "run.sh --password *** --user sa"),
    ("a flag's argument after =", "run.sh --password=hunter2 --user sa", "run.sh --password=***"),
    ("a flag's quoted argument", "run.sh --admin-password 'pa ss' --user sa", "run.sh --admin-password '***' --user sa"),
    ("a hyphenated flag", "az login --service-principal -u app --client-secret Qx8~abc --tenant t1",
     "az login --service-principal -u app --client-secret *** --tenant t1"),
    ("a SAS token's flag", "azcopy copy x y --sas-token sv=2022&sig=abc --recursive", "azcopy copy x y --sas-token *** --recursive"),
    ("sqlcmd's -P", "sqlcmd -S sql01 -U sa -P hunter2 -d Sales", "sqlcmd -S sql01 -U sa -P *** -d Sales"),
    ("bcp's -P", "bcp Sales.dbo.T out t.dat -S sql01 -U sa -P hunter2 -n", "bcp Sales.dbo.T out t.dat -S sql01 -U sa -P *** -n"),
    # (sqlcmd and bcp need no space between an option and its value: "Currently, sqlcmd does not require a space between
    # the command line option and the value"; PowerShell's parameters have one dash)
    ("sqlcmd's -P, its value attached", "sqlcmd -S sql01 -U sa -Phunter2 -d Sales", "sqlcmd -S sql01 -U sa -P*** -d Sales"),
    ("bcp's -P, its quoted value attached", 'bcp Sales.dbo.T out t.dat -S sql01 -U sa -P"pa ss" -n',
     'bcp Sales.dbo.T out t.dat -S sql01 -U sa -P"***" -n'),
    ("a PowerShell parameter", "Invoke-Sqlcmd -ServerInstance sql01 -Username sa -Password 'pa ss' -Query 'SELECT 1'",
     "Invoke-Sqlcmd -ServerInstance sql01 -Username sa -Password '***' -Query 'SELECT 1'"),
    ("a PowerShell parameter ending like a secret", "Connect-Thing -Server sql01 -ClientSecret hunter2 -Tenant t1",
     "Connect-Thing -Server sql01 -ClientSecret *** -Tenant t1"),
    ("a flag in a command's repr", "Command '['sqlcmd', '-S', 'sql01', '-P', 'pa ss', '-d', 'Sales']' returned non-zero exit status 1.",
     "Command '['sqlcmd', '-S', 'sql01', '-P', '***', '-d', 'Sales']' returned non-zero exit status 1."),
    ("a long flag in a JSON string's list", '{"message": "args [\\"--password\\", \\"pa ss\\"] refused"}',
     '{"message": "args [\\"--password\\", ***] refused"}'),
    # (hyphenated keys, an HTTP header)
    ("a hyphenated key, colon", "client-secret: hunter2\nclient-id: app", "client-secret: ***\nclient-id: app"),
    ("a hyphenated key, =", "client-secret=hunter2;client-id=app", "client-secret=***;client-id=app"),
    ("an API key's header", "x-api-key: hunter2\nHost: h", "x-api-key: ***\nHost: h"),
    # (bare keys: secret, apiKey, api_key; token where it is a key: at a line's start, quoted, after { , ; or as a flag)
    ("a bare secret", "secret: hunter2\nuser: sa", "secret: ***\nuser: sa"),
    ("an apiKey", "  apiKey: hunter2\n  site: eu", "  apiKey: ***\n  site: eu"),
    ("an api_key=", "API_KEY=hunter2\nREGION=eu", "API_KEY=***\nREGION=eu"),
    ("a query's api_key", "GET https://h/v1?api_key=hunter2&q=1 failed", "GET https://h/v1?api_key=***&q=1 failed"),
    ("YAML's token", "registry:\n  token: hunter2\n  user: sa", "registry:\n  token: ***\n  user: sa"),
    ("a YAML list's token", "- token: hunter2\n- user: sa", "- token: ***\n- user: sa"),
    ("a token header", "GET / HTTP/1.1\r\nX-Auth-Token: hunter2\r\nHost: h", "GET / HTTP/1.1\r\nX-Auth-Token: ***\r\nHost: h"),
    ("a flow mapping's token", "{user: sa, token: hunter2}", "{user: sa, token: ***"),
    ("a repr's token", "{'token': 'hunter2', 'user': 'sa'}", "{'token': '***', 'user': 'sa'}"),
    ("a token in a JSON string's YAML", '{"message": "bad config:\\n  token: hunter2"}', '{"message": "bad config:\\n  token: ***"}'),
    ("a token=", "GITHUB_TOKEN=hunter2\nnext", "GITHUB_TOKEN=***\nnext"),
    ("ARM's skiptoken, a query's key to its '&' (not the line's end: the reason after the URL stays)",
     "GET https://management.azure.com/x?api-version=1&$skiptoken=abc&top=5 failed: (500) Internal error",
     "GET https://management.azure.com/x?api-version=1&$skiptoken=***&top=5 failed: (500) Internal error"),
    # (XML)
    ("an XML element", "<login><user>sa</user><password>hunter2</password></login>",
     "<login><user>sa</user><password>***</password></login>"),
    ("an XML element, capitalized", "<Password>hunter2</Password>", "<Password>***</Password>"),
    ("an XML element with a namespace prefix", "<d:AdminPassword>pa ss</d:AdminPassword>", "<d:AdminPassword>***</d:AdminPassword>"),
    ("an XML attribute", '<add name="src" password="hunter2" user="sa"/>', '<add name="src" password="***" user="sa"/>'),
    # (a quoted value, prose after it)
    ("a quoted value, prose after it", 'password: "a b" was refused', 'password: "***" was refused'),
    # (a key with no value on its line: the next line is not its value, unless YAML reads it so)
    ("an empty PWD= at a line's end, then a key: value above", "password: a b\nPWD=\nuser: sa", "password: ***\nPWD=\nuser: sa"),
    ("an empty PWD= at a line's end, a value on the next line", "PWD=\npassword: hunter2", "PWD=\npassword: ***"),
    ("an empty PWD= at a block scalar line's end, then a block scalar", "password: |\n  abc PWD=\npassword: |\n  hunter2\nuser: sa",
     "password: ***\npassword: ***\nuser: sa"),
    ("a key: alone, its value on the lines below", "password:\n  hunter2\nuser: sa", "password:\n  ***\nuser: sa"),
    # (az's `-p` on an az line; the `--value` of an az command about a secret; PowerShell's ConvertTo-SecureString)
    ("az login's -p", "az login -u admin@contoso.com -p hunter2 --tenant t1", "az login -u admin@contoso.com -p *** --tenant t1"),
    ("az login's -p, its value attached", "az login -u app -phunter2", "az login -u app -p***"),
    ("az login's -p in a command's repr", "Command '['az', 'login', '-u', 'app', '-p', 'pa ss']' returned non-zero exit status 1.",
     "Command '['az', 'login', '-u', 'app', '-p', '***']' returned non-zero exit status 1."),
    ("az keyvault secret set's --value", "az keyvault secret set --vault-name kv --name sql-admin --value hunter2 --output none",
     "az keyvault secret set --vault-name kv --name sql-admin --value *** --output none"),
    ("az keyvault secret set's quoted --value=", "az keyvault secret set -n sql-admin --value='pa ss' --vault-name kv",
     "az keyvault secret set -n sql-admin --value='***' --vault-name kv"),
    ("a secret variable's --value, after it", "az pipelines variable create --name pw --value hunter2 --secret true",
     "az pipelines variable create --name pw --value *** --secret ***"),
    ("ConvertTo-SecureString's -String", "$pw = ConvertTo-SecureString -String 'hunter2' -AsPlainText -Force",
     "$pw = ConvertTo-SecureString -String '***' -AsPlainText -Force"),
    ("ConvertTo-SecureString's value, its switches first", 'ConvertTo-SecureString -AsPlainText -Force "pa ss"',
     'ConvertTo-SecureString -AsPlainText -Force "***"'),
    ("a PowerShell parameter's ConvertTo-SecureString",
     "Set-AzSqlServer -ServerName sql01 -SqlAdministratorPassword (ConvertTo-SecureString 'pa ss' -AsPlainText -Force)",
     "Set-AzSqlServer -ServerName sql01 -SqlAdministratorPassword (ConvertTo-SecureString '***' -AsPlainText -Force)"),
    ("a PowerShell parameter's ConvertTo-SecureString -String", "-Password (ConvertTo-SecureString -String hunter2 -AsPlainText)",
     "-Password (ConvertTo-SecureString -String *** -AsPlainText)"),
    # (a key that begins with -P or -p is a key where neither flag is one: was, `-PWD=x` kept where no sqlcmd runs)
    ("a key after a dash where no sqlcmd runs", "x -PWD=hunter2;UID=sa", "x -PWD=***;UID=sa"),
    ("a key after a dash on an az line", "az vm run-command invoke --scripts 'x -password: hunter2'", "az vm run-command invoke --scripts 'x -password: ***'"),
    ("a string piped to ConvertTo-SecureString", "$pw = 'it''s a secret' | ConvertTo-SecureString -AsPlainText -Force",
     "$pw = '***' | ConvertTo-SecureString -AsPlainText -Force"),
    ("a double-quoted string piped, quotes escaped inside", '$pw = "a""b `"c" |ConvertTo-SecureString -AsPlainText',
     '$pw = "***" |ConvertTo-SecureString -AsPlainText'),
    ("a bare word piped", "hunter2 | ConvertTo-SecureString -AsPlainText -Force", "*** | ConvertTo-SecureString -AsPlainText -Force"),
    # (a shell's quoted pieces; a line continued before a flag or its argument)
    ("a flag's argument quoted in pieces", """run.sh --password 'a'"'"'b c' --user sa""", "run.sh --password '***' --user sa"),
    ("sqlcmd's -P quoted in pieces", "sqlcmd -S sql01 -P 'it'\\''s' -d Sales", "sqlcmd -S sql01 -P '***' -d Sales"),
    ("a command quoted whole keeps its closing quote", """Command "run.sh --password 'x'" failed""",
     """Command "run.sh --password '***'" failed"""),
    ("az login continued before -p", "az login -u app \\\n  -p hunter2 --tenant t1", "az login -u app \\\n  -p *** --tenant t1"),
    ("sqlcmd continued before -P", "sqlcmd -S sql01 -U sa \\\r\n-P hunter2 -d Sales", "sqlcmd -S sql01 -U sa \\\r\n-P *** -d Sales"),
    ("ConvertTo-SecureString continued before its string", "ConvertTo-SecureString `\n  'hunter2' -AsPlainText",
     "ConvertTo-SecureString `\n  '***' -AsPlainText"),
    ("-Password continued before its argument", "New-Thing -Password `\n  hunter2 -User sa", "New-Thing -Password `\n  *** -User sa"),
    ("a string piped at a line's end", "$pw = 'hunter2' |\n  ConvertTo-SecureString -AsPlainText",
     "$pw = '***' |\n  ConvertTo-SecureString -AsPlainText"),
    ("a string piped from the line above", "$pw = 'hunter2' `\r\n| ConvertTo-SecureString", "$pw = '***' `\r\n| ConvertTo-SecureString"),
    # (what stays a secret by what follows it: a word no prose writes, a value at its line's end, a line below YAML reads
    # as more of it; az's -p where it is a password's)
    ("a flag's word at the line's end", "run.sh --password to", "run.sh --password ***"),
    ("a flag's word, a secret's word after it", "run.sh --password to h4ck3r", "run.sh --password *** h4ck3r"),
    ("token: prose, then a flag", "token: refreshed at 10:00 --password x", "token: ***"),
    ("token: prose, a line below YAML reads as more of it", "token: refreshed at\n  hunter2", "token: ***"),
    ("token: a word prose does not write", "token: hunter2 at 10:00", "token: ***"),
    ("token: prose's word, then a token's letters and digits", "- token: expired abc123def456ghi789", "- token: ***"),
    ("token: prose's word, then a dotted token", "token: expired eyJhbGci.eyJzdWIi.SflKxwRJ", "token: ***"),
    ("token: prose's word, then a token of letters only", "token: expired AbCdEfGhIjKlMnOpQrSt", "token: ***"),
    ("az's -p, a container registry's password", "az functionapp config container set -n fn -g rg -p hunter2",
     "az functionapp config container set -n fn -g rg -p ***"),
    ("az's -p, an SQL server's admin password", "az sql server create -n s -g rg -u sa -p hunter2",
     "az sql server create -n s -g rg -u sa -p ***"),
    ("a string piped in a PowerShell parameter", "New-Thing -Password ('pa ss' | ConvertTo-SecureString -AsPlainText -Force) -User sa",
     "New-Thing -Password ('***' | ConvertTo-SecureString -AsPlainText -Force) -User sa"),
]


@pytest.mark.airflow26
@pytest.mark.parametrize("text, redacted", [case[1:] for case in VALUES], ids=[case[0] for case in VALUES])
def test_redact_takes_out_a_value_whole(text, redacted):
    assert redact(text) == redacted


# Texts that only speak of passwords: an operator needs them whole (SQL Server's 18456 reasons; a key that does not end
# with a secret's name holds none: a file's path).
KEPT = [
    "Login failed for user 'svc'. Reason: Password did not match that for the login provided. [CLIENT: 10.0.0.4]",
    "Login failed for user 'svc'. Reason: The password of the account has expired. [CLIENT: 10.0.0.4]",
    "the password is wrong",
    "Key Vault secret 'sql-admin-password' was not found",
    "DB_PASSWORD_FILE=/run/secrets/db",
    "PasswordExpiry=2026-01-01",
    # (a key with no value on its line: the next line is not its value)
    "password:\nuser: sa",
    "PWD=\nServer=sql01",
    "password:",
    # (token in prose: azure-identity's, Airflow's and the SMTP provider's messages; names that do not end with it)
    "Unable to obtain access token: AADSTS7000215: Invalid client secret provided.",
    "silent authentication failed due to malformed refresh token: invalid_grant",
    "Invalid auth token: Signature has expired",
    "token_type: Bearer",
    # (-P is a port's flag where no sqlcmd or bcp runs on the line)
    "scp -P 2222 backup.bak host:/x",
    "scp -P2222 backup.bak host:/x",
    "az keyvault secret show --vault-name kv-prod --name sql-admin-password",
    "az sql db show -n Sales -s sql-prod -g rg-prod",
    "sqlcmd -S sql01 -i x.sql\nscp -P 2222 backup.bak host:/x",
    # (-p keeps times where no az runs on the line; --value is a setting's on an az line that is not about a secret;
    # -String is another command's where no ConvertTo-SecureString runs on the line)
    "scp -p backup.bak host:/x",
    "az account show\nscp -p backup.bak host:/x",
    "az appconfig kv set --name cfg --key color --value blue",
    "Select-Object -Property Name\nGet-Thing -String abc",
    # (prose: a flag's or ConvertTo-SecureString's word a word follows, one no secret is (shorter than 4 characters);
    # PowerShell's error record; `token:` then prose words only, to the line's end)
    "Use --password to set it, or --client-secret for an app.",
    "Use ConvertTo-SecureString to build the credential",
    "ConvertTo-SecureString : Cannot bind argument to parameter 'String' because it is an empty string.",
    "token: refreshed at 10:00",
    "token: expired 2 minutes ago, renewing",
    # (az's -p is the App Service plan's in `az webapp create`, `az functionapp create`, `az logicapp create`)
    "az webapp create -n app-prod -g rg-prod -p plan-prod",
    "az functionapp create -n fn-prod -g rg-prod \\\n  -p plan-prod -s stprod",
]


@pytest.mark.airflow26
@pytest.mark.parametrize("text", KEPT)
def test_redact_keeps_a_text_that_only_speaks_of_passwords(text):
    assert redact(text) == text


def test_a_bare_secret_key_before_a_key_vault_secrets_name_still_blanks_the_line():
    """`secret: <name>` cannot be told from `secret: <value>`, and a leak is worse than a blanked line: a bare `secret:`
    stays a key whatever follows it. No installed package (Airflow 3.3.2, its Azure provider, azure-keyvault-secrets,
    azure-identity, azure-core) writes a secret's name after `secret:`: Key Vault's backend logs `Secret %s not found`,
    Key Vault answers `A secret with (name/id) ... was not found`; but the Microsoft Graph hook logs
    `Client secret: %s`, the value itself (masked by Airflow's masker where one runs)."""
    assert redact("Error: secret: sql-admin-password not found in kv-prod; create it with az keyvault secret set "
                  "--vault-name kv-prod --name sql-admin-password") == "Error: secret: ***"
    assert redact("Client secret: hunter2\nAPI version: v1.0") == "Client secret: ***\nAPI version: v1.0"
    assert redact("Secret sql-admin-password not found: (SecretNotFound) A secret with (name/id) sql-admin-password was "
                  "not found in this key vault.") == ("Secret sql-admin-password not found: (SecretNotFound) A secret with "
                                                      "(name/id) sql-admin-password was not found in this key vault.")


# Command lines that hold a secret as an argument az or PowerShell reads: (what writes it, the text).
COMMAND_TEXTS = {
    "az login's -p": lambda s: "az login -u app -p %s --tenant t1" % "".join(s.split()),
    "az login's -p, its value attached": lambda s: "az login -u app -p%s" % "".join(s.split()),
    "az login's -p in a command's repr": lambda s: "Command %r returned non-zero exit status 1." % (
        ["az", "login", "-u", "app", "-p", s, "--tenant", "t1"],),
    "az keyvault secret set's --value": lambda s: "az keyvault secret set --vault-name kv --name n --value %s -o none" % "".join(s.split()),
    "az keyvault secret set's --value in a command's repr": lambda s: "Command %r returned non-zero exit status 1." % (
        ["az", "keyvault", "secret", "set", "--name", "n", "--value", s, "--vault-name", "kv"],),
    "ConvertTo-SecureString -String": lambda s: "$pw = ConvertTo-SecureString -String '%s' -AsPlainText -Force" % s.replace("'", "''"),
    "ConvertTo-SecureString's value in a parameter": lambda s: (
        "Set-AzSqlServer -ServerName sql01 -SqlAdministratorPassword (ConvertTo-SecureString '%s' -AsPlainText -Force)"
        % s.replace("'", "''")),
    "ConvertTo-SecureString's double-quoted value": lambda s: 'ConvertTo-SecureString "%s" -AsPlainText -Force' % s.replace('"', '""'),
    "a string piped to ConvertTo-SecureString": lambda s: "$pw = '%s' | ConvertTo-SecureString -AsPlainText -Force" % s.replace("'", "''"),
    "a string piped in a parameter": lambda s: (
        'New-AzSqlServer -Name sql01 -SqlAdministratorCredentials (New-Object PSCredential("sa", ("%s" | '
        'ConvertTo-SecureString -AsPlainText -Force)))' % s.replace('"', '""')),
}


def leaks_of_random_bare_secrets(writers, rng):
    """(what writes it, the secret, its runs left) for 2,000 random bare values each writer writes."""
    leaks = []
    for _ in range(2000):
        secret = a_bare_secret(rng)
        for name, write in writers.items():
            runs = leaked(secret, write("***"), redact(write(secret)))
            if runs:
                leaks.append((name, secret, runs))
    return leaks


def test_no_run_of_a_secret_survives_an_az_or_powershell_command():
    """2,000 random values (those of `test_no_run_of_a_bare_secret_survives_the_texts_that_quote_it`) as az's `-p` (on an
    az line: `az login -p x`, `-px`, a failed command's repr), the `--value` of `az keyvault secret set` or the string
    ConvertTo-SecureString reads (`-String 'x'`, `'x'`, in a parameter's `(ConvertTo-SecureString 'x' ...)`, piped to it:
    `'x' | ConvertTo-SecureString`). Was: none was a key (`-p` was one on sqlcmd's and bcp's lines only, as `-P`; a
    parameter's `(ConvertTo-SecureString` was its value, blanked, and the secret after it kept): 19,973 of the 20,000
    texts leaked."""
    leaks = leaks_of_random_bare_secrets(COMMAND_TEXTS, random.Random(48))
    assert not leaks, "%d leaks, the first: %r" % (len(leaks), leaks[:5])


def shell_quoted(secret, quote_inside):
    """`secret` as a shell quotes it in single quotes: a quote inside as `'"'"'` or `'\\''`."""
    return "'%s'" % secret.replace("'", quote_inside)


# Command lines whose secret argument a shell quotes in pieces, or that go on to the next line before it: (what writes
# it, the text).
SHELL_TEXTS = {
    "a flag's argument, a quote inside as '\"'\"'": lambda s: "run.sh --password %s --user sa" % shell_quoted(s, "'\"'\"'"),
    "sqlcmd's -P, a quote inside as '\\''": lambda s: "sqlcmd -S sql01 -U sa -P %s -d Sales" % shell_quoted(s, "'\\''"),
    "az login's -p, quoted in pieces": lambda s: "az login -u app -p %s --tenant t1" % shell_quoted(s + "'" + s[:3], "'\\''"),
    "--password=, quoted in pieces": lambda s: "run.sh --password=%s --user sa" % shell_quoted("'" + s, "'\"'\"'"),
    "az login continued before -p": lambda s: "az login -u app \\\n  -p %s --tenant t1" % "".join(s.split()),
    "sqlcmd continued before -P": lambda s: "sqlcmd -S sql01 -U sa \\\n-P %s -d Sales" % "".join(s.split()),
    "sqlcmd continued before -P, CRLF": lambda s: "sqlcmd -S sql01 -U sa \\\r\n  -P %s -d Sales" % "".join(s.split()),
    "a flag continued before its argument": lambda s: "run.sh --client-secret \\\n  %s --user sa" % shell_quoted(s, "'\\''"),
    "ConvertTo-SecureString continued before -String": lambda s: (
        "$pw = ConvertTo-SecureString `\n  -String '%s' -AsPlainText -Force" % s.replace("'", "''")),
    "ConvertTo-SecureString continued before its string": lambda s: (
        "$pw = ConvertTo-SecureString -AsPlainText `\n  -Force `\n  '%s'" % s.replace("'", "''")),
    "-Password continued before its argument": lambda s: "New-Thing -Name x -Password `\n  \"%s\" -User sa" % s.replace('"', '""'),
    "a string piped at a line's end": lambda s: "$pw = '%s' |\n  ConvertTo-SecureString -AsPlainText -Force" % s.replace("'", "''"),
    "a string piped after a backtick": lambda s: "$pw = '%s' `\n  | ConvertTo-SecureString -AsPlainText" % s.replace("'", "''"),
}


@pytest.mark.airflow26
def test_no_run_of_a_secret_survives_shell_quoting_or_a_continued_line():
    """2,000 random values (those of `test_no_run_of_a_bare_secret_survives_the_texts_that_quote_it`) as a flag's
    argument a shell quotes in pieces (`'a'"'"'b'`, `'a'\\''b'`), or after a line continued (bash's `\\`, PowerShell's
    backtick) before the flag or its argument, or piped to ConvertTo-SecureString from the line above. Was (22,507 of
    the 26,000 texts leaked): the argument's first piece was its value, the rest kept; a flag that holds a secret on its
    command's line only (`-P`, `-p`, `-String`) was none on the line the command went on to, a flag's argument on the
    next line was the continuation's `\\` or backtick, and a pipe to ConvertTo-SecureString was one on its line only."""
    leaks = leaks_of_random_bare_secrets(SHELL_TEXTS, random.Random(49))
    assert not leaks, "%d leaks, the first: %r" % (len(leaks), leaks[:5])


ADVERSARIAL_TEXTS = {
    "keys in prose quotes, each value with a quote and a space": "using '" + "PWD=a' b' " * 40000,
    "keys in a call's arguments": "(" + '"PWD=a", ' * 40000,
    "quotes of one kind opened, of the other closed and opened": "'(" * 50000 + '" ' * 50000 + "PWD=x",
    "a key and its quote on each of many lines": "x 'PWD=a' b'\n" * 30000,
    "a JSON string of escaped quotes never closed": '{"a": "' + 'PWD=\\"x ' * 40000,
    "one value among many quotes": "using 'PWD=" + "a' " * 120000,
    "a URL's password of many '@'": "x://u:" + "@" * 300000,
    "a scheme's characters, no scheme": "a." * 200000,
    "one word ending with a key's name many times": "Password" * 50000,
    "a long word after a query's '&'": "&" + "a" * 400000,
    "a quoted value of backslashed doubled quotes, cut short at a backslash": "PWD='" + "\\''" * 100000 + "\\",
    "the same in a JSON string": '{"a": "password: \'' + "\\\\''" * 80000 + "\\\\",
    "YAML block scalars' headers": "password: |\n" * 25000,
    "a YAML block scalar of many lines": "password: |\n" + "  x\n" * 100000,
    "YAML tags before a value": "password: " + "!a " * 100000 + "x",
    "YAML keys, a comment each": "password: # c\n" * 25000,
    "keys with colons and quotes in a JSON string": '{"a": "' + 'password: x\\" ' * 30000,
    "flags, each the argument of the one before": "--password " * 40000,
    "keys in one flag's argument": "--password " + "password:" * 40000,
    "flags in a list's repr": "'--password', " * 40000,
    "sqlcmd's -P many times": "sqlcmd " + "-P x " * 100000,
    "-P many times, no sqlcmd": "-P x " * 100000,
    "XML elements never closed": "<password>" * 50000,
    "token in prose many times": "a token: " * 50000,
    "one long word before token": "-" * 400000 + "token:",
    "az's -p many times": "az " + "-p x " * 100000,
    "-p many times, az on the line before": "az\n" + "-p x " * 100000,
    "--value many times on an az line about a secret": "az secret " + "--value x " * 60000,
    "--value many times, no secret on the line": "az " + "--value x " * 60000 + "\nsecret",
    "an az command about a secret on each of many lines": "az keyvault secret set --value x\n" * 20000,
    "ConvertTo-SecureString many times": "ConvertTo-SecureString " * 30000,
    "ConvertTo-SecureString's switches many times": "ConvertTo-SecureString" + " -Force" * 100000 + " -x",
    "parameters before ConvertTo-SecureString many times": "-Password (ConvertTo-SecureString " * 20000,
    "parameters before a parenthesis many times": "-Password (" * 60000,
    "strings piped to ConvertTo-SecureString many times": "'a' | ConvertTo-SecureString " * 20000,
    "doubled quotes piped to ConvertTo-SecureString": "''" * 200000 + "' | ConvertTo-SecureString",
    "a quote never opened before each pipe": "' | ConvertTo-SecureString " * 20000,
    "a long word piped": "a" * 400000 + "|ConvertTo-SecureString",
    "a flag's argument of many quoted pieces holding flags": "--password " + "'--password '" * 30000,
    "flags' arguments of pieces never closed": "--password 'a'\"" * 60000,
    "sqlcmd continued, then -P many times": "sqlcmd \\\n" + "-P x " * 100000,
    "continued flags many times": "az login \\\n" + "-p \\\n'a'' " * 40000,
    "continued ConvertTo-SecureString many times": "ConvertTo-SecureString `\n" * 50000,
    "pipes to ConvertTo-SecureString beginning lines many times": "'a' `\n| ConvertTo-SecureString " * 30000,
    "pipes at lines' ends many times": "|\n" * 200000 + "ConvertTo-SecureString",
}


@pytest.mark.airflow26
@pytest.mark.parametrize("text", ADVERSARIAL_TEXTS.values(), ids=ADVERSARIAL_TEXTS.keys())
def test_redact_finds_where_bare_values_end_in_linear_time(text):
    """Where a bare value ends depends on the quotes before its key and on the line after it: each is read once (a
    text of 300 to 400 kB in well under a second; read again for each key or each quote, minutes)."""
    started = time.process_time()  # CPU time: on a busy machine the clock also counts waiting for a core
    redact(text)
    assert time.process_time() - started < 5


@pytest.mark.airflow26
def test_the_dags_own_message_about_a_database_named_like_a_secrets_key_keeps_its_text():
    """The DAG's messages begin `<database>: ` (35 of them: `%s: no window can start its cutover ...`, `%s: asking ...`).
    A database of the plan whose name ends like a secret's key (`PaymentToken`, `AppSecret`, `PartnerApiKey`: 4211596
    made `token`, `secret` and `apiKey` keys) kept its name only, the operator's next step blanked. A name no plan holds
    stays a key, and so does a database named as a key word alone (`token`)."""
    from conftest import database_entry, plan_with_databases
    from migration_orchestration_lib.plan import parse_plan

    names = ["PaymentToken", "AppSecret", "PartnerApiKey", "token"]
    parse_plan(plan_with_databases([database_entry(name, name) for name in names]))
    advice = ("%s: no window can start its cutover, so await_cutover stops waiting and fails. It froze nothing; add a "
              "window to the plan (cutover.windows) and deploy it, then run again")
    for name in names[:3]:
        assert redact(advice % name) == advice % name
        assert redact("%s: asking alice@contoso.com (awaiting approval)" % name.lower()) == "%s: asking alice@contoso.com (awaiting approval)" % name.lower()
    assert redact(advice % "token") == "token: ***"
    assert redact("LedgerToken: hunter2\nAppSecret=hunter2") == "LedgerToken: ***\nAppSecret=***"
    assert redact("registry:\n  token: hunter2") == "registry:\n  token: ***"
