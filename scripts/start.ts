import { jsonLogger } from "../control-plane/src/platform/logger.ts";
import { ensureEdgeBuilt } from "./lib/edge-build.ts";
import { startPlatform } from "./lib/platform.ts";

/** `npm start`: the whole platform on embedded defaults, stopped cleanly by Ctrl-C or SIGTERM. */
const started = performance.now();
const port = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${name} must be a port number, got ${process.env[name]}`);
    process.exit(2);
  }
  return value;
};
const say = (line: string) => process.stderr.write(`[churn] ${line}\n`);

await ensureEdgeBuilt(say);
const platform = await startPlatform({
  dataDir: process.env["CHURN_DATA_DIR"] ?? ".data",
  controlPlanePort: port("CONTROL_PLANE_PORT", 8788),
  edgePort: port("EDGE_PORT", 8787),
  log: jsonLogger(process.env["LOG_LEVEL"] === "info" ? "info" : "error", "control-plane"),
  progress: say,
});
const { state } = platform;
const seconds = ((performance.now() - started) / 1000).toFixed(1);

process.stdout.write(`
Churn platform is up (${seconds}s${platform.created.model ? ", trained and deployed the demo model" : ""}).

  control plane  ${state.controlPlaneUrl}
  edge           ${state.edgeUrl}
  tenant         ${state.tenantId}
  client id      ${state.clientId}
  client secret  ${state.clientSecret}
  (saved in .data/local.json)

Admin console: ${state.controlPlaneUrl}/console
  sign in with the demo owner's personal access token (ownerToken in .data/local.json):
  ${state.ownerToken}

Get a token, then predict:

  TOKEN=$(curl -s -u '${state.clientId}:${state.clientSecret}' \\
    -d grant_type=client_credentials ${state.controlPlaneUrl}/v1/oauth/token \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')

  curl -s ${state.edgeUrl}/v1/predict -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"explain":true,"records":[{"customerId":"7590-VHVEG","gender":"Female","SeniorCitizen":0,"Partner":"Yes","Dependents":"No","tenure":1,"PhoneService":"No","MultipleLines":"No phone service","InternetService":"DSL","OnlineSecurity":"No","OnlineBackup":"Yes","DeviceProtection":"No","TechSupport":"No","StreamingTV":"No","StreamingMovies":"No","Contract":"Month-to-month","PaperlessBilling":"Yes","PaymentMethod":"Electronic check","MonthlyCharges":29.85,"TotalCharges":29.85}]}'

Press Ctrl-C to stop.
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    platform.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
