import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EventBus, memoryStorage } from "../../src/index.js";
import { importAuditFallback } from "../../src/outbox/index.js";
import { AUDIT_FALLBACK_NAMESPACE, canonicalJson, uuidV5 } from "../../src/outbox/uuid-v5.js";
import { outboxFolder } from "../support/outbox.js";

// A copy of the Python agent's record shapes (v2.4.2): pydantic dumps, records rebuilt after a failed bus factory, a torn line.
const FIXTURE = join(import.meta.dirname, "..", "fixtures", "python-audit-fallback.jsonl");
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("uuidV5", () => {
  it("matches Python's uuid.uuid5 (the RFC's DNS namespace example) and sets version 5", () => {
    expect(uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org")).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
    expect(uuidV5(AUDIT_FALLBACK_NAMESPACE, "x")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-/);
  });

  it("canonicalJson ignores key order and spacing", () => {
    expect(canonicalJson(JSON.parse('{"b": 1, "a": {"d": [1, {"f": 2, "e": 3}], "c": null}}'))).toBe(
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
  });
});

describe("importAuditFallback", () => {
  it("imports the Python agent's file: pydantic dumps, rebuilt records, a torn last line; twice stores nothing twice", async () => {
    const bus = new EventBus({ storage: memoryStorage() });
    cleanups.push(() => bus.close());
    const first = await importAuditFallback(bus, FIXTURE);
    expect(first.imported).toBe(5);
    expect(first.duplicates).toBe(0);
    expect(first.rejected).toEqual([{ line: 6, reason: expect.stringContaining("torn last line") }]);

    const stored = await bus.listEvents({ limit: 100 });
    expect(stored).toHaveLength(5);
    const accepted = await bus.getEvent("8d986cbc-d95f-45b4-9397-6fd34085d7b6");
    expect(accepted).toMatchObject({
      event_type: "proposal.accepted",
      timestamp: "2026-11-24T10:15:30.123Z",
      payload: { cpm: 12.5, impressions: 250000, currency: "USD" },
      metadata: { emit_error: "RuntimeError: bus down" },
    });
    expect((await bus.getEvent("3870391c-2618-4945-9117-020ed7343e5a"))?.timestamp).toBe("2026-11-24T10:15:31.000Z");
    const granted = stored.find((event) => event.event_type === "approval.granted");
    expect(granted?.metadata).toEqual({
      reason: "within guardrails",
      emit_error: "ConnectionError: Error 111 connecting to localhost:6379. Connection refused.",
    });
    expect(granted?.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5/);

    const second = await importAuditFallback(bus, FIXTURE);
    expect(second).toEqual({ imported: 0, duplicates: 5, rejected: first.rejected });
    expect(await bus.listEvents({ limit: 100 })).toEqual(stored);
  });

  it("gives a rebuilt record the same id in any process: from its content, whatever its key order or spacing", async () => {
    const { folder, remove } = await outboxFolder();
    cleanups.push(remove);
    const record = { event_type: "deal.created", deal_id: "d-1", payload: { a: 1, b: 2 }, emit_error: "down" };
    const spaced = join(folder, "spaced.jsonl");
    const compact = join(folder, "compact.jsonl");
    await writeFile(spaced, `${JSON.stringify(record, null, 0).replaceAll(",", ", ")}\n`);
    await writeFile(
      compact,
      `{"payload":{"b":2,"a":1},"emit_error":"down","deal_id":"d-1","event_type":"deal.created"}\n`,
    );
    const one = new EventBus();
    const two = new EventBus();
    cleanups.push(
      () => one.close(),
      () => two.close(),
    );
    await importAuditFallback(one, spaced);
    await importAuditFallback(two, compact);
    const [a] = await one.listEvents({});
    const [b] = await two.listEvents({});
    expect(a?.event_id).toBe(uuidV5(AUDIT_FALLBACK_NAMESPACE, canonicalJson(record)));
    expect(b?.event_id).toBe(a?.event_id);
  });

  it("reports garbage, non-event JSON and invalid events by line, imports the rest, never throws for them", async () => {
    const { folder, remove } = await outboxFolder();
    cleanups.push(remove);
    const path = join(folder, "audit_fallback.jsonl");
    const lines = [
      '{"event_type": "deal.synced", "deal_id": "d-9"}',
      "garbage {",
      "[1, 2]",
      '{"event_type": "deal.exploded"}',
      "",
      '{"event_type": "deal.synced", "deal_id": "d-9", "surprise": true}',
      '{"event_id": 42, "event_type": "deal.synced"}',
      '{"event_type": "deal.registered", "metadata": "not an object", "emit_error": "x"}',
    ];
    await writeFile(path, `${lines.join("\n")}\n`);
    const bus = new EventBus();
    cleanups.push(() => bus.close());
    const result = await importAuditFallback(bus, path);
    expect(result.imported).toBe(1);
    expect(result.rejected.map((entry) => entry.line)).toEqual([2, 3, 4, 6, 7, 8]);
    expect(result.rejected[0]?.reason).toMatch(/^not JSON/);
    expect(result.rejected[1]?.reason).toMatch(/not an event record \(a list\)/);
    expect(result.rejected[2]?.reason).toMatch(/event_type/);
    expect(result.rejected[3]?.reason).toMatch(/surprise/);
  });

  it("throws a clear error for a file that does not exist", async () => {
    await expect(importAuditFallback(new EventBus(), "/nonexistent/audit_fallback.jsonl")).rejects.toThrow(
      /cannot read the audit fallback file \/nonexistent\/audit_fallback.jsonl/,
    );
  });
});
