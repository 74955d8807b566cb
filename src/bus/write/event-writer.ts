import { EventBusError, EventValidationError, StorageError } from "../../errors/error-classes.js";
import { buildEmitInputSchema, type EmitEventInput, type Event, freezeEvent } from "../../event/event.js";
import { describeBadType, type EventType, isEventType } from "../../event/event-type.js";
import { toFrozenJsonObject } from "../../event/json-value.js";
import { applyPayloadSchema, type PayloadSchemaMap, parseWithPayloadSchema } from "../../event/payload-schemas.js";
import { callStore, storageFailure } from "../../storage/kit/store-errors.js";
import type { AppendOutcome, EventStorage, TransactionalAppend } from "../../storage/types.js";
import { buildBatch, settleBatch } from "./emit-batch.js";
import {
  type OwnEmitFields,
  type ParsedEmitInput,
  parseEmitInputFast,
  readEmitInput,
  schemaInputOf,
} from "./emit-input.js";
import { EventStamps } from "./event-stamps.js";
import { type EventOutbox, outboxTakes, writeToOutbox } from "./outbox-contract.js";

/** What an {@link EventWriter} needs from the bus's options, already read and checked. */
export interface EventWriterSettings {
  readonly now: (() => Date | string | number) | undefined;
  readonly generateId: (() => string) | undefined;
  readonly maxPayloadBytes: number;
  readonly payloadSchemas: PayloadSchemaMap | undefined;
  readonly outbox: EventOutbox | undefined;
}

/** One event ready for storage, and whether its caller gave the timestamp (a retry then compares it). */
export interface BuiltEvent {
  readonly event: Event;
  readonly timestampGiven: boolean;
}

/**
 * The write side of a bus: reads each input once, validates it (payload schema included), stamps and freezes it,
 * and hands batches to storage with the outbox as the fail-closed fallback. The bus keeps the public API, the
 * subscribers and the read side.
 */
export class EventWriter {
  private readonly stamps: EventStamps;
  private readonly inputSchema: ReturnType<typeof buildEmitInputSchema>;
  /** Set while the breaker is open: the store failure that opened it. */
  private storeDown: StorageError | undefined;

  constructor(
    private readonly storage: EventStorage,
    private readonly settings: EventWriterSettings,
  ) {
    this.stamps = new EventStamps(settings.now, settings.generateId);
    this.inputSchema = buildEmitInputSchema(settings.maxPayloadBytes);
  }

  /** Validates, stamps and freezes one event from the caller's input, read once. */
  build(input: unknown): BuiltEvent {
    const own = readEmitInput(input);
    // `own`, not `input`, from here on: a getter could answer differently the second time.
    return { event: this.buildFrom(own), timestampGiven: own.timestamp !== undefined };
  }

  /**
   * The one place where events go to storage, for `emitEvent` and `emitEvents` alike: one `append` per call, all
   * or nothing. When the store fails with a `StorageError` and the outbox takes the batch (all of its types), the
   * batch goes to the outbox as one unit and this resolves `undefined`.
   *
   * A circuit breaker sits in front of the store for what the outbox takes: after a store failure such batches go
   * straight to the outbox (one fsync, not a wait of the store's `timeoutMs` each) until the store answers again,
   * which the outbox's replay finds out (see {@link storeAnswered}).
   */
  async append(events: readonly Event[]): Promise<readonly AppendOutcome[] | undefined> {
    const { outbox } = this.settings;
    const takes = outbox !== undefined && outboxTakes(outbox, events);
    if (takes && this.storeDown !== undefined) {
      await writeToOutbox(outbox, events, this.storeDown);
      return undefined;
    }
    try {
      const outcomes = await this.storage.append(events);
      this.storeDown = undefined;
      return outcomes;
    } catch (error) {
      if (error instanceof EventBusError && !(error instanceof StorageError)) throw error;
      const failure = storageFailure(this.storage.name, "append", error) as StorageError;
      if (outbox === undefined || !takes) throw failure;
      this.storeDown = failure;
      await writeToOutbox(outbox, events, failure);
      return undefined;
    }
  }

  /** The store took an append (a replay from the outbox): the breaker closes, emits go to the store again. */
  storeAnswered(): void {
    this.storeDown = undefined;
  }

  /**
   * Appends inside the caller's transaction (no outbox: a failure must fail that transaction). The store's method
   * is called synchronously, before this returns its promise.
   */
  async appendInTransaction(events: readonly Event[], transaction: unknown): Promise<TransactionalAppend> {
    const { appendInTransaction } = this.storage;
    if (appendInTransaction === undefined) {
      throw EventValidationError.forField(
        "transaction",
        `the ${this.storage.name} store cannot write inside your transaction: use postgresStorage (a pg client ` +
          "inside BEGIN) or sqliteStorage (its database inside a transaction), or leave the option out",
      );
    }
    return callStore(this.storage.name, "append", () => appendInTransaction.call(this.storage, events, transaction));
  }

  /** `emitEvents`: builds every event first, appends them together, settles each in input order. */
  async emitBatch(inputs: readonly EmitEventInput[], deliver: (event: Event) => void): Promise<Event[]> {
    const batch = buildBatch(inputs, (input) => this.build(input));
    if (batch.events.length === 0) return [];
    const outcomes = await this.append(batch.appended);
    // In the outbox: resolved as stamped, delivered to subscribers once replay stores them.
    if (outcomes === undefined) return [...batch.events];
    return settleBatch(batch, outcomes, deliver);
  }

  /** `bus.parsePayload`: the schema's output for `type` (or the JSON checks alone), deeply frozen. */
  parsePayload(type: unknown, value: unknown): unknown {
    if (!isEventType(type)) throw EventValidationError.forField("event_type", describeBadType(type));
    const schema = this.settings.payloadSchemas?.get(type);
    let output = value;
    if (schema !== undefined) {
      const parsed = parseWithPayloadSchema(schema, value);
      if (!parsed.ok) throw parsed.error;
      output = parsed.value;
    }
    const frozen = toFrozenJsonObject(output, ["payload"], this.settings.maxPayloadBytes);
    if (!frozen.ok) throw new EventValidationError(frozen.issues);
    return frozen.value;
  }

  private buildFrom(own: OwnEmitFields): Event {
    // Only a bus with `payloads` pays for the lookup; a type without a schema takes the plain path.
    const schema = this.settings.payloadSchemas?.get(own.event_type as EventType);
    const source = schema === undefined ? own : applyPayloadSchema(own, schema, (rest) => this.parseWithSchema(rest));
    const fields = parseEmitInputFast(source, this.settings.maxPayloadBytes) ?? this.parseWithSchema(source);
    const eventId = fields.event_id === undefined ? this.stamps.nextId() : fields.event_id.toLowerCase();
    return freezeEvent(fields, eventId, fields.timestamp ?? this.stamps.currentTime());
  }

  private parseWithSchema(own: OwnEmitFields): ParsedEmitInput {
    const parsed = this.inputSchema.safeParse(schemaInputOf(own));
    if (!parsed.success) throw EventValidationError.fromZod(parsed.error);
    return parsed.data;
  }
}
