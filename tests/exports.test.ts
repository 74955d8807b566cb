import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Every name each entry exports, values and types apart. A change here is a decision about the public surface:
// application names go to the root, adapter-author names to `ad-seller-events/storage`, internals nowhere.
const EXPECTED: Record<string, { source: string; values: string[]; types: string[] }> = {
  ".": {
    source: "src/index.ts",
    values: [
      "AUDIT_EVENT_TYPES",
      "Consumer",
      "EVENT_TYPES",
      "EventBus",
      "EventBusError",
      "EventConflictError",
      "EventGapError",
      "EventScope",
      "EventType",
      "EventValidationError",
      "MAX_LIMIT",
      "OutboxLockedError",
      "StorageError",
      "eventSchema",
      "isEventType",
      "memoryStorage",
    ],
    types: [
      "BusErrorReport",
      "ConsumeOptions",
      "ConsumerGap",
      "ConsumerHandler",
      "ConsumerHandlerContext",
      "ConsumerRetryOptions",
      "ConsumerStatus",
      "EmitEventInput",
      "EmitInputOf",
      "EmitOptions",
      "Event",
      "EventBusOptions",
      "EventJsonPage",
      "EventListener",
      "EventOf",
      "EventPage",
      "EventQuery",
      "EventStorage",
      "EventTypeFilter",
      "EventTypePattern",
      "EventsMatching",
      "JsonObject",
      "JsonValue",
      "MemoryStorageOptions",
      "PayloadOf",
      "PayloadSchemas",
      "RetainedPosition",
      "ScopeContext",
      "SubscribeOptions",
      "TailOptions",
      "TailQuery",
      "ValidationIssue",
    ],
  },
  "./http": {
    source: "src/http/index.ts",
    values: ["createEventsFetchHandler", "createEventsHandler", "createEventsKoaMiddleware"],
    types: [
      "EventsFetchHandler",
      "EventsHttpOptions",
      "EventsHttpRequest",
      "EventsKoaMiddleware",
      "EventsNodeHandler",
      "EventsRequestHeaders",
      "EventsViewerOptions",
      "KoaContextLike",
    ],
  },
  "./sqlite": {
    source: "src/storage/sqlite/index.ts",
    values: [
      "DEFAULT_SQLITE_BUSY_TIMEOUT_MS",
      "DEFAULT_SQLITE_TABLE",
      "DEFAULT_SQLITE_WATCH_INTERVAL_MS",
      "sqliteCheckpointSchemaSql",
      "sqliteDigestSchemaSql",
      "sqliteSchemaSql",
      "sqliteStorage",
    ],
    types: [
      "SqliteDatabase",
      "SqliteDriverName",
      "SqliteEventStorage",
      "SqliteSchemaOptions",
      "SqliteStatement",
      "SqliteStorageOptions",
    ],
  },
  "./postgres": {
    source: "src/storage/postgres/index.ts",
    values: [
      "DEFAULT_POSTGRES_SCHEMA",
      "DEFAULT_POSTGRES_TABLE",
      "DEFAULT_POSTGRES_TIMEOUT_MS",
      "PostgresTimeoutError",
      "legacyPostgresIndexes",
      "postgresCheckpointSchemaSql",
      "postgresDigestSchemaSql",
      "postgresSchemaSql",
      "postgresStorage",
    ],
    types: ["PostgresEventStorage", "PostgresStorageOptions", "PostgresTableName"],
  },
  "./redis": {
    source: "src/storage/redis/index.ts",
    values: ["DEFAULT_REDIS_PREFIX", "DEFAULT_REDIS_TIMEOUT_MS", "redisStorage"],
    types: ["RedisStorageOptions"],
  },
  "./testing": {
    source: "src/testing/index.ts",
    values: [
      "EventExpectationError",
      "TestEventBus",
      "createSequentialIds",
      "createTestBus",
      "createTestClock",
      "describeStorageConformance",
    ],
    types: [
      "ConformanceDescribe",
      "ConformanceExpect",
      "ConformanceIt",
      "ConformanceMatchers",
      "EventMatcher",
      "MatcherPattern",
      "StorageConformanceOptions",
      "TestBusOptions",
      "TestClock",
    ],
  },
  "./outbox": {
    source: "src/outbox/index.ts",
    values: ["OutboxLockedError", "fileOutbox", "importAuditFallback"],
    types: ["AuditImportResult", "EventOutbox", "FileOutboxOptions", "OutboxSink", "OutboxStatus", "ReplayOutcome"],
  },
  "./storage": {
    source: "src/storage/index.ts",
    values: [
      "AppendNotifier",
      "DEFAULT_LIMIT",
      "EVENT_FIELDS",
      "MAX_LIMIT",
      "matchesQuery",
      "normalizeEventQuery",
      "parseStoredEvent",
      "unknownCursorError",
      "wireJson",
    ],
    types: [
      "AppendOutcome",
      "CheckpointStore",
      "CheckpointWrite",
      "ConsumerLease",
      "ConsumerQuery",
      "ConsumerRecord",
      "DeadLetter",
      "DigestRecord",
      "DigestStore",
      "EventStorage",
      "NormalizedEventQuery",
      "PruneHold",
      "PruneOptions",
      "StorageWatch",
      "TransactionalAppend",
      "WebhookLogQuery",
      "WebhookLogRecord",
      "WebhookStore",
    ],
  },
  "./webhooks": {
    source: "src/webhooks/index.ts",
    values: [
      "WebhookDispatcher",
      "WebhookVerificationError",
      "createWebhookDispatcher",
      "generateWebhookSecret",
      "verifyWebhook",
    ],
    types: [
      "VerifiedWebhook",
      "VerifyWebhookOptions",
      "WebhookAutoDisableOptions",
      "WebhookDelivery",
      "WebhookDeliveryQuery",
      "WebhookDispatcherOptions",
      "WebhookErrorReport",
      "WebhookFieldFilter",
      "WebhookFormat",
      "WebhookLookup",
      "WebhookRedelivery",
      "WebhookRedeliveryResult",
      "WebhookRequest",
      "WebhookRetryOptions",
      "WebhookSubscription",
      "WebhookSubscriptionInput",
      "WebhookSubscriptionPatch",
      "WebhookSubscriptionStatus",
    ],
  },
  "./interop": {
    source: "src/interop/index.ts",
    values: [
      "CLOUD_EVENT_EXTENSIONS",
      "MAX_CLOUD_EVENT_BATCH",
      "forwardEvents",
      "fromCloudEvent",
      "fromCloudEventHttp",
      "fromIabEvent",
      "toCloudEvent",
      "toCloudEventBatch",
      "toCloudEventHttp",
      "toIabEvent",
    ],
    types: [
      "CloudEventHttpHeaders",
      "CloudEventHttpMessage",
      "CloudEventHttpOptions",
      "CloudEventJson",
      "CloudEventOptions",
      "EventSink",
      "ForwardEventsOptions",
      "ForwardFormat",
      "ForwardedEvent",
      "IabEvent",
    ],
  },
  "./nats": {
    source: "src/interop/nats/index.ts",
    values: ["natsJetStreamSink"],
    types: ["JetStreamPublisher", "NatsJetStreamSinkOptions"],
  },
  "./amqp": {
    source: "src/interop/amqp/index.ts",
    values: ["amqpSink"],
    types: ["AmqpConfirmChannel", "AmqpSinkOptions"],
  },
  "./otel": {
    source: "src/interop/otel/index.ts",
    values: ["MESSAGING_SYSTEM", "withOpenTelemetry"],
    types: ["OpenTelemetryOptions"],
  },
  "./audit": {
    source: "src/audit/index.ts",
    values: [
      "DIGEST_FORMAT",
      "canonicalJson",
      "digestHash",
      "eventHash",
      "sealAuditTrail",
      "trailLogs",
      "verifyAuditTrail",
    ],
    types: [
      "AuditDigest",
      "AuditFinding",
      "AuditFindingKind",
      "AuditReport",
      "AuditSummary",
      "AuditTrailSealer",
      "AuditTrailStatus",
      "IntervalReport",
      "SealAuditTrailOptions",
      "SealEntry",
      "SealedPruneRecord",
      "VerifyAuditTrailOptions",
    ],
  },
};

