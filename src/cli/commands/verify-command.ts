import { readFile } from "node:fs/promises";
import type { AuditReport } from "../../audit/audit-report.js";
import { verifyAuditTrail } from "../../audit/verify-audit-trail.js";
import { EventValidationError } from "../../errors/error-classes.js";
import { integerFlag, stringFlag, UsageError } from "../cli-args.js";
import type { Command, CommandContext } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";

/** The flags of `verify`, by the option of `verifyAuditTrail` each one sets. */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  publicKey: "--public-key",
  anchor: "--anchor",
  from: "--from",
  to: "--to",
  name: "--name",
};

/** `verify`: checks the audit trail's digests against the events and prints what broke (exit 1 when anything did). */
export const verifyCommand: Command = {
  name: "verify",
  summary: "verify the tamper-evident audit trail: each interval intact, or what was altered, inserted or removed",
  usage: "verify --public-key <pem-file> [--anchor <digest-json-file>] [--from <n>] [--to <n>] [--name <trail>]",
  usesStore: true,
  maxPositionals: 0,
  flags: {
    "public-key": {
      type: "string",
      value: "<pem-file>",
      help: "the Ed25519 public key (PEM file) the trail is signed with",
    },
    anchor: {
      type: "string",
      value: "<file>",
      help: "the newest digest you kept elsewhere (JSON): catches a cut tail",
    },
    from: { type: "string", value: "<n>", help: "first digest (sequence number) to check; default 1" },
    to: { type: "string", value: "<n>", help: "last digest to check; default the newest" },
    name: {
      type: "string",
      value: "<trail>",
      help: 'the trail\'s name as given to sealAuditTrail; default "audit-trail"',
    },
  },
  examples: [
    "ad-seller-events verify --public-key audit-public.pem --store postgres://localhost/seller",
    "ad-seller-events verify --public-key audit-public.pem --anchor last-digest.json --json > report.jsonl",
  ],
  async run(context) {
    const keyFile = stringFlag(context.args, "public-key");
    if (keyFile === undefined) throw new UsageError("--public-key", "verify needs the trail's public key (a PEM file)");
    const publicKey = await readFlagFile(keyFile, "--public-key");
    const anchorFile = stringFlag(context.args, "anchor");
    const anchor = anchorFile === undefined ? undefined : await readFlagFile(anchorFile, "--anchor");
    const from = integerFlag(context.args, "from", 1, Number.MAX_SAFE_INTEGER);
    const to = integerFlag(context.args, "to", 1, Number.MAX_SAFE_INTEGER);
    const name = stringFlag(context.args, "name");
    const bus = await context.openStore({ access: "read" });
    try {
      const report = await verifyAuditTrail(bus, { publicKey, anchor, from, to, name }).catch((error: unknown) => {
        throw asFlagError(error);
      });
      await printReport(context, report);
      return report.intact ? EXIT_OK : EXIT_FAILURE;
    } finally {
      await bus.close();
    }
  },
};

async function printReport(context: CommandContext, report: AuditReport): Promise<void> {
  if (context.style.json) {
    for (const finding of report.findings) await context.print(JSON.stringify(finding));
    await context.print(JSON.stringify({ intact: report.intact, summary: report.summary }));
    return;
  }
  for (const finding of report.findings) {
    const where = finding.digest === null ? "" : ` digest ${finding.digest}`;
    const event = finding.event_id === null ? "" : ` event ${finding.event_id}`;
    await context.print(`${finding.kind}${where}${event}: ${finding.message}`);
  }
  const { summary } = report;
  const last = summary.last_digest === null ? "none" : `${summary.last_digest.sequence} (${summary.last_digest.hash})`;
  await context.print(
    `${report.intact ? "intact" : "NOT INTACT"}: ${summary.digests} digests, ${summary.sealed_events} sealed events, ` +
      `${summary.unsealed_events} not sealed yet; newest digest ${last}`,
  );
}

async function readFlagFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(flag, `cannot read ${path.slice(0, 200)}: ${(error as Error).message.slice(0, 200)}`);
  }
}

/** A validation error of `verifyAuditTrail`, restated as a usage error naming the flag the option came from. */
function asFlagError(error: unknown): unknown {
  if (!(error instanceof EventValidationError)) return error;
  const flag = FLAG_OF_OPTION[String(error.issues[0]?.path[0] ?? "")];
  return flag === undefined ? error : new UsageError(flag, error.issues[0]?.message ?? error.message);
}
