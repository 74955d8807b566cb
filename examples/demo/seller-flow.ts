import { type EventBus, type EventScope, EventType } from "ad-seller-events";

/** Ids of what one run of the demo seller flow created, for printing curl commands and for tests. */
export interface DemoRun {
  /** Agent session ids (UUIDs), one per buyer conversation. */
  readonly sessionIds: readonly string[];
  readonly proposalIds: readonly string[];
  readonly dealIds: readonly string[];
  /** Every event emitted by this run, in emit order. */
  readonly eventIds: readonly string[];
}

interface Recorder {
  readonly eventIds: string[];
  readonly proposalIds: string[];
  readonly dealIds: string[];
}

/**
 * Runs a small seller agent against `bus`, as seller code would: three buyer sessions that between them emit all 22
 * event types. One proposal is negotiated, approved, booked and delivered; one lowball is refused by a human; one
 * curated package is synced while an approval times out in a resumed session.
 *
 * @example
 * ```ts
 * const run = await runDemoSellerFlow(new EventBus());
 * console.log(run.sessionIds[0]);
 * ```
 */
export async function runDemoSellerFlow(bus: EventBus): Promise<DemoRun> {
  const recorder: Recorder = { eventIds: [], proposalIds: [], dealIds: [] };
  const sessionIds = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()] as const;
  await negotiateAndBook(bus, sessionIds[0], recorder);
  await refuseLowball(bus, sessionIds[1], recorder);
  await curatePackage(bus, sessionIds[2], recorder);
  return { sessionIds, ...recorder };
}

/** A premium video proposal: three negotiation rounds, trader approval, then the deal goes live. */
async function negotiateAndBook(bus: EventBus, sessionId: string, recorder: Recorder): Promise<void> {
  const session = bus.scope({ flow_type: "buyer_session", session_id: sessionId });
  await emit(recorder, session, EventType.SESSION_CREATED, { buyer: "Northwind Media", channel: "a2a" });

  const proposalId = newId("prop", recorder.proposalIds);
  const flow = bus.scope({ flow_type: "proposal_handling", session_id: sessionId, proposal_id: proposalId });
  await emit(recorder, flow, EventType.PROPOSAL_RECEIVED, { product: "ctv-premium", budget: 120_000, cpm: 18 });
  await emit(recorder, flow, EventType.PROPOSAL_EVALUATED, { floor_cpm: 24, fill_forecast: 0.82, verdict: "counter" });
  await emit(recorder, flow, EventType.NEGOTIATION_STARTED, { strategy: "concede_to_floor", max_rounds: 5 });
  await emit(recorder, flow, EventType.PROPOSAL_COUNTERED, { counter_cpm: 26, reason: "below floor" });
  const offers = [
    { buyer_cpm: 18, seller_cpm: 26 },
    { buyer_cpm: 21, seller_cpm: 25 },
    { buyer_cpm: 23.5, seller_cpm: 24 },
  ];
  for (const [index, offer] of offers.entries()) {
    await emit(recorder, flow, EventType.NEGOTIATION_ROUND, { round: index + 1, ...offer });
  }
  await emit(recorder, flow, EventType.NEGOTIATION_CONCLUDED, { outcome: "agreed", final_cpm: 24, rounds: 3 });
  await emit(recorder, flow, EventType.PROPOSAL_ACCEPTED, { final_cpm: 24, impressions: 5_000_000 });
  await emit(recorder, flow, EventType.APPROVAL_REQUESTED, { gate: "deal_over_100k", approver: "trading-desk" });
  await emit(recorder, flow, EventType.APPROVAL_GRANTED, { approver: "j.alvarez", note: "within Q4 plan" });

  const dealId = newId("deal", recorder.dealIds);
  const deal = bus.scope({
    flow_type: "deal_booking",
    session_id: sessionId,
    proposal_id: proposalId,
    deal_id: dealId,
  });
  await emit(recorder, deal, EventType.DEAL_CREATED, { deal_type: "PMP", cpm: 24, currency: "USD" });
  await emit(recorder, deal, EventType.DEAL_REGISTERED, { registry: "openrtb-deal-registry", external_id: dealId });
  await emit(recorder, deal, EventType.DEAL_SYNCED, { ad_server: "gam", line_item_id: "li-448812" });
  await emit(recorder, deal, EventType.EXECUTION_COMPLETED, { delivered_impressions: 5_012_344, spend: 120_296 });
  await emit(recorder, session, EventType.SESSION_CLOSED, { reason: "deal booked" });
}

