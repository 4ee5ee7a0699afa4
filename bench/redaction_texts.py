"""Texts for `connections.redact`'s benchmark and differential fuzz (bench/redaction_bench.py, bench/redaction_fuzz.py).

`realistic_mix()`: what the DAG redacts day to day: its own event texts, DMS's error messages, ODBC errors, Azure
errors, few of which hold a secret. `fuzz_text(rng)`: a text of one to four pieces, each a shape `redact` reads (a
query, `key=`, `key:`, YAML, a flag, sqlcmd's and az's short flags, PowerShell, XML, JSON and JSON-escaped, a repr,
prose), a random secret in most, and the secrets it holds. `load_redaction(source)`: `connections.py` (from a file or
a git revision) as a module of its own, for old-versus-new comparisons.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAGS = os.path.join(REPO, "dags")
CONNECTIONS = "dags/migration_orchestration_lib/connections.py"
if DAGS not in sys.path:
    sys.path.insert(0, DAGS)


def load_redaction(source: str, name: str) -> types.ModuleType:
    """`connections.py` as a module named `name`: `source` is a path, or `git:<revision>` (that revision's file)."""
    if source.startswith("git:"):
        code = subprocess.run(["git", "-C", REPO, "show", "%s:%s" % (source[4:], CONNECTIONS)], check=True,
                              stdout=subprocess.PIPE).stdout.decode("utf-8")
    else:
        with open(source, encoding="utf-8") as file:
            code = file.read()
    module = types.ModuleType(name)
    module.__file__ = "<%s>" % source
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(code, module.__file__, "exec"), module.__dict__)
    return module


# --- a realistic mix -------------------------------------------------------------------------------------------------

DAG_EVENTS = [
    "Sales: migration to sqlmi-prod/Sales started (online, DMS dms-prod)",
    "Sales: full backup restored, 3 log backups applied, last LSN 42000000012345600001",
    "Sales: no window can start its cutover, so await_cutover stops waiting and fails. It froze nothing; add a window "
    "to the plan (cutover.windows) and deploy it, then run again",
    "Sales: asking alice@contoso.com (awaiting approval)",
    "Orders: cutover admitted at 2026-12-05T02:00:00Z; replication lag 0 s, pending log backups 0",
    "Orders: rolled back: the target database Orders_new was dropped; the source stays live and writable",
    "plan prod-wave-3: 12 databases on 3 source servers, 2 windows",
    "poke 7 of try 2: migration InProgress (LogShippingInProgress), 1.2 GB of 40 GB copied",
]
DMS_ERRORS = [
    "Migration failed: ErrorCode: 'FileShareAccessDenied', ErrorMessage: 'Access to the path \\\\fs01\\backups\\Sales "
    "is denied. Check that the account NT SERVICE\\MSSQLSERVER has read access.'",
    '{"error": {"code": "SqlMigrationServiceNotOnline", "message": "The Database Migration Service dms-prod is not '
    'online. Register the self-hosted integration runtime with its authentication key.", "target": null}}',
    "The operation could not be completed: (InvalidParameter) The value of properties.sourceSqlConnection.password "
    "is not valid. Status code: 400. Request id: 7a1c2d3e-0000-4000-8000-123456789abc",
    "LogShippingInProgress: Restoring log backup Sales_LOG_20261205_0215.trn (backup set 18, LSN 42000000012345600001 "
    "to 42000000012399900001)",
    "HTTP 429: Too many requests. Retry after 17 seconds. x-ms-request-id: 1f2e3d4c-aaaa-bbbb-cccc-ddddeeeeffff",
    "GET https://management.azure.com/subscriptions/s1/resourceGroups/rg/providers/Microsoft.DataMigration/"
    "sqlMigrationServices/dms-prod?api-version=2022-03-30-preview failed: (503) Service Unavailable",
]
ODBC_ERRORS = [
    "pyodbc.OperationalError: ('08001', '[08001] [Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error code "
    "0x2749 (10057) (SQLDriverConnect)')",
    "pyodbc.InterfaceError: ('28000', \"[28000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for "
    "user 'svc'. (18456) (SQLDriverConnect)\")",
    "Login failed for user 'svc'. Reason: Password did not match that for the login provided. [CLIENT: 10.0.0.4]",
    "pyodbc.connect('Server=tcp:sql01.database.windows.net,1433;Database=Sales;UID=svc;PWD=Str0ng!Pass;Encrypt=yes', "
    "timeout=30) failed: Login timeout expired",
    "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL routines::certificate verify failed:"
    "unable to get local issuer certificate] (-1) (SQLDriverConnect)",
]
WITH_SECRETS = [
    "az login --service-principal -u app -p Qx8~abc.def --tenant t1 failed: AADSTS7000215",
    "Command '['sqlcmd', '-S', 'sql01', '-U', 'sa', '-P', 'pa ss', '-Q', 'SELECT 1']' returned non-zero exit status 1.",
    "config error:\n  server: sql01\n  password: hunter2\n  user: sa",
    "POST https://login.microsoftonline.com/t/oauth2/v2.0/token failed: grant_type=client_credentials&client_id=app"
    "&client_secret=abc~def&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
    "$pw = ConvertTo-SecureString -String 'hunter2' -AsPlainText -Force",
    '<login><user>sa</user><password>hunter2</password></login>',
]


