// The entry `ad-seller-events/nats` (DESIGN section 2x): being built in wave 3.
export {};
