"""An ASGI middleware in front of each vendor simulator: it records every request and answer, and in
documented-shape mode strips from each JSON answer every property its documented response schema does
not declare, so an adapter that reads an invented field gets nothing.

Install it with `Vendors.configure(settings, sandbox_middleware=recorder.middleware)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .contracts import Contract

#: answers longer than this are kept only in part (the fault tests send 11 MB bodies)
KEEP_BYTES = 1 << 20


@dataclass
class Exchange:
    """One request to a simulator and its answer (status 0: none came)."""

    vendor: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    answer_headers: dict[str, str] = field(default_factory=dict)
    #: the answer as the simulator sent it
    answer: bytes = b""
    #: whether documented-shape mode changed what the client got
    shaped: bool = False

    @property
    def content_type(self) -> str:
        return self.answer_headers.get("content-type", "")

    def describe(self) -> str:
        query = f"?{self.query}" if self.query else ""
        return f"{self.method} {self.path}{query} -> {self.status or 'no answer'}"


class Recorder:
    """Records what each vendor's simulator is asked and answers; `contracts` (vendor -> Contract) give the
    documented shapes. A vendor without a contract is recorded and passed through unchanged."""

    def __init__(self, contracts: Mapping[str, Contract], *, documented_shape: bool = True) -> None:
        self.contracts = dict(contracts)
        self.documented_shape = documented_shape
        self.exchanges: list[Exchange] = []

    def middleware(self, vendor: str, app: ASGIApp) -> ASGIApp:
        """The `sandbox_middleware` hook of the vendor registry."""

        return _Recording(self, vendor, app)


class _Recording:
    def __init__(self, recorder: Recorder, vendor: str, app: ASGIApp) -> None:
        self.recorder = recorder
        self.vendor = vendor
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        exchange = Exchange(
            vendor=self.vendor,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])},
            body=body,
        )
        self.recorder.exchanges.append(exchange)
        contract = self.recorder.contracts.get(self.vendor) if self.recorder.documented_shape else None
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: Message | None = None
        answer: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                exchange.status = int(message["status"])
                exchange.answer_headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])
                }
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            answer.append(message.get("body", b""))
            if message.get("more_body"):
                return
            raw = b"".join(answer)
            exchange.answer = raw[:KEEP_BYTES]
            out = raw
            if contract is not None:
                out = contract.shape(exchange.method, exchange.path, exchange.status, exchange.content_type, raw)
                exchange.shaped = out is not raw
            assert start is not None
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(out)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": out, "more_body": False})

        await self.app(scope, replay, capture)
