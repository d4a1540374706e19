import { isIP } from "node:net";
import { Agent, buildConnector } from "undici";
import { checkedLookup, DestinationRefusedError, isPrivateAddress, type Lookup } from "./destination.ts";

/** How long a webhook's TCP (and TLS) connection may take to open. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The only way webhook deliveries reach the network: an undici Agent whose every connection is checked
 * when it opens. A name is resolved once, by `checkedLookup`, and the socket connects to exactly the
 * addresses that passed; a literal address (which sockets never look up) is judged here. TLS still
 * verifies the certificate against the URL's host name: only the address dialled is pinned, the name
 * stays the connection's `host` and `servername`. Refused connections fail with `DestinationRefusedError`
 * as the cause of fetch's error. Close it (`destroy()`) when the deliveries are sent.
 */
export function webhookDispatcher(options: { allowPrivateNetworks: boolean; lookup?: Lookup }): Agent {
  const connect = buildConnector({ lookup: checkedLookup(options), timeout: CONNECT_TIMEOUT_MS });
  return new Agent({
    connect: (target, callback) => {
      if (!options.allowPrivateNetworks && isIP(target.hostname) && isPrivateAddress(target.hostname)) {
        const refusal = { reason: "the host is a private or reserved address", address: target.hostname };
        callback(new DestinationRefusedError(refusal), null);
        return;
      }
      connect(target, callback);
    },
  });
}
