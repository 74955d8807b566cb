/**
 * Test helpers: `createTestBus`, a test clock, matchers, and the conformance suite every storage adapter passes.
 *
 * @module ad-seller-events/testing
 */
export type {
  ConformanceDescribe,
  ConformanceExpect,
  ConformanceIt,
  ConformanceMatchers,
} from "./conformance/fixtures.js";
export type { StorageConformanceOptions } from "./conformance/storage-conformance.js";
export { describeStorageConformance } from "./conformance/storage-conformance.js";
export type { EventMatcher, MatcherPattern } from "./event-matcher.js";
export type { TestBusOptions } from "./test-bus.js";
export { createTestBus, EventExpectationError, TestEventBus } from "./test-bus.js";
export type { TestClock } from "./test-clock.js";
export { createSequentialIds, createTestClock } from "./test-clock.js";
