import {
  jwtForgeries,
  SCHEME_ATTACKS,
  expectUnauthorized as sharedExpectUnauthorized,
} from "../helpers/token-attacks.ts";
import type { newTenant } from "./harness.ts";

type Tenant = Awaited<ReturnType<typeof newTenant>>;

/** Every way a client might forge or misuse a token; each must get a 401 envelope. */
export function forgedTokens(tenant: Tenant): Promise<Record<string, string>> {
  return jwtForgeries({
    kid: tenant.key.kid,
    publicX: tenant.key.publicJwk.x as string,
    mint: (o = {}) =>
      tenant.token({
        audience: o.audience,
        issuer: o.issuer,
        expiresIn: o.expiresAt,
        notBefore: o.notBefore,
        issuedAt: o.issuedAt,
        kid: o.kid,
        key: o.key,
      }),
  });
}

export const expectUnauthorized = sharedExpectUnauthorized;

/** Every attack on the Authorization header, by label; `undefined` sends no header. */
export async function tokenAttacks(tenant: Tenant): Promise<[string, string | undefined][]> {
  return [
    ...Object.entries(SCHEME_ATTACKS).map(([label, value]): [string, string | undefined] => [
      label,
      value ?? undefined,
    ]),
    ...Object.entries(await forgedTokens(tenant)).map(([label, token]): [string, string] => [
      label,
      `Bearer ${token}`,
    ]),
  ];
}

/** Runs the whole attack list against one authenticated route; returns how many attacks it refused. */
export async function expectTokenAttacksRefused(
  send: (authorization: string | undefined) => Promise<Response>,
  tenant: Tenant,
): Promise<number> {
  const attacks = await tokenAttacks(tenant);
  for (const [label, authorization] of attacks) {
    await expectUnauthorized(await send(authorization), label);
  }
  return attacks.length;
}
