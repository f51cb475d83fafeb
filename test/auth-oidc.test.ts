/**
 * OIDC bearer tokens against a real issuer (test/support/oidc-issuer.ts: discovery and
 * JWKS over HTTP, keys generated and rotated by the test): every way a token can be
 * wrong gets its exact status, code and counted reason.
 */
import { createHash } from "node:crypto";
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";
import { expectError, metricValue } from "./support/http.js";
import { AUDIENCE, ROLE, startIssuer, type TestIssuer } from "./support/oidc-issuer.js";

const MAC = "aa-bb-cc-dd-ee-ff";
let issuer: TestIssuer;
let t: TestApp;

beforeAll(async () => {
  issuer = await startIssuer();
  t = await createTestApp("fs", {
    OIDC_ISSUER: issuer.url,
    OIDC_AUDIENCE: AUDIENCE,
    OIDC_REQUIRED_ROLE: ROLE,
    // No cool-down between key-set fetches here, so a rotation is seen at once; the rate limit has its own test.
    OIDC_JWKS_COOLDOWN_SECONDS: "0",
  });
});
afterAll(async () => {
  await t?.cleanup();
  await issuer?.close();
});

const get = (token?: string, path = `/api/configs/${MAC}`) =>
  t.app.request(path, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } });
const failures = async (reason: string) =>
  metricValue(await (await t.app.request("/metrics")).text(), "iot_auth_failures_total", { reason });

/** Expects a refusal with this status, code and counted reason; nothing of the token in the answer. */
async function refused(token: string | undefined, status: 401 | 403, reason: string, path?: string) {
  const before = await failures(reason);
  const res = await get(token, path);
  const code = status === 401 ? "UNAUTHORIZED" : "FORBIDDEN";
  const body = await expectError(res, status, code);
  expect(body.details).toEqual({ reason });
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="iot-support"/);
  const answer = JSON.stringify(body) + [...res.headers].join();
  for (const part of token?.split(".").filter((p) => p.length > 8) ?? []) expect(answer).not.toContain(part);
  expect(await failures(reason)).toBe(before + 1);
}

