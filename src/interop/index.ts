// The entry `ad-seller-events/interop` (DESIGN section 22): CloudEvents, the IAB envelope, forwarding to sinks.
export {
  CLOUD_EVENT_EXTENSIONS,
  type CloudEventJson,
  type CloudEventOptions,
  fromCloudEvent,
  toCloudEvent,
} from "./cloudevents/cloud-event.js";
export {
  type CloudEventHttpHeaders,
  type CloudEventHttpMessage,
  type CloudEventHttpOptions,
  fromCloudEventHttp,
  MAX_CLOUD_EVENT_BATCH,
  toCloudEventBatch,
  toCloudEventHttp,
} from "./cloudevents/cloud-event-http.js";
export {
  type EventSink,
  type ForwardEventsOptions,
  type ForwardedEvent,
  type ForwardFormat,
  forwardEvents,
} from "./forwarding/forward-events.js";
export { fromIabEvent, type IabEvent, toIabEvent } from "./iab/iab-event.js";