/** A lowball display offer: the agent recommends declining and a trader confirms. */
async function refuseLowball(bus: EventBus, sessionId: string, recorder: Recorder): Promise<void> {
  const session = bus.scope({ flow_type: "buyer_session", session_id: sessionId });
  await emit(recorder, session, EventType.SESSION_CREATED, { buyer: "Budget Reach Co", channel: "email" });
  const proposalId = newId("prop", recorder.proposalIds);
  const flow = bus.scope({ flow_type: "proposal_handling", session_id: sessionId, proposal_id: proposalId });
  await emit(recorder, flow, EventType.PROPOSAL_RECEIVED, { product: "display-ros", budget: 4_000, cpm: 0.9 });
  await emit(recorder, flow, EventType.PROPOSAL_EVALUATED, { floor_cpm: 3.5, verdict: "reject" });
  await emit(recorder, flow, EventType.APPROVAL_REQUESTED, { gate: "reject_named_buyer", approver: "trading-desk" });
  await emit(recorder, flow, EventType.APPROVAL_DENIED, { approver: "m.chen", note: "counter is pointless at 0.9" });
  await emit(recorder, flow, EventType.PROPOSAL_REJECTED, { reason: "cpm below floor by 74%" });
  await emit(recorder, session, EventType.SESSION_CLOSED, { reason: "proposal rejected" });
}

/** A curated sports package is built and synced; a later proposal in the resumed session waits out its approval. */
async function curatePackage(bus: EventBus, sessionId: string, recorder: Recorder): Promise<void> {
  const session = bus.scope({ flow_type: "buyer_session", session_id: sessionId });
  await emit(recorder, session, EventType.SESSION_CREATED, { buyer: "Contoso Sports", channel: "a2a" });
  const packaging = bus.scope({ flow_type: "package_curation", session_id: sessionId });
  await emit(recorder, packaging, EventType.PACKAGE_CREATED, { package: "pkg-live-sports", inventory: ["ctv", "olv"] });
  await emit(recorder, packaging, EventType.PACKAGE_UPDATED, { package: "pkg-live-sports", added: ["audio"] });
  await emit(recorder, packaging, EventType.PACKAGE_SYNCED, { package: "pkg-live-sports", ad_server: "gam" });
  await emit(recorder, session, EventType.SESSION_RESUMED, { after_minutes: 45 });
  const proposalId = newId("prop", recorder.proposalIds);
  const flow = bus.scope({ flow_type: "proposal_handling", session_id: sessionId, proposal_id: proposalId });
  await emit(recorder, flow, EventType.PROPOSAL_RECEIVED, { product: "pkg-live-sports", budget: 60_000, cpm: 30 });
  await emit(recorder, flow, EventType.APPROVAL_REQUESTED, { gate: "new_package_pricing", approver: "yield-team" });
  await emit(recorder, flow, EventType.APPROVAL_TIMED_OUT, { waited_minutes: 240, fallback: "hold proposal" });
}

async function emit(
  recorder: Recorder,
  emitter: EventScope,
  eventType: EventType,
  payload: Record<string, unknown>,
): Promise<void> {
  const event = await emitter.emitEvent({ event_type: eventType, payload, metadata: { agent: "demo-seller/1.0" } });
  recorder.eventIds.push(event.event_id);
}

function newId(prefix: string, into: string[]): string {
  const id = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  into.push(id);
  return id;
}
