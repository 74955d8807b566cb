import type { Event } from "../../event/event.js";

/** Bars of the events-over-time chart. */
export const TIME_BUCKETS = 24;
/** Longest list of pending approvals and of closed negotiations in one summary. */
export const MAX_LISTED = 50;
/** Distinct outcome names counted; the rest are summed as `other`. */
const MAX_OUTCOMES = 12;

/** The deal funnel: distinct proposals, then distinct deals, at each step. */
export interface DealFunnel {
  proposals_received: number;
  accepted_or_countered: number;
  deals_created: number;
  deals_registered: number;
  deals_synced: number;
}

/** An `approval.requested` with no later grant, denial or time-out for the same approval. */
export interface PendingApproval {
  readonly event_id: string;
  readonly requested_at: string;
  readonly deal_id: string;
  readonly proposal_id: string;
  readonly session_id: string;
  /** `payload.gate` or `payload.reason` when it is text, else `""`. */
  readonly gate: string;
}

/** A `negotiation.concluded`, with the rounds counted for its proposal (or session, or flow). */
export interface ClosedNegotiation {
  readonly event_id: string;
  readonly concluded_at: string;
  readonly negotiation: string;
  readonly outcome: string;
  readonly rounds: number;
  /** `payload.final_cpm`, `payload.cpm` or `payload.price`, when it is a number. */
  readonly price: number | null;
}

/** Everything the summary view draws, counted over the events of one scan. */
export interface DeskCounts {
  by_type: Record<string, number>;
  funnel: DealFunnel;
  pending_approvals: PendingApproval[];
  negotiations: {
    outcomes: Record<string, number>;
    rounds_to_close: Record<string, number>;
    closed: ClosedNegotiation[];
  };
}

/**
 * Counts a scan's events (any order). Approvals pair by `payload.approval_id` when there is one, else by their deal,
 * proposal, session and gate; rounds pair with their negotiation by proposal, else session, else flow.
 */
export function countDesk(events: readonly Event[]): DeskCounts {
  const byType: Record<string, number> = {};
  const stages = { received: new Set<string>(), answered: new Set<string>(), created: new Set<string>() };
  const deals = { registered: new Set<string>(), synced: new Set<string>() };
  const requested: Event[] = [];
  const resolved = new Map<string, string>();
  const rounds = new Map<string, number>();
  const concluded: Event[] = [];
  for (const event of events) {
    const type = event.event_type;
    byType[type] = (byType[type] ?? 0) + 1;
    const proposal = event.proposal_id || event.event_id;
    const deal = event.deal_id || event.event_id;
    if (type === "proposal.received") stages.received.add(proposal);
    else if (type === "proposal.accepted" || type === "proposal.countered") stages.answered.add(proposal);
    else if (type === "deal.created") stages.created.add(deal);
    else if (type === "deal.registered") deals.registered.add(deal);
    else if (type === "deal.synced") deals.synced.add(deal);
    else if (type === "approval.requested") requested.push(event);
    else if (type.startsWith("approval.")) resolve(resolved, event);
    else if (type === "negotiation.round")
      rounds.set(negotiationKey(event), (rounds.get(negotiationKey(event)) ?? 0) + 1);
    else if (type === "negotiation.concluded") concluded.push(event);
  }
  const pending = requested.filter((event) => !isResolved(resolved, event)).map(pendingOf);
  pending.sort((a, b) => a.requested_at.localeCompare(b.requested_at));
  return {
    by_type: byType,
    funnel: {
      proposals_received: stages.received.size,
      accepted_or_countered: stages.answered.size,
      deals_created: stages.created.size,
      deals_registered: deals.registered.size,
      deals_synced: deals.synced.size,
    },
    pending_approvals: pending.slice(0, MAX_LISTED),
    negotiations: closedNegotiations(concluded, rounds),
  };
}

function closedNegotiations(concluded: Event[], rounds: ReadonlyMap<string, number>): DeskCounts["negotiations"] {
  const outcomes: Record<string, number> = {};
  const roundsToClose: Record<string, number> = {};
  const closed = concluded.map((event): ClosedNegotiation => {
    const text = event.payload.outcome;
    let outcome = typeof text === "string" && text !== "" ? text.slice(0, 60) : "unknown";
    if (!(outcome in outcomes) && Object.keys(outcomes).length >= MAX_OUTCOMES) outcome = "other";
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    const count = rounds.get(negotiationKey(event)) ?? 0;
    roundsToClose[count] = (roundsToClose[count] ?? 0) + 1;
    const { final_cpm, cpm, price } = event.payload;
    const amount = [final_cpm, cpm, price].find((value) => typeof value === "number");
    return {
      event_id: event.event_id,
      concluded_at: event.timestamp,
      negotiation: negotiationKey(event),
      outcome,
      rounds: count,
      price: typeof amount === "number" ? amount : null,
    };
  });
  closed.sort((a, b) => b.concluded_at.localeCompare(a.concluded_at));
  return { outcomes, rounds_to_close: roundsToClose, closed: closed.slice(0, MAX_LISTED) };
}

/** The approval an event names: its `approval_id`, else its ids with its gate (`""` for any gate). */
function approvalKey(event: Event, withGate: boolean): string {
  const { approval_id: id, gate } = event.payload;
  if (typeof id === "string" && id !== "") return `id:${id}`;
  const named = withGate && typeof gate === "string" ? gate : "";
  return JSON.stringify([event.deal_id, event.proposal_id, event.session_id, named]);
}

/** Records a grant, denial or time-out: the latest per approval, so that a later request is pending again. */
function resolve(resolved: Map<string, string>, event: Event): void {
  const key = approvalKey(event, true);
  if ((resolved.get(key) ?? "") < event.timestamp) resolved.set(key, event.timestamp);
}

/** A request is answered by a resolution at or after it, for the same gate or one that names no gate. */
function isResolved(resolved: ReadonlyMap<string, string>, request: Event): boolean {
  const keys = [approvalKey(request, true), approvalKey(request, false)];
  return keys.some((key) => (resolved.get(key) ?? "") >= request.timestamp);
}

function negotiationKey(event: Event): string {
  return event.proposal_id || event.session_id || event.flow_id || event.event_id;
}

function pendingOf(event: Event): PendingApproval {
  const { gate, reason } = event.payload;
  const label = typeof gate === "string" ? gate : typeof reason === "string" ? reason : "";
  return {
    event_id: event.event_id,
    requested_at: event.timestamp,
    deal_id: event.deal_id,
    proposal_id: event.proposal_id,
    session_id: event.session_id,
    gate: label.slice(0, 120),
  };
}
