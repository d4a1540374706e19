import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const root = resolve(import.meta.dirname, "../..");

/** The Kubernetes schema class of each kind the manifests use; validate() checks a document against it. */
const KINDS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

function validate(doc: { apiVersion: string; kind: string }): void {
  const Model = KINDS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc as never).validate();
}

async function manifests(): Promise<{ apiVersion: string; kind: string; [k: string]: unknown }[]> {
  const text = await readFile(join(root, "ops/k8s/control-plane.yaml"), "utf8");
  return parseAllDocuments(text).map((d) => d.toJSON());
}

describe("Kubernetes manifests", () => {
  it("validate against the Kubernetes schemas", async () => {
    const docs = await manifests();
    expect(docs.map((d) => d.kind)).toEqual([
      "ConfigMap",
      "Deployment",
      "Service",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
    ]);
    for (const doc of docs) validate(doc);
  });

  it("run the image as its unprivileged user with probes on /v1/ready and /v1/health", async () => {
    const deployment = (await manifests()).find((d) => d.kind === "Deployment") as unknown as Deployment;
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container.readinessProbe?.httpGet?.path).toBe("/v1/ready");
    expect(container.livenessProbe?.httpGet?.path).toBe("/v1/health");
    expect(container.envFrom?.map((e) => e.secretRef?.name ?? e.configMapRef?.name)).toEqual([
      "churn-control-plane",
      "churn-control-plane",
    ]);
    // Secrets come from a Secret, never from the manifests.
    const config = (await manifests()).find((d) => d.kind === "ConfigMap") as unknown as {
      data: Record<string, string>;
    };
    expect(Object.keys(config.data).filter((k) => /(_TOKEN|SECRET)$/.test(k))).toEqual([]);
  });

  it("keeps two or more replicas serving through rolling updates, and trusts one proxy hop", async () => {
    const docs = await manifests();
    const deployment = docs.find((d) => d.kind === "Deployment") as unknown as Deployment;
    const hpa = docs.find((d) => d.kind === "HorizontalPodAutoscaler") as unknown as HorizontalPodAutoscaler;
    const config = docs.find((d) => d.kind === "ConfigMap") as unknown as { data: Record<string, string> };
    expect(deployment.spec!.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec!.strategy).toMatchObject({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0 },
    });
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas!);
    expect(config.data["TRUST_PROXY_HOPS"]).toBe("1");
  });

  it("would catch a manifest that breaks the schema", () => {
    expect(() =>
      validate({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "x" },
        spec: { replicas: "one", selector: {}, template: {} },
      } as never),
    ).toThrow();
  });
});
