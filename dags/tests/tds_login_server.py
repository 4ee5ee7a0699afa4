"""A TDS endpoint that logs a client in over TLS and answers its SQL batches, for the tests of direct SQL's logins
(`test_sql_access_token_login.py`): an Entra ID token's (LOGIN7's FEDAUTH feature extension) and a SQL login's.

Independent of the drivers and of the DAG's code: it speaks MS-TDS (Microsoft, [MS-TDS] Tabular Data Stream Protocol,
its section numbers below) from the bytes on the wire. Per connection:

1. PRELOGIN (2.2.6.5): the client's options read (its ENCRYPTION and FEDAUTHREQUIRED); answered with encryption on and,
   where the client asked for federated authentication, FEDAUTHREQUIRED 0x01.
2. The TLS handshake inside PRELOGIN packets (3.2.5.1.4), with the certificate it was given; then TLS on the bare
   connection for everything after it (encryption on: 2.2.6.5, ENCRYPT_ON).
3. LOGIN7 (2.2.6.4) parsed: user name, password (de-scrambled: 2.2.6.4, "Password"), database, and the FeatureExt
   block (ibExtension: a DWORD offset to it, fExtension set in OptionFlags3) whose FEDAUTH feature (FeatureId 0x02)
   carries bOptions (bFedAuthLibrary 0x01 SECURITYTOKEN, fFedAuthEcho) and the token (a DWORD length, UTF-16LE).
   A token it accepts, or a SQL login and password it holds, is answered LOGINACK (2.2.7.14), ENVCHANGE of the
   database (2.2.7.9, type 1: the login's database, as SQL Server tells it at login), FEATUREEXTACK (2.2.7.11,
   FEDAUTH acknowledged with no data: no nonce was exchanged) where the login had a FEDAUTH feature, and DONE
   (2.2.7.6); anything else ERROR 18456 (2.2.7.10, "Login failed for user ...") and DONE with DONE_ERROR. With
   `route` (host, port), an accepted login is answered as Azure SQL's gateway redirects one: LOGINACK, ENVCHANGE type
   20 Routing (2.2.7.9: protocol 0 TCP, the port, the alternate server) and DONE; the client logs in there anew.
4. SQL_BATCH (2.2.6.7: ALL_HEADERS, then the text in UTF-16LE): a batch equal to `query` is answered with the result
   set `columns`/`rows` (COLMETADATA 2.2.7.4, ROW 2.2.7.20, DONE with DONE_COUNT); one of `replies` with its statements'
   outcomes in turn, as SQL Server answers a batch of several: a result set (`("rows", columns, rows)`, its DONE with
   DONE_MORE) or a message (`("message", number, state, severity, text)`: ERROR 2.2.7.10 where the severity is above
   10, else INFO 2.2.7.13, as a PRINT's), then a final DONE, with DONE_ERROR where an error came; a reply `SILENCE`
   never comes (a batch past the client's timeout; its ATTENTION, 2.2.1.7, is answered DONE with DONE_ATTN); any other
   batch (a driver's own SET statements) with DONE alone.

What it records: `logins` (each LOGIN7 as parsed), `batches` (each batch's text), `other_requests` (the packet type
of each other request: a transaction manager's, an RPC's), `handshake_done`, `problem`.
"""
from __future__ import annotations

import datetime
import decimal
import socket
import ssl
import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tds_tls_server import TdsEndpoint, packet as _packet, prelogin_message, read_exactly as _read_exactly

