// Closed-loop load: C handshake-era clients (one MCP session each) call one tool for D seconds.
// Usage: node load.mjs PORT TOOL ARGS_JSON C D   → one JSON line: calls/s, p50/p99 ms, errors, SSE answers.
// PORT may be a comma-separated list (several workers): client k then uses port k mod their number, and
// the line also has calls_per_port. "{n}" in ARGS_JSON becomes "<client>-<call>" in every call (unique
// titles for create_task).
const [portArg, tool, argsJson, C, D] = process.argv.slice(2);
const ports = portArg.split(",");
const urls = ports.map((port) => `http://127.0.0.1:${port}/mcp`);
const callsPerPort = ports.map(() => 0);
const templated = argsJson.includes("{n}");
const fixedArgs = JSON.parse(argsJson);
let sse = 0;
const base = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function post(url, body, headers) {
  const r = await fetch(url, { method: "POST", headers: { ...base, ...headers }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status === 202) return [r, null];
  if ((r.headers.get("content-type") || "").startsWith("text/event-stream")) {
    for (const line of text.split("\n")) {
      if (line.startsWith("data: ") && line.length > 6) {
        const m = JSON.parse(line.slice(6));
        if (m.id === body.id) return [r, m, true];
      }
    }
    throw new Error("no response in the event stream");
  }
  return [r, JSON.parse(text), false];
}

async function client(k, deadline, lat) {
  let id = 0, errors = 0;
  const url = urls[k % urls.length];
  const [r] = await post(url, { jsonrpc: "2.0", id: id++, method: "initialize", params: {
    protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "load" + k, version: "0" } } }, {});
  const sid = r.headers.get("mcp-session-id");
  const hdr = { "mcp-protocol-version": "2025-11-25", ...(sid ? { "mcp-session-id": sid } : {}) };
  await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, hdr);
  while (performance.now() < deadline) {
    const i = id++;
    const args = templated ? JSON.parse(argsJson.replaceAll("{n}", `${k}-${i}`)) : fixedArgs;
    const t = performance.now();
    try {
      const [, m, streamed] = await post(url, { jsonrpc: "2.0", id: i, method: "tools/call", params: { name: tool, arguments: args } }, hdr);
      if (streamed) sse++;
      if (!m?.result || m.result.isError) errors++;
    } catch { errors++; }
    lat.push(performance.now() - t);
    callsPerPort[k % urls.length]++;
  }
  return errors;
}

const lat = [];
const t0 = performance.now();
const deadline = t0 + Number(D) * 1000;
const errs = (await Promise.all(Array.from({ length: Number(C) }, (_, k) => client(k, deadline, lat))))
  .reduce((a, b) => a + b, 0);
const wall = (performance.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const p = (q) => lat[Math.round((q / 100) * (lat.length - 1))];
console.log(JSON.stringify({ calls: lat.length, calls_per_s: lat.length / wall, p50_ms: p(50), p99_ms: p(99), errors: errs,
  sse_answers: sse, ...(ports.length > 1 ? { calls_per_port: callsPerPort } : {}) }));
