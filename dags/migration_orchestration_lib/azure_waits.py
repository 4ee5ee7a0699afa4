"""How long the DAG's Azure calls may wait: one bound for every client (DMS, Data Factory, Logs Ingestion) and for
the token requests of the DAG's identity.

azure-core sleeps a `Retry-After` in full (its RetryPolicy, and a long-running operation's polling) and looks at a
call's `timeout` only after it: a 429 asking for an hour held a task an hour, past its execution_timeout, with no
event; azure-identity's managed and workload identity credentials retry the same way. Every such wait goes through
its transport's `sleep` (azure-core: "You should always ask the transport to sleep"), so each client gets a transport
(`bounded_transport`) whose waits last at most RETRY_AFTER_CAP and end by the calls' end (`calls_end_by`: what the
task's attempt has left before its report). A wait that does not fit there is not begun: `NoTimeToWait` says which
service asked for what, and the step goes its way for an Azure outage (waited out by a later poke, within its
deadline); an event write logs it as a warning. A long-running operation's poller polls in a thread of its own: one
its attempt gave up on stops (`stop_polling`).

Azure packages are imported inside functions only (the DAG file is parsed without them).
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, Mapping, Optional
from urllib.parse import urlsplit

# Every Azure client of the DAG. azure-core's defaults are 300 s to connect and 300 s for an answer, a read retried 3
# times: a silent connection held a poke past its execution_timeout (20 min) with no event. 4 x (30 + 90) s fits the
# longest wait between two pokes (12 min); the poke then waits the outage out (operators.is_transient_azure_error).
CLIENT_TIMEOUTS = {"connection_timeout": 30, "read_timeout": 90}
# The longest one wait. ARM's subscription limits refill every second (learn.microsoft.com/azure/azure-resource-manager/
# management/request-limits-and-throttling: a token bucket, from 2024 on) and the Logs Ingestion API's count per minute
# and rule (Azure Monitor service limits); a resource provider's, counted per hour, may ask for longer: the step's
# later pokes wait that out, each with a Running event, rather than one sleep past its execution_timeout.
RETRY_AFTER_CAP = timedelta(minutes=1)
# azure-identity's connection timeout for a managed identity's IMDS token requests (_credentials/imds.py
# PIPELINE_SETTINGS, 1.19 to 1.27; its probe asks 1 s of its own). It gives it only to a transport it builds itself:
# through the identity's `bounded_transport` those requests take it from their address, not CLIENT_TIMEOUTS' 30 s.
IMDS_CONNECTION_TIMEOUT = 2
IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token"

_calls_end: Optional[float] = None  # time.monotonic() by which this process's Azure calls end; None: no bound but the cap


class NoTimeToWait(Exception):
    """An Azure call asked to wait (Retry-After, a retry's backoff, a long-running operation's polling interval)
    longer than its calls have left: not waited. Like a throttled answer, a later try may well succeed."""


@contextmanager
def calls_end_by(seconds: Optional[float]) -> Iterator[None]:
    """Within it, every wait of an Azure call of this process ends within `seconds` from now (None: no bound but
    RETRY_AFTER_CAP); it replaces any bound set around it (an event's budget outlasts its step's calls)."""
    global _calls_end
    before = _calls_end
    _calls_end = None if seconds is None else time.monotonic() + max(seconds, 0.0)
    try:
        yield
    finally:
        _calls_end = before


def client_options(service: str, options: Mapping[str, Any]) -> Dict[str, Any]:
    """`options` for an azure-core client of `service` (a name for messages): CLIENT_TIMEOUTS where they set none,
    and a `bounded_transport` unless they give a transport."""
    settled = dict(CLIENT_TIMEOUTS, **options)
    if "transport" not in settled:
        settled["transport"] = bounded_transport(
            service, connection_timeout=settled["connection_timeout"], read_timeout=settled["read_timeout"])
    return settled


def budget_options(budget: timedelta) -> Dict[str, float]:
    """A call's options that end it within `budget`: azure-core's `timeout` (no retry begins after it) and its socket
    timeouts; its waits end by the same moment where it runs within `calls_end_by(budget)`."""
    seconds = max(budget.total_seconds(), 1.0)
    return {"timeout": seconds, **{name: min(value, seconds) for name, value in CLIENT_TIMEOUTS.items()}}


def bounded_transport(service: str, request_timeouts: Callable[[Any], Mapping[str, float]] = lambda request: {}, **options: Any) -> Any:
    """azure-core's RequestsTransport whose every wait lasts at most RETRY_AFTER_CAP and ends by the calls' end
    (`calls_end_by`), else raises NoTimeToWait naming `service`, the request and what its answer asked.
    `options`: RequestsTransport's (connection_timeout, read_timeout, ...); `request_timeouts(request)`: a request's own
    where its sender asks none. It may serve several pipelines (the identity's credentials share one): what each
    thread last sent is its own."""
    from azure.core.pipeline.transport import RequestsTransport

    class BoundedWaitTransport(RequestsTransport):
        def __init__(self) -> None:
            super().__init__(**options)
            self._last = threading.local()

        def send(self, request: Any, **kwargs: Any) -> Any:
            self._last.request, self._last.answer = request, None
            try:
                self._last.answer = super().send(request, **dict(request_timeouts(request), **kwargs))
            except Exception as error:
                self._last.answer = error
                raise
            return self._last.answer

        def sleep(self, duration: float) -> None:
            seconds = self.wait_allowed(duration)
            if seconds > 0:
                super().sleep(seconds)

        def wait_allowed(self, duration: float) -> float:
            """How long of `duration` to wait: at most RETRY_AFTER_CAP; NoTimeToWait where that ends past the calls'."""
            seconds = min(duration, RETRY_AFTER_CAP.total_seconds())
            left = None if _calls_end is None else _calls_end - time.monotonic()
            if left is not None and seconds > left:
                self._last.refusal = "%s: %s; the task's Azure calls must end within %.0f s (by its execution_timeout): not waited" % (
                    service, self._asked(duration), max(left, 0.0))
                raise NoTimeToWait(self._last.refusal)
            return seconds

        def take_refusal(self) -> Optional[str]:
            """What the last NoTimeToWait of this thread said since the last take (None: none)."""
            refusal, self._last.refusal = getattr(self._last, "refusal", None), None
            return refusal

        def _asked(self, duration: float) -> str:
            request, answer = getattr(self._last, "request", None), getattr(self._last, "answer", None)
            if request is None:
                return "asked to wait %.0f s" % duration
            url = urlsplit(request.url)  # its query left out: a token request's names the identity
            sent = "%s %s%s" % (request.method, url.hostname, url.path)
            status = getattr(answer, "status_code", None)
            if status is None:
                return "%s failed (%s: %s), to be tried again in %.0f s" % (sent, type(answer).__name__, answer, duration)
            retry_after = answer.headers.get("Retry-After")
            if retry_after is not None:
                return "%s answered HTTP %s asking to come back in %s s (Retry-After)" % (sent, status, retry_after.strip())
            return "%s answered HTTP %s, to be asked again in %.0f s" % (sent, status, duration)

    return BoundedWaitTransport()


class PollingStopped(Exception):
    """A long-running operation's poller stopped by `stop_polling`: no attempt awaits the operation any more."""


def stoppable_polling(interval: float) -> Any:
    """azure-mgmt-core's ARMPolling (every `interval` s where the answer asks no `Retry-After`), its waits those of its
    client's `bounded_transport`, for an LROPoller whose thread `stop_polling` ends at its next wait."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class StoppablePolling(ARMPolling):
        def __init__(self) -> None:
            super().__init__(interval)
            self.stopped = threading.Event()

        def _sleep(self, delay: float) -> None:
            if self.stopped.wait(self._transport.wait_allowed(delay)):
                raise PollingStopped("stopped polling: the attempt awaiting the operation gave up on it")

    return StoppablePolling()


def stop_polling(poller: Any) -> None:
    """`poller` (an LROPoller polling in a thread of its own) polls no more where its polling is `stoppable_polling`'s:
    for an operation its attempt gave up on (a request under way still ends, by its client's timeouts)."""
    stopped = getattr(getattr(poller, "polling_method", lambda: None)(), "stopped", None)
    if stopped is not None:
        stopped.set()


def bounded_credential(service: str, make: Callable[..., Any]) -> Any:
    """The credential `make(transport=...)` builds (azure-identity's), its token requests on a `bounded_transport`. One
    that could not wait raises NoTimeToWait, however azure-identity reports it: a managed identity's credential takes
    any error of its endpoint for "no response from the IMDS endpoint" and lets DefaultAzureCredential try the next."""
    from azure.core.exceptions import ClientAuthenticationError

    transport = bounded_transport(service, _identity_endpoint_timeouts, **CLIENT_TIMEOUTS)
    credential = make(transport=transport)

    class WaitsReported:
        def __getattr__(self, name: str) -> Any:
            found = getattr(credential, name)
            if name not in ("get_token", "get_token_info"):
                return found

            def request(*args: Any, **kwargs: Any) -> Any:
                transport.take_refusal()
                try:
                    return found(*args, **kwargs)
                except ClientAuthenticationError as error:
                    refusal = transport.take_refusal()
                    if refusal is None:
                        raise
                    raise NoTimeToWait(refusal) from error

            return request

    return WaitsReported()


def _identity_endpoint_timeouts(request: Any) -> Mapping[str, float]:
    """azure-identity's own timeouts for `request`: IMDS_CONNECTION_TIMEOUT for the IMDS token endpoint (where
    azure-identity and MSAL send it, AZURE_POD_IDENTITY_AUTHORITY_HOST standing in for IMDS's address)."""
    imds = os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://169.254.169.254").strip("/") + IMDS_TOKEN_PATH
    sent = urlsplit(request.url)
    if "%s://%s%s" % (sent.scheme, sent.netloc, sent.path) == imds:
        return {"connection_timeout": IMDS_CONNECTION_TIMEOUT}
    return {}
