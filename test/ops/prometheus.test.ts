import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import type { ModelVersion } from "#shared/registry.ts";
import { SIGNATURE_HEADER, signBody } from "#shared/signature.ts";
import { listen, type RunningServer } from "../../control-plane/src/control-plane.ts";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

/**
 * The operator's Prometheus setup checked with the real tools: promtool lints and unit-tests the rules, and a
 * real Prometheus scrapes the real control plane, loads the rules and runs every dashboard query.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const RULES = join(ROOT, "ops/prometheus/rules.yml");
const RULE_TESTS = join(ROOT, "ops/prometheus/rules.test.yml");
const SCRAPE_CONFIG = join(ROOT, "ops/prometheus/prometheus.yml");
/** /metrics serves the per-tenant series only to scrapes presenting this token. */
const METRICS_TOKEN = "metrics-token-for-the-prometheus-test-0123456789";
const scrapeAuth = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };
const DASHBOARD = join(ROOT, "ops/grafana/churn.json");
const OPS_DOC = join(ROOT, "docs/ops.md");
const JOB = "churn-control-plane";
const INGEST_SECRET = "ingest-secret-for-the-prometheus-test";

/**
 * Metric names the rules and dashboard may use beyond what /metrics exposes today: the monitoring-loop
 * metrics (ingest, drift, AUC, data quality, traffic, alerts, retraining) as they are specified.
 */
const PLANNED_METRICS = {
  churn_ingest_events_total: "counter",
  churn_ingest_records_total: "counter",
  churn_ingest_duplicates_total: "counter",
  churn_ingest_batch_duration_seconds: "histogram",
  churn_drift_score: "gauge",
  churn_feature_psi: "gauge",
  churn_estimated_auc: "gauge",
  churn_realized_auc: "gauge",
  churn_training_auc: "gauge",
  churn_data_quality_rate: "gauge",
  churn_predictions_per_hour: "gauge",
  churn_alerts_firing: "gauge",
  churn_alert_notifications_total: "counter",
  churn_retraining_jobs: "gauge",
  churn_retraining_job_duration_seconds: "histogram",
} as const;

