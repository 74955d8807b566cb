import type { Event } from "../event/event.js";
import type { ConsumerHandler } from "./consumer-options.js";

/** The outcome of one handler call: `undefined` when it succeeded, otherwise what it failed with. */
export type AttemptFailure = { readonly error: unknown } | undefined;

/**
 * Calls the handler once. A synchronous return counts as success, like a resolved promise; a synchronous throw,
 * a rejection, or no settlement within `timeoutMs` is a failure. When `signal` aborts (the lease is lost) the
 * handler's own signal aborts too, and the call is still awaited: an instance never starts another batch while
 * one of its handler calls runs, except after a timeout, which cannot cancel a handler that ignores its signal.
 */
export async function callHandler(
  handler: ConsumerHandler,
  events: readonly Event[],
  attempt: number,
  timeoutMs: number | undefined,
  signal: AbortSignal,
): Promise<AttemptFailure> {
  // Without a timeout the call's signal is the tenure's own: one controller and listener per call cost more than
  // a no-op handler, and both abort on exactly the same occasion.
  if (timeoutMs === undefined) {
    try {
      const result = handler(events, { signal, attempt });
      if (isThenable(result)) await result;
      return undefined;
    } catch (error) {
      return { error };
    }
  }
  const controller = new AbortController();
  const abort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", abort, { once: true });
  if (signal.aborted) abort();
  let timer: NodeJS.Timeout | undefined;
  try {
    const call = Promise.resolve().then(() => handler(events, { signal: controller.signal, attempt }));
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`the handler did not settle within handlerTimeoutMs (${timeoutMs} ms)`);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    call.catch(() => undefined); // a rejection after the timeout is no longer anyone's business
    await Promise.race([call, timedOut]);
    return undefined;
  } catch (error) {
    return { error };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", abort);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** The text kept for an error: its message (with the class name), or its string form. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2_000);
  return String(error).slice(0, 2_000);
}
