// Question: what do the PostgreSQL emit figures become when every commit costs about 2 ms more, as a synchronous
// standby in another rack would make it? Runs bench/postgres-emit.ts and bench/postgres-fleet.ts against a private server started here (initdb
// into a temporary folder, its own port, `commit_delay` = 2000 µs with `commit_siblings` = 0, so that every WAL flush
// waits 2 ms first); the shared server's settings are never touched. The binaries are the newest under
// /usr/lib/postgresql/*/bin (or PG_BIN). As root, the server runs as the `postgres` user (PostgreSQL refuses root).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { quick, skip } from "./harness.js";

const QUESTION = "postgres-commit-delay";
const COMMIT_DELAY_US = 2000;

function binaries(): string | undefined {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

const bin = binaries();
if (bin === undefined) {
  await skip(QUESTION, "no PostgreSQL server binaries (set PG_BIN)");
  process.exit(0);
}
const asRoot = process.getuid?.() === 0;
/** Runs a server binary, as `postgres` when this process is root. */
const command = (tool: string, args: string[]): [string, string[]] =>
  asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];

const folder = mkdtempSync(join(tmpdir(), "ase-commit-delay-"));
chmodSync(folder, 0o777); // the server user writes its data and socket here
const data = join(folder, "data");
const port = 20_000 + (process.pid % 20_000);
const [initdb, initArgs] = command("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
execFileSync(initdb, initArgs, { stdio: "ignore" });
const [postgres, serverArgs] = command("postgres", [
  "-D",
  data,
  "-p",
  String(port),
  "-k",
  folder,
  "-c",
  "listen_addresses=127.0.0.1",
  "-c",
  `commit_delay=${COMMIT_DELAY_US}`,
  "-c",
  "commit_siblings=0",
  "-c",
  "max_connections=120",
]);
const server = spawn(postgres, serverArgs, { stdio: "ignore" });
try {
  const [ready, readyArgs] = command("pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-t", "1"]);
  for (let attempt = 0; spawnSync(ready, readyArgs).status !== 0; attempt++) {
    if (attempt > 60) throw new Error("the private PostgreSQL server did not start");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const root = fileURLToPath(new URL("..", import.meta.url));
  const runs = [
    { file: "bench/postgres-emit.ts", question: QUESTION },
    { file: "bench/postgres-fleet.ts", question: `${QUESTION}-fleet` },
  ];
  for (const { file, question } of runs) {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...(quick ? ["--quick"] : [])], {
      cwd: root,
      stdio: "inherit",
      env: {
        ...process.env,
        PG_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
        BENCH_QUESTION: question,
        BENCH_NOTE: `private server, commit_delay=${COMMIT_DELAY_US} µs, commit_siblings=0 (every commit flush waits 2 ms)`,
      },
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`${file} exited with ${code}`);
  }
} finally {
  // pg_ctl, not a signal: runuser does not pass signals on to the server it started.
  const [stop, stopArgs] = command("pg_ctl", ["stop", "-D", data, "-m", "fast"]);
  if (server.exitCode === null) spawnSync(stop, stopArgs, { stdio: "ignore" });
  rmSync(folder, { recursive: true, force: true });
}
