/** The OIDC settings: which values are refused at boot, which need OIDC_ISSUER, and how the lists are read. */
import { describe, expect, it } from "vitest";
import { type Env, loadSettings, SettingsError } from "../src/core/settings.js";

function settingsError(env: Env): SettingsError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

const OIDC = { OIDC_ISSUER: "https://login.example.com", OIDC_AUDIENCE: "iot" };

describe("OIDC settings", () => {
  it.each([
    ["OIDC_ISSUER", "http://login.example.com/realms/fleet"],
    ["OIDC_ISSUER", "not a url"],
    ["OIDC_ISSUER", "https://user:pw@login.example.com"],
    ["OIDC_JWKS_COOLDOWN_SECONDS", "soon"],
    ["OIDC_TOKEN_TYPES", " , "],
    ["OIDC_TOKEN_TYPES", "at jwt"],
    ["OIDC_TOKEN_TYPES", "at+jwt;q=1"],
  ])("refuse %s=%j, naming it in one line", (variable, value) => {
    const error = settingsError({ ...OIDC, [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.code).toBe("INVALID_SETTING");
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain("\n");
  });

  it("need OIDC_AUDIENCE with OIDC_ISSUER, and OIDC_ISSUER for the audience, the role and the token types", () => {
    expect(settingsError({ OIDC_ISSUER: "https://login.example.com" }).variable).toBe("OIDC_AUDIENCE");
    expect(settingsError({ OIDC_AUDIENCE: "iot" }).variable).toBe("OIDC_AUDIENCE");
    expect(settingsError({ OIDC_REQUIRED_ROLE: "admin" }).variable).toBe("OIDC_REQUIRED_ROLE");
    expect(settingsError({ OIDC_TOKEN_TYPES: "JWT" }).variable).toBe("OIDC_TOKEN_TYPES");
    // http:// only for a loopback issuer (a local test issuer).
    expect(loadSettings({ OIDC_ISSUER: "http://127.0.0.1:8080", OIDC_AUDIENCE: "iot" }).oidcIssuer).toBe(
      "http://127.0.0.1:8080",
    );
  });

  it("read OIDC_TOKEN_TYPES as a comma list, at+jwt when unset", () => {
    expect(loadSettings(OIDC).oidcTokenTypes).toEqual(["at+jwt"]);
    expect(loadSettings({ ...OIDC, OIDC_TOKEN_TYPES: " at+jwt, JWT ," }).oidcTokenTypes).toEqual(["at+jwt", "JWT"]);
  });
});