function requireBinary(name: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === "") {
    throw new Error(
      `${name} is not installed. It comes from Debian's prometheus package, which .ci/run installs ` +
        "(locally: apt-get install -y prometheus).",
    );
  }
  return path;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], input?: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = execFile(file, args, { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return fail(err);
      done({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** `- alert: Name` entries of the rules file, in order. */
function alertNames(rulesText: string): string[] {
  return [...rulesText.matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    anchors.add(
      m[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return anchors;
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown; datasource?: unknown }[] };
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every `datasource` reference anywhere in the dashboard (panels, targets, variables). */
function datasourceRefs(node: unknown): unknown[] {
  if (Array.isArray(node)) return node.flatMap(datasourceRefs);
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "datasource" ? [value, ...datasourceRefs(value)] : datasourceRefs(value),
  );
}

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers, durations,
 * grouping clauses, function calls, keywords and Grafana variables are taken out.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ")
    .replace(/\b[a-zA-Z_][a-zA-Z0-9_]*\s*\(/g, " (");
  const keywords = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without"]);
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((name) => !keywords.has(name.toLowerCase()) && !/^\d/.test(name));
}

/** Makes a dashboard expression a plain PromQL query: Grafana's variables become literal values. */
function substituteVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, "1m")
    .replace(/\$__interval|\$\{__interval\}/g, "1m")
    .replace(/\$__range|\$\{__range\}/g, "1h")
    .replace(/\$\{?tenant\}?/g, ".+");
}

describe("promtool", () => {
  let promtool: string;
  beforeAll(() => {
    promtool = requireBinary("promtool");
  });

  it("accepts the rules file", async () => {
    const r = await run(promtool, ["check", "rules", RULES]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const found = Number(/SUCCESS: (\d+) rules found/.exec(r.stdout)?.[1]);
    expect(found).toBeGreaterThanOrEqual(alertNames(await readFile(RULES, "utf8")).length);
  });

  it("accepts the scrape config and the rules it loads", async () => {
    // promtool checks that the token file exists: lay the config out as in the repository, beside a
    // `.data/metrics-token` like the one `npm start` writes.
    const layout = await mkdtemp(join(tmpdir(), "churn-prometheus-config-"));
    try {
      await mkdir(join(layout, "ops/prometheus"), { recursive: true });
      await mkdir(join(layout, ".data"));
      await writeFile(join(layout, ".data/metrics-token"), "t".repeat(43));
      await copyFile(SCRAPE_CONFIG, join(layout, "ops/prometheus/prometheus.yml"));
      await copyFile(RULES, join(layout, "ops/prometheus/rules.yml"));
      const r = await run(promtool, ["check", "config", join(layout, "ops/prometheus/prometheus.yml")]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain("1 rule files found");
    } finally {
      await rm(layout, { recursive: true, force: true });
    }
    const config = await readFile(SCRAPE_CONFIG, "utf8");
    expect(config).toContain("credentials_file: ../../.data/metrics-token");
    // The control plane's default port (CONTROL_PLANE_PORT); 8787 is the edge, which serves no /metrics.
    expect(config).toContain('"127.0.0.1:8788"');
    expect(config).toContain(`job_name: ${JOB}`);
  });

  it("accepts compose.yaml's scrape config, with the token file where compose mounts its secret", async () => {
    const layout = await mkdtemp(join(tmpdir(), "churn-prometheus-compose-"));
    try {
      const token = join(layout, "metrics_token");
      await writeFile(token, "t".repeat(43));
      const config = await readFile(join(import.meta.dirname, "../../ops/compose/prometheus.yml"), "utf8");
      expect(config).toContain("credentials_file: /run/secrets/metrics_token");
      expect(config).toContain('"control-plane:8788"');
      expect(config).toContain(`job_name: ${JOB}`);
      await writeFile(join(layout, "prometheus.yml"), config.replace("/run/secrets/metrics_token", token));
      await copyFile(RULES, join(layout, "rules.yml"));
      const r = await run(promtool, ["check", "config", join(layout, "prometheus.yml")]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain("1 rule files found");
    } finally {
      await rm(layout, { recursive: true, force: true });
    }
  });

  it("passes the rules' unit tests", async () => {
    const r = await run(promtool, ["test", "rules", RULE_TESTS]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("SUCCESS");
  });

  it("unit-tests every alert both firing and not firing", async () => {
    const alerts = alertNames(await readFile(RULES, "utf8"));
    expect(alerts).toEqual(
      expect.arrayContaining([
        "ChurnDriftHigh",
        "ChurnEstimatedAucDrop",
        "ChurnDataQuality",
        "ChurnIngestStalled",
        "ChurnIngestDuplicatesHigh",
        "ChurnControlPlane5xx",
        "ChurnRetrainingJobsFailing",
        "ChurnWebhookDeliveryFailing",
      ]),
    );
    const cases = (await readFile(RULE_TESTS, "utf8")).split(/^\s*- eval_time:/m).slice(1);
    const covered = new Map<string, { fires: boolean; silent: boolean }>();
    for (const c of cases) {
      const name = /^\s*alertname:\s*(\S+)/m.exec(c)?.[1];
      if (!name) continue;
      const seen = covered.get(name) ?? { fires: false, silent: false };
      if (/^\s*exp_alerts:\s*\[\]\s*$/m.test(c)) seen.silent = true;
      else if (/^\s*exp_alerts:\s*$/m.test(c) && /exp_labels:/.test(c)) seen.fires = true;
      covered.set(name, seen);
    }
    for (const alert of alerts) {
      expect(covered.get(alert), `${alert} in rules.test.yml`).toEqual({ fires: true, silent: true });
    }
  });

  it("links every alert to its runbook section in docs/ops.md", async () => {
    const rules = await readFile(RULES, "utf8");
    const anchors = headingAnchors(await readFile(OPS_DOC, "utf8"));
    const links = [...rules.matchAll(/runbook_url:\s*"docs\/ops\.md#([^"]+)"/g)].map((m) => m[1]!);
    expect(links.length).toBe(alertNames(rules).length);
    for (const alert of alertNames(rules)) {
      expect(links, alert).toContain(alert.toLowerCase());
      expect(anchors.has(alert.toLowerCase()), `docs/ops.md heading for ${alert}`).toBe(true);
    }
  });
});

describe("the Grafana dashboard", () => {
  it("is well-formed, with unique panel ids, a Prometheus datasource variable and a tenant variable", async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as Dashboard;
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(38);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const panels = allPanels(dashboard.panels);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);

    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.get("datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(variables.get("tenant")).toMatchObject({ type: "query" });
    // Every query goes through the templated datasource, never a fixed one.
    const datasources = datasourceRefs(dashboard);
    expect(datasources.length).toBeGreaterThan(panels.length);
    for (const ref of datasources) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
      expect(ref).toEqual({ type: "prometheus", uid: "${datasource}" });
    }
    const titles = panels.map((p) => p.title ?? "").join("\n");
    for (const topic of [/traffic/i, /latency/i, /model versions/i, /drift/i, /PSI/, /AUC/, /quality/i]) {
      expect(titles).toMatch(topic);
    }
    expect(titles).toMatch(/retraining/i);
    expect(titles).toMatch(/notifications/i);
    const described = panels.map((p) => p.description ?? "").join("\n");
    expect(described).toMatch(/Workers analytics/);
  });
});

describe("a real Prometheus scraping the control plane", () => {
  let h: ControlPlaneHarness;
  let server: RunningServer;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let workDir: string;
  let exposition: string;
  let serving: { tenantId: string; version: ModelVersion };
  const prometheusLog: string[] = [];

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${promUrl}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (res.status !== 200 || body.status !== "success") {
      throw new Error(`${path}: ${res.status} ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data;
  };
  const query = (promql: string) =>
    api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
    );

  beforeAll(async () => {
    const binary = requireBinary("prometheus");
    h = await startControlPlane({ INGEST_SECRET, METRICS_TOKEN });
    server = await listen(h.app, "127.0.0.1", 0);
    // Two tenants, one serving a model: churn_tenants and churn_deployments have known values.
    const tenant = await h.newTenant("Serving");
    await h.newTenant("Idle");
    const version = await tenant.publish(await h.fixture());
    await tenant.deploy(version.id);
    // A monthly quota, so the exposition linted below carries quota gauges too.
    const quota = await h.request("/v1/settings/quota", {
      method: "PUT",
      token: tenant.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ monthlyPredictionQuota: 100_000 }),
    });
    expect(quota.status).toBe(200);
    serving = { tenantId: tenant.tenantId, version };
    expect((await fetch(`${server.url}/v1/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    exposition = await (await fetch(`${server.url}/metrics`, scrapeAuth)).text();

    workDir = await mkdtemp(join(tmpdir(), "churn-prometheus-test-"));
    // The repository's rules, evaluated every second instead of every 30 s to 1 min.
    const rules = await readFile(RULES, "utf8");
    const intervals = rules.match(/^ {4}interval: \S+$/gm) ?? [];
    expect(intervals.length).toBe((rules.match(/^ {2}- name: /gm) ?? []).length);
    await writeFile(join(workDir, "rules.yml"), rules.replace(/^ {4}interval: \S+$/gm, "    interval: 1s"));
    await writeFile(
      join(workDir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        "  - rules.yml",
        "scrape_configs:",
        `  - job_name: ${JOB}`,
        "    authorization:",
        "      type: Bearer",
        `      credentials: ${METRICS_TOKEN}`,
        "    static_configs:",
        `      - targets: ["127.0.0.1:${server.port}"]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      binary,
      [
        `--config.file=${join(workDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(workDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (d: Buffer) => prometheusLog.push(d.toString()));
    prometheus.stderr?.on("data", (d: Buffer) => prometheusLog.push(d.toString()));
    const exited = new Promise<never>((_, fail) =>
      prometheus?.once("exit", (code) =>
        fail(new Error(`prometheus exited (${code}):\n${prometheusLog.join("").slice(-4000)}`)),
      ),
    );
    exited.catch(() => {});
    await Promise.race([
      exited,
      waitFor("prometheus to be ready", async () =>
        (await fetch(`${promUrl}/-/ready`)).ok ? true : undefined,
      ),
    ]);
  });

  afterAll(async () => {
    const child = prometheus;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      process.kill(child.pid, "SIGTERM");
      const stopped = await Promise.race([
        gone.then(() => true),
        new Promise((r) => setTimeout(r, 10_000, false)),
      ]);
      if (!stopped && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    }
    await server?.close();
    await h?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("passes promtool's metrics lint", async () => {
    expect(exposition).toContain(`churn_prediction_quota_limit{tenant="${serving.tenantId}"} 100000\n`);
    expect(exposition).toContain(`churn_prediction_quota_used{tenant="${serving.tenantId}"} 0\n`);
    const r = await run(requireBinary("promtool"), ["check", "metrics"], exposition);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((r.stdout + r.stderr).trim()).toBe("");
  });

  it("scrapes the control plane: target up, registry gauges and request counters queryable", async () => {
    const target = await waitFor("the control plane target to be up", async () => {
      const data = await api<{ activeTargets: { health: string; lastError: string; scrapeUrl: string }[] }>(
        "/api/v1/targets?state=active",
      );
      const t = data.activeTargets.find((a) => a.scrapeUrl === `${server.url}/metrics`);
      return t?.health === "up" ? t : undefined;
    });
    expect(target.lastError).toBe("");

    const tenants = await query(`churn_tenants{job="${JOB}"}`);
    expect(tenants.result).toHaveLength(1);
    expect(tenants.result[0]!.value[1]).toBe("2");
    const deployments = await query(`churn_deployments{job="${JOB}"}`);
    expect(deployments.result[0]!.value[1]).toBe("1");
    expect(Number((await query(`churn_model_versions{job="${JOB}"}`)).result[0]!.value[1])).toBe(1);
    const traffic = await query(`churn_predictions_per_hour{job="${JOB}", variant="production"}`);
    expect(traffic.result.map((r) => [r.metric.tenant, r.value[1]])).toEqual([[serving.tenantId, "0"]]);
    expect((await query(`churn_ingest_duplicates_total{job="${JOB}"}`)).result[0]?.value[1]).toBe("0");
    const health = await query(
      `churn_http_requests_total{job="${JOB}", route="/v1/health", method="GET", status_class="2xx"}`,
    );
    expect(Number(health.result[0]?.value[1])).toBeGreaterThanOrEqual(1);
    const buckets = await query(`count(churn_http_request_duration_seconds_bucket{job="${JOB}"})`);
    expect(Number(buckets.result[0]?.value[1])).toBeGreaterThan(0);
  });

  it("loads every rule and evaluates it without error", async () => {
    const file = await readFile(RULES, "utf8");
    const groups = await waitFor("every rule to be evaluated", async () => {
      const data = await api<{
        groups: {
          name: string;
          rules: { name: string; type: string; health: string; lastError?: string; lastEvaluation: string }[];
        }[];
      }>("/api/v1/rules");
      const rules = data.groups.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((r) => !r.lastEvaluation.startsWith("0001-"))
        ? data.groups
        : undefined;
    });
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.type === "alerting").map((r) => r.name)).toEqual(alertNames(file));
    expect(rules.length).toBe([...file.matchAll(/^\s*- (?:record|alert):/gm)].length);
    for (const r of rules)
      expect({ rule: r.name, health: r.health, error: r.lastError ?? "" }).toEqual({
        rule: r.name,
        health: "ok",
        error: "",
      });
  });

  it("raises ChurnIngestStalled from the live series: a deployment exists and no prediction has arrived", async () => {
    // The one alert the control plane's present series can trigger: its counter has never been incremented.
    const alerts = await waitFor("ChurnIngestStalled to be pending", async () => {
      const data = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
        "/api/v1/alerts",
      );
      return data.alerts.some((a) => a.labels.alertname === "ChurnIngestStalled") ? data.alerts : undefined;
    });
    expect(alerts.map((a) => [a.labels.alertname, a.state])).toEqual([["ChurnIngestStalled", "pending"]]);
    const up = await query(`up{job="${JOB}"} == 0`);
    expect(up.result).toEqual([]);
  });

  it("counts delivered predictions and redeliveries, and ChurnIngestStalled clears once predictions flow", async () => {
    const deliver = async (event: EdgeEvent) => {
      const body = JSON.stringify({ events: [event] });
      const res = await fetch(`${server.url}/v1/ingest/events`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: await signBody(INGEST_SECRET, body),
        },
        body,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as { accepted: number; duplicates: number };
    };
    const prediction = (): EdgeEvent => ({
      type: "prediction",
      eventId: newId("request"),
      tenantId: serving.tenantId,
      at: new Date().toISOString(),
      versionId: serving.version.id,
      version: serving.version.version,
      variant: "production",
      predictions: [{ predictionId: newId("request"), probability: 0.7, contact: true }],
    });
    const scraped = (promql: string, value: string) =>
      waitFor(`${promql} == ${value} in Prometheus`, async () => {
        const r = await query(promql);
        return r.result[0]?.value[1] === value ? true : undefined;
      });
    const predictions = `churn_ingest_events_total{job="${JOB}", type="prediction"}`;

    const first = prediction();
    expect(await deliver(first)).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await deliver(first)).toMatchObject({ accepted: 0, duplicates: 1 });
    await scraped(predictions, "1");
    await scraped(`churn_ingest_duplicates_total{job="${JOB}"}`, "1");
    // A counter's first sample is not an increase to rate(): the alert clears on the next prediction.
    expect(await deliver(prediction())).toMatchObject({ accepted: 1, duplicates: 0 });
    await scraped(predictions, "2");
    await waitFor("ChurnIngestStalled to clear", async () => {
      const data = await api<{ alerts: { labels: Record<string, string> }[] }>("/api/v1/alerts");
      return data.alerts.some((a) => a.labels.alertname === "ChurnIngestStalled") ? undefined : true;
    });
    // The recording rule sees one redelivery per event stored since the counters' first samples.
    const ratio = await waitFor("the duplicates ratio to be recorded", async () => {
      const r = await query(`job:churn_ingest_duplicates:ratio_rate15m{job="${JOB}"}`);
      return r.result[0] ? Number(r.result[0].value[1]) : undefined;
    });
    expect(ratio).toBeGreaterThan(0);
    expect(Number.isFinite(ratio)).toBe(true);
    // The exposition with labelled ingest series and histogram samples still passes the lint.
    const lint = await run(
      requireBinary("promtool"),
      ["check", "metrics"],
      await (await fetch(`${server.url}/metrics`, scrapeAuth)).text(),
    );
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    expect((lint.stdout + lint.stderr).trim()).toBe("");
  });

  it("runs every dashboard query, which selects only known metrics", async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as Dashboard;
    const exposed = [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    const rulesText = await readFile(RULES, "utf8");
    const recorded = [...rulesText.matchAll(/^\s*- record:\s*(\S+)/gm)].map((m) => m[1]!);
    const known = new Set<string>(["up", ...recorded]);
    for (const [name, type] of [...Object.entries(PLANNED_METRICS), ...exposed]) {
      known.add(name);
      if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) known.add(name + s);
    }
    const exprs = allPanels(dashboard.panels).flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title ?? "", expr: t.expr ?? "" })),
    );
    expect(exprs.length).toBeGreaterThan(10);
    for (const { panel, expr } of exprs) {
      expect(expr, panel).not.toBe("");
      for (const name of metricNames(expr))
        expect(known.has(name), `${panel}: ${name} in ${expr}`).toBe(true);
      // The real PromQL parser and evaluator: a syntax error is a 400.
      await expect(query(substituteVariables(expr)), `${panel}: ${expr}`).resolves.toBeDefined();
    }
    for (const v of dashboard.templating.list) {
      if (v.type !== "query") continue;
      const q = typeof v.query === "string" ? v.query : (v.query as { query: string }).query;
      const metric = /label_values\((\w+)/.exec(q)?.[1];
      expect(metric && known.has(metric), `variable ${v.name}: ${q}`).toBe(true);
    }
  });
});
