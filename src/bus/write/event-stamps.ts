import { EventBusError, EventValidationError } from "../../errors/error-classes.js";
import { showValue } from "../../event/json-value.js";
import { isUuid } from "../../event/query.js";
import { normalizeTimestamp } from "../../event/timestamp.js";

/** Stamps `event_id` and `timestamp` on the events of one bus, from its clock and id generator. */
export class EventStamps {
  private lastStampMillis = Number.NaN;
  private lastStamp = "";

  constructor(
    private readonly now: (() => Date | string | number) | undefined,
    private readonly generateId: (() => string) | undefined,
  ) {}

  nextId(): string {
    if (this.generateId === undefined) return crypto.randomUUID();
    const id = this.generateId();
    if (!isUuid(id))
      throw EventValidationError.forField("event_id", `generateId() must return a UUID, got ${showValue(id)}`);
    return id;
  }

  currentTime(): string {
    // The system clock always yields a valid, canonical string; only an injected clock needs checking.
    if (this.now === undefined) {
      // Bursts stamp many events in the same millisecond; format each millisecond once.
      const millis = Date.now();
      if (millis !== this.lastStampMillis) {
        this.lastStampMillis = millis;
        this.lastStamp = new Date(millis).toISOString();
      }
      return this.lastStamp;
    }
    const time = this.now();
    const timestamp = normalizeTimestamp(typeof time === "number" ? new Date(time) : time);
    if (timestamp === null) throw new EventBusError(`the now() clock returned ${showValue(time)}, not a valid time`);
    return timestamp;
  }
}