SQL_BATCH, TABULAR_RESULT, LOGIN7, PRELOGIN = 0x01, 0x04, 0x10, 0x12
END_OF_MESSAGE = 0x01
ENCRYPT_ON = 0x01
PRELOGIN_VERSION, PRELOGIN_ENCRYPTION, PRELOGIN_FEDAUTHREQUIRED, PRELOGIN_TERMINATOR = 0x00, 0x01, 0x06, 0xFF
FEATURE_FEDAUTH, FEATURE_TERMINATOR = 0x02, 0xFF
FEDAUTH_LIBRARY_SECURITYTOKEN = 0x01
TOKEN_LOGINACK, TOKEN_FEATUREEXTACK, TOKEN_DONE, TOKEN_ERROR = 0xAD, 0xAE, 0xFD, 0xAA
TOKEN_COLMETADATA, TOKEN_ROW, TOKEN_ENVCHANGE, TOKEN_INFO = 0x81, 0xD1, 0xE3, 0xAB
DONE_FINAL, DONE_MORE, DONE_ERROR, DONE_COUNT, DONE_ATTN = 0x0000, 0x0001, 0x0002, 0x0010, 0x0020
ATTENTION = 0x06
SILENCE = "silence"  # a reply that never comes
TDS74 = 0x74000004
LOGIN_FAILED = 18456
# Latin1_General_CI_AS: LCID 0x0409, its flags and sort id (2.2.5.1.2 COLLATION)
COLLATION = bytes([0x09, 0x04, 0xD0, 0x00, 0x34])
# The column types a result set may hold here (2.2.5.4): name -> the type's byte
INTN, BIGVARCHR, NVARCHAR, DECIMALN, DATETIMN, BIGVARBIN = 0x26, 0xA7, 0xE7, 0x6A, 0x6F, 0xA5


class TdsLoginServer(TdsEndpoint):
    """Serves `connections` client connections in turn, then stops listening."""

    def __init__(self, certificate_file: str, key_file: str, accepted_tokens: Sequence[str] = (),
                 sql_logins: Optional[Dict[str, str]] = None, query: str = "",
                 columns: Sequence[Tuple[str, str]] = (), rows: Sequence[Sequence[Any]] = (), connections: int = 1,
                 replies: Optional[Dict[str, Sequence[Tuple[Any, ...]]]] = None,
                 route: Optional[Tuple[str, int]] = None):
        super().__init__(connections)
        self._route = route
        self._replies = dict(replies or {})
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(certificate_file, key_file)
        # TLS 1.2 at most, as SQL Server's TDS 7.x (TLS 1.3 only with TDS 8.0's strict encryption, whose TLS runs before
        # any TDS: Microsoft, "TDS 8.0"); a TLS 1.3 server's tickets after the handshake would go out inside PRELOGIN
        # packets to a client that reads bare TLS by then
        self._tls.maximum_version = ssl.TLSVersion.TLSv1_2
        self._accepted_tokens = set(accepted_tokens)
        self._sql_logins = dict(sql_logins or {})
        self._query, self._columns, self._rows = query, list(columns), [list(row) for row in rows]
        self.handshake_done = False
        self.prelogins: List[Dict[int, bytes]] = []
        self.logins: List[Dict[str, Any]] = []
        self.batches: List[str] = []
        self.other_requests: List[int] = []
        self._start()

    def _talk(self, client: socket.socket) -> None:
        clear = _Clear(client)
        packet_type, prelogin = clear.read_message()
        if packet_type != PRELOGIN:
            raise ValueError("expected PRELOGIN, got packet type %#x" % packet_type)
        options = _prelogin_options(prelogin)
        self.prelogins.append(options)
        answer = [(PRELOGIN_VERSION, bytes([16, 0, 0x10, 0x00, 0, 0])), (PRELOGIN_ENCRYPTION, bytes([ENCRYPT_ON]))]
        if options.get(PRELOGIN_FEDAUTHREQUIRED, b"\x00")[:1] == b"\x01":
            answer.append((PRELOGIN_FEDAUTHREQUIRED, b"\x01"))
        clear.send(TABULAR_RESULT, prelogin_message(answer))
        channel = _Tls(client, self._tls)
        channel.handshake(clear)
        self.handshake_done = True
        packet_type, login = channel.read_message()
        if packet_type != LOGIN7:
            raise ValueError("expected LOGIN7, got packet type %#x" % packet_type)
        parsed = parse_login7(login)
        self.logins.append(parsed)
        if not self._accepts(parsed):
            channel.send(TABULAR_RESULT, _error(LOGIN_FAILED, 1, 14, "Login failed for user '%s'." % (
                "<token-identified principal>" if parsed["fedauth"] else parsed["user"])) + _done(DONE_ERROR, 0))
            return
        if self._route is not None:
            channel.send(TABULAR_RESULT, _login_ack() + _routing(*self._route) + _done(DONE_FINAL, 0))
            return
        reply = _login_ack() + _database_change(parsed["database"] or "master")
        if parsed["fedauth"]:
            reply += bytes([TOKEN_FEATUREEXTACK, FEATURE_FEDAUTH]) + struct.pack("<I", 0) + bytes([FEATURE_TERMINATOR])
        channel.send(TABULAR_RESULT, reply + _done(DONE_FINAL, 0))
        while True:
            try:
                packet_type, batch = channel.read_message()
            except EOFError:
                return  # the client closed its connection
            if packet_type != SQL_BATCH:  # a transaction manager request (2.2.6.9: BEGIN TRAN, COMMIT), an RPC
                self.other_requests.append(packet_type)
                # an ATTENTION (2.2.1.7: a cancel) is acknowledged by DONE with DONE_ATTN
                channel.send(TABULAR_RESULT, _done(DONE_ATTN if packet_type == ATTENTION else DONE_FINAL, 0))
                continue
            headers_length = struct.unpack_from("<I", batch, 0)[0]
            text = batch[headers_length:].decode("utf-16-le")
            self.batches.append(text)
            if text == self._query:
                channel.send(TABULAR_RESULT, _result_set(self._columns, self._rows))
            elif self._replies.get(text) == SILENCE:
                continue  # a batch running past the client's timeout: its ATTENTION is answered below
            elif text in self._replies:
                channel.send(TABULAR_RESULT, _batch_reply(self._replies[text]))
            else:
                channel.send(TABULAR_RESULT, _done(DONE_FINAL, 0))

    def _accepts(self, login: Dict[str, Any]) -> bool:
        fedauth = login["fedauth"]
        if fedauth is not None:
            return (fedauth["library"] == FEDAUTH_LIBRARY_SECURITYTOKEN and fedauth["echo"]
                    and not login["user"] and not login["password"] and fedauth["token"] in self._accepted_tokens)
        return bool(login["user"]) and self._sql_logins.get(login["user"]) == login["password"]


