import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    http: "src/http/index.ts",
    sqlite: "src/storage/sqlite/index.ts",
    postgres: "src/storage/postgres/index.ts",
    redis: "src/storage/redis/index.ts",
    testing: "src/testing/index.ts",
    outbox: "src/outbox/index.ts",
    storage: "src/storage/index.ts",
    webhooks: "src/webhooks/index.ts",
    interop: "src/interop/index.ts",
    nats: "src/interop/nats/index.ts",
    amqp: "src/interop/amqp/index.ts",
    otel: "src/interop/otel/index.ts",
    audit: "src/audit/index.ts",
    cli: "src/cli/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // Shared chunks keep one copy of the error classes across entry points, so `instanceof` works between them.
  splitting: true,
  treeshake: true,
  external: [
    "zod",
    "pg",
    "ioredis",
    "better-sqlite3",
    "node:sqlite",
    "@nats-io/jetstream",
    "amqplib",
    "@opentelemetry/api",
  ],
  // nanoid 5 ships only as an ES module: bundled (130 bytes), the CommonJS build needs no require(esm).
  noExternal: ["nanoid"],
});
