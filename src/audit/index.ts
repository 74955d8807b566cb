// The entry `ad-seller-events/audit` (DESIGN section 2x): being built in wave 3.
export {};
