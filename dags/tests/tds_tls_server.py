"""A TDS endpoint that gets as far as a client's login over TLS, for the tests of what a driver does with a server's
certificate (`test_sql_access_tls.py`).

It answers PRELOGIN (MS-TDS 2.2.6.5) with encryption on (or, `encryption=ENCRYPT_NOT_SUP`, a server without TLS:
then a client's LOGIN7 comes in clear), then runs the TLS handshake inside PRELOGIN packets as SQL
Server does (MS-TDS 3.2.5.1.4: the handshake's records travel as TDS packet data), with the certificate it was given.
What it records: whether the handshake ended, and whether the client then sent anything (its LOGIN7) over the TLS
channel: a client that refuses the certificate aborts the handshake (a chain it does not trust) or closes right after
it (a host name the certificate does not hold). It never answers the login: the client's connect fails either way.
"""
from __future__ import annotations

import socket
import ssl
import struct
import threading
from typing import Optional

PRELOGIN, TABULAR_RESULT = 0x12, 0x04
END_OF_MESSAGE = 0x01
ENCRYPT_ON, ENCRYPT_NOT_SUP = 0x01, 0x02
LOGIN7 = 0x10


class TdsEndpoint:
    """A loopback listener (`port`) that serves `connections` clients in turn, in a thread of its own, each by
    `_talk(client)`; `problem` says what broke. A subclass sets what it records, then calls `_start`."""

    def __init__(self, connections: int = 1):
        self._connections = connections
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(connections)
        self._listener.settimeout(30)
        self.port = self._listener.getsockname()[1]
        self.problem: Optional[str] = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _start(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        self._thread.join(30)
        self._listener.close()

    def _serve(self) -> None:
        for _ in range(self._connections):
            try:
                client, _ = self._listener.accept()
            except OSError as error:
                self.problem = "no client: %s" % error
                return
            client.settimeout(15)
            try:
                self._talk(client)
            except (OSError, ssl.SSLError, EOFError, ValueError, struct.error) as error:
                self.problem = "%s: %s" % (type(error).__name__, error)
            finally:
                client.close()

    def _talk(self, client: socket.socket) -> None:
        raise NotImplementedError


class TdsTlsServer(TdsEndpoint):
    def __init__(self, certificate_file: str, key_file: str, encryption: int = ENCRYPT_ON):
        super().__init__()
        self._encryption = encryption
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(certificate_file, key_file)
        self.handshake_done = False
        self.login_received = False
        self.login_in_clear = False
        self._start()

    def _talk(self, client: socket.socket) -> None:
        _read_packet(client)  # the client's PRELOGIN
        _send_packet(client, TABULAR_RESULT, _prelogin_answer(self._encryption))
        if self._encryption == ENCRYPT_NOT_SUP:
            self.login_received = self.login_in_clear = _read_packet(client)[0] == LOGIN7
            return
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        channel = self._tls.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                channel.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    _send_packet(client, PRELOGIN, outgoing.read())
                incoming.write(_read_packet(client)[1])
        if outgoing.pending:
            _send_packet(client, PRELOGIN, outgoing.read())
        self.handshake_done = True
        # After the handshake TLS runs on the bare connection (encryption on): the LOGIN7 comes as TLS records.
        while True:
            data = client.recv(65536)
            if not data:
                return
            incoming.write(data)
            try:
                if channel.read(65536):
                    self.login_received = True
                    return
            except ssl.SSLWantReadError:
                continue


def _prelogin_answer(encryption: int) -> bytes:
    return prelogin_message([(0x00, bytes([16, 0, 0x10, 0x00, 0, 0])), (0x01, bytes([encryption]))])


def prelogin_message(options: list) -> bytes:
    """A PRELOGIN message (MS-TDS 2.2.6.5): each option's token, offset and length, the terminator, their values."""
    offset = len(options) * 5 + 1
    header, data = b"", b""
    for token, value in options:
        header += struct.pack(">BHH", token, offset + len(data), len(value))
        data += value
    return header + b"\xff" + data


def packet(packet_type: int, payload: bytes) -> bytes:
    """One TDS packet (MS-TDS 2.2.3) holding a whole message."""
    return struct.pack(">BBHHBB", packet_type, END_OF_MESSAGE, len(payload) + 8, 0, 1, 0) + payload


def read_exactly(recv, count: int) -> bytes:
    """`count` bytes from `recv` (a socket's, a TLS channel's), or EOFError where the client closed first."""
    data = b""
    while len(data) < count:
        chunk = recv(count - len(data))
        if not chunk:
            raise EOFError("the client closed the connection")
        data += chunk
    return data


def _send_packet(client: socket.socket, packet_type: int, payload: bytes) -> None:
    client.sendall(packet(packet_type, payload))


def _read_packet(client: socket.socket) -> tuple:
    header = read_exactly(client.recv, 8)
    packet_type, _, length = struct.unpack(">BBH", header[:4])
    return packet_type, read_exactly(client.recv, length - 8)
