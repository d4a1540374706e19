/** Type-prefixed, URL-safe random ids: the prefix tells a reader (and a log search) what the id names. */
export const ID_PREFIXES = {
  tenant: "tnt",
  user: "usr",
  client: "cli",
  key: "key",
  model: "mdl",
  modelVersion: "mv",
  deployment: "dep",
  audit: "aud",
  request: "req",
  token: "tok",
  prediction: "prd",
  pat: "pat",
  event: "evt",
  alert: "alr",
  webhook: "whk",
  webhookDelivery: "whd",
  retrainingJob: "job",
  candidate: "cnd",
  erasure: "era",
  customerExport: "cxp",
  invitation: "inv",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

export function randomToken(length: number): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let out = "";
  // 256 % 36 != 0, so reject the biased tail to keep every character uniform.
  for (let i = 0; i < length; i++) {
    let b = bytes[i]!;
    while (b >= 252) {
      const one = new Uint8Array(1);
      crypto.getRandomValues(one);
      b = one[0]!;
    }
    out += ALPHABET[b % 36];
  }
  return out;
}

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomToken(20)}`;
}

export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-z]{8,40}$`);
}
