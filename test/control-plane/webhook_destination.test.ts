import type { LookupAddress } from "node:dns";
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkedLookup,
  isPrivateAddress,
  type Lookup,
  refusalIn,
  webhookDestinationProblem,
} from "../../control-plane/src/modules/alerts/destination.ts";
import { webhookDispatcher } from "../../control-plane/src/modules/alerts/egress.ts";
import { redactWebhookUrl } from "../../control-plane/src/modules/alerts/webhooks.ts";

describe("webhook destinations", () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.10",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe",
    "64:ff9b::a9fe:a9fe",
    "2001:db8::1",
  ])("refuses %s", (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])(
    "allows %s",
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );

  it("refuses a name when any of its addresses is private, and names that do not resolve", async () => {
    const mixed = async () => [{ address: "93.184.216.34" }, { address: "10.0.0.5" }];
    expect(
      await webhookDestinationProblem("https://hooks.example.test/x", {
        allowPrivateNetworks: false,
        lookup: mixed,
      }),
    ).toMatch(/10\.0\.0\.5/);
    const failing = async () => {
      throw new Error("ENOTFOUND");
    };
    expect(
      await webhookDestinationProblem("https://nowhere.example.test/", {
        allowPrivateNetworks: false,
        lookup: failing,
      }),
    ).toMatch(/does not resolve/);
    const publicOnly = async () => [{ address: "93.184.216.34" }];
    expect(
      await webhookDestinationProblem("https://hooks.example.test/x", {
        allowPrivateNetworks: false,
        lookup: publicOnly,
      }),
    ).toBeNull();
  });

  it("allows everything http(s) when the operator allows private networks, and never other schemes", async () => {
    expect(await webhookDestinationProblem("http://127.0.0.1:9/", { allowPrivateNetworks: true })).toBeNull();
    expect(await webhookDestinationProblem("ftp://example.test/", { allowPrivateNetworks: true })).toMatch(
      /http/,
    );
  });
});

/** A resolver that answers `address` for every name and counts the questions. */
function resolverTo(address: string): Lookup & { calls: string[] } {
  const calls: string[] = [];
  return Object.assign(
    async (host: string) => {
      calls.push(host);
      return [{ address }];
    },
    { calls },
  );
}

