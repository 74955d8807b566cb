import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    typecheck: { enabled: true, include: ["tests/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Service-backed suites share one PostgreSQL and one Redis; files run in parallel but each uses its own table/prefix.
    fileParallelism: true,
  },
});
