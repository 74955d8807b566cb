import { EventBusError } from "../../errors/error-classes.js";
import { normalizeEventQuery } from "../../event/query.js";
import type { EventStorage } from "../../storage/types.js";
import { buildEvent, type ConformanceExpect, type ConformanceIt, rejectionOf } from "./fixtures.js";

interface ClosedConformanceOptions {
  readonly it: ConformanceIt;
  readonly expect: ConformanceExpect;
  readonly createStorage: () => EventStorage | Promise<EventStorage>;
  readonly checkpoints: boolean;
  readonly prune: boolean;
  readonly timeout: number;
}

/** Every call on a closed store fails the same way on every adapter: never an empty answer, never a driver error. */
export function defineClosedConformance(options: ClosedConformanceOptions) {
  const { it, expect } = options;
  it(
    "refuses every call once closed with an EventBusError whose code is ERR_CLOSED",
    async () => {
      const storage = await options.createStorage();
      const stored = buildEvent(0);
      await storage.append([stored]);
      await storage.close();
      const query = normalizeEventQuery({});
      const calls: [string, () => Promise<unknown>][] = [
        ["append", () => storage.append([buildEvent(1)])],
        ["get", () => storage.get(stored.event_id)],
        ["list", () => storage.list(query)],
      ];
      const { listJson, getJson, prune, checkpoints } = storage;
      if (listJson) calls.push(["listJson", () => listJson.call(storage, query)]);
      if (getJson) calls.push(["getJson", () => getJson.call(storage, stored.event_id)]);
      if (options.prune && prune) calls.push(["prune", () => prune.call(storage, { before: new Date() })]);
      if (options.checkpoints && checkpoints) calls.push(["readCheckpoint", () => checkpoints.readCheckpoint("c")]);
      for (const [name, call] of calls) {
        const error = await rejectionOf(Promise.resolve().then(call));
        expect({ name, isEventBusError: error instanceof EventBusError }).toEqual({ name, isEventBusError: true });
        expect({ name, code: (error as EventBusError).code }).toEqual({ name, code: "ERR_CLOSED" });
      }
      // Closing again is harmless.
      await storage.close();
    },
    options.timeout,
  );
}
