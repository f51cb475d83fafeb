/**
 * The auth plugin's settings (src/plugins/auth/settings.ts): which values are refused at
 * boot, which need OIDC_ISSUER, how the lists are read, what the core learns of them, and
 * that token hashes stay out of the boot's log line.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Env, SettingsError } from "../src/core/setting-spec.js";
import { adminAuthPlugin } from "../src/plugins/auth/index.js";
import { loadAuthSettings } from "../src/plugins/auth/settings.js";
import { BootError, boot, fsRuntimeAdapter } from "../src/runtimes/boot.js";
import { bootRuntime } from "../src/runtimes/root.js";

function settingsError(env: Env): SettingsError {
  try {
    loadAuthSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

const OIDC = { OIDC_ISSUER: "https://login.example.com", OIDC_AUDIENCE: "iot" };
const HASH = "ab".repeat(32);

describe("auth settings", () => {
  it("default to the original's anonymous admin API", () => {
    expect(loadAuthSettings({})).toEqual({
      apiTokenHashes: undefined,
      metricsTokenHashes: undefined,
      deviceTokenHashes: undefined,
      deviceAuth: "open",
      oidcIssuer: undefined,
      oidcAudience: undefined,
      oidcRequiredRole: undefined,
      oidcJwksCooldownSeconds: 30,
      oidcJwksUrl: undefined,
      oidcTokenTypes: ["at+jwt"],
      allowedHosts: undefined,
      allowAnonymousAdmin: false,
    });
    const empty = Object.fromEntries(Object.keys(adminAuthPlugin.settings).map((name) => [name, ""]));
    expect(loadAuthSettings(empty)).toEqual(loadAuthSettings({}));
  });

  it.each([
    ["API_TOKEN_HASHES", "not-a-hash"],
    ["API_TOKEN_HASHES", `${"a".repeat(64)},${"b".repeat(63)}`],
    ["METRICS_TOKEN_HASHES", "secret-token"],
    ["DEVICE_TOKEN_HASHES", " , "],
    ["ALLOWED_HOSTS", "iot.example.com:8080"],
    ["ALLOWED_HOSTS", "http://iot.example.com"],
    ["ALLOW_ANONYMOUS_ADMIN", "maybe"],
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

  it("never repeat a token given where a hash belongs", () => {
    expect(settingsError({ API_TOKEN_HASHES: "iot_my-real-secret-token" }).message).not.toContain("my-real-secret");
  });

  it("need OIDC_AUDIENCE with OIDC_ISSUER, and OIDC_ISSUER for the audience, the role and the token types", () => {
    expect(settingsError({ OIDC_ISSUER: "https://login.example.com" }).variable).toBe("OIDC_AUDIENCE");
    expect(settingsError({ OIDC_AUDIENCE: "iot" }).variable).toBe("OIDC_AUDIENCE");
    expect(settingsError({ OIDC_REQUIRED_ROLE: "admin" }).variable).toBe("OIDC_REQUIRED_ROLE");
    expect(settingsError({ OIDC_TOKEN_TYPES: "JWT" }).variable).toBe("OIDC_TOKEN_TYPES");
    // http:// only for a loopback issuer (a local test issuer).
    expect(loadAuthSettings({ OIDC_ISSUER: "http://127.0.0.1:8080", OIDC_AUDIENCE: "iot" }).oidcIssuer).toBe(
      "http://127.0.0.1:8080",
    );
  });

  it("read OIDC_TOKEN_TYPES as a comma list, at+jwt when unset", () => {
    expect(loadAuthSettings(OIDC).oidcTokenTypes).toEqual(["at+jwt"]);
    expect(loadAuthSettings({ ...OIDC, OIDC_TOKEN_TYPES: " at+jwt, JWT ," }).oidcTokenTypes).toEqual(["at+jwt", "JWT"]);
  });

  it("tell the core whether the admin API needs credentials, and whether anonymous admin is meant", () => {
    const access = (env: Env) => adminAuthPlugin.access(adminAuthPlugin.load(env));
    expect(access({})).toEqual({ adminCredentialsRequired: false, allowAnonymousAdmin: false });
    expect(access({ API_TOKEN_HASHES: HASH })).toMatchObject({ adminCredentialsRequired: true });
    expect(access(OIDC)).toMatchObject({ adminCredentialsRequired: true });
    // Token lists of the other scopes do not protect the admin API.
    expect(access({ METRICS_TOKEN_HASHES: HASH, DEVICE_TOKEN_HASHES: HASH })).toMatchObject({
      adminCredentialsRequired: false,
    });
    expect(access({ ALLOW_ANONYMOUS_ADMIN: "true" })).toEqual({
      adminCredentialsRequired: false,
      allowAnonymousAdmin: true,
    });
  });
});

describe("auth settings at boot", () => {
  const bootWith = async (env: Env) => {
    const lines: Array<Record<string, unknown>> = [];
    const booted = await boot({
      env: { DATA_DIR: "/nonexistent-iot-data", ...env },
      runtime: "node",
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    }).catch((error: unknown) => error as Error);
    return { booted, lines };
  };

  it("stop the boot with one line naming an invalid one, before anything is built", async () => {
    const { booted, lines } = await bootWith({ API_TOKEN_HASHES: "iot_my-real-secret-token" });
    expect(booted).toBeInstanceOf(BootError);
    expect((booted as BootError).variable).toBe("API_TOKEN_HASHES");
    expect((booted as BootError).message).toMatch(/^Invalid setting API_TOKEN_HASHES: [^\n]+$/);
    expect((booted as BootError).message).not.toContain("my-real-secret");
    // Refused before the "starting" line: nothing was logged, the data directory was not touched.
    expect(lines).toEqual([]);
  });

  it("are shown in the starting line with token hashes counted, never printed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "iot-auth-settings-"));
    try {
      const env = { ...OIDC, API_TOKEN_HASHES: `${HASH},${"cd".repeat(32)}`, DEVICE_TOKEN_HASHES: HASH };
      const { booted, lines } = await bootWith({ ...env, DATA_DIR: dir, LOG_LEVEL: "debug" });
      if (booted instanceof Error) throw booted;
      await booted.sink.close();
      await booted.deps.storage.dispose?.();
      const shown = lines.find((l) => l.msg === "starting")?.settings as Record<string, unknown>;
      expect(shown).toMatchObject({
        apiTokenHashes: "[2 hashes]",
        deviceTokenHashes: "[1 hashes]",
        oidcIssuer: OIDC.OIDC_ISSUER,
        oidcAudience: "iot",
        allowAnonymousAdmin: false,
      });
      expect(shown.metricsTokenHashes).toBeUndefined();
      expect(JSON.stringify(lines)).not.toContain(HASH);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reach a runtime's checks as AdminAccess: what a Worker refuses to start on", async () => {
    const seen: unknown[] = [];
    const adapter = fsRuntimeAdapter({ env: {}, runtime: "test", write: () => {} });
    const refusing = {
      ...adapter,
      // Stops the boot here, as a Worker's adapter may, once it has seen the settings.
      prepare: (settings: object) => {
        seen.push(settings);
        throw new BootError("stopped by the test");
      },
    };
    for (const env of [{}, { API_TOKEN_HASHES: HASH, ALLOW_ANONYMOUS_ADMIN: "true" }]) {
      await expect(bootRuntime({ DATA_DIR: "/nonexistent-iot-data", ...env }, refusing)).rejects.toThrow("stopped");
    }
    expect(seen).toEqual([
      expect.objectContaining({ adminCredentialsRequired: false, allowAnonymousAdmin: false }),
      expect.objectContaining({ adminCredentialsRequired: true, allowAnonymousAdmin: true }),
    ]);
    expect(JSON.stringify(seen)).not.toContain(HASH);
  });
});
