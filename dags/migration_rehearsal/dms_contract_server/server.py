"""The HTTP side: a threading HTTP/1.1 server, bearer-token check, injected faults, JSON bodies."""
from __future__ import annotations

import json
import logging
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qsl, urlsplit

from migration_rehearsal.dms_contract_server import routes
from migration_rehearsal.dms_contract_server.arm import ApiError, Request, Response, error_body
from migration_rehearsal.world import HTTP_FAULT_KINDS, World, WorldError

log = logging.getLogger(__name__)

DEFAULT_THROTTLE_SECONDS = 1
DEFAULT_SLOW_SECONDS = 2.0


class ContractServer(ThreadingHTTPServer):
    """Serves one world directory. `requests` lists what it received (method, path, operation,
    status, fault), for tests; `retry_after_seconds` is what accepted operations and their
    monitors send in `Retry-After` (ARM sends one; 0 lets the client's polling interval rule)."""

    daemon_threads = True

    def __init__(self, world_directory: str, host: str = "127.0.0.1", port: int = 0, retry_after_seconds: int = 1):
        self.world = World(world_directory)
        self.retry_after_seconds = retry_after_seconds
        self.requests: List[Dict[str, Any]] = []
        self._requests_lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        super().__init__((host, port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return "http://%s:%d" % (host, port)

    def start(self) -> "ContractServer":
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="dms-contract-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow answer (its timeout, a test's point) closed the socket: not a server fault.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            log.debug("client %s closed the connection before the answer", client_address)
            return
        super().handle_error(request, client_address)

    def record(self, entry: Dict[str, Any]) -> None:
        with self._requests_lock:
            self.requests.append(entry)

    def received(self, operation: Optional[str] = None) -> List[Dict[str, Any]]:
        with self._requests_lock:
            return [dict(e) for e in self.requests if operation is None or e["operation"] == operation]


def start_in_thread(world_directory: str, host: str = "127.0.0.1", port: int = 0, retry_after_seconds: int = 1) -> ContractServer:
    """Start serving in a daemon thread; `server.base_url` is where, `server.stop()` ends it."""
    return ContractServer(world_directory, host, port, retry_after_seconds).start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK wait
    server: ContractServer

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route, params = routes.match(self.command, url.path)
        entry = {"method": self.command, "path": url.path, "query": url.query, "operation": route.operation if route else None, "fault": None}
        self.server.record(entry)

        fault = None
        if route is not None and self._authorized():
            fault = self.server.world.take_fault(route.operation, params.get("database"), kinds=HTTP_FAULT_KINDS)
            entry["fault"] = fault and fault["kind"]
        if fault is not None and fault["kind"] == "reset":
            entry["status"] = None
            self._reset()
            return
        if fault is not None and fault["kind"] == "slow":
            time.sleep(fault.get("delaySeconds", DEFAULT_SLOW_SECONDS))
            fault = None
        response = self._respond_to(route, params, url, raw, fault)
        entry["status"] = response.status
        self._send(response)

    def _respond_to(self, route, params: Dict[str, str], url, raw: bytes, fault: Optional[Dict[str, Any]]) -> Response:
        if not self._authorized():
            return Response(401, error_body("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."))
        if route is None:
            return Response(404, error_body("NotFound", "No HTTP resource was found that matches the request URI '%s'." % url.path))
        if fault is not None:
            return _fault_response(fault)
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError as error:
            return Response(400, error_body("InvalidRequestContent", "The request content was invalid and could not be deserialized: %s" % error))
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            body=body,
            base_url="http://%s" % (self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]),
            params=params,
        )
        try:
            return route.handler(self.server.world, request, self.server.retry_after_seconds)
        except ApiError as error:
            return Response(error.status, error_body(error.code, error.message), error.headers)
        except WorldError as error:
            return Response(400, error_body("InvalidParameterValue", str(error)))
        except Exception as error:  # an unexpected failure is a 500, as ARM would answer
            log.exception("contract server failed on %s %s", self.command, url.path)
            return Response(500, error_body("InternalServerError", "%s: %s" % (type(error).__name__, error)))

    def _authorized(self) -> bool:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and bool(token.strip())

    def _send(self, response: Response) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        """Close with a TCP reset and no response: the client sees the connection reset."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


def _fault_response(fault: Dict[str, Any]) -> Response:
    if fault["kind"] == "throttle":
        seconds = fault.get("retryAfterSeconds", DEFAULT_THROTTLE_SECONDS)
        return Response(
            429,
            error_body(fault.get("code", "TooManyRequests"), fault.get("message", "The request is being throttled.")),
            {"Retry-After": str(seconds)},
        )
    status = fault.get("status", 500)
    headers = {"Retry-After": str(fault["retryAfterSeconds"])} if "retryAfterSeconds" in fault else {}
    code = fault.get("code", {503: "ServiceUnavailable"}.get(status, "InternalServerError"))
    return Response(status, error_body(code, fault.get("message", "Simulated server error")), headers)
