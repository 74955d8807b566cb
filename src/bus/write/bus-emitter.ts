import type { EmitEventInput, Event } from "../../event/event.js";
import type { CallGate } from "../call-gate.js";
import type { SubscriptionRegistry } from "../subscriptions.js";
import { type EmitOptions, emitInTransaction, readEmitTransaction } from "./emit-transaction.js";
import type { EventWriter } from "./event-writer.js";
import { settleDuplicate } from "./idempotency.js";

/** `emitEvent` and `emitEvents` of one bus: through the gate, into the store (or a transaction), then to listeners. */
export class BusEmitter {
  /** Delivers an event written in a caller's transaction once it committed, unless the bus closed meanwhile. */
  private readonly deliverCommitted = (event: Event) => !this.gate.closed && this.subscriptions.deliver(event);
  private readonly deliver = (event: Event) => this.subscriptions.deliver(event);

  constructor(
    private readonly writer: EventWriter,
    private readonly subscriptions: SubscriptionRegistry,
    private readonly gate: CallGate,
  ) {}

  async emit(input: EmitEventInput, options: EmitOptions | undefined): Promise<Event> {
    // No `gate.track` here: emit is the hot path and every async layer costs a promise.
    this.gate.enter();
    try {
      const transaction = readEmitTransaction(options, "emitEvent");
      if (transaction !== undefined) {
        const [stored] = await emitInTransaction(this.writer, [input], transaction, this.deliverCommitted);
        return stored as Event;
      }
      const { event, timestampGiven } = this.writer.build(input);
      const outcomes = await this.writer.append([event]);
      // Undefined: the store failed and the outbox holds the event; subscribers hear of it once replay stores it.
      if (outcomes === undefined) return event;
      const [existing] = outcomes;
      if (existing) return settleDuplicate(existing, event, timestampGiven);
      this.subscriptions.deliver(event);
      return event;
    } finally {
      this.gate.leave();
    }
  }

  async emitMany(inputs: readonly EmitEventInput[], options: EmitOptions | undefined): Promise<Event[]> {
    this.gate.enter();
    try {
      const transaction = readEmitTransaction(options, "emitEvents");
      return transaction === undefined
        ? await this.writer.emitBatch(inputs, this.deliver)
        : await emitInTransaction(this.writer, inputs, transaction, this.deliverCommitted);
    } finally {
      this.gate.leave();
    }
  }
}