describe("OIDC bearer tokens", () => {
  it("accepts a valid RS256 token and a valid ES256 token", async () => {
    await expectError(await get(await issuer.token()), 404, "RECORD_NOT_FOUND");
    const es = (await issuer.newKey("ES256", true)) as Awaited<ReturnType<TestIssuer["newKey"]>>;
    await expectError(await get(await issuer.token({}, { key: es })), 404, "RECORD_NOT_FOUND");
    expect((await get(await issuer.token(), "/api/configs")).status).toBe(200);
  });

  it("accepts the role in realm_access.roles (Keycloak) as well as in roles", async () => {
    const keycloak = await issuer.token({ roles: undefined, realm_access: { roles: [ROLE] } });
    expect((await get(keycloak, "/api/configs")).status).toBe(200);
  });

  it("refuses a missing token with WWW-Authenticate and no error attribute", async () => {
    await refused(undefined, 401, "missing");
    expect((await get()).headers.get("www-authenticate")).toBe('Bearer realm="iot-support"');
  });

  it("refuses an expired token, and one not yet valid (beyond the 30 s clock skew)", async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await issuer.token({ exp: now - 120 }), 401, "expired");
    await refused(await issuer.token({ nbf: now + 600 }), 401, "not_yet_valid");
    // Within the skew: accepted.
    expect((await get(await issuer.token({ nbf: now + 10 }), "/api/configs")).status).toBe(200);
  });

  it("refuses a token for another audience, and one from another issuer", async () => {
    await refused(await issuer.token({ aud: "someone-else" }), 401, "wrong_audience");
    await refused(await issuer.token({ iss: "https://evil.example" }), 401, "wrong_issuer");
  });

  it("refuses alg none, and HS256 signed with the issuer's public key as the secret", async () => {
    const claims = { roles: [ROLE], iss: issuer.url, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 };
    const none = new UnsecuredJWT(claims).encode();
    await refused(none, 401, "malformed");
    const publicKeyAsSecret = new TextEncoder().encode(JSON.stringify(issuer.current().jwk));
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: issuer.current().kid })
      .sign(publicKeyAsSecret);
    await refused(hs256, 401, "bad_signature");
  });

  it("refuses a token signed by a key the issuer does not publish, and a tampered payload", async () => {
    const stranger = await issuer.newKey("RS256", false);
    await refused(await issuer.token({}, { key: stranger }), 401, "unknown_key");
    const [header, payload, signature] = (await issuer.token()).split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: "admin", roles: [ROLE, "superuser"] })).toString(
      "base64url",
    );
    await refused(`${header}.${forged}.${signature}`, 401, "bad_signature");
  });

  it("refuses an ID token for the accepted audience (typ JWT, or no typ): only at+jwt is an access token by default", async () => {
    // What an OIDC provider hands the admin UI at login: same issuer, same keys, audience = the UI's client id.
    await refused(await issuer.token({}, { header: { typ: "JWT" } }), 401, "wrong_type");
    await refused(await issuer.token({}, { header: { typ: undefined } }), 401, "wrong_type");
    for (const typ of ["dpop+jwt", "logout+jwt", "at+jwt; charset=utf-8", "text/at+jwt", 1]) {
      await refused(await issuer.token({}, { header: { typ } }), 401, "wrong_type");
    }
    // RFC 7515 §4.1.9: compared case-insensitively, and "application/" may be left out.
    for (const typ of ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"]) {
      expect((await get(await issuer.token({}, { header: { typ } }), "/api/configs")).status, typ).toBe(200);
    }
  });

  it("with OIDC_TOKEN_TYPES=at+jwt,JWT accepts typ JWT and a token without typ, and still refuses other types", async () => {
    const relaxed = await createTestApp("memory", {
      OIDC_ISSUER: issuer.url,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_TOKEN_TYPES: "at+jwt, JWT",
    });
    const status = async (header: Record<string, unknown>) =>
      (
        await relaxed.app.request("/api/configs", {
          headers: { Authorization: `Bearer ${await issuer.token({}, { header })}` },
        })
      ).status;
    try {
      expect(await status({ typ: "JWT" })).toBe(200);
      expect(await status({ typ: "jwt" })).toBe(200);
      expect(await status({ typ: undefined })).toBe(200);
      expect(await status({})).toBe(200);
      expect(await status({ typ: "dpop+jwt" })).toBe(401);
    } finally {
      await relaxed.cleanup();
    }
  });

  it("refuses a valid token without the required role with 403", async () => {
    await refused(await issuer.token({ roles: ["viewer"] }), 403, "forbidden");
  });

  it("refuses a token in the query string even when it is valid, and malformed headers", async () => {
    const token = await issuer.token();
    await refused(undefined, 401, "token_in_url", `/api/configs?access_token=${token}`);
    for (const header of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", `Bearer ${"x".repeat(20_000)}`]) {
      const res = await t.app.request("/api/configs", { headers: { Authorization: header } });
      expect((await expectError(res, 401, "UNAUTHORIZED")).details).toEqual({ reason: "malformed" });
    }
  });

  it("sees a rotated key: a token with the new kid makes it fetch the key set again", async () => {
    const fetched = issuer.jwksFetches();
    const key = await issuer.rotate();
    expect((await get(await issuer.token({}, { key }), "/api/configs")).status).toBe(200);
    expect(issuer.jwksFetches()).toBe(fetched + 1);
    // Tokens of the retired key (not yet remembered as verified) are now unknown.
  });

  it("fetches the key set once for a flood of unknown kids within the cool-down", async () => {
    const limited = await createTestApp("memory", {
      OIDC_ISSUER: issuer.url,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_JWKS_COOLDOWN_SECONDS: "3600",
    });
    try {
      expect(
        (await limited.app.request("/api/configs", { headers: { Authorization: `Bearer ${await issuer.token()}` } }))
          .status,
      ).toBe(200);
      const fetched = issuer.jwksFetches();
      const strangers = await Promise.all(Array.from({ length: 5 }, () => issuer.newKey("RS256", false)));
      for (const key of strangers) {
        const res = await limited.app.request("/api/configs", {
          headers: { Authorization: `Bearer ${await issuer.token({}, { key })}` },
        });
        expect((await expectError(res, 401, "UNAUTHORIZED")).details).toEqual({ reason: "unknown_key" });
      }
      expect(issuer.jwksFetches()).toBe(fetched);
    } finally {
      await limited.cleanup();
    }
  });

  it("keeps every token out of logs and metrics", async () => {
    const token = await issuer.token();
    const idToken = await issuer.token({}, { header: { typ: "JWT" } });
    await get(token, "/api/configs");
    await get(`${token}x`);
    expect((await get(idToken)).status).toBe(401);
    const everything = JSON.stringify(t.logger.entries) + (await (await t.app.request("/metrics")).text());
    for (const jwt of [token, idToken]) {
      for (const part of jwt.split(".")) expect(everything).not.toContain(part);
      expect(everything).not.toContain(createHash("sha256").update(jwt).digest("hex"));
    }
  });

  it("takes a token from Cf-Access-Jwt-Assertion (Cloudflare Access) and a key set named by OIDC_JWKS_URL, without discovery", async () => {
    const access = await createTestApp("memory", {
      OIDC_ISSUER: issuer.url,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_JWKS_URL: `${issuer.url}/jwks`,
      // Access's application tokens say typ JWT (README, "Securing the server").
      OIDC_TOKEN_TYPES: "JWT",
    });
    try {
      const discoveries = issuer.discoveryFetches();
      const token = await issuer.token({ roles: undefined }, { header: { typ: "JWT" } });
      const res = await access.app.request("/api/configs", { headers: { "Cf-Access-Jwt-Assertion": token } });
      expect(res.status).toBe(200);
      expect(issuer.discoveryFetches()).toBe(discoveries);
      const forged = await access.app.request("/api/configs", { headers: { "Cf-Access-Jwt-Assertion": `${token}x` } });
      expect((await expectError(forged, 401, "UNAUTHORIZED")).details).toEqual({ reason: "bad_signature" });
    } finally {
      await access.cleanup();
    }
  });

  it("checks typ on a token in Cf-Access-Jwt-Assertion too: the header is no way around it", async () => {
    const before = await failures("wrong_type");
    const idToken = await issuer.token({}, { header: { typ: "JWT" } });
    const res = await t.app.request("/api/configs", { headers: { "Cf-Access-Jwt-Assertion": idToken } });
    expect((await expectError(res, 401, "UNAUTHORIZED")).details).toEqual({ reason: "wrong_type" });
    expect(await failures("wrong_type")).toBe(before + 1);
    const accessToken = await issuer.token();
    const ok = await t.app.request("/api/configs", { headers: { "Cf-Access-Jwt-Assertion": accessToken } });
    expect(ok.status).toBe(200);
  });

  it("answers 503 AUTH_UNAVAILABLE, not 401, while the issuer cannot be reached", async () => {
    const gone = await startIssuer();
    const url = gone.url;
    await gone.close();
    const lonely = await createTestApp("memory", { OIDC_ISSUER: url, OIDC_AUDIENCE: AUDIENCE });
    try {
      const res = await lonely.app.request("/api/configs", {
        headers: { Authorization: `Bearer ${await issuer.token()}` },
      });
      expect((await expectError(res, 503, "AUTH_UNAVAILABLE")).details).toEqual({ reason: "unavailable" });
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    } finally {
      await lonely.cleanup();
    }
  });
});
