import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Every test runs in a zone far from UTC (+12:45/+13:45, with daylight saving), so that a timestamp read in the
// machine's zone fails on every machine, not only on those outside UTC. Set here, before vitest starts its worker
// processes and threads, so that they inherit it; tests/event/timezone.test.ts checks that it took effect.
process.env.TZ = "Pacific/Chatham";

const source = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Examples and tests import the package by its public name; resolve it to the sources (tsconfig paths do the same).
    alias: [
      { find: /^ad-seller-events$/, replacement: source("index.ts") },
      { find: /^ad-seller-events\/http$/, replacement: source("http/index.ts") },
      { find: /^ad-seller-events\/sqlite$/, replacement: source("storage/sqlite/index.ts") },
      { find: /^ad-seller-events\/postgres$/, replacement: source("storage/postgres/index.ts") },
      { find: /^ad-seller-events\/redis$/, replacement: source("storage/redis/index.ts") },
      { find: /^ad-seller-events\/testing$/, replacement: source("testing/index.ts") },
      { find: /^ad-seller-events\/outbox$/, replacement: source("outbox/index.ts") },
      { find: /^ad-seller-events\/storage$/, replacement: source("storage/index.ts") },
      { find: /^ad-seller-events\/webhooks$/, replacement: source("webhooks/index.ts") },
      { find: /^ad-seller-events\/interop$/, replacement: source("interop/index.ts") },
      { find: /^ad-seller-events\/nats$/, replacement: source("interop/nats/index.ts") },
      { find: /^ad-seller-events\/amqp$/, replacement: source("interop/amqp/index.ts") },
      { find: /^ad-seller-events\/otel$/, replacement: source("interop/otel/index.ts") },
      { find: /^ad-seller-events\/audit$/, replacement: source("audit/index.ts") },
    ],
  },
  test: {
    include: ["tests/**/*.test.ts"],
    typecheck: { enabled: true, include: ["tests/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
