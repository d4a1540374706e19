import type { ObservedState } from "./plan.ts";

/** The few Cloudflare API calls provisioning needs; the token comes from the environment, never a file. */
export interface CloudflareAccount {
  accountId: string;
  apiToken: string;
  apiBase?: string;
  fetch?: typeof fetch;
}

interface Envelope<T> {
  success: boolean;
  result: T;
  errors?: { message: string }[];
}

async function call<T>(account: CloudflareAccount, path: string, init: RequestInit = {}): Promise<T> {
  const base = account.apiBase ?? "https://api.cloudflare.com/client/v4";
  const res = await (account.fetch ?? fetch)(`${base}/accounts/${account.accountId}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${account.apiToken}`, "content-type": "application/json" },
  });
  const body = (await res.json().catch(() => ({ success: false }))) as Envelope<T>;
  if (!res.ok || !body.success) {
    const why = body.errors?.map((e) => e.message).join("; ") || `HTTP ${res.status}`;
    throw new Error(`Cloudflare API ${init.method ?? "GET"} ${path}: ${why}`);
  }
  return body.result;
}

export async function observe(account: CloudflareAccount, worker: string): Promise<ObservedState> {
  const [kvNamespaces, queues] = await Promise.all([
    call<{ id: string; title: string }[]>(account, "/storage/kv/namespaces?per_page=100"),
    call<{ queue_name: string }[]>(account, "/queues?per_page=100"),
  ]);
  // A worker that was never deployed has no secrets yet: the API answers 404 for it.
  const workerSecrets = await call<{ name: string }[]>(account, `/workers/scripts/${worker}/secrets`)
    .then((secrets) => secrets.map((s) => s.name))
    .catch(() => []);
  return { kvNamespaces, queues, workerSecrets };
}

export async function createKvNamespace(account: CloudflareAccount, title: string): Promise<string> {
  const created = await call<{ id: string }>(account, "/storage/kv/namespaces", {
    method: "POST",
    body: JSON.stringify({ title }),
  });
  return created.id;
}

export async function createQueue(account: CloudflareAccount, name: string): Promise<void> {
  await call(account, "/queues", { method: "POST", body: JSON.stringify({ queue_name: name }) });
}

export async function putSecret(account: CloudflareAccount, worker: string, name: string, value: string) {
  await call(account, `/workers/scripts/${worker}/secrets`, {
    method: "PUT",
    body: JSON.stringify({ name, text: value, type: "secret_text" }),
  });
}
