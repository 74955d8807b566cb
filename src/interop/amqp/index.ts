// The entry `ad-seller-events/amqp` (DESIGN section 2x): being built in wave 3.
export {};
