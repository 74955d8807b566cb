import { EventValidationError } from "../../errors/error-classes.js";
import { checkOptionKeys } from "../../errors/option-keys.js";
import type { EmitEventInput, Event } from "../../event/event.js";
import { buildBatch, settleBatch } from "./emit-batch.js";
import type { EventWriter } from "./event-writer.js";

/**
 * Options of `emitEvent` and `emitEvents`.
 *
 * @example
 * ```ts
 * const client = await pool.connect();
 * await client.query("BEGIN");
 * await client.query("INSERT INTO deals (id) VALUES ($1)", ["d-1"]);
 * await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" }, { transaction: client });
 * await client.query("COMMIT");
 * ```
 */
export interface EmitOptions {
  /**
   * Write the events inside this open transaction of yours: a `pg` client inside `BEGIN` (postgresStorage), or the
   * storage's SQLite database inside a transaction (sqliteStorage). They exist only if it commits; subscribers,
   * tails and consumers see them after the commit, never after a rollback. Other stores refuse the option.
   */
  readonly transaction?: unknown;
}

const EMIT_OPTION_KEYS = { transaction: true } as const;

/** The caller's transaction handle from emit options, or `undefined` for an ordinary emit. */
export function readEmitTransaction(options: EmitOptions | undefined, where: string): unknown {
  if (options === undefined) return undefined;
  checkOptionKeys(options, EMIT_OPTION_KEYS, where);
  let transaction: unknown;
  try {
    transaction = options.transaction;
  } catch (error) {
    throw EventValidationError.forField("transaction", `could not be read: ${(error as Error).message}`);
  }
  if (transaction === null)
    throw EventValidationError.forField("transaction", "must be a transaction handle, got null");
  return transaction;
}

/**
 * Emits a batch inside the caller's transaction: built and checked like any batch, inserted synchronously up to the
 * store's first round trip (so a synchronous SQLite transaction function works), resolved once inserted. New events
 * reach `deliver` only when the store reports the transaction committed.
 */
export async function emitInTransaction(
  writer: EventWriter,
  inputs: readonly EmitEventInput[],
  transaction: unknown,
  deliver: (event: Event) => void,
): Promise<Event[]> {
  const batch = buildBatch(inputs, (input) => writer.build(input));
  if (batch.events.length === 0) return [];
  const { outcomes, committed } = await writer.appendInTransaction(batch.appended, transaction);
  const fresh: Event[] = [];
  try {
    return settleBatch(batch, outcomes, (event) => fresh.push(event));
  } finally {
    // Even when a conflict rejects the call, the new events are in the transaction: heard of if it commits.
    if (fresh.length > 0) {
      void committed.then((kept) => {
        if (kept) for (const event of fresh) deliver(event);
      });
    }
  }
}
