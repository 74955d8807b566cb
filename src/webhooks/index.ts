// The entry `ad-seller-events/webhooks` (DESIGN section 2x): being built in wave 3.
export {};
