// Question: what does a memory emitEvent cost next to the bare store (literal + uuid + ISO time + Map.set + push),
// and next to a peer event store's in-memory append (Emmett)? And what do typed payloads cost: nothing for a type
// without a schema (same path as a bus without `payloads`), the schema's own parse for a type with one.
import { getInMemoryEventStore } from "@event-driven-io/emmett";
import * as z from "zod";
import { EventBus, type PayloadSchemas } from "../src/index.js";
import { formatTiming, measure, report, speedRatio } from "./harness.js";
import { payloadFor } from "./stores.js";

const BATCH = 100;

const payloads = {
  "negotiation.round": z.object({
    round: z.number().int().nonnegative(),
    cpm: z.number(),
    currency: z.string().length(3),
    lines: z.array(z.object({ sku: z.string(), impressions: z.number().int() })),
  }),
  // A schema for another type: the bus has a catalogue, the emitted type has no schema.
  "deal.created": z.object({ cpm: z.number() }),
} satisfies PayloadSchemas;

function emitRounds(bus: EventBus<PayloadSchemas>, eventType: "negotiation.round" | "negotiation.started") {
  return async () => {
    for (let index = 0; index < BATCH; index++) {
      await bus.emitEvent({
        event_type: eventType,
        flow_id: "flow-1",
        flow_type: "proposal_handling",
        session_id: "session-1",
        proposal_id: "proposal-1",
        payload: payloadFor(index),
      });
    }
  };
}

const typedBusUntypedType = {
  name: "emitEvent, bus with payloads, type without a schema",
  setup: () => emitRounds(new EventBus({ payloads }) as unknown as EventBus<PayloadSchemas>, "negotiation.started"),
  run: (emit: () => Promise<void>) => emit(),
  opsPerCall: BATCH,
};

const untypedBusSameType = {
  name: "emitEvent, bus without payloads (main's path), same type",
  setup: () => emitRounds(new EventBus() as EventBus<PayloadSchemas>, "negotiation.started"),
  run: (emit: () => Promise<void>) => emit(),
  opsPerCall: BATCH,
};

const typedBusSchemaType = {
  name: "emitEvent, type with a schema",
  setup: () => emitRounds(new EventBus({ payloads }) as unknown as EventBus<PayloadSchemas>, "negotiation.round"),
  run: (emit: () => Promise<void>) => emit(),
  opsPerCall: BATCH,
};

const schemaParseAlone = {
  name: "z.safeParse of the payload alone",
  run: () => {
    for (let index = 0; index < BATCH; index++) z.safeParse(payloads["negotiation.round"], payloadFor(index));
  },
  opsPerCall: BATCH,
};

const emitEvent = {
  name: "emitEvent (memory)",
  setup: () => new EventBus(),
  run: async (bus: EventBus) => {
    for (let index = 0; index < BATCH; index++) {
      await bus.emitEvent({
        event_type: "negotiation.round",
        flow_id: "flow-1",
        flow_type: "proposal_handling",
        session_id: "session-1",
        proposal_id: "proposal-1",
        payload: payloadFor(index),
      });
    }
  },
  opsPerCall: BATCH,
};

const bareStore = {
  name: "bare store (literal + randomUUID + toISOString + Map.set + push)",
  setup: () => ({ byId: new Map<string, object>(), log: [] as object[] }),
  run: (store: { byId: Map<string, object>; log: object[] }) => {
    for (let index = 0; index < BATCH; index++) {
      const event = {
        event_id: crypto.randomUUID(),
        event_type: "negotiation.round",
        timestamp: new Date().toISOString(),
        flow_id: "flow-1",
        flow_type: "proposal_handling",
        proposal_id: "proposal-1",
        deal_id: "",
        session_id: "session-1",
        payload: payloadFor(index),
        metadata: {},
      };
      store.byId.set(event.event_id, event);
      store.log.push(event);
    }
  },
  opsPerCall: BATCH,
};

const emmett = {
  name: "Emmett getInMemoryEventStore().appendToStream",
  setup: () => ({ store: getInMemoryEventStore(), appended: 0 }),
  run: async (state: { store: ReturnType<typeof getInMemoryEventStore>; appended: number }) => {
    for (let index = 0; index < BATCH; index++) {
      // One stream per negotiation, 100 negotiations: a fair use of a stream-per-aggregate store.
      const stream = `negotiation-${state.appended++ % 100}`;
      await state.store.appendToStream(stream, [{ type: "NegotiationRound", data: payloadFor(index) }]);
    }
  },
  opsPerCall: BATCH,
};

const [library, floor, peer, noSchema, mainPath, withSchema, parseAlone] = await measure([
  emitEvent,
  bareStore,
  emmett,
  typedBusUntypedType,
  untypedBusSameType,
  typedBusSchemaType,
  schemaParseAlone,
] as never[]);
if (!library || !floor || !peer || !noSchema || !mainPath || !withSchema || !parseAlone) {
  throw new Error("missing timing");
}
// What a type with a schema should cost at most: the plain emit plus the schema's own parse.
const emitPlusParse = {
  ...mainPath,
  name: "plain emit + schema parse",
  medianUs: mainPath.medianUs + parseAlone.medianUs,
  minUs: mainPath.minUs + parseAlone.minUs,
  maxUs: mainPath.maxUs + parseAlone.maxUs,
};
await report("memory-emit", [
  {
    question: "memory-emit",
    figure: "memory emitEvent",
    value: formatTiming(library),
    floor: "bare store",
    floorValue: formatTiming(floor),
    ratio: speedRatio(library, floor),
    target: ">= 0.5x",
    met: speedRatio(library, floor) >= 0.5,
  },
  {
    question: "memory-emit",
    figure: "memory emitEvent",
    value: formatTiming(library),
    floor: "Emmett in-memory append (peer)",
    floorValue: formatTiming(peer),
    ratio: speedRatio(library, peer),
    target: "> 1x",
    met: speedRatio(library, peer) > 1,
  },
  {
    question: "memory-emit",
    figure: "emit, bus with payloads, type without a schema",
    value: formatTiming(noSchema),
    floor: "bus without payloads (main's path)",
    floorValue: formatTiming(mainPath),
    ratio: speedRatio(noSchema, mainPath),
    target: ">= 0.9x (unchanged within noise)",
    met: speedRatio(noSchema, mainPath) >= 0.9,
  },
  {
    question: "memory-emit",
    figure: "emit, type with a schema",
    value: formatTiming(withSchema),
    floor: "plain emit + the schema's parse alone",
    floorValue: formatTiming(emitPlusParse),
    ratio: speedRatio(withSchema, emitPlusParse),
    target: ">= 0.8x (the cost is the schema's parse)",
    met: speedRatio(withSchema, emitPlusParse) >= 0.8,
  },
]);
