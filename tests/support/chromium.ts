import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { servicesRequired } from "./services.js";

/** Debian's chromium, which `.ci/run` installs with apt-get when it is missing. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Whether the browser tests can run. Without chromium they print a loud skip line, or fail when
 * `REQUIRE_SERVICES=1` (CI) demands every suite.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const message = `chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)`;
  if (servicesRequired) throw new Error(`${message}, and REQUIRE_SERVICES=1 demands the browser tests`);
  console.warn(`\n!!!!! SKIPPING BROWSER TESTS: ${message} (set REQUIRE_SERVICES=1 to fail instead) !!!!!\n`);
  return false;
}

/** A launched chromium with a fresh profile; `close` ends the browser and deletes the profile. */
export interface LaunchedChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<LaunchedChromium> {
  const profile = await mkdtemp(join(tmpdir(), "viewer-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    colorScheme: "light",
    reducedMotion: "reduce",
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
