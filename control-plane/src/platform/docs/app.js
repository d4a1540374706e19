// Renders the control plane's OpenAPI document. Plain DOM and textContent only: the page runs under a CSP
// that allows nothing but same-origin scripts, and nothing from the document is ever parsed as HTML.

const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) node.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** Replaces `$ref`s to components with the referenced schema, guarding against cycles. */
function resolve(doc, schema, seen = new Set()) {
  if (!schema || typeof schema !== "object") return schema;
  if (Array.isArray(schema)) return schema.map((item) => resolve(doc, item, seen));
  if (typeof schema.$ref === "string") {
    if (seen.has(schema.$ref)) return { $ref: schema.$ref };
    const path = schema.$ref.replace(/^#\//, "").split("/");
    let target = doc;
    for (const part of path) target = target?.[part];
    return resolve(doc, target, new Set([...seen, schema.$ref]));
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) out[key] = resolve(doc, value, seen);
  return out;
}

function schemaBlock(doc, schema) {
  return el("pre", {}, JSON.stringify(resolve(doc, schema), null, 2));
}

function parametersTable(doc, parameters) {
  if (!parameters?.length) return null;
  const rows = parameters.map((raw) => {
    const p = resolve(doc, raw);
    return el(
      "tr",
      {},
      el("td", {}, el("code", {}, p.name)),
      el("td", {}, p.in),
      el("td", {}, p.required ? "required" : "optional"),
      el("td", {}, p.description ?? p.schema?.type ?? ""),
    );
  });
  const head = el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, ""), el("th", {}, ""));
  return el("section", {}, el("h4", {}, "Parameters"), el("table", {}, head, ...rows));
}

function contentBlocks(doc, content) {
  return Object.entries(content ?? {}).map(([type, media]) =>
    el("div", {}, el("code", {}, type), media.schema ? schemaBlock(doc, media.schema) : null),
  );
}

function operationView(doc, method, path, op) {
  const summary = el(
    "summary",
    {},
    el("span", { class: `method method-${method}` }, method),
    el("code", {}, path),
    op.summary ? ` — ${op.summary}` : "",
  );
  const body = op.requestBody
    ? el(
        "section",
        {},
        el("h4", {}, "Request body"),
        ...contentBlocks(doc, resolve(doc, op.requestBody).content),
      )
    : null;
  const responses = Object.entries(op.responses ?? {}).map(([status, raw]) => {
    const response = resolve(doc, raw);
    return el(
      "div",
      {},
      el("strong", {}, status),
      ` ${response.description ?? ""}`,
      ...contentBlocks(doc, response.content),
    );
  });
  return el(
    "details",
    { class: "operation", id: `${method}-${path}` },
    summary,
    op.description ? el("p", {}, op.description) : null,
    parametersTable(doc, op.parameters),
    body,
    el("section", {}, el("h4", {}, "Responses"), ...responses),
  );
}

/** Groups operations by their first tag, or by the path's first two segments when untagged. */
function groupOperations(doc) {
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const group = op.tags?.[0] ?? path.split("/").slice(0, 3).join("/");
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push({ method, path, op });
    }
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

async function render() {
  const root = document.getElementById("api");
  try {
    const res = await fetch("/v1/openapi.json");
    if (!res.ok) throw new Error(`GET /v1/openapi.json answered ${res.status}`);
    const doc = await res.json();
    document.getElementById("title").textContent = `${doc.info?.title ?? "API"} ${doc.info?.version ?? ""}`;
    root.replaceChildren();
    for (const [group, operations] of groupOperations(doc)) {
      root.append(el("h2", {}, group));
      for (const { method, path, op } of operations) root.append(operationView(doc, method, path, op));
    }
  } catch (err) {
    root.replaceChildren(el("p", { class: "error" }, `Could not load the API description: ${err.message}`));
  }
}

render();
