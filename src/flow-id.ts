const ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
const LENGTH = 21;

/**
 * A fresh flow id: 21 URL-safe characters (126 random bits), the shape nanoid gives. Written here rather than
 * imported so that the CommonJS build requires no ES module (nanoid 5 is ESM-only).
 */
export function randomFlowId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(LENGTH));
  let id = "";
  // 64 symbols: the low six bits of each byte pick one uniformly.
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}
