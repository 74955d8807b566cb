import type { CoreResponse } from "../responses.js";
import { VIEWER_ASSETS, VIEWER_SHELL, VIEWER_VERSION, type ViewerAsset } from "./viewer-assets.generated.js";

/**
 * The page's Content-Security-Policy: only this origin's scripts, styles and connections, no inline code, no
 * plugins, frames, forms or base rewriting; Trusted Types turn any HTML-string sink (`innerHTML`) into an error.
 */
export const VIEWER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": VIEWER_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** Asset names carry the content hash of all assets, so a cached copy can never be stale. */
const IMMUTABLE = "public, max-age=31536000, immutable";

const shells = new Map<string, { text: string; bytes: number }>();

/** The HTML page, with asset URLs relative to where it was requested (`{base}/ui` or `{base}/ui/`). */
export function shellPage(status: 200 | 401, prefix: "ui/" | ""): CoreResponse {
  let shell = shells.get(prefix);
  if (shell === undefined) {
    const text = VIEWER_SHELL.replaceAll("%ASSETS%", `${prefix}${VIEWER_VERSION}`);
    shell = { text, bytes: new TextEncoder().encode(text).length };
    shells.set(prefix, shell);
  }
  return {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/html; charset=utf-8",
      // The page is behind `authorize`: never kept by a shared cache. It is small and names the hashed assets.
      "cache-control": "no-store",
      "content-length": String(shell.bytes),
    },
    body: shell.text,
  };
}

/** One asset by its path under `{base}/ui/` (`<version>/<name>`), or `undefined` when there is none. */
export function assetPage(path: string): CoreResponse | undefined {
  const slash = path.indexOf("/");
  if (slash < 0 || path.slice(0, slash) !== VIEWER_VERSION) return undefined;
  const name = path.slice(slash + 1);
  const asset: ViewerAsset | undefined = Object.hasOwn(VIEWER_ASSETS, name) ? VIEWER_ASSETS[name] : undefined;
  if (asset === undefined) return undefined;
  return {
    status: 200,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": asset.type,
      "cache-control": IMMUTABLE,
      "content-length": String(asset.bytes),
    },
    body: asset.body,
  };
}
