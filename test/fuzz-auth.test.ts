/**
 * Fuzzing the Authorization header against an app with API tokens and a real OIDC
 * issuer: whatever a client sends, the answer is never a 5xx, and a protected route
 * never answers 2xx unless the header carries one of the credentials the test minted.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";
import { AUDIENCE, ROLE, startIssuer, type TestIssuer } from "./support/oidc-issuer.js";

const TOKEN = "iot_fuzz-admin-token-0123456789abcdefghijklmnopqr";
let issuer: TestIssuer;
let t: TestApp;
let jwt: string;

beforeAll(async () => {
  issuer = await startIssuer();
  t = await createTestApp("memory", {
    API_TOKEN_HASHES: createHash("sha256").update(TOKEN).digest("hex"),
    OIDC_ISSUER: issuer.url,
    OIDC_AUDIENCE: AUDIENCE,
    OIDC_REQUIRED_ROLE: ROLE,
  });
  jwt = await issuer.token();
});
afterAll(async () => {
  await t?.cleanup();
  await issuer?.close();
});

const b64url = fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/);

/** Changes one character that is not the last of its part (a part's last base64 character can carry unused bits). */
const mutate = (token: string) =>
  fc.nat().chain((n) =>
    fc.constantFrom(..."ABCxyz019-_").map((c) => {
      const candidates = [...token]
        .map((_, i) => i)
        .filter((i) => token[i] !== "." && token[i + 1] !== "." && i < token.length - 1);
      const at = candidates[n % candidates.length] as number;
      return token.slice(0, at) + (token[at] === c ? "Q" : c) + token.slice(at + 1);
    }),
  );

const header = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
  fc.tuple(b64url, b64url, b64url).map(([a, b, c]) => `Bearer ${a}.${b}.${c}`),
  fc.constantFrom("bearer", "BEARER", "Basic", "Token", "bearer\t").map((scheme) => `${scheme} ${TOKEN}`),
  fc
    .constant(null)
    .chain(() => mutate(TOKEN))
    .map((token) => `Bearer ${token}`),
  fc
    .constant(null)
    .chain(() => mutate(jwt))
    .map((token) => `Bearer ${token}`),
  fc
    .tuple(fc.constantFrom(TOKEN, "JWT"), fc.string({ maxLength: 8 }))
    .map(([token, tail]) => `Bearer ${token === "JWT" ? jwt : token}${tail}`),
  fc.constant("VALID"),
);

const routes = [
  { method: "GET", path: "/api/configs" },
  { method: "GET", path: "/api/configs/aa-bb-cc-dd-ee-ff" },
  { method: "PUT", path: "/api/configs/aa-bb-cc-dd-ee-ff" },
  { method: "DELETE", path: "/api/configs/aa-bb-cc-dd-ee-ff" },
];

describe("fuzz: Authorization headers", () => {
  it("never a 5xx; never a 2xx on a protected route without a valid credential", async () => {
    await fc.assert(
      fc.asyncProperty(header, fc.constantFrom(...routes), fc.boolean(), async (raw, route, useJwt) => {
        const valid = raw === "VALID";
        const value = valid ? `Bearer ${useJwt ? jwt : TOKEN}` : raw;
        let init: RequestInit;
        try {
          init = {
            method: route.method,
            headers: new Headers({ "Content-Type": "application/json", Authorization: value }),
            ...(route.method === "PUT" ? { body: JSON.stringify({ content: { n: 1 } }) } : {}),
          };
        } catch {
          // A header value no HTTP client could send (e.g. a line break): nothing to ask the server.
          return;
        }
        const res = await t.app.request(route.path, init);
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
        const exact = /^\s*bearer\s+(\S+)\s*$/i.exec(value)?.[1];
        const credential = exact === TOKEN || exact === jwt;
        if (!valid && !credential)
          expect(res.status === 401 || res.status === 403, `${res.status} for ${JSON.stringify(value)}`).toBe(true);
        if (valid) expect([200, 204, 404]).toContain(res.status);
      }),
      { numRuns: 400 },
    );
  });
});
