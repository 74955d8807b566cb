// Question: what does a memory emitEvent cost next to the bare store (literal + uuid + ISO time + Map.set + push),
// and next to a peer event store's in-memory append (Emmett)?
import { getInMemoryEventStore } from "@event-driven-io/emmett";
import { EventBus } from "../src/index.js";
import { formatTiming, measure, report, speedRatio } from "./harness.js";
import { payloadFor } from "./stores.js";

const BATCH = 100;

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

const [library, floor, peer] = await measure([emitEvent, bareStore, emmett] as never[]);
if (!library || !floor || !peer) throw new Error("missing timing");
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
]);
