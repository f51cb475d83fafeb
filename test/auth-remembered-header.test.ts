/**
 * The authenticator takes the last accepted Authorization header on trust until the verifier
 * said it stops being trusted. The OIDC verifier is replaced by a counting stand-in here:
 * what is under test is only when the authenticator asks it again (the real verifier against
 * a real issuer is test/auth-oidc.test.ts); the API token list is the real one.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAuthenticator } from "../src/plugins/auth/authenticator.js";
import type { OidcOutcome, OidcVerifier } from "../src/plugins/auth/oidc.js";
import { createTokenHashes } from "../src/plugins/auth/token-hashes.js";

const URL_ = "http://localhost/api/configs";
const JWT = "aaaa.bbbb.cccc";

function countingVerifier(answer: (token: string) => OidcOutcome) {
  const asked: string[] = [];
  const verifier: OidcVerifier = {
    async verify(token) {
      asked.push(token);
      return answer(token);
    },
  };
  return { verifier, asked };
}

describe("remembered Authorization header", () => {
  it("asks the OIDC verifier again once the accepted header's time is up, and for any other header", async () => {
    let clock = 0;
    const { verifier, asked } = countingVerifier(() => ({ ok: true, until: 1000 }));
    const auth = createAuthenticator({ oidc: verifier, now: () => clock });
    const presented = { authorization: `Bearer ${JWT}`, url: URL_ };
    expect(await auth.authenticate(presented)).toEqual({ ok: true });
    clock = 999;
    expect(await auth.authenticate(presented)).toEqual({ ok: true });
    expect(asked).toHaveLength(1);
    clock = 1000;
    expect(await auth.authenticate(presented)).toEqual({ ok: true });
    expect(asked).toHaveLength(2);
    await auth.authenticate({ authorization: "Bearer dddd.eeee.ffff", url: URL_ });
    expect(asked).toEqual([JWT, JWT, "dddd.eeee.ffff"]);
  });

  it("never remembers a refusal, and a token in the URL is refused even with the remembered header", async () => {
    const { verifier, asked } = countingVerifier(() => ({ ok: false, reason: "expired", status: 401 }));
    const auth = createAuthenticator({ oidc: verifier, now: () => 0 });
    const presented = { authorization: `Bearer ${JWT}`, url: URL_ };
    expect(await auth.authenticate(presented)).toMatchObject({ ok: false, reason: "expired" });
    expect(await auth.authenticate(presented)).toMatchObject({ ok: false, reason: "expired" });
    expect(asked).toHaveLength(2);

    const token = "iot_remembered-token-0123456789";
    const hashes = createTokenHashes([createHash("sha256").update(token).digest("hex")]);
    const byToken = createAuthenticator({ hashes });
    expect(await byToken.authenticate({ authorization: `Bearer ${token}`, url: URL_ })).toEqual({ ok: true });
    expect(
      await byToken.authenticate({ authorization: `Bearer ${token}`, url: `${URL_}?access_token=${token}` }),
    ).toMatchObject({ ok: false, reason: "token_in_url" });
    expect(await byToken.authenticate({ authorization: `Bearer ${token}x`, url: URL_ })).toMatchObject({
      ok: false,
      reason: "unknown_token",
    });
  });
});
