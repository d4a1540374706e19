import type { LookupAddress, LookupOptions } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP, type LookupFunction } from "node:net";

/**
 * Where the control plane may send webhooks. A tenant chooses the URL, so without a check a webhook is a
 * way to make the control plane POST into its own network (cloud metadata at 169.254.169.254, an admin
 * port on localhost, the database host). Private, loopback, link-local and other special addresses are
 * refused unless the operator allows private networks (the local platform does: receivers run beside it).
 */

/** Resolves a host name to its addresses; injected in tests to play a name server that changes its mind. */
export type Lookup = (host: string) => Promise<{ address: string }[]>;

const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** IPv4 ranges that are not the public internet (RFC 6890 and friends), as [network, prefix length]. */
const BLOCKED_V4: [string, number][] = [
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
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

function v4ToInt(address: string): number {
  return address.split(".").reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

function v4Blocked(address: string): boolean {
  const ip = v4ToInt(address);
  return BLOCKED_V4.some(([network, bits]) => {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (ip & mask) === (v4ToInt(network) & mask);
  });
}

/** Expands an IPv6 address to its eight 16-bit groups. */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().split("%")[0]!;
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    text = `${text.slice(0, -dotted[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":").filter(Boolean) : [];
  const tailGroups = tail ? tail.split(":").filter(Boolean) : [];
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...new Array(zeros).fill("0"), ...tailGroups].map((g) => Number.parseInt(g, 16));
}

function v6Blocked(address: string): boolean {
  const g = v6Groups(address);
  if (g.length !== 8 || g.some((x) => Number.isNaN(x))) return true;
  const allZeroBefore = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (allZeroBefore(7) && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible addresses carry an IPv4 address: judge that.
  if (allZeroBefore(5) && (g[5] === 0xffff || g[5] === 0)) {
    return v4Blocked(`${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`);
  }
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  if (first === 0x2001 && g[1] === 0x0db8) return true; // 2001:db8::/32 documentation
  if (first === 0x0064 && g[1] === 0xff9b) return true; // 64:ff9b::/96 NAT64 reaches IPv4 space
  return false;
}

/** True for addresses a webhook must not reach without the operator's permission. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return v4Blocked(address);
  if (family === 6) return v6Blocked(address);
  return true;
}

/**
 * Why a destination was refused. `reason` is what the tenant sees on the delivery; `address`, the private
 * address a name resolved to, goes only to the operator's log: showing it would let a tenant read the
 * control plane's internal DNS one webhook at a time.
 */
export interface Refusal {
  reason: string;
  address?: string;
}

const PRIVATE_REASON = "the host resolves to a private or reserved address";

/** Thrown (as the cause of a failed fetch) when a connection would reach a refused address. */
export class DestinationRefusedError extends Error {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(`destination refused: ${refusal.reason}`);
    this.name = "DestinationRefusedError";
    this.refusal = refusal;
  }
}

/** The refusal carried by `err` or anything in its `cause` chain (fetch wraps connection errors). */
export function refusalIn(err: unknown): Refusal | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof DestinationRefusedError) return e.refusal;
  }
  return null;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

/** A refusal when any of `addresses` is private: one bad answer is enough, as a client may pick any. */
function addressesRefusal(addresses: string[]): Refusal | null {
  const blocked = addresses.find(isPrivateAddress);
  return blocked === undefined ? null : { reason: PRIVATE_REASON, address: blocked };
}

/**
 * The early check before a delivery: why `url` may not receive a webhook, or null when it may. It saves
 * opening a socket for a destination that is refused anyway, but it is not what protects the network: a
 * name can answer differently a moment later. `webhookDispatcher` (egress.ts) checks the addresses the
 * socket actually connects to.
 */
export async function destinationRefusal(
  url: string,
  options: { allowPrivateNetworks: boolean; lookup?: Lookup },
): Promise<Refusal | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { reason: "not a valid URL" };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    return { reason: "only http and https URLs" };
  if (options.allowPrivateNetworks) return null;
  const host = hostOf(parsed);
  if (isLocalhostName(host)) return { reason: "localhost is not a public destination" };
  if (isIP(host)) return addressesRefusal([host]);
  try {
    return addressesRefusal((await (options.lookup ?? defaultLookup)(host)).map((a) => a.address));
  } catch {
    return { reason: `the host ${host} does not resolve` };
  }
}

/** `destinationRefusal` as one line with the address, for operators and tools; never shown to a tenant. */
export async function webhookDestinationProblem(
  url: string,
  options: { allowPrivateNetworks: boolean; lookup?: Lookup },
): Promise<string | null> {
  const refusal = await destinationRefusal(url, options);
  if (refusal === null) return null;
  return refusal.address === undefined ? refusal.reason : `${refusal.reason} (${refusal.address})`;
}

function wantedFamily(family: LookupOptions["family"]): 4 | 6 | null {
  if (family === 4 || family === "IPv4") return 4;
  if (family === 6 || family === "IPv6") return 6;
  return null;
}

/**
 * A `lookup` for sockets (net.connect, tls.connect) that resolves through `lookup`, refuses the connection
 * when any answer is private unless private networks are allowed, and hands the socket exactly the
 * addresses it checked. Nothing resolves the name again between the check and the connection, so a name
 * server that answers a public address first and a private one next gains nothing.
 */
export function checkedLookup(options: { allowPrivateNetworks: boolean; lookup?: Lookup }): LookupFunction {
  const resolve = options.lookup ?? defaultLookup;
  const checked = async (hostname: string, family: 4 | 6 | null): Promise<LookupAddress[]> => {
    const addresses = (await resolve(hostname))
      .map((a) => ({ address: a.address, family: isIP(a.address) }))
      .filter((a) => family === null || a.family === family);
    if (addresses.length === 0) {
      throw Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" });
    }
    if (!options.allowPrivateNetworks) {
      const refusal = addressesRefusal(addresses.map((a) => a.address));
      if (refusal !== null) throw new DestinationRefusedError(refusal);
    }
    return addresses;
  };
  return (hostname, dnsOptions, callback) => {
    checked(hostname, wantedFamily(dnsOptions.family)).then(
      (addresses) => {
        if (dnsOptions.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, "", 0),
    );
  };
}

/** The create-time check: only what needs no DNS (a literal address or localhost), so creation never waits on a resolver. */
export function literalDestinationProblem(url: string, allowPrivateNetworks: boolean): string | null {
  if (allowPrivateNetworks) return null;
  const host = hostOf(new URL(url));
  if (isLocalhostName(host)) return "localhost is not a public destination";
  if (isIP(host) && isPrivateAddress(host)) return `${host} is a private or reserved address`;
  return null;
}
