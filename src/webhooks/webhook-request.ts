import type { LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { resolveTarget, type WebhookLookup } from "./webhook-network.js";

/** One POST of one delivery. */
export interface WebhookAttempt {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly allowPrivateNetworks: boolean;
  readonly lookup: WebhookLookup;
  readonly signal: AbortSignal;
}

/** What an attempt came to: `ok` for a 2xx; `status` is `null` when no response arrived. */
export interface WebhookAttemptResult {
  readonly ok: boolean;
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  /** The first `maxResponseBytes` of the response body, as text. */
  readonly response: string;
}

/** Keep-alive agents shared by one dispatcher's requests; sockets are reused per host and port. */
export interface WebhookAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

/** Agents with keep-alive, so that a busy subscription does not pay a TCP (and TLS) handshake per delivery. */
export function createWebhookAgents(maxSockets: number): WebhookAgents {
  const options = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 256), scheduling: "lifo" };
  return { http: new http.Agent(options as http.AgentOptions), https: new https.Agent(options as https.AgentOptions) };
}

/**
 * Sends one attempt: resolves and checks the target's addresses first, connects only to those, never follows a
 * redirect, gives up after `timeoutMs` in all, and reads at most `maxResponseBytes` of the answer. Never rejects.
 */
export async function sendWebhookAttempt(
  attempt: WebhookAttempt,
  agents: WebhookAgents,
): Promise<WebhookAttemptResult> {
  const started = performance.now();
  const finish = (status: number | null, error: string | null, response = ""): WebhookAttemptResult => ({
    ok: error === null && status !== null && status >= 200 && status < 300,
    status,
    durationMs: Math.round(performance.now() - started),
    error,
    response,
  });
  let addresses: readonly LookupAddress[];
  try {
    addresses = await resolveTarget(attempt.url.hostname, attempt.lookup, attempt.allowPrivateNetworks);
  } catch (error) {
    return finish(null, error instanceof Error ? error.message : String(error));
  }
  return new Promise((resolve) => {
    const secure = attempt.url.protocol === "https:";
    let settled = false;
    const settle = (status: number | null, error: string | null, response?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      attempt.signal.removeEventListener("abort", onAbort);
      resolve(finish(status, error, response));
    };
    const request = (secure ? https : http).request(attempt.url, {
      method: "POST",
      headers: { ...attempt.headers, "content-length": String(Buffer.byteLength(attempt.body)) },
      agent: secure ? agents.https : agents.http,
      lookup: pinnedLookup(addresses),
    });
    const timer = setTimeout(() => {
      request.destroy();
      settle(null, `no complete answer within the timeout of ${attempt.timeoutMs} ms`);
    }, attempt.timeoutMs);
    const onAbort = () => {
      request.destroy();
      settle(null, "stopped before the endpoint answered");
    };
    attempt.signal.addEventListener("abort", onAbort, { once: true });
    if (attempt.signal.aborted) onAbort();
    request.on("error", (error) => settle(null, error.message));
    request.on("response", (response) => readAnswer(response, attempt.maxResponseBytes, settle));
    request.end(attempt.body);
  });
}

/** Judges the status (2xx only; a redirect is named, never followed) and reads at most `maxBytes` of the body. */
function readAnswer(
  response: http.IncomingMessage,
  maxBytes: number,
  settle: (status: number, error: string | null, response: string) => void,
): void {
  const status = response.statusCode ?? 0;
  const location = String(response.headers.location ?? "nowhere").slice(0, 200);
  const error =
    status >= 300 && status < 400
      ? `redirects are not followed (${status} to ${location})`
      : status >= 200 && status < 300
        ? null
        : `the endpoint answered ${status}`;
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = () => settle(status, error, excerpt(chunks, maxBytes));
  response.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size < maxBytes) return;
    response.destroy(); // enough kept: the rest of a large answer is not read
    finish();
  });
  response.on("end", finish);
  response.on("error", finish);
}

function excerpt(chunks: readonly Buffer[], maxBytes: number): string {
  return Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8");
}

/** A `lookup` for `http.request` that answers only the addresses already checked, so the name is never re-resolved. */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const first = addresses[0] as LookupAddress;
    if (options?.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  }) as LookupFunction;
}
