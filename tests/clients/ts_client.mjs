// The TypeScript SDK client against tasklink: list tools, create an intake, create a task on it,
// read the intake back and check the task is there. Prints one JSON line with what it saw.
//   node ts_client.mjs stdio <command> [args...]
//   node ts_client.mjs http <url> [bearer-token]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, ...rest] = process.argv.slice(2);
const transport =
  mode === "stdio"
    ? new StdioClientTransport({ command: target, args: rest, env: process.env, stderr: "ignore" })
    : new StreamableHTTPClientTransport(
        new URL(target),
        rest[0] ? { requestInit: { headers: { Authorization: `Bearer ${rest[0]}` } } } : undefined,
      );

function structured(result, what) {
  if (result.isError) throw new Error(`${what} failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent;
}

const client = new Client({ name: "tasklink-ts-check", version: "1.0.0" });
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name).sort();
const intake = structured(
  await client.callTool({ name: "create_intake", arguments: { title: `TS SDK intake (${mode})`, priority: "HIGH" } }),
  "create_intake",
);
const task = structured(
  await client.callTool({
    name: "create_task",
    arguments: { vendor: "spotdraft", title: "TS SDK task", intake_id: intake.id, assignees: ["102"] },
  }),
  "create_task",
);
const readBack = structured(await client.callTool({ name: "get_intake", arguments: { intake_id: intake.id } }), "get_intake");
console.log(
  JSON.stringify({
    server: client.getServerVersion(),
    protocol: transport.protocolVersion ?? null,
    tools,
    intake: { id: intake.id, status: intake.status, priority: intake.priority },
    task: { id: task.id, title: task.title },
    read_back_tasks: readBack.tasks.map((t) => ({ id: t.id, title: t.title })),
  }),
);
await client.close();
