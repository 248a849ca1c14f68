"""tasklink against the MCP SDK's own floor, measured interleaved in one run.

    .venv/bin/python -m tests.benchmarks [--quick] [--only cold,stdio,http,load,walk,tokens] [--json FILE]

Prints one table: each figure for tasklink, the same figure for the floor (a one-tool `MCPServer`,
plus a direct httpx2 GET to the same upstream where tasklink makes one), and the ratio or
difference. These machines are shared and noisy: only the ratios mean much, and only within a run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
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
TASKLINK = str(Path(PYTHON).with_name("tasklink"))
NODE = ROOT / "tests" / "clients" / "node_modules" / ".bin" / "node"
VENDOR_PREFIXES = ("TASKLINK_", "SPOTDRAFT_", "TRACKOPS_", "LIGHTFIELD_", "WORKIVA_")
PROTOCOL = "2025-11-25"
UNPACED = 1_000_000
SECTIONS = ("cold", "stdio", "http", "load", "walk", "tokens")


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


# -- the environment of one run ----------------------------------------------------------


@dataclass
class Bench:
    quick: bool
    work: Path
    profile: Path | None = None
    stub_port: int = 0
    stub: subprocess.Popen[bytes] | None = None
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def stub_url(self) -> str:
        return f"http://127.0.0.1:{self.stub_port}"

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

    def get_task_args(self) -> dict[str, Any]:
        from .stub import TASK_ID

        return {"vendor": "lightfield", "task_id": TASK_ID}


def launch_argv(*args: str) -> list[str]:
    return [TASKLINK, "serve", *args]


def floor_argv(*args: str) -> list[str]:
    return [PYTHON, str(HERE / "floor_server.py"), *args]


# -- 1. cold start ---------------------------------------------------------------------------


def cold_start(b: Bench) -> None:
    spawns = 10 if b.quick else 15
    timings: dict[str, list[float]] = {"tasklink": [], "floor": []}
    listed: dict[str, list[float]] = {"tasklink": [], "floor": []}
    argv = {"tasklink": [TASKLINK, "serve"], "floor": floor_argv()}
    env = {"tasklink": clean_env(TASKLINK_DATA_DIR=str(b.work / "cold")), "floor": clean_env()}
    for k in range(spawns):
        order = ("tasklink", "floor") if k % 2 == 0 else ("floor", "tasklink")
        for who in order:
            t0 = time.perf_counter()
            peer = StdioPeer(argv[who], env[who])
            peer.send(initialize(0))
            reply = peer.recv(0)
            timings[who].append((time.perf_counter() - t0) * 1000)
            assert "result" in reply, reply
            # and until the client knows the tools: what a desktop client waits for before the first turn
            peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            peer.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
            assert "result" in peer.recv(1)
            listed[who].append((time.perf_counter() - t0) * 1000)
            peer.close()
    tl, fl = statistics.median(timings["tasklink"]), statistics.median(timings["floor"])
    b.results["cold"] = {
        "spawns": spawns,
        "tasklink_ms": tl,
        "floor_ms": fl,
        "ratio": tl / fl,
        "tasklink_min_ms": min(timings["tasklink"]),
        "floor_min_ms": min(timings["floor"]),
        "tasklink_listed_ms": statistics.median(listed["tasklink"]),
        "floor_listed_ms": statistics.median(listed["floor"]),
        "listed_ratio": statistics.median(listed["tasklink"]) / statistics.median(listed["floor"]),
    }


# -- 2. call latency -------------------------------------------------------------------------


def latency(b: Bench, transport: str) -> None:
    import httpx2

    calls, warm = 500, 50
    args = b.get_task_args()
    procs: list[subprocess.Popen[bytes]] = []
    b.stub_stats(reset=True)
    if transport == "stdio":
        tl_peer: Any = StdioPeer(launch_argv(), b.tasklink_env(f"lat-{transport}"))
        fl_peer: Any = StdioPeer(floor_argv(), clean_env())
        procs = [tl_peer.proc, fl_peer.proc]
    else:
        tl_port, fl_port = free_port(), free_port()
        tl_proc = subprocess.Popen(
            launch_argv("--http", "--port", str(tl_port)),
            env=b.tasklink_env(f"lat-{transport}"),
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        fl_proc = subprocess.Popen(
            floor_argv("--http", str(fl_port)), env=clean_env(), cwd=ROOT, stderr=subprocess.DEVNULL
        )
        procs = [tl_proc, fl_proc]
        wait_for_port(tl_port, tl_proc)
        wait_for_port(fl_port, fl_proc)
        tl_peer, fl_peer = HttpPeer(tl_port), HttpPeer(fl_port)
    try:
        tl_peer.handshake()
        fl_peer.handshake()
        direct = httpx2.Client(base_url=b.stub_url, headers={"Authorization": f"Bearer {_stub_key()}"})
        path = f"/v1/tasks/{args['task_id']}"
        for i in range(warm):
            tl_peer.call("get_task", args)
            fl_peer.call("add", {"a": i, "b": 1})
            direct.get(path).raise_for_status()
        series: dict[str, list[float]] = {"tasklink": [], "floor": [], "direct": []}
        for i in range(calls):
            t0 = time.perf_counter()
            result = tl_peer.call("get_task", args)
            t1 = time.perf_counter()
            fl_peer.call("add", {"a": i, "b": 1})
            t2 = time.perf_counter()
            direct.get(path).raise_for_status()
            t3 = time.perf_counter()
            series["tasklink"].append((t1 - t0) * 1000)
            series["floor"].append((t2 - t1) * 1000)
            series["direct"].append((t3 - t2) * 1000)
        assert result["structuredContent"]["id"] == args["task_id"]
        response_bytes = len(json.dumps(result, separators=(",", ":")))
        for _ in range(1000 - warm - calls):  # 1,000 tool calls in all, for the connection count
            tl_peer.call("get_task", args)
        direct.close()
    finally:
        for peer in (tl_peer, fl_peer):
            if isinstance(peer, StdioPeer):
                peer.close()
        for proc in procs:
            stop(proc)
    stats = b.stub_stats()
    out: dict[str, Any] = {"response_bytes": response_bytes}
    for q in (50, 99):
        tl, fl, di = (pct(series[k], q) for k in ("tasklink", "floor", "direct"))
        out[f"p{q}"] = {"tasklink": tl, "floor": fl, "direct": di, "overhead": tl - (fl + di)}
    # the overhead distribution itself, pairing each call with its neighbours in time
    paired = [t - (f + d) for t, f, d in zip(series["tasklink"], series["floor"], series["direct"], strict=True)]
    out["overhead_median_paired"] = statistics.median(paired)
    out["upstream"] = {
        "tool_calls": 1000,
        "connections": stats["connections"].get("tasklink", 0),
        "requests": stats["requests"].get("tasklink", 0),
    }
    b.results[transport] = out


def _stub_key() -> str:
    from .stub import API_KEY

    return API_KEY


# -- 3. throughput ---------------------------------------------------------------------------


def load_once(b: Bench, who: str, clients: int, seconds: float, profile: Path | None = None) -> dict[str, Any]:
    port = free_port()
    if who == "tasklink":
        argv, env = launch_argv("--http", "--port", str(port)), b.tasklink_env(f"load-{port}")
        if profile is not None:  # the same server under pyinstrument (the `bench` extra); a text report on exit
            argv = [PYTHON, "-m", "pyinstrument", "-r", "text", "-o", str(profile), "-m", "tasklink", *argv[1:]]
        tool, args = "get_task", b.get_task_args()
    else:
        argv, env = floor_argv("--http", str(port)), clean_env()
        tool, args = "add", {"a": 1, "b": 2}
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        if who == "tasklink":
            b.stub_stats(reset=True)
        cpu0 = proc_cpu_ms(proc.pid)
        assert b.stub is not None
        stub0 = proc_cpu_ms(b.stub.pid)
        out = subprocess.run(
            [str(NODE), str(HERE / "load.mjs"), str(port), tool, json.dumps(args), str(clients), str(seconds)],
            capture_output=True,
            timeout=seconds + 60,
            check=True,
        )
        cpu1 = proc_cpu_ms(proc.pid)
        stub1 = proc_cpu_ms(b.stub.pid)
        result: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
        result["cpu_ms_per_call"] = (cpu1 - cpu0) / max(result["calls"], 1)
        # the stub shares the two cores: what the upstream itself cost per call (zero for the floor)
        result["stub_cpu_ms_per_call"] = (stub1 - stub0) / max(result["calls"], 1)
        result["peak_rss_mib"] = proc_peak_rss_mib(proc.pid)
        if who == "tasklink":
            stats = b.stub_stats()
            result["upstream_connections"] = stats["connections"].get("tasklink", 0)
        return result
    finally:
        if profile is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn exits cleanly, so pyinstrument writes its report
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
        stop(proc)


def throughput(b: Bench) -> None:
    if not NODE.exists():
        b.results["load"] = {"skipped": f"{NODE} not found (run scripts/test once to install the Node clients)"}
        return
    runs, seconds, clients = (1, 5.0, 16) if b.quick else (3, 10.0, 16)
    per: dict[str, list[dict[str, Any]]] = {"tasklink": [], "floor": []}
    for k in range(runs):
        for who in ("tasklink", "floor") if k % 2 == 0 else ("floor", "tasklink"):
            per[who].append(load_once(b, who, clients, seconds))
    out: dict[str, Any] = {"runs": runs, "seconds": seconds, "clients": clients}
    for who, rs in per.items():
        out[who] = {
            key: statistics.median(r[key] for r in rs)
            for key in ("calls_per_s", "p50_ms", "p99_ms", "cpu_ms_per_call", "stub_cpu_ms_per_call", "peak_rss_mib")
        }
        out[who]["errors"] = sum(r["errors"] for r in rs)
        out[who]["all_calls_per_s"] = [round(r["calls_per_s"]) for r in rs]
        if who == "tasklink":
            out[who]["upstream_connections"] = max(r["upstream_connections"] for r in rs)
    out["ratio"] = out["tasklink"]["calls_per_s"] / out["floor"]["calls_per_s"]
    if b.profile is not None:  # one more tasklink run, profiled; not counted (profiling slows it down)
        load_once(b, "tasklink", clients, seconds, profile=b.profile)
        out["profile"] = str(b.profile)
    b.results["load"] = out


# -- 4. list walk ----------------------------------------------------------------------------


def list_walk(b: Bench) -> None:
    out: dict[str, Any] = {}
    for n in (1_000, 10_000):
        data = b.work / f"walk-{n}"
        subprocess.run([PYTHON, "-m", "tests.benchmarks.walk", "seed", str(data), str(n)], check=True, cwd=ROOT)
        port = free_port()
        sandbox = subprocess.Popen(
            [TASKLINK, "sandbox", "--port", str(port)],
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
    from tasklink.refs import load_object
    from tasklink.settings import TaskLinkSettings

    settings = TaskLinkSettings(data_dir=Path(tempfile.gettempdir()))
    env: dict[str, str] = {}
    for name, manifest in load_manifests().items():
        adapter_cls = load_object(manifest.adapter)
        env.update(adapter_cls.sandbox_settings(settings).as_env(f"http://127.0.0.1:{port}/{name}"))
    return env


# -- 5. tokens -------------------------------------------------------------------------------


def tokens(b: Bench) -> None:
    import anyio

    from .tokens import catalogue_sizes, row_sizes

    out = catalogue_sizes()
    out["rows"] = anyio.run(row_sizes, b.work / "tokens")
    b.results["tokens"] = out


# -- the table -------------------------------------------------------------------------------


def table(r: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, str, str, str, str]] = []

    def add(what: str, tl: str, fl: str, rel: str, target: str = "") -> None:
        rows.append((what, tl, fl, rel, target))

    if "cold" in r:
        c = r["cold"]
        add(
            f"cold start stdio → initialize (median of {c['spawns']})",
            f"{c['tasklink_ms']:.0f} ms",
            f"{c['floor_ms']:.0f} ms",
            f"×{c['ratio']:.2f}",
            _verdict(c["ratio"] <= 1.25, "≤ ×1.25"),
        )
        add(
            "  … → tools/list answered",
            f"{c['tasklink_listed_ms']:.0f} ms",
            f"{c['floor_listed_ms']:.0f} ms",
            f"×{c['listed_ratio']:.2f}",
        )
    for transport in ("stdio", "http"):
        if transport not in r:
            continue
        t = r[transport]
        for q in ("p50", "p99"):
            x = t[q]
            add(
                f"get_task {transport} {q} (floor = add RTT + direct GET)",
                f"{x['tasklink']:.2f} ms",
                f"{x['floor']:.2f} + {x['direct']:.2f} ms",
                f"+{x['overhead']:.2f} ms",
                _verdict(x["overhead"] <= 1.0, "≤ +1 ms") if (q == "p50" and transport == "stdio") else "",
            )
        up = t["upstream"]
        add(
            f"upstream TCP connections per 1,000 calls ({transport})",
            str(up["connections"]),
            "",
            f"{up['requests']} requests",
            _verdict(up["connections"] <= 2, "≤ 2"),
        )
    if "load" in r and "skipped" not in r["load"]:
        ld = r["load"]
        tl, fl = ld["tasklink"], ld["floor"]
        add(
            f"{ld['clients']} HTTP clients, {ld['seconds']:.0f} s: calls/s (median of {ld['runs']})",
            f"{tl['calls_per_s']:.0f}",
            f"{fl['calls_per_s']:.0f}",
            f"×{ld['ratio']:.2f}",
            _verdict(ld["ratio"] >= 0.7, "≥ ×0.7"),
        )
        add("  p50 / p99 latency under load", f"{tl['p50_ms']:.1f} / {tl['p99_ms']:.1f} ms",
            f"{fl['p50_ms']:.1f} / {fl['p99_ms']:.1f} ms", "")  # fmt: skip
        add("  server CPU per call", f"{tl['cpu_ms_per_call']:.2f} ms", f"{fl['cpu_ms_per_call']:.2f} ms",
            f"×{tl['cpu_ms_per_call'] / fl['cpu_ms_per_call']:.2f}")  # fmt: skip
        add("  stub (upstream) CPU per call, same cores", f"{tl['stub_cpu_ms_per_call']:.2f} ms",
            f"{fl['stub_cpu_ms_per_call']:.2f} ms", "")  # fmt: skip
        add("  server peak RSS", f"{tl['peak_rss_mib']:.0f} MiB", f"{fl['peak_rss_mib']:.0f} MiB",
            f"×{tl['peak_rss_mib'] / fl['peak_rss_mib']:.2f}")  # fmt: skip
        add("  errors; upstream connections (16 clients)", f"{tl['errors']}; {tl['upstream_connections']}",
            f"{fl['errors']}", "")  # fmt: skip
    if "walk" in r:
        w = r["walk"]
        small, big = w["1000"], w["10000"]
        add(
            "list walk peak RSS: 10,000 vs 1,000 tasks/vendor",
            f"{big['peak_rss_kib'] / 1024:.1f} MiB",
            f"{small['peak_rss_kib'] / 1024:.1f} MiB",
            f"×{w['peak_rss_ratio']:.2f}",
            _verdict(w["peak_rss_ratio"] <= 1.5, "≤ ×1.5"),
        )
        for vendor in ("lightfield", "trackops", "workiva"):
            v = big[vendor]
            add(
                f"  {vendor}: 10,000 rows (page sizes, most in flight)",
                f"{v['rows']} rows, {v['tool_calls']} calls",
                f"{v['vendor_requests']} requests",
                f"size {v['page_sizes']}, ≤{v['max_in_flight']} at once, {v['seconds']:.1f} s",
            )
    if "tokens" in r:
        tk = r["tokens"]
        add(
            "tools/list, model-facing (name+description+inputSchema)",
            f"{tk['model_bytes']} B ≈ {tk['model_bytes'] // 4} tok",
            "",
            f"{len(tk['per_tool'])} tools",
            _verdict(tk["model_bytes"] <= tk["model_budget"], f"≤ {tk['model_budget']} B"),
        )
        add(
            "tools/list, whole wire payload (with outputSchema)",
            f"{tk['wire_bytes']} B ≈ {tk['wire_bytes'] // 4} tok",
            "",
            "",
            _verdict(tk["wire_bytes"] <= tk["wire_budget"], f"≤ {tk['wire_budget']} B"),
        )
        for vendor, row in tk["rows"].items():
            add(f"  list_tasks bytes per task row ({vendor})", f"{row:.0f} B", "", "")
    widths = [
        max(len(row[i]) for row in [*rows, ("what", "tasklink", "floor", "vs floor", "target")]) for i in range(5)
    ]
    header = ("what", "tasklink", "floor", "vs floor", "target")
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return lines


def _verdict(ok: bool, target: str) -> str:
    return f"{'met' if ok else 'MISSED'} ({target})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer spawns and one 5 s load run per server")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="after the load runs, profile tasklink under the same load (pyinstrument) into FILE",
    )
    opts = parser.parse_args(argv)
    only = [s for s in opts.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    work = Path(tempfile.mkdtemp(prefix="tasklink-bench-"))
    b = Bench(quick=opts.quick, work=work, profile=opts.profile.resolve() if opts.profile else None)
    steps: dict[str, Callable[[], None]] = {
        "cold": lambda: cold_start(b),
        "stdio": lambda: latency(b, "stdio"),
        "http": lambda: latency(b, "http"),
        "load": lambda: throughput(b),
        "walk": lambda: list_walk(b),
        "tokens": lambda: tokens(b),
    }
    started = time.perf_counter()
    try:
        with b.upstream():
            for name in SECTIONS:
                if name in only:
                    t0 = time.perf_counter()
                    steps[name]()
                    print(f"# {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    b.results["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print("\n".join(table(b.results)))
    print(f"\n{b.results['meta']}")
    if opts.json:
        opts.json.write_text(json.dumps(b.results, indent=2))
