import { EventBus } from "../../bus/event-bus.js";
import type { Event } from "../../event/event.js";
import type { EventStorage } from "../../storage/types.js";
import { buildEvent, type ConformanceExpect, type ConformanceIt, idsOf } from "./fixtures.js";

/** What the watch cases need from the suite's options. */
export interface WatchConformanceSetup {
  readonly it: ConformanceIt;
  readonly expect: ConformanceExpect;
  readonly createStorage: () => EventStorage | Promise<EventStorage>;
  /** A second store over the same data through its own client or connection, as another process would open it. */
  readonly peer?: ((storage: EventStorage) => EventStorage | Promise<EventStorage>) | undefined;
  readonly timeout: number;
}

/** Resolves on the next call of the returned callback. */
function nextCall(): { callback: () => void; called: () => Promise<void> } {
  let resolve = () => {};
  let promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return {
    callback: () => {
      resolve();
      promise = new Promise<void>((settle) => {
        resolve = settle;
      });
    },
    called: () => promise,
  };
}

/**
 * The optional `watch` capability: a wake-up soon after an append (through this store and, with `peer`, through
 * another client), released by the function it returns, and end-to-end through `bus.tail`.
 */
export function defineWatchConformance(setup: WatchConformanceSetup): void {
  const { it, expect, timeout } = setup;
  it(
    "watch wakes after an append through the same store, and stops when told",
    async () => {
      const storage = await setup.createStorage();
      try {
        expect(typeof storage.watch).toBe("function");
        const wake = nextCall();
        const stop = (storage.watch as NonNullable<EventStorage["watch"]>)(wake.callback);
        const woken = wake.called();
        await storage.append([buildEvent(0)]);
        await woken; // the suite's timeout fails a store that never wakes its watcher
        await stop();
        // A second watch after the first stopped works as well: stopping released only the first one.
        const again = nextCall();
        const stopAgain = (storage.watch as NonNullable<EventStorage["watch"]>)(again.callback);
        const wokenAgain = again.called();
        await storage.append([buildEvent(1)]);
        await wokenAgain;
        await stopAgain();
      } finally {
        await storage.close();
      }
    },
    timeout,
  );

  if (setup.peer === undefined) return;
  const openPeer = setup.peer;
  it(
    "watch wakes after an append through another client of the same store, and a tail yields it",
    async () => {
      const storage = await setup.createStorage();
      const peer = await openPeer(storage);
      const bus = new EventBus({ storage });
      const controller = new AbortController();
      try {
        const wake = nextCall();
        const stop = (storage.watch as NonNullable<EventStorage["watch"]>)(wake.callback);
        const tail = bus.tail({ session_id: "watched" }, { signal: controller.signal });
        const first = tail.next();
        // A LISTEN or SUBSCRIBE takes a round trip to be in place: write through the peer until a wake-up arrives.
        let woken = false;
        for (let index = 2; !woken; index++) {
          const called = wake.called().then(() => {
            woken = true;
          });
          await peer.append([buildEvent(index, { session_id: "other" })]);
          await Promise.race([called, new Promise((resolve) => setTimeout(resolve, 100))]);
        }
        const watched = buildEvent(1, { session_id: "watched" });
        await peer.append([watched]);
        const yielded = await first;
        expect(idsOf([yielded.value as Event])).toEqual([watched.event_id]);
        await stop();
      } finally {
        controller.abort();
        await bus.close();
        await peer.close();
        await storage.close();
      }
    },
    timeout,
  );
}
