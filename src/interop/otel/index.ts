/**
 * OpenTelemetry traces and metrics for a bus.
 *
 * @module ad-seller-events/otel
 */
export { MESSAGING_SYSTEM } from "./otel-spans.js";
export { type OpenTelemetryOptions, withOpenTelemetry } from "./with-open-telemetry.js";