def parse_login7(data: bytes) -> Dict[str, Any]:
    """LOGIN7's fields (2.2.6.4): the fixed part is 36 bytes, then OffsetLength's (offset, length in characters) pairs."""
    option_flags3 = data[27]

    def text(at: int, scramble: bool = False) -> str:
        offset, length = struct.unpack_from("<HH", data, at)
        raw = data[offset:offset + 2 * length]
        if scramble:  # each byte: its nibbles swapped, then XOR 0xA5; undone in the other order
            raw = bytes((((b ^ 0xA5) << 4) & 0xF0) | (((b ^ 0xA5) >> 4) & 0x0F) for b in raw)
        return raw.decode("utf-16-le")

    parsed: Dict[str, Any] = {"user": text(40), "password": text(44, scramble=True), "app": text(48),
                              "server": text(52), "database": text(68), "features": [], "fedauth": None}
    if option_flags3 & 0x10:  # fExtension: ibExtension points at a DWORD, the FeatureExt block's offset
        extension_offset, extension_length = struct.unpack_from("<HH", data, 56)
        if extension_length >= 4:
            at = struct.unpack_from("<I", data, extension_offset)[0]
            while data[at] != FEATURE_TERMINATOR:
                feature_id, length = data[at], struct.unpack_from("<I", data, at + 1)[0]
                feature = data[at + 5:at + 5 + length]
                parsed["features"].append(feature_id)
                if feature_id == FEATURE_FEDAUTH:
                    options = feature[0]
                    token_length = struct.unpack_from("<I", feature, 1)[0]
                    parsed["fedauth"] = {"library": options >> 1, "echo": bool(options & 0x01),
                                         "token": feature[5:5 + token_length].decode("utf-16-le"),
                                         "rest": len(feature) - 5 - token_length}
                at += 5 + length
    return parsed


