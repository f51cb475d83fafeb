/**
 * Fuzzing device reads in DEVICE_AUTH=device: whatever Authorization header arrives (noise,
 * other schemes, a device's token mutated by one character, another device's token, the
 * admin token), the answer is never a 5xx, a config is answered 200/304 only to its own
 * device's exact token, and no answer ever repeats a token.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";
import { ADMIN_TOKEN, deviceAuthEnv } from "./support/device-auth-contract.js";

const MINE = "aa-bb-cc-dd-ee-01";
const THEIRS = "aa-bb-cc-dd-ee-02";
let t: TestApp;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp("fs", deviceAuthEnv());
  for (const mac of [MINE, THEIRS]) {
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    await t.app.request(`/api/configs/${mac}`, {
      method: "PUT",
      headers: { ...admin, "Content-Type": "application/json" },
      body: JSON.stringify({ content: { deviceName: mac } }),
    });
    const issued = await t.app.request(`/api/devices/${mac}/token`, { method: "POST", headers: admin });
    tokens[mac] = ((await issued.json()) as { token: string }).token;
  }
});
afterAll(async () => {
  await t?.cleanup();
});

const mutate = (token: string) =>
  fc
    .tuple(fc.nat(token.length - 1), fc.constantFrom(..."AZaz09-_"))
    .map(([at, c]) => token.slice(0, at) + (token[at] === c ? "Q" : c) + token.slice(at + 1));

const header = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
  // Other schemes (the scheme's letter case does not matter: "bearer" is Bearer, RFC 9110).
  fc.constantFrom("Basic", "Token", "Bearer:", "Bearerx").map((scheme) => `${scheme} ${tokens[MINE]}`),
  fc.constant(null).chain(() => mutate(tokens[MINE] as string).map((token) => `Bearer ${token}`)),
  fc.constantFrom(`Bearer ${tokens[THEIRS]}`, `Bearer ${ADMIN_TOKEN}`, `Bearer ${tokens[MINE]}x`),
  fc.constantFrom("VALID", "VALID-lower-case"),
);

describe("fuzz: device reads' Authorization headers in device mode", () => {
  it("never a 5xx; a config only to its own device's exact token; never a token echoed", async () => {
    await fc.assert(
      fc.asyncProperty(header, fc.constantFrom(MINE, THEIRS), async (raw, mac) => {
        const valid = raw.startsWith("VALID");
        const value = !valid ? raw : `${raw === "VALID" ? "Bearer" : "bearer"} ${tokens[MINE]}`;
        let headers: Headers;
        try {
          headers = new Headers({ Authorization: value });
        } catch {
          // A header value fetch itself refuses never reaches a server: nothing to check.
          return;
        }
        const res = await t.app.request(`/files/configs/${mac}.json`, { headers });
        const body = await res.text();
        expect(res.status).toBeLessThan(500);
        const own = valid && mac === MINE;
        if (own) expect(res.status).toBe(200);
        else expect([401, 404]).toContain(res.status);
        for (const token of Object.values(tokens)) expect(body).not.toContain(token);
      }),
      { numRuns: 300 },
    );
  });
});