describe("webhook egress: every connection is checked as it opens", () => {
  let server: Server;
  let port: number;
  const hits: { url: string; host: string | undefined }[] = [];
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      hits.push({ url: req.url ?? "", host: req.headers.host });
      res.writeHead(200).end("internal answer");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** POSTs through a fresh dispatcher and reports the response status or the refusal. */
  async function post(url: string, options: { allowPrivateNetworks: boolean; lookup?: Lookup }) {
    const dispatcher = webhookDispatcher(options);
    try {
      const res = await fetch(url, { method: "POST", body: "{}", dispatcher, redirect: "manual" });
      await res.body?.cancel();
      return { status: res.status, refusal: null, error: null };
    } catch (err) {
      return { status: null, refusal: refusalIn(err), error: err };
    } finally {
      await dispatcher.destroy();
    }
  }

  it("refuses at connect time a name that resolves to loopback, with no early check in front", async () => {
    const lookup = resolverTo("127.0.0.1");
    const before = hits.length;
    const got = await post(`http://hooks.example.test:${port}/probe`, {
      allowPrivateNetworks: false,
      lookup,
    });
    expect(got.status).toBeNull();
    expect(got.refusal).toEqual({
      reason: "the host resolves to a private or reserved address",
      address: "127.0.0.1",
    });
    expect(lookup.calls).toEqual(["hooks.example.test"]);
    expect(hits.length).toBe(before);
  });

  it("refuses literal private addresses, which sockets never look up", async () => {
    const lookup = resolverTo("93.184.216.34");
    const before = hits.length;
    for (const url of [`http://127.0.0.1:${port}/probe`, `http://[::1]:${port}/probe`]) {
      const got = await post(url, { allowPrivateNetworks: false, lookup });
      expect(got.refusal, url).toEqual({
        reason: "the host is a private or reserved address",
        address: new URL(url).hostname.replace(/^\[|\]$/g, ""),
      });
    }
    expect(lookup.calls).toEqual([]);
    expect(hits.length).toBe(before);
  });

  it("connects to the address it checked, not one the system resolves", async () => {
    // hooks.example.test exists in no DNS: reaching the server proves the socket used the checked answer.
    const lookup = resolverTo("127.0.0.1");
    const got = await post(`http://hooks.example.test:${port}/pinned`, {
      allowPrivateNetworks: true,
      lookup,
    });
    expect(got.status).toBe(200);
    expect(hits.at(-1)).toEqual({ url: "/pinned", host: `hooks.example.test:${port}` });
    expect(lookup.calls).toEqual(["hooks.example.test"]);
  });

  it("speaks TLS for the URL's host name while dialling the checked address", async () => {
    // A bare TCP listener records the ClientHello: its SNI carries the name TLS verifies the certificate
    // against. It answers nothing, so the handshake fails; that failure is not a refusal.
    let hello = Buffer.alloc(0);
    const tls = createTcpServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        hello = chunk;
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
    try {
      const tlsPort = (tls.address() as AddressInfo).port;
      const lookup = resolverTo("127.0.0.1");
      const got = await post(`https://hooks.example.test:${tlsPort}/`, {
        allowPrivateNetworks: true,
        lookup,
      });
      expect(got.status).toBeNull();
      expect(got.refusal).toBeNull();
      expect(hello[0]).toBe(0x16); // a TLS handshake record
      expect(hello.includes(Buffer.from("hooks.example.test"))).toBe(true);
      expect(lookup.calls).toEqual(["hooks.example.test"]);
    } finally {
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });
});

describe("checkedLookup", () => {
  const ask = (lookup: Lookup, options: { all?: boolean; family?: number }, allowPrivateNetworks = false) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>(
      (resolve) =>
        checkedLookup({ allowPrivateNetworks, lookup })(
          "hooks.example.test",
          options,
          (err, address, family) => resolve({ err, address, family }),
        ),
    );
  const answers =
    (...addresses: string[]): Lookup =>
    async () =>
      addresses.map((address) => ({ address }));

  it("hands sockets the checked addresses in the form they ask for", async () => {
    const lookup = answers("93.184.216.34", "2606:4700:4700::1111");
    expect(await ask(lookup, { all: true })).toEqual({
      err: null,
      address: [
        { address: "93.184.216.34", family: 4 },
        { address: "2606:4700:4700::1111", family: 6 },
      ],
      family: undefined,
    });
    expect(await ask(lookup, {})).toEqual({ err: null, address: "93.184.216.34", family: 4 });
    expect(await ask(lookup, { family: 6 })).toEqual({
      err: null,
      address: "2606:4700:4700::1111",
      family: 6,
    });
  });

  it("refuses when any answer is private, unless private networks are allowed", async () => {
    const mixed = answers("93.184.216.34", "10.0.0.5");
    const refused = await ask(mixed, { all: true });
    expect(refusalIn(refused.err)).toEqual({
      reason: "the host resolves to a private or reserved address",
      address: "10.0.0.5",
    });
    expect((await ask(mixed, { all: true }, true)).err).toBeNull();
  });

  it("fails like DNS when no answer of the wanted family exists, and passes the resolver's errors on", async () => {
    expect((await ask(answers("93.184.216.34"), { family: 6 })).err?.code).toBe("ENOTFOUND");
    const failing: Lookup = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    };
    const got = await ask(failing, { all: true });
    expect(got.err?.code).toBe("ENOTFOUND");
    expect(refusalIn(got.err)).toBeNull();
  });
});

describe("redactWebhookUrl", () => {
  it.each([
    ["https://hooks.example.com/services/T0/B1/s3cret", "https://hooks.example.com/…"],
    ["https://user:pa55@hooks.example.com:8443/x?token=s3cret#frag", "https://hooks.example.com:8443/…"],
    ["http://[2606:4700::1]/hook?k=v", "http://[2606:4700::1]/…"],
    ["not a url", "…"],
  ])("%s → %s", (url, redacted) => {
    expect(redactWebhookUrl(url)).toBe(redacted);
  });
});
