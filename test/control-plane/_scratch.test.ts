import { it } from "vitest";
import { basicAuth, startControlPlane } from "../helpers/control-plane-harness.ts";

it("x", async () => {
  const h = await startControlPlane();
  const form = { "content-type": "application/x-www-form-urlencoded" };
  for (const [headers, body] of [
    [form, "scope=predict"],
    [form, ""],
    [
      { ...form, authorization: basicAuth("%zz", "x").replace("JTI1enp6", "") },
      "grant_type=client_credentials",
    ],
    [
      { ...form, authorization: "Basic " + Buffer.from("%zz:secret").toString("base64") },
      "grant_type=client_credentials",
    ],
    [
      { ...form, authorization: "Basic " + Buffer.from("%E0%A4%A:secret").toString("base64") },
      "grant_type=client_credentials",
    ],
    [
      { ...form, authorization: "Basic " + Buffer.from("nocolon").toString("base64") },
      "grant_type=client_credentials",
    ],
    [form, "grant_type=client_credentials&client_id=" + "a".repeat(200) + "&client_secret=x"],
    [{}, "grant_type=client_credentials"],
  ] as const) {
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: headers as Record<string, string>,
      body,
    });
    console.log("RES", res.status, await res.text(), res.headers.get("www-authenticate"));
  }
  console.log(JSON.stringify(h.logs.filter((l) => l.level === "error")));
  await h.close();
});