const root = resolve(import.meta.dirname, "..");

/** The names an entry exports, split by whether they exist at run time, read by the compiler as a user's would be. */
function compiledExports(): Map<string, { values: string[]; types: string[] }> {
  const files = Object.values(EXPECTED).map((entry) => resolve(root, entry.source));
  const config = ts.getParsedCommandLineOfConfigFile(
    resolve(root, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
      },
    },
  );
  const program = ts.createProgram(files, config?.options ?? {});
  const checker = program.getTypeChecker();
  const found = new Map<string, { values: string[]; types: string[] }>();
  for (const [entry, { source }] of Object.entries(EXPECTED)) {
    const file = program.getSourceFile(resolve(root, source));
    const module = file && checker.getSymbolAtLocation(file);
    const values: string[] = [];
    const types: string[] = [];
    for (const symbol of module ? checker.getExportsOfModule(module) : []) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
    }
    found.set(entry, { values: values.sort(), types: types.sort() });
  }
  return found;
}

describe("public surface", () => {
  it("lists every entry of the package's exports map", async () => {
    const manifest = JSON.parse(await readFile(resolve(root, "package.json"), "utf8")) as {
      exports: Record<string, unknown>;
    };
    const entries = Object.keys(manifest.exports).filter((entry) => entry !== "./package.json");
    expect(entries.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it("exports exactly the listed values at run time", async () => {
    for (const [entry, { source, values }] of Object.entries(EXPECTED)) {
      const loaded = (await import(resolve(root, source))) as Record<string, unknown>;
      expect({ entry, values: Object.keys(loaded).sort() }).toEqual({ entry, values: [...values].sort() });
    }
  });

  it("exports exactly the listed types", () => {
    const found = compiledExports();
    for (const [entry, { values, types }] of Object.entries(EXPECTED)) {
      expect({ entry, ...found.get(entry) }).toEqual({ entry, values: [...values].sort(), types: [...types].sort() });
    }
  });

  it("names each entry's API docs module as it is imported", async () => {
    for (const [entry, { source }] of Object.entries(EXPECTED)) {
      const text = await readFile(resolve(root, source), "utf8");
      const tag = /^\/\*\*[\s\S]*?@module (\S+)\n \*\//.exec(text)?.[1];
      const expected = entry.replace(/^\./, "ad-seller-events");
      expect({ entry, tag }).toEqual({ entry, tag: expected });
    }
  });

  it("keeps the root entry an application's size", () => {
    const { values, types } = EXPECTED["."] as { values: string[]; types: string[] };
    // 48: `BusErrorReport` joined for `new EventBus({ onError })` (DESIGN §18), the one name such a handler is typed by.
    expect(values.length + types.length).toBeLessThanOrEqual(48);
  });
});
