// The entry `ad-seller-events/otel` (DESIGN section 2x): being built in wave 3.
export {};
