import { describe, expect, it } from "vitest";
import {
  isPrivateAddress,
  webhookDestinationProblem,
} from "../../control-plane/src/modules/alerts/destination.ts";

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