def realistic_mix():
    """The texts of one round: DAG events many times more often than errors, and a few holding a secret."""
    return DAG_EVENTS * 6 + DMS_ERRORS * 3 + ODBC_ERRORS * 3 + WITH_SECRETS + [
        json.dumps({"properties": {"migrationStatus": "Failed", "migrationFailureError": {"message": error}}})
        for error in DMS_ERRORS[:3]]


# --- shapes for the fuzz ---------------------------------------------------------------------------------------------

SECRET_CHARACTERS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%()*+,-./:<=>?@[]^_`{|}~&"
                     + "'\"" * 4 + " " * 4 + ",:;)}]." + "\\" * 2)
KEYS = ("password", "PWD", "Password", "adminPassword", "client_secret", "client-secret", "AccountKey", "token",
        "api_key", "x-api-key", "secret", "MSSQL_SA_PASSWORD", "sas_token", "PasswordExpiry", "user", "Server")
FLAGS = ("--password", "--client-secret", "--sas-token", "-Password", "-ClientSecret", "-P", "-p", "--value", "-String",
         "--admin-password", "--user", "-u")
COMMANDS = ("sqlcmd -S sql01 -U sa", "bcp Sales.dbo.T out t.dat -S sql01", "az login -u app", "az keyvault secret set -n x",
            "az webapp create -n app", "scp", "Invoke-Sqlcmd -ServerInstance sql01", "run.sh", "az sql server create -n s",
            "$pw = ConvertTo-SecureString", "az pipelines variable create --secret true")
PROSE = ("the password is wrong", "Use --password to set it", "token: refreshed at 10:00", "Reason: Password did not match",
         "ConvertTo-SecureString : Cannot bind argument to parameter 'String'", "Unable to obtain access token: expired",
         "Login failed for user 'svc'.", "see https://h/x?a=1&b=2", "Sales: asking alice", "a 'quoted' word", "x = 1; y = 2")
CONTINUATIONS = (" \\\n  ", " `\n  ", " \\\r\n ", " ")


def a_secret(rng, low=6, high=20):
    while True:
        secret = "".join(rng.choice(SECRET_CHARACTERS) for _ in range(rng.randint(low, high))).strip()
        if len(secret) >= 6:
            return secret


def _quoted(rng, secret):
    how = rng.randrange(8)
    if how == 0:
        return "'%s'" % secret.replace("'", "''")
    if how == 1:
        return '"%s"' % secret.replace('"', '""')
    if how == 2:
        return "{%s}" % secret.replace("}", "}}")
    if how == 3:  # a shell's pieces: 'a'"'"'b' or 'a'\''b'
        pieces = secret.split("'")
        return rng.choice(("'\"'\"'", "'\\''")).join("'%s'" % piece for piece in pieces)
    if how == 4:
        return json.dumps(secret)
    return "".join(secret.split()) if rng.random() < 0.5 else secret


NOT_SECRETS = {"PasswordExpiry", "user", "Server", "--user", "-u"}
KEY_SHAPES = {0, 1, 2, 3, 10, 11, 12, 13}
FLAG_SHAPES = {4, 5, 7, 15}


