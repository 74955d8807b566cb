import { didYouMean } from "../errors/suggestions.js";
import { showValue } from "./json-value.js";

/**
 * Every kind of event a seller agent emits, used like an enum: `EventType.DEAL_CREATED === "deal.created"`.
 *
 * A const object plus a same-named union type rather than a TypeScript `const enum`, so it survives
 * `isolatedModules` builds (esbuild, swc, Vite) and plain strings such as `"deal.created"` type-check too.
 *
 * @example
 * ```ts
 * await bus.emitEvent({ event_type: EventType.PROPOSAL_RECEIVED, proposal_id: "p-1" });
 * await bus.emitEvent({ event_type: "proposal.evaluated", proposal_id: "p-1" }); // same type, as a string
 * ```
 */
export const EventType = {
  PROPOSAL_RECEIVED: "proposal.received",
  PROPOSAL_EVALUATED: "proposal.evaluated",
  PROPOSAL_ACCEPTED: "proposal.accepted",
  PROPOSAL_REJECTED: "proposal.rejected",
  PROPOSAL_COUNTERED: "proposal.countered",
  DEAL_CREATED: "deal.created",
  DEAL_REGISTERED: "deal.registered",
  DEAL_SYNCED: "deal.synced",
  EXECUTION_COMPLETED: "execution.completed",
  APPROVAL_REQUESTED: "approval.requested",
  APPROVAL_GRANTED: "approval.granted",
  APPROVAL_DENIED: "approval.denied",
  APPROVAL_TIMED_OUT: "approval.timed_out",
  SESSION_CREATED: "session.created",
  SESSION_RESUMED: "session.resumed",
  SESSION_CLOSED: "session.closed",
  PACKAGE_CREATED: "package.created",
  PACKAGE_UPDATED: "package.updated",
  PACKAGE_SYNCED: "package.synced",
  NEGOTIATION_STARTED: "negotiation.started",
  NEGOTIATION_ROUND: "negotiation.round",
  NEGOTIATION_CONCLUDED: "negotiation.concluded",
} as const;

/**
 * One of the 22 event type strings, e.g. `"deal.created"`.
 *
 * @example
 * ```ts
 * await bus.emitEvent({ event_type: EventType.DEAL_CREATED, deal_id: "d-1" }); // the same as "deal.created"
 * ```
 */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The group of an event type: the part before the dot (`"deal"` for `"deal.created"`). */
export type EventTypeGroup = EventType extends `${infer Group}.${string}` ? Group : never;

/**
 * What `subscribe` listens to: one type (`"deal.created"`), a whole group (`"deal.*"`), or everything (`"*"`).
 *
 * @example
 * ```ts
 * const unsubscribe = bus.subscribe("negotiation.*", (event) => rounds.push(event));
 * ```
 */
export type EventTypePattern = EventType | `${EventTypeGroup}.*` | "*";

/**
 * What the `event_type` filter of `listEvents`, `tail` and `consume` takes: a type, a pattern, or an array
 * mixing both.
 *
 * @example
 * ```ts
 * const page = await bus.listEvents({ event_type: ["deal.*", "proposal.accepted"], limit: 50 });
 * ```
 */
export type EventTypeFilter = EventTypePattern | readonly EventTypePattern[];

/**
 * The event types a pattern (or a union of patterns) stands for: `TypesMatching<"deal.*">` is
 * `"deal.created" | "deal.registered" | "deal.synced"`.
 */
export type TypesMatching<Pattern extends EventTypePattern> = Pattern extends "*"
  ? EventType
  : Pattern extends `${infer Group}.*`
    ? Extract<EventType, `${Group}.${string}`>
    : Extract<Pattern, EventType>;

/**
 * All 22 event types, in catalogue order.
 *
 * @example
 * ```ts
 * EVENT_TYPES.length; // 22
 * EVENT_TYPES.includes("deal.synced"); // true
 * ```
 */
export const EVENT_TYPES: readonly EventType[] = Object.freeze(Object.values(EventType));

/**
 * The event types whose loss breaks an audit trail: money decisions and state transitions (proposal
 * accepted/rejected/countered, every deal, approval and negotiation type, and `execution.completed`).
 *
 * @example
 * ```ts
 * const auditTrail = await bus.listEvents({ deal_id, event_type: AUDIT_EVENT_TYPES, limit: 1000 });
 * ```
 */
export const AUDIT_EVENT_TYPES: readonly EventType[] = Object.freeze([
  EventType.PROPOSAL_ACCEPTED,
  EventType.PROPOSAL_REJECTED,
  EventType.PROPOSAL_COUNTERED,
  EventType.DEAL_CREATED,
  EventType.DEAL_REGISTERED,
  EventType.DEAL_SYNCED,
  EventType.EXECUTION_COMPLETED,
  EventType.APPROVAL_REQUESTED,
  EventType.APPROVAL_GRANTED,
  EventType.APPROVAL_DENIED,
  EventType.APPROVAL_TIMED_OUT,
  EventType.NEGOTIATION_STARTED,
  EventType.NEGOTIATION_ROUND,
  EventType.NEGOTIATION_CONCLUDED,
]);

const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

/** Every pattern and the types it stands for: each type, each `"group.*"`, and `"*"`. */
const PATTERNS: ReadonlyMap<string, readonly EventType[]> = (() => {
  const patterns = new Map<string, EventType[]>([["*", [...EVENT_TYPES]]]);
  for (const type of EVENT_TYPES) {
    patterns.set(type, [type]);
    const group = `${type.slice(0, type.indexOf("."))}.*`;
    const members = patterns.get(group);
    if (members === undefined) patterns.set(group, [type]);
    else members.push(type);
  }
  for (const types of patterns.values()) Object.freeze(types);
  return patterns;
})();

/**
 * Every pattern `subscribe`, `listEvents` and `GET /events?event_type=` accept: `"*"`, the seven `"group.*"`, and
 * the 22 types.
 */
export const EVENT_TYPE_PATTERNS: readonly EventTypePattern[] = Object.freeze([
  ...PATTERNS.keys(),
] as EventTypePattern[]);

/**
 * The types a pattern stands for, in catalogue order, or `undefined` when `value` is not a pattern. The one
 * implementation of the pattern language, shared by `subscribe`, `listEvents` and HTTP.
 */
export function typesMatching(value: unknown): readonly EventType[] | undefined {
  return typeof value === "string" ? PATTERNS.get(value) : undefined;
}

/**
 * Why `value` is not a type or pattern, with the closest one when it looks like a typo, but never the whole
 * catalogue: that would be repeated for every bad value of a list.
 */
export function describeBadPattern(value: unknown): string {
  const hint =
    didYouMean(value, PATTERNS.keys()) || '; use a type such as "deal.created", a group such as "deal.*", or "*"';
  return `${showValue(value)} is not an event type or pattern${hint}`;
}

/** Like `describeBadPattern`, for fields that take one type and no pattern (`emitEvent`'s `event_type`). */
export function describeBadType(value: unknown): string {
  const hint = didYouMean(value, EVENT_TYPES) || '; use one of EVENT_TYPES, such as "deal.created"';
  return `${showValue(value)} is not an event type${hint}`;
}

/**
 * Narrows an unknown value to an `EventType`.
 *
 * @example
 * ```ts
 * if (isEventType(request.query.type)) await bus.listEvents({ event_type: request.query.type });
 * ```
 */
export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && KNOWN_TYPES.has(value);
}
