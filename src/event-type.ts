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
 * const type: EventType = "deal.created";
 * ```
 */
export type EventType = (typeof EventType)[keyof typeof EventType];

/**
 * The group of an event type: the part before the dot (`"deal"` for `"deal.created"`).
 *
 * @example
 * ```ts
 * const group: EventTypeGroup = "negotiation";
 * ```
 */
export type EventTypeGroup = EventType extends `${infer Group}.${string}` ? Group : never;

/**
 * What `subscribe` listens to: one type (`"deal.created"`), a whole group (`"deal.*"`), or everything (`"*"`).
 *
 * @example
 * ```ts
 * const pattern: EventTypePattern = "negotiation.*";
 * ```
 */
export type EventTypePattern = EventType | `${EventTypeGroup}.*` | "*";

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
