/**
 * CloudEvents, the IAB envelope, forwarding to sinks.
 *
 * @module ad-seller-events/interop
 */
export {
  CLOUD_EVENT_EXTENSIONS,
  type CloudEventJson,
  type CloudEventOptions,
  fromCloudEvent,
  toCloudEvent,
} from "../event/envelopes/cloud-event.js";
export {
  type CloudEventHttpHeaders,
  type CloudEventHttpMessage,
  type CloudEventHttpOptions,
  fromCloudEventHttp,
  MAX_CLOUD_EVENT_BATCH,
  toCloudEventBatch,
  toCloudEventHttp,
} from "../event/envelopes/cloud-event-http.js";
export { fromIabEvent, type IabEvent, toIabEvent } from "../event/envelopes/iab-event.js";
export {
  type EventSink,
  type ForwardEventsOptions,
  type ForwardedEvent,
  type ForwardFormat,
  forwardEvents,
} from "./forwarding/forward-events.js";
