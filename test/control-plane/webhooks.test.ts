import dns from "node:dns";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  webhookCreatedSchema,
  webhookDeliveryListSchema,
  webhookListSchema,
  webhookPayloadSchema,
} from "#shared/alerts.ts";
import { auditEntrySchema } from "#shared/audit.ts";
import { SIGNATURE_HEADER, verifyBodySignature } from "#shared/signature.ts";
import { evaluateAlerts } from "../../control-plane/src/modules/alerts/evaluate.ts";
import {
  deliverDueWebhooks,
  MAX_DELIVERY_ATTEMPTS,
  retryDelayMs,
} from "../../control-plane/src/modules/alerts/webhooks.ts";
import { openDatabase } from "../../control-plane/src/platform/db/client.ts";
import { auditLog, webhookDeliveries } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";
import { snapshotWith } from "../helpers/monitoring-snapshot.ts";

/** Deliveries to the local receiver, as the platform allows with WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
const LOCAL = { allowPrivateNetworks: true };

let h: ControlPlaneHarness;
let receiver: Receiver;
beforeAll(async () => {
  [h, receiver] = await Promise.all([
    // The receiver listens on 127.0.0.1, which only a platform allowing private networks may reach.
    startControlPlane({ SCHEDULER_INTERVAL_SECONDS: "0", WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" }),
    startReceiver(),
  ]);
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

interface Receiver {
  url: string;
  /** Status to answer per path (default 200). */
  status: Map<string, number>;
  received: { path: string; body: string; signature: string | undefined; delivery: string | undefined }[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const status = new Map<string, number>();
  const received: Receiver["received"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const sig = req.headers[SIGNATURE_HEADER];
      const delivery = req.headers["x-churn-delivery"];
      received.push({
        path: req.url ?? "",
        body: Buffer.concat(chunks).toString("utf8"),
        signature: typeof sig === "string" ? sig : undefined,
        delivery: typeof delivery === "string" ? delivery : undefined,
      });
      res.writeHead(status.get(req.url ?? "") ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    status,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function createHook(t: TestTenant, path: string) {
  const res = await h.request("/v1/webhooks", {
    method: "POST",
    token: t.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: `${receiver.url}${path}`, description: "on-call" }),
  });
  expect(res.status).toBe(201);
  return webhookCreatedSchema.parse(await res.json());
}

const fire = (t: TestTenant, now: number, on: ControlPlaneHarness = h) =>
  evaluateAlerts(on.deps.db, t.tenantId, snapshotWith(t.tenantId, { drift: 0.9 }), now);

const deliveries = async (t: TestTenant, id: string, on: ControlPlaneHarness = h) =>
  webhookDeliveryListSchema.parse(
    await (await on.request(`/v1/webhooks/${id}/deliveries`, { token: t.ownerToken })).json(),
  ).deliveries;

describe("webhooks", () => {
  it("shows the secret once; deliveries are signed with it over the exact body", async () => {
    const t = await h.newTenant();
    const hook = await createHook(t, "/signed");
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const listed = await (await h.request("/v1/webhooks", { token: t.ownerToken })).text();
    expect(listed).toContain(hook.id);
    expect(listed).not.toContain(hook.secret);

    const now = Date.now();
    const [fired] = await fire(t, now);
    const outcome = await deliverDueWebhooks(h.deps.db, now, LOCAL);
    expect(outcome.delivered).toBeGreaterThanOrEqual(1);
    const got = receiver.received.filter((r) => r.path === "/signed");
    expect(got).toHaveLength(1);
    expect(await verifyBodySignature(hook.secret, got[0]!.body, got[0]!.signature)).toBe(true);
    expect(await verifyBodySignature(hook.secret, `${got[0]!.body} `, got[0]!.signature)).toBe(false);
    const payload = webhookPayloadSchema.parse(JSON.parse(got[0]!.body));
    expect(payload).toMatchObject({
      type: "alert.fire",
      tenantId: t.tenantId,
      alert: { id: fired!.alert.id },
    });
    expect(got[0]!.delivery).toBe(payload.id);
    expect(JSON.stringify(h.logs)).not.toContain(hook.secret);
  });

  it("retries a failing endpoint with growing backoff, recording every attempt, then gives up", async () => {
    const t = await h.newTenant();
    const hook = await createHook(t, "/down");
    receiver.status.set("/down", 503);
    let now = Date.now();
    await fire(t, now);
    await deliverDueWebhooks(h.deps.db, now, LOCAL);
    let [d] = await deliveries(t, hook.id);
    expect(d).toMatchObject({ state: "pending", attempts: 1, lastStatus: 503, lastError: "HTTP 503" });
    expect(Date.parse(d!.nextAttemptAt!)).toBe(now + retryDelayMs(1));
    // Not due yet: nothing is sent.
    const early = receiver.received.filter((r) => r.path === "/down").length;
    await deliverDueWebhooks(h.deps.db, now + retryDelayMs(1) - 1, LOCAL);
    expect(receiver.received.filter((r) => r.path === "/down").length).toBe(early);
    for (let attempt = 2; attempt <= MAX_DELIVERY_ATTEMPTS; attempt++) {
      now += retryDelayMs(attempt - 1);
      await deliverDueWebhooks(h.deps.db, now, LOCAL);
    }
    [d] = await deliveries(t, hook.id);
    expect(d).toMatchObject({ state: "failed", attempts: MAX_DELIVERY_ATTEMPTS, nextAttemptAt: null });
    expect(receiver.received.filter((r) => r.path === "/down")).toHaveLength(MAX_DELIVERY_ATTEMPTS);
    expect(retryDelayMs(2)).toBe(2 * retryDelayMs(1));
  });

  it("a pending delivery survives a restart: another process on the same database sends it", async () => {
    const t = await h.newTenant();
    const hook = await createHook(t, "/restart");
    receiver.status.set("/restart", 500);
    const now = Date.now();
    await fire(t, now);
    await deliverDueWebhooks(h.deps.db, now, LOCAL);
    receiver.status.set("/restart", 204);
    const other = await openDatabase(`file:${join(h.dir, "cp.db")}`);
    try {
      const outcome = await deliverDueWebhooks(other.db, now + retryDelayMs(1), LOCAL);
      expect(outcome.delivered).toBe(1);
    } finally {
      other.close();
    }
    const [d] = await deliveries(t, hook.id);
    expect(d).toMatchObject({ state: "delivered", attempts: 2, lastStatus: 204 });
  });

  it("deleting a webhook drops its pending deliveries; another tenant's webhook is 404", async () => {
    const t = await h.newTenant();
    const hook = await createHook(t, "/deleted");
    receiver.status.set("/deleted", 500);
    const now = Date.now();
    await fire(t, now);
    await deliverDueWebhooks(h.deps.db, now, LOCAL);
    const other = await h.newTenant();
    await expectError(
      await h.request(`/v1/webhooks/${hook.id}`, { method: "DELETE", token: other.ownerToken }),
      404,
      "NOT_FOUND",
    );
    const del = await h.request(`/v1/webhooks/${hook.id}`, { method: "DELETE", token: t.ownerToken });
    expect(del.status).toBe(204);
    const rows = await h.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, hook.id));
    expect(rows).toMatchObject([{ state: "failed", lastError: "webhook deleted" }]);
    const sent = receiver.received.filter((r) => r.path === "/deleted").length;
    await deliverDueWebhooks(h.deps.db, now + 3_600_000, LOCAL);
    expect(receiver.received.filter((r) => r.path === "/deleted").length).toBe(sent);
    await expectError(
      await h.request(`/v1/webhooks/${hook.id}`, { method: "DELETE", token: t.ownerToken }),
      404,
      "NOT_FOUND",
    );
  });

  it("refuses a URL that is not http(s)", async () => {
    const t = await h.newTenant();
    const res = await h.request("/v1/webhooks", {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: "file:///etc/passwd" }),
    });
    const body = await expectError(res, 400, "INVALID_REQUEST");
    expect(body.error.issues?.[0]?.path).toBe("url");
  });

  it("refuses private, loopback and link-local destinations unless the platform allows them", async () => {
    const strict = await startControlPlane({ SCHEDULER_INTERVAL_SECONDS: "0" });
    try {
      const t = await strict.newTenant();
      for (const url of [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "https://localhost/hook",
        "http://192.168.1.20/hook",
      ]) {
        const res = await strict.request("/v1/webhooks", {
          method: "POST",
          token: t.ownerToken,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ url }),
        });
        const body = await expectError(res, 400, "INVALID_REQUEST");
        expect(body.error.issues?.[0]?.path, url).toBe("url");
      }
      // A public-looking name is accepted at creation, but it resolves inside: the delivery is refused,
      // nothing is sent, and the attempt is recorded for retry like any failure.
      const res = await strict.request("/v1/webhooks", {
        method: "POST",
        token: t.ownerToken,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: `http://hooks.example.test:${new URL(receiver.url).port}/rebound` }),
      });
      expect(res.status).toBe(201);
      const hook = (await res.json()) as { id: string };
      const now = Date.now();
      await fire(t, now, strict);
      const lookup = async () => [{ address: "127.0.0.1" }];
      const outcome = await deliverDueWebhooks(strict.deps.db, now, { lookup });
      expect(outcome).toMatchObject({ sent: 1, delivered: 0, retried: 1 });
      expect(receiver.received.some((r) => r.path === "/rebound")).toBe(false);
      const [d] = await deliveries(t, hook.id, strict);
      // Refused with its reason; the address the name resolved to stays out of the tenant's view.
      expect(d).toMatchObject({
        lastStatus: null,
        lastError: "destination refused: the host resolves to a private or reserved address",
      });
    } finally {
      await strict.close();
    }
  });

  it("DNS rebinding: a name that answers public when checked and loopback when connecting never reaches loopback", async () => {
    const strict = await startControlPlane({ SCHEDULER_INTERVAL_SECONDS: "0" });
    const systemLookup = dns.lookup;
    try {
      const t = await strict.newTenant();
      const res = await strict.request("/v1/webhooks", {
        method: "POST",
        token: t.ownerToken,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: `http://rebind.example.test:${new URL(receiver.url).port}/rebind` }),
      });
      expect(res.status).toBe(201);
      const hook = (await res.json()) as { id: string };
      const now = Date.now();
      await fire(t, now, strict);

      // The attacker's name server: a public address the first time, the loopback receiver ever after.
      const answers: string[] = [];
      const rebinding = async () => {
        const address = answers.length === 0 ? "93.184.216.34" : "127.0.0.1";
        answers.push(address);
        return [{ address }];
      };
      // The operating system's resolver answers the same way, so code that lets `fetch` resolve the name
      // again after the check (the bug this guards against) would reach the receiver here.
      dns.lookup = ((_host: string, options: unknown, callback: unknown) => {
        const all = typeof options === "object" && options !== null && "all" in options && options.all;
        const done = (typeof options === "function" ? options : callback) as (...args: unknown[]) => void;
        void rebinding().then(([answer]) =>
          all ? done(null, [{ address: answer!.address, family: 4 }]) : done(null, answer!.address, 4),
        );
      }) as typeof dns.lookup;
      let outcome: Awaited<ReturnType<typeof deliverDueWebhooks>>;
      try {
        outcome = await deliverDueWebhooks(strict.deps.db, now, { lookup: rebinding });
      } finally {
        dns.lookup = systemLookup;
      }

      expect(receiver.received.some((r) => r.path === "/rebind")).toBe(false);
      // The first answer passed the early check; the second, the one the socket would have used, was refused.
      expect(answers).toEqual(["93.184.216.34", "127.0.0.1"]);
      expect(outcome).toMatchObject({ sent: 1, delivered: 0, retried: 1 });
      const [d] = await deliveries(t, hook.id, strict);
      expect(d).toMatchObject({
        state: "pending",
        lastStatus: null,
        lastError: "destination refused: the host resolves to a private or reserved address",
      });
    } finally {
      dns.lookup = systemLookup;
      await strict.close();
    }
  });

  it("counts delivery outcomes on /metrics from the database, naming no tenant without the metrics token", async () => {
    const value = (text: string, series: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${series} `))
          ?.split(" ")
          .at(-1),
      );
    const before = await (await h.request("/metrics")).text();
    const t = await h.newTenant();
    await createHook(t, "/counted");
    receiver.status.set("/counted", 500);
    const now = Date.now();
    await fire(t, now);
    await deliverDueWebhooks(h.deps.db, now, LOCAL);
    receiver.status.set("/counted", 204);
    await deliverDueWebhooks(h.deps.db, now + retryDelayMs(1), LOCAL);
    const after = await (await h.request("/metrics")).text();
    const delta = (outcome: string) =>
      value(after, `churn_alert_notifications_total{outcome="${outcome}"}`) -
      value(before, `churn_alert_notifications_total{outcome="${outcome}"}`);
    expect(delta("delivered")).toBe(1);
    expect(delta("retrying")).toBe(1);
    expect(delta("failed")).toBe(0);
    expect(value(after, 'churn_retraining_jobs{state="queued"}')).toBeGreaterThanOrEqual(0);
    expect(after).not.toContain("churn_alerts_firing");
    expect(after).not.toContain(t.tenantId);
  });

  it("shows webhook URLs in full only to those who may manage webhooks; others get scheme and host", async () => {
    const t = await h.newTenant();
    const secretPath = "/hooks/T0KEN-in-path?token=s3cret-query";
    const hook = await createHook(t, secretPath);
    const full = `${receiver.url}${secretPath}`;
    const redacted = `${receiver.url}/…`;
    expect(hook.url).toBe(full);

    const listedUrl = async (token: string) => {
      const res = await h.request("/v1/webhooks", { token });
      expect(res.status).toBe(200);
      const text = await res.text();
      const [listed] = webhookListSchema.parse(JSON.parse(text)).webhooks;
      return { url: listed?.url, text };
    };
    for (const token of [t.ownerToken, await t.tokenFor("admin")]) {
      expect((await listedUrl(token)).url).toBe(full);
    }
    for (const token of [
      await t.tokenFor("analyst"),
      await t.tokenFor("ml-engineer"),
      await t.clientToken(["models:read"]),
      await t.clientToken(["deployments:write"]),
    ]) {
      const { url, text } = await listedUrl(token);
      expect(url).toBe(redacted);
      expect(text).not.toContain("T0KEN");
      expect(text).not.toContain("s3cret");
    }
  });

  it("audits webhook creation and deletion with the redacted URL only", async () => {
    const t = await h.newTenant();
    const hook = await createHook(t, "/audited/T0KEN?token=s3cret");
    const del = await h.request(`/v1/webhooks/${hook.id}`, { method: "DELETE", token: t.ownerToken });
    expect(del.status).toBe(204);

    const res = await h.request("/v1/audit?limit=500", { token: t.ownerToken });
    expect(res.status).toBe(200);
    const entries = ((await res.json()) as { entries: unknown[] }).entries.map((e) =>
      auditEntrySchema.parse(e),
    );
    const hookEntries = entries.filter((e) => e.targets.some((target) => target.id === hook.id));
    expect(hookEntries.map((e) => [e.action, e.details])).toEqual(
      expect.arrayContaining([
        ["webhook.create", { url: `${receiver.url}/…` }],
        ["webhook.delete", { url: `${receiver.url}/…` }],
      ]),
    );
    // Neither the API nor the stored rows (exports, backups) hold the path or query.
    const rows = await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId));
    const stored = JSON.stringify(rows);
    expect(stored).toContain(hook.id);
    for (const fragment of ["/audited", "T0KEN", "s3cret", "token="]) {
      expect(stored).not.toContain(fragment);
      expect(JSON.stringify(entries)).not.toContain(fragment);
    }
  });

  it("requires authentication", async () => {
    await expectAuthRequired(h, "GET", "/v1/webhooks");
  });
});
