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

/**
 * CSPRNG bytes fetched 4 KiB at a time, each handed out once: one getRandomValues call per ~200 ids rather
 * than one per id (in workerd each call crosses into the runtime). Filled on first use, as Workers allow
 * random values only while handling a request.
 */
const pool = new Uint8Array(4096);
let drawn = pool.length;

function randomByte(): number {
  if (drawn === pool.length) {
    crypto.getRandomValues(pool);
    drawn = 0;
  }
  return pool[drawn++]!;
}

export function randomToken(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    let b = randomByte();
    // 256 % 36 != 0, so reject the biased tail to keep every character uniform.
    while (b >= 252) b = randomByte();
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
