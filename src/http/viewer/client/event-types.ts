/** The 22 wire type strings by group, as the page offers them in its filters (a test keeps it equal to EVENT_TYPES). */
export const EVENT_TYPE_GROUPS: Readonly<Record<string, readonly string[]>> = {
  proposal: ["proposal.received", "proposal.evaluated", "proposal.accepted", "proposal.rejected", "proposal.countered"],
  deal: ["deal.created", "deal.registered", "deal.synced"],
  execution: ["execution.completed"],
  approval: ["approval.requested", "approval.granted", "approval.denied", "approval.timed_out"],
  session: ["session.created", "session.resumed", "session.closed"],
  package: ["package.created", "package.updated", "package.synced"],
  negotiation: ["negotiation.started", "negotiation.round", "negotiation.concluded"],
};

/** The group of a type string: the part before the dot. */
export function groupOf(type: string): string {
  const dot = type.indexOf(".");
  return dot < 0 ? type : type.slice(0, dot);
}
