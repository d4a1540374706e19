import { MonitoringMetrics } from "../../modules/monitoring/metrics.ts";
import { QuotaMetrics } from "../../modules/usage/metrics.ts";
import type { Db } from "../db/client.ts";
import { registryCounts } from "../db/queries/gauges.ts";
import type { EdgeStore } from "../edge-store/edge-store.ts";
import { renderLoopMetrics } from "./loop-metrics.ts";
import { Counter, Histogram, renderGauge } from "./prometheus.ts";

/** Seconds; fine below 100 ms where the control plane's reads live, coarse above for uploads. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The route label for a request that matched no route, so raw paths never become label values. */
export const UNMATCHED_ROUTE = "unmatched";

/** The control plane's metrics, one instance per app. Labels are bounded: method, route pattern, status class. */
export class ControlPlaneMetrics {
  readonly requests = new Counter(
    "churn_http_requests_total",
    "HTTP requests served, by method, route pattern and status class",
    ["method", "route", "status_class"],
  );
  readonly latency = new Histogram(
    "churn_http_request_duration_seconds",
    "Time to produce the response, by method, route pattern and status class",
    ["method", "route", "status_class"],
    LATENCY_BUCKETS,
  );
  /** Ingest counters and the monitoring gauges (drift, quality, performance, traffic). */
  readonly monitoring = new MonitoringMetrics();
  /** This month's predictions against the monthly quotas, read from the edge store. */
  readonly quotas = new QuotaMetrics();
  readonly tokensIssued = new Counter(
    "churn_oauth_tokens_issued_total",
    "Access tokens issued by the client-credentials grant",
    [],
  );

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = {
      method: KNOWN_METHODS.has(method) ? method : "OTHER",
      route,
      status_class: `${Math.floor(status / 100)}xx`,
    };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  /** The whole exposition: request metrics from memory, registry gauges counted in the database now. */
  async render(db: Db, edge: EdgeStore, options: { tenantSeries: boolean }): Promise<string> {
    const counts = await registryCounts(db);
    return [
      this.requests.render(),
      this.latency.render(),
      this.tokensIssued.render(),
      renderGauge("churn_tenants", "Tenants in the registry", counts.tenants),
      renderGauge("churn_model_versions", "Model versions in the registry, all tenants", counts.versions),
      renderGauge("churn_deployments", "Tenants with a deployment", counts.deployments),
      await this.monitoring.render(db, options),
      await renderLoopMetrics(db, options),
      await this.quotas.render(db, edge, options),
    ].join("");
  }
}
