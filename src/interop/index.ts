// The entry `ad-seller-events/interop` (DESIGN section 2x): being built in wave 3.
export {};
