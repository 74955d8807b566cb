import { nanoid } from "nanoid";

/**
 * A fresh flow id: a nanoid (21 URL-safe characters). nanoid 5 is an ES module only; the build bundles it into both
 * the ESM and the CommonJS output (tsup `noExternal`), so `require("ad-seller-events")` never loads an ES module.
 */
export function randomFlowId(): string {
  return nanoid();
}