def _a_secret_there(shape, key, flag, command):
    """Whether `redact` is meant to blank the secret of a piece (as dags/README.md says), the piece alone read: under a
    key or flag named like a secret; a flag that holds one on its command's line only there (sqlcmd's -P, az's -p but
    on `az webapp create`, an az secret command's --value, ConvertTo-SecureString's -String)."""
    if shape in KEY_SHAPES:
        return key not in NOT_SECRETS
    if shape == 6:
        return command.startswith(("sqlcmd", "bcp"))
    if shape in FLAG_SHAPES:
        if shape == 7:
            command = command.split()[0]
        line_flags = {"-P": command.startswith(("sqlcmd", "bcp")),
                      "-p": command.startswith("az ") and not command.startswith("az webapp create"),
                      "--value": command.startswith("az ") and "secret" in command,
                      "-String": "ConvertTo-SecureString" in command}
        return line_flags.get(flag, flag not in NOT_SECRETS)
    return shape in (8, 9)


def _piece(rng, secret, key, flag, command):
    """(one shape holding `secret` (or prose, holding none) under `key` or `flag`, whether it is a secret there)."""
    shape = rng.randrange(16)
    return _shaped(rng, shape, secret, key, flag, command), _a_secret_there(shape, key, flag, command)


def _shaped(rng, shape, secret, key, flag, command):
    value = _quoted(rng, secret)
    if shape == 0:
        return "GET https://h/api?%s=%s&db=Sales failed" % (key, secret.replace("&", "%26").replace(" ", "+"))
    if shape == 1:
        return "Server=sql01;%s=%s;UID=sa" % (key, value)
    if shape == 2:
        return "%s: %s\n  user: sa" % (key, value)
    if shape == 3:
        return "db:\n  %s: |\n    %s\n  next: 1" % (key, secret)
    if shape == 4:
        return "%s %s %s --next x" % (command, flag, value)
    if shape == 5:
        return "%s%s%s %s" % (command, rng.choice(CONTINUATIONS), flag, value)
    if shape == 6:
        return "%s -P%s -d Sales" % (command, "".join(secret.split()))
    if shape == 7:
        return "Command %r returned non-zero exit status 1." % ([command.split()[0], flag, secret, "-d", "x"],)
    if shape == 8:
        return "ConvertTo-SecureString%s%s -AsPlainText -Force" % (rng.choice(CONTINUATIONS), value)
    if shape == 9:
        return "New-Thing -Password (%s | ConvertTo-SecureString -AsPlainText) -User sa" % value
    if shape == 10:
        return "<d:%s>%s</d:%s>" % (key, secret.replace("&", "&amp;").replace("<", "&lt;"), key)
    if shape == 11:
        return json.dumps({"error": {"message": "bad body %s" % json.dumps({key: secret}), "code": "X"}})
    if shape == 12:
        return "request %r" % {key: secret, "user": "sa"}
    if shape == 13:
        return json.dumps({"message": "Login failed: Server=a;%s=%s" % (key, value), "code": "X"})
    if shape == 14:
        return "%s %s" % (rng.choice(PROSE), rng.choice(PROSE))
    return "%s%s%s" % (rng.choice(PROSE), rng.choice(("\n", " ", "; ")), "%s %s %s" % (command, flag, value))


def fuzz_text(rng):
    """(a text of one to four pieces, the secrets in it: not those under a key or flag that holds none)."""
    secrets, pieces = [], []
    for _ in range(rng.randint(1, 4)):
        secret, key, flag, command = a_secret(rng), rng.choice(KEYS), rng.choice(FLAGS), rng.choice(COMMANDS)
        piece, a_secret_there = _piece(rng, secret, key, flag, command)
        pieces.append(piece)
        if a_secret_there:
            secrets.append(secret)
    return rng.choice(("\n", " ", "; ", "\n  ")).join(pieces), secrets


def leaked_runs(secret, text, redacted, run=4):
    """The runs of `run` characters of `secret` that survive in `redacted` and that the text holds outside the secret
    nowhere (a run the text's own words make is none)."""
    around = text.replace(secret, "\0")
    redacted = redacted.replace("***", "\0")
    return {secret[index:index + run] for index in range(len(secret) - run + 1)
            if secret[index:index + run] in redacted and secret[index:index + run] not in around}
