// Question: what does a Redis emitEvent cost next to sending the same commands raw through ioredis, one at a time
// and 16 in flight? "The same commands" is the adapter's own Lua append script, run with EVALSHA on keys and
// arguments prepared in advance: the server and protocol cost no Redis client can avoid. For information, also a
// raw MULTI of the plain commands (SET, INCR, ZADD per index).
import type { Redis } from "ioredis";
import { EventBus } from "../src/index.js";
import { APPEND_SCRIPT } from "../src/storage/redis/redis-append.js";
import { REDIS_INDEXED_FIELDS, redisKeyLayout } from "../src/storage/redis/redis-schema.js";
import { measure, quick, report, skip, speedRow } from "./harness.js";
import { payloadFor, redisStore, redisUnreachable } from "./stores.js";

const QUESTION = "redis-emit";
const IN_FLIGHT = 16;
const PER_WORKER = 4;

const unreachable = await redisUnreachable();
if (unreachable !== undefined) {
  await skip(QUESTION, unreachable);
  process.exit(0);
}

const FIELDS = {
  event_type: "negotiation.round",
  flow_id: "flow-1",
  flow_type: "proposal_handling",
  proposal_id: "proposal-1",
  deal_id: "",
  session_id: "session-1",
} as const;

const store = redisStore();
const client: Redis = store.client;
const bus = new EventBus({ storage: store.storage });
await bus.emitEvent({ event_type: "session.created", session_id: "session-1" });
// Wake-ups cost what they cost with someone listening: the store above publishes to a watcher in this process; the
// same appends on a store with `notify: false` are its floor.
const stopWatch = store.storage.watch?.(() => {});
const quiet = redisStore({ notify: false });
const quietBus = new EventBus({ storage: quiet.storage });
await quietBus.emitEvent({ event_type: "session.created", session_id: "session-1" });

// The raw floors write under their own prefix, with every key and argument but the event id prepared up front.
const raw = redisKeyLayout(`${store.prefix}raw:`);
const indexKeys = REDIS_INDEXED_FIELDS.filter((field) => FIELDS[field] !== "").map((field) =>
  raw.index(field, FIELDS[field]),
);
const indexCount = String(indexKeys.length);
const recordHead = `{"event_id":"`;
const recordTail = `","event_type":"negotiation.round","timestamp":"2026-11-24T10:15:30.123Z","flow_id":"flow-1","flow_type":"proposal_handling","proposal_id":"proposal-1","deal_id":"","session_id":"session-1","payload":${JSON.stringify(payloadFor(1))},"metadata":{}}`;
const sha = (await client.script("LOAD", APPEND_SCRIPT)) as string;

const epochMs = String(Date.parse("2026-11-24T10:15:30.123Z"));

// The script's own layout: four fixed keys, then per event its record key and index keys; no wake-up channel (""),
// then per event four arguments.
function rawScript(): Promise<unknown> {
  const id = crypto.randomUUID();
  return client.evalsha(
    sha,
    5 + indexKeys.length,
    raw.sequence,
    raw.log,
    raw.time,
    raw.timeCoverage,
    raw.event(id),
    ...indexKeys,
    "",
    id,
    recordHead + id + recordTail,
    indexCount,
    epochMs,
  );
}

async function rawMulti(): Promise<unknown> {
  const id = crypto.randomUUID();
  const seq = await client.incr(raw.sequence);
  const transaction = client
    .multi()
    .set(raw.event(id), recordHead + id + recordTail)
    .zadd(raw.log, seq, id);
  for (const key of indexKeys) transaction.zadd(key, seq, id);
  return transaction.exec();
}

let counter = 0;
const emitOne = () => bus.emitEvent({ ...FIELDS, payload: payloadFor(counter++) });
const emitQuiet = () => quietBus.emitEvent({ ...FIELDS, payload: payloadFor(counter++) });

async function concurrently(operation: () => Promise<unknown>): Promise<void> {
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let index = 0; index < PER_WORKER; index++) await operation();
    }),
  );
}

const perCall = IN_FLIGHT * PER_WORKER;
const timings = await measure(
  [
    { name: "emitEvent", run: emitOne },
    { name: "raw EVALSHA", run: rawScript },
    { name: "raw INCR + MULTI", run: rawMulti },
    { name: "emitEvent x16", run: () => concurrently(emitOne), opsPerCall: perCall },
    { name: "raw EVALSHA x16", run: () => concurrently(rawScript), opsPerCall: perCall },
    { name: "raw INCR + MULTI x16", run: () => concurrently(rawMulti), opsPerCall: perCall },
    { name: "emitEvent, notify off", run: emitQuiet },
    { name: "emitEvent x16, notify off", run: () => concurrently(emitQuiet), opsPerCall: perCall },
  ] as never[],
  { timeMs: quick ? 200 : 1000 },
);
await stopWatch?.();
await store.dispose();
await quiet.dispose();

const [emit, script, multi, emit16, script16, multi16, quiet1, quiet16] = timings;
if (!emit || !script || !multi || !emit16 || !script16 || !multi16 || !quiet1 || !quiet16) {
  throw new Error("missing timing");
}
const informational = { informational: true } as const;
await report(
  QUESTION,
  [
    speedRow(QUESTION, "redis emitEvent, one at a time", emit, "raw EVALSHA of the append script", script, 0.8),
    speedRow(
      QUESTION,
      `redis emitEvent, ${IN_FLIGHT} in flight`,
      emit16,
      `raw EVALSHA, ${IN_FLIGHT} in flight`,
      script16,
      0.8,
    ),
    speedRow(QUESTION, "redis emitEvent, wake-up on (watched), one at a time", emit, "notify: false", quiet1, 0.9),
    speedRow(
      QUESTION,
      `redis emitEvent, wake-up on (watched), ${IN_FLIGHT} in flight`,
      emit16,
      "notify: false",
      quiet16,
      0.9,
    ),
    {
      ...speedRow(QUESTION, "redis emitEvent, one at a time", emit, "raw INCR + MULTI(SET, ZADD x6)", multi, 0.8),
      ...informational,
    },
    {
      ...speedRow(
        QUESTION,
        `redis emitEvent, ${IN_FLIGHT} in flight`,
        emit16,
        `raw INCR + MULTI(SET, ZADD x6), ${IN_FLIGHT} in flight`,
        multi16,
        0.8,
      ),
      ...informational,
    },
  ],
  [
    `one ioredis client for all; the raw floors prepare every key and argument except a fresh event id (randomUUID) ` +
      `and write under their own prefix; ${IN_FLIGHT} in flight = ${IN_FLIGHT} workers each doing ${PER_WORKER} appends in turn`,
    "INCR + MULTI is not atomic with the sequence (two round trips), which is why the adapter runs a script instead",
  ],
);