def _prelogin_options(data: bytes) -> Dict[int, bytes]:
    options, at = {}, 0
    while data[at] != PRELOGIN_TERMINATOR:
        token, offset, length = struct.unpack_from(">BHH", data, at)
        options[token] = data[offset:offset + length]
        at += 5
    return options


def _b_varchar(text: str) -> bytes:
    return bytes([len(text)]) + text.encode("utf-16-le")


def _login_ack() -> bytes:
    name = "Microsoft SQL Server"
    body = bytes([1]) + struct.pack(">I", TDS74) + _b_varchar(name) + bytes([16, 0, 0x10, 0x00])
    return bytes([TOKEN_LOGINACK]) + struct.pack("<H", len(body)) + body


def _database_change(database: str) -> bytes:
    """ENVCHANGE (2.2.7.9) type 1, Database: the login's database is the connection's (SQL Server sends it at login)."""
    body = bytes([1]) + _b_varchar(database) + _b_varchar("master")
    return bytes([TOKEN_ENVCHANGE]) + struct.pack("<H", len(body)) + body


def _routing(host: str, port: int) -> bytes:
    """ENVCHANGE (2.2.7.9) type 20, Routing: RoutingDataValueLength, Protocol 0 (TCP), ProtocolProperty (the port),
    AlternateServer (US_VARCHAR); its old value empty (a USHORT 0)."""
    value = bytes([0]) + struct.pack("<HH", port, len(host)) + host.encode("utf-16-le")
    body = bytes([20]) + struct.pack("<H", len(value)) + value + struct.pack("<H", 0)
    return bytes([TOKEN_ENVCHANGE]) + struct.pack("<H", len(body)) + body


def _error(number: int, state: int, severity: int, message: str) -> bytes:
    body = (struct.pack("<iBB", number, state, severity) + struct.pack("<H", len(message)) + message.encode("utf-16-le")
            + _b_varchar("fake-sql") + _b_varchar("") + struct.pack("<i", 1))
    return bytes([TOKEN_ERROR]) + struct.pack("<H", len(body)) + body


def _batch_reply(outcomes: Sequence[Tuple[Any, ...]]) -> bytes:
    """A batch's statements' outcomes in turn (a result set, or a message), then the batch's final DONE."""
    reply, failed = b"", False
    for outcome in outcomes:
        if outcome[0] == "rows":
            _, columns, rows = outcome
            reply += _result_set(list(columns), [list(row) for row in rows], DONE_MORE)
        else:
            _, number, state, severity, text = outcome
            message = _error(number, state, severity, text)
            reply += (message if severity > 10 else bytes([TOKEN_INFO]) + message[1:])
            failed = failed or severity > 10
    return reply + _done(DONE_ERROR if failed else DONE_FINAL, 0)


def _done(status: int, count: int) -> bytes:
    return bytes([TOKEN_DONE]) + struct.pack("<HHQ", status, 0xC1, count)


def _result_set(columns: List[Tuple[str, str]], rows: List[List[Any]], more: int = DONE_FINAL) -> bytes:
    metadata = bytes([TOKEN_COLMETADATA]) + struct.pack("<H", len(columns))
    for name, kind in columns:
        metadata += struct.pack("<IH", 0, 0x0001) + _type_info(kind) + _b_varchar(name)
    body = b"".join(bytes([TOKEN_ROW]) + b"".join(_value(kind, value) for (_, kind), value in zip(columns, row))
                    for row in rows)
    return metadata + body + _done(DONE_COUNT | more, len(rows))


