import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";

/**
 * Resolves a host name to every address, like `dns.lookup(host, { all: true })`. The dispatcher's `lookup` option
 * replaces it (tests point names at 127.0.0.1 with it).
 *
 * @example
 * ```ts
 * const lookup: WebhookLookup = async () => [{ address: "127.0.0.1", family: 4 }];
 * ```
 */
export type WebhookLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The system resolver. */
export const systemLookup: WebhookLookup = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

// Loopback, private (RFC 1918, unique local), link-local, shared (CGNAT), unspecified, multicast and the
// documentation / benchmarking ranges: nothing a partner's public endpoint lives on.
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 3],
] as const)
  PRIVATE.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  PRIVATE.addSubnet(network, prefix, "ipv6");

/** True for an address a webhook may not reach without `allowPrivateNetworks`. IPv4-mapped IPv6 counts as IPv4. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1] as string, "ipv4");
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * The addresses a request to `hostname` may connect to: every resolved address must be public (one private answer
 * refuses the whole name, so that DNS rebinding between answers gains nothing), unless private networks are
 * allowed. The socket then connects to exactly these addresses, never resolving again.
 */
export async function resolveTarget(
  hostname: string,
  lookup: WebhookLookup,
  allowPrivateNetworks: boolean,
): Promise<readonly LookupAddress[]> {
  const bare = hostname.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  const addresses = family !== 0 ? [{ address: bare, family }] : await lookup(bare);
  if (addresses.length === 0) throw new Error(`${hostname} resolved to no address`);
  if (!allowPrivateNetworks) {
    const refused = addresses.find((entry) => isPrivateAddress(entry.address));
    if (refused !== undefined)
      throw new Error(
        `refused: ${hostname} resolves to ${refused.address}, a private, loopback or link-local address ` +
          "(set allowPrivateNetworks: true to deliver inside your network)",
      );
  }
  return addresses;
}
