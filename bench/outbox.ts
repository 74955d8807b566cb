// Question: what does an emit cost that goes to the outbox because the store is down (fsync per event, and with
// many emits in flight sharing fsyncs), next to the bare file write + fdatasync of the same line; and how fast does
// the outbox replay into a store, next to appending the same events to that store directly?
import { existsSync } from "node:fs";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmitEventInput, type Event, EventBus, type EventStorage, memoryStorage } from "../src/index.js";
import { fileOutbox } from "../src/outbox/index.js";
import { parseStoredEvent } from "../src/storage/index.js";
import { measure, quick, report, speedRow } from "./harness.js";
import { payloadFor } from "./stores.js";

const IN_FLIGHT = 64;
const REPLAY_EVENTS = quick ? 2000 : 10_000;

/** A store whose appends always fail, as when the database is unreachable. */
function downStorage(): EventStorage {
  const inner = memoryStorage();
  return { ...inner, name: "down", append: async () => Promise.reject(new Error("connect ECONNREFUSED")) };
}

function input(index: number): EmitEventInput {
  return { event_type: "negotiation.round", session_id: "session-1", flow_id: "flow-1", payload: payloadFor(index) };
}

interface Folder {
  readonly folder: string;
  readonly path: string;
}

async function folder(): Promise<Folder> {
  const created = await mkdtemp(join(tmpdir(), "ase-bench-outbox-"));
  return { folder: created, path: join(created, "event-outbox.jsonl") };
}

interface OutboxState extends Folder {
  readonly bus: EventBus;
  index: number;
}

async function outboxBus(): Promise<OutboxState> {
  const where = await folder();
  const outbox = fileOutbox({ path: where.path, retry: { initialDelayMs: 3_600_000 }, onError: () => {} });
  return { ...where, bus: new EventBus({ storage: downStorage(), outbox }), index: 0 };
}

async function closeOutboxBus(state: OutboxState): Promise<void> {
  await state.bus.close();
  await rm(state.folder, { recursive: true, force: true });
}

interface RawState extends Folder {
  readonly handle: Awaited<ReturnType<typeof open>>;
  readonly line: string;
}

async function rawFile(): Promise<RawState> {
  const where = await folder();
  const probe = new EventBus();
  const line = `${JSON.stringify(await probe.emitEvent(input(0)))}\n`;
  return { ...where, handle: await open(where.path, "a"), line };
}

async function closeRaw(state: RawState): Promise<void> {
  await state.handle.close();
  await rm(state.folder, { recursive: true, force: true });
}

const sequential = {
  name: "emitEvent into the outbox, one at a time (fsync each)",
  setup: outboxBus,
  run: (state: OutboxState) => state.bus.emitEvent(input(state.index++)),
  teardown: closeOutboxBus,
};
const rawSequential = {
  name: "write + fdatasync of one line",
  setup: rawFile,
  run: async (state: RawState) => {
    await state.handle.write(state.line);
    await state.handle.datasync();
  },
  teardown: closeRaw,
};
const concurrent = {
  name: `emitEvent into the outbox, ${IN_FLIGHT} in flight (group commit)`,
  setup: outboxBus,
  run: (state: OutboxState) =>
    Promise.all(Array.from({ length: IN_FLIGHT }, () => state.bus.emitEvent(input(state.index++)))),
  teardown: closeOutboxBus,
  opsPerCall: IN_FLIGHT,
};
const rawBatched = {
  name: `write of ${IN_FLIGHT} lines + one fdatasync`,
  setup: rawFile,
  run: async (state: RawState) => {
    await state.handle.write(state.line.repeat(IN_FLIGHT));
    await state.handle.datasync();
  },
  teardown: closeRaw,
  opsPerCall: IN_FLIGHT,
};

const [emitOne, rawOne, emitMany, rawMany] = await measure(
  [sequential, rawSequential, concurrent, rawBatched] as never[],
  {
    rounds: quick ? 3 : 5,
  },
);

/** Events as a previous process left them in its outbox, and the same events for the direct append. */
async function replayFixture(): Promise<{ text: string; events: Event[] }> {
  const bus = new EventBus();
  const events: Event[] = [];
  for (let index = 0; index < REPLAY_EVENTS; index++) events.push(await bus.emitEvent(input(index)));
  return { text: events.map((event) => `${JSON.stringify(event)}\n`).join(""), events };
}
const fixture = await replayFixture();

interface ReplayState extends Folder {
  chain: Promise<void>;
}

async function replayOnce(where: Folder): Promise<void> {
  const bus = new EventBus({ storage: memoryStorage(), outbox: fileOutbox({ path: where.path }) });
  while (existsSync(where.path)) await new Promise((resolve) => setImmediate(resolve));
  await bus.close();
  await writeFile(where.path, fixture.text); // for the next iteration (see the note)
}

const replay = {
  name: `replay of ${REPLAY_EVENTS} outbox lines into memoryStorage`,
  setup: async (): Promise<ReplayState> => {
    const where = await folder();
    await writeFile(where.path, fixture.text);
    return { ...where, chain: Promise.resolve() };
  },
  // tinybench calls the function once more, untimed, to learn whether it is async: one outbox per file at a time.
  run: (state: ReplayState) => {
    state.chain = state.chain.then(() => replayOnce(state));
    return state.chain;
  },
  teardown: (where: Folder) => rm(where.folder, { recursive: true, force: true }),
  opsPerCall: REPLAY_EVENTS,
};
const directAppend = {
  name: `memoryStorage.append of the same ${REPLAY_EVENTS} events, 256 per call`,
  run: async () => {
    const storage = memoryStorage();
    for (let start = 0; start < fixture.events.length; start += 256) {
      await storage.append(fixture.events.slice(start, start + 256));
    }
  },
  opsPerCall: REPLAY_EVENTS,
};
const lines = fixture.text.split("\n").slice(0, -1);
const parseAndAppend = {
  name: `JSON.parse + parseStoredEvent of the same ${REPLAY_EVENTS} lines, then memoryStorage.append, 256 per call`,
  run: async () => {
    const storage = memoryStorage();
    for (let start = 0; start < lines.length; start += 256) {
      const group = lines.slice(start, start + 256).map((line) => parseStoredEvent(JSON.parse(line), "bench"));
      await storage.append(group);
    }
  },
  opsPerCall: REPLAY_EVENTS,
};
const [replayed, appended, parsed] = await measure([replay, directAppend, parseAndAppend] as never[], {
  rounds: quick ? 3 : 5,
});
if (!emitOne || !rawOne || !emitMany || !rawMany || !replayed || !appended || !parsed) {
  throw new Error("missing timing");
}

await report(
  "outbox",
  [
    speedRow("outbox", "outbox emit, store down, fsync each", emitOne, "write + fdatasync", rawOne, 0.7),
    speedRow(
      "outbox",
      `outbox emit, ${IN_FLIGHT} in flight`,
      emitMany,
      `${IN_FLIGHT} lines + 1 fdatasync`,
      rawMany,
      0.3,
    ),
    {
      ...speedRow("outbox", `outbox emit, ${IN_FLIGHT} in flight`, emitMany, "outbox emit, fsync each", emitOne, 1),
      informational: true,
    },
    speedRow("outbox", "replay into memoryStorage", replayed, "parse each line + append", parsed, 0.5),
    {
      ...speedRow("outbox", "replay into memoryStorage", replayed, "append of built events", appended, 1),
      informational: true,
    },
  ],
  [
    "the replay timing includes writing the file back for the next iteration (one writeFile of the whole fixture)",
    "fsync figures depend on the disk: compare ratios, not absolute times",
  ],
);
