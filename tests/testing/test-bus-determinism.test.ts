import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { createTestBus } from "../../src/testing/index.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

it("numbers the flow ids of scopes that bind none: flow-1, flow-2, ...", async () => {
  const bus = createTestBus();
  const first = bus.scope({ flow_type: "proposal_handling" });
  const second = bus.scope();
  expect([first.context.flow_id, second.context.flow_id, first.scope({ deal_id: "d" }).context.flow_id]).toEqual([
    "flow-1",
    "flow-2",
    "flow-1",
  ]);
  expect(bus.scope({ flow_id: "mine" }).context.flow_id).toBe("mine");
});

it("emits identical events when one test-bus script runs twice in fresh processes", async () => {
  const folder = await mkdtemp(join(tmpdir(), "test-bus-determinism-"));
  try {
    const script = join(folder, "flow.mts");
    await writeFile(
      script,
      `import { createTestBus } from ${JSON.stringify(join(root, "src/testing/index.ts"))};
       const bus = createTestBus();
       const flow = bus.scope({ flow_type: "proposal_handling", session_id: "s-1" });
       await flow.emitEvent({ event_type: "proposal.received", payload: { budget: 50_000 } });
       const other = bus.scope({ proposal_id: "p-2" });
       await other.emitEvent({ event_type: "negotiation.started" });
       await bus.emitEvents([{ event_type: "negotiation.round", flow_id: other.context.flow_id, payload: { round: 1 } }]);
       process.stdout.write(JSON.stringify(await bus.listEvents()));`,
    );
    const once = async () => (await run(process.execPath, ["--import", "tsx", script], { cwd: root })).stdout;
    const [first, second] = [await once(), await once()];
    expect(first).toBe(second);
    const events = JSON.parse(first) as { flow_id: string; event_id: string; timestamp: string }[];
    expect(events.map((event) => event.flow_id)).toEqual(["flow-1", "flow-2", "flow-2"]);
    expect(events[0]?.event_id).toBe("00000000-0000-4000-8000-000000000001");
    expect(events[0]?.timestamp).toBe("2026-01-01T00:00:00.000Z");
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}, 60_000);