def _type_info(kind: str) -> bytes:
    if kind in ("int", "bigint"):
        return bytes([INTN, 4 if kind == "int" else 8])
    if kind == "nvarchar":
        return bytes([NVARCHAR]) + struct.pack("<H", 8000) + COLLATION
    if kind == "varchar":
        return bytes([BIGVARCHR]) + struct.pack("<H", 8000) + COLLATION
    if kind == "decimal":  # decimal(18, 2): 9 bytes (a sign, then 8)
        return bytes([DECIMALN, 17, 18, 2])
    if kind == "datetime":
        return bytes([DATETIMN, 8])
    if kind == "varbinary":
        return bytes([BIGVARBIN]) + struct.pack("<H", 8000)
    raise ValueError("no such column type here: %s" % kind)


def _value(kind: str, value: Any) -> bytes:
    if kind in ("int", "bigint"):
        size = 4 if kind == "int" else 8
        return b"\x00" if value is None else bytes([size]) + value.to_bytes(size, "little", signed=True)
    if kind in ("nvarchar", "varchar", "varbinary"):
        if value is None:
            return b"\xff\xff"
        raw = value.encode("utf-16-le") if kind == "nvarchar" else value.encode("cp1252") if kind == "varchar" else value
        return struct.pack("<H", len(raw)) + raw
    if kind == "decimal":
        if value is None:
            return b"\x00"
        unscaled = int(decimal.Decimal(value).scaleb(2))
        return bytes([17, 1 if unscaled >= 0 else 0]) + abs(unscaled).to_bytes(16, "little")
    if kind == "datetime":
        if value is None:
            return b"\x00"
        since = value - datetime.datetime(1900, 1, 1)
        ticks = round((since.seconds + since.microseconds / 1e6) * 300)
        return bytes([8]) + struct.pack("<iI", since.days, ticks)
    raise ValueError("no such column type here: %s" % kind)


class _Clear:
    """TDS packets (2.2.3) on the bare connection."""

    def __init__(self, client: socket.socket):
        self._client = client

    def read_packet(self) -> Tuple[int, int, bytes]:
        header = _read_exactly(self._client.recv, 8)
        packet_type, status, length = struct.unpack(">BBH", header[:4])
        return packet_type, status, _read_exactly(self._client.recv, length - 8)

    def read_message(self) -> Tuple[int, bytes]:
        packet_type, status, data = self.read_packet()
        while not status & END_OF_MESSAGE:
            _, status, more = self.read_packet()
            data += more
        return packet_type, data

    def send(self, packet_type: int, payload: bytes) -> None:
        self._client.sendall(_packet(packet_type, payload))


class _Tls:
    """TDS packets inside TLS records on the bare connection, after the handshake ran inside PRELOGIN packets."""

    def __init__(self, client: socket.socket, context: ssl.SSLContext):
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._client, self._channel = client, context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._buffer = b""

    def handshake(self, clear: _Clear) -> None:
        incoming, outgoing = self._bios()
        while True:
            try:
                self._channel.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    clear.send(PRELOGIN, outgoing.read())
                incoming.write(clear.read_packet()[2])
        if outgoing.pending:
            clear.send(PRELOGIN, outgoing.read())

    def _bios(self) -> Tuple[ssl.MemoryBIO, ssl.MemoryBIO]:
        return self._incoming, self._outgoing

    def _recv(self, count: int) -> bytes:
        incoming, _ = self._bios()
        while not self._buffer:
            try:
                self._buffer = self._channel.read(65536)
            except ssl.SSLWantReadError:
                data = self._client.recv(65536)
                if not data:
                    raise EOFError("the client closed the connection")
                incoming.write(data)
            except ssl.SSLZeroReturnError:
                raise EOFError("the client closed TLS") from None
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def read_message(self) -> Tuple[int, bytes]:
        data, packet_type, status = b"", 0, 0
        while not status & END_OF_MESSAGE:
            header = _read_exactly(self._recv, 8)
            packet_type, status, length = struct.unpack(">BBH", header[:4])
            data += _read_exactly(self._recv, length - 8)
        return packet_type, data

    def send(self, packet_type: int, payload: bytes) -> None:
        _, outgoing = self._bios()
        self._channel.write(_packet(packet_type, payload))
        self._client.sendall(outgoing.read())
