// The entry `ad-seller-events/otel` (DESIGN section 22): OpenTelemetry traces and metrics for a bus.
export { MESSAGING_SYSTEM } from "./otel-spans.js";
export { type OpenTelemetryOptions, withOpenTelemetry } from "./with-open-telemetry.js";
