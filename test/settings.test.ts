import { describe, expect, it } from "vitest";
import { parseSettings, redactSettingValues } from "../src/core/setting-spec.js";
import {
  type Env,
  loadSettings,
  redactSettings,
  redactUrl,
  SETTING_NAMES,
  SettingsError,
} from "../src/core/settings.js";
import { MQTT_SETTINGS } from "../src/plugins/sinks/mqtt-settings.js";
import { testKeys } from "./support/keys.js";

function settingsError(env: Env): SettingsError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("loadSettings defaults", () => {
  it("match docs/reference.md's table when nothing is set", () => {
    expect(loadSettings({})).toEqual({
      port: 3201,
      host: "127.0.0.1",
      dataDir: "./data",
      configsDir: "./data/configs",
      assetsDir: "./data/assets",
      stateDir: "./data/state",
      signingKeyPath: undefined,
      signingKey: undefined,
      timestampToleranceSeconds: 300,
      corsOrigins: ["http://localhost:3000"],
      notifyUrl: undefined,
      notifyUrlVariable: "NOTIFY_URL",
      notifyFlushTimeoutMs: 5000,
      shutdownTimeoutMs: 5000,
      maxUploadBytes: 104_857_600,
      maxConfigBytes: 1_048_576,
      uploadSignatureMinVersion: 1,
      uploadSignatureReuse: "deny",
      maxConcurrentUploads: 8,
      maxUploadsPerClient: 4,
      uploadIdleTimeoutMs: 30_000,
      uploadMinBytesPerSecond: 1024,
      clientIpHeader: undefined,
      deviceReadMissLimit: 1000,
      apiDocs: true,
      logLevel: "info",
    });
  });

  it("treat empty variables as unset", () => {
    const empty = Object.fromEntries(SETTING_NAMES.map((name) => [name, ""]));
    expect(loadSettings(empty)).toEqual(loadSettings({}));
  });

  it("do not share the default origin list between two loads", () => {
    const first = loadSettings({});
    first.corsOrigins.push("http://evil.example");
    expect(loadSettings({}).corsOrigins).toEqual(["http://localhost:3000"]);
  });
});

describe("loadSettings values", () => {
  it("reads numbers and paths", () => {
    const settings = loadSettings({
      PORT: " 8080 ",
      HOST: "0.0.0.0",
      DATA_DIR: "/srv/iot/",
      ASSETS_DIR: "/mnt/assets",
      TIMESTAMP_TOLERANCE_SECONDS: "0",
      MAX_UPLOAD_BYTES: "1",
      SHUTDOWN_TIMEOUT_MS: "250",
      LOG_LEVEL: "debug",
    });
    expect(settings).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      configsDir: "/srv/iot/configs",
      assetsDir: "/mnt/assets",
      timestampToleranceSeconds: 0,
      maxUploadBytes: 1,
      shutdownTimeoutMs: 250,
      logLevel: "debug",
    });
  });

  it("reads NOTIFY_URL, and MQTT_URL as its older name; both set and different is an error naming both", () => {
    expect(loadSettings({ NOTIFY_URL: "mqtts://broker.example:8883" }).notifyUrl?.href).toBe(
      "mqtts://broker.example:8883",
    );
    const old = loadSettings({ MQTT_URL: "console:" });
    expect(old.notifyUrl?.protocol).toBe("console:");
    expect(old.notifyUrlVariable).toBe("MQTT_URL");
    expect(loadSettings({ NOTIFY_URL: "console:", MQTT_URL: "console:" }).notifyUrlVariable).toBe("NOTIFY_URL");
    expect(loadSettings({ MQTT_URL: "   " }).notifyUrl).toBeUndefined();
    const both = settingsError({ NOTIFY_URL: "https://hooks.example/x", MQTT_URL: "mqtt://broker" });
    expect(both.message).toContain("NOTIFY_URL");
    expect(both.message).toContain("MQTT_URL");
    expect(loadSettings({ MQTT_FLUSH_TIMEOUT_MS: "750" }).notifyFlushTimeoutMs).toBe(750);
    expect(loadSettings({ NOTIFY_FLUSH_TIMEOUT_MS: "900" }).notifyFlushTimeoutMs).toBe(900);
    expect(settingsError({ NOTIFY_FLUSH_TIMEOUT_MS: "900", MQTT_FLUSH_TIMEOUT_MS: "750" }).variable).toBe(
      "NOTIFY_FLUSH_TIMEOUT_MS",
    );
  });

  it("reads CORS_ORIGINS as a JSON array or a comma list", () => {
    const origins = (value: string) => loadSettings({ CORS_ORIGINS: value }).corsOrigins;
    expect(origins('["https://admin.example", "http://localhost:5173"]')).toEqual([
      "https://admin.example",
      "http://localhost:5173",
    ]);
    expect(origins(" https://admin.example , http://10.0.0.5:8080,,")).toEqual([
      "https://admin.example",
      "http://10.0.0.5:8080",
    ]);
    expect(origins("https://admin.example")).toEqual(["https://admin.example"]);
    expect(origins("*")).toEqual(["*"]);
    expect(origins("[]")).toEqual([]);
  });

  it("accepts a PEM given as text", () => {
    const pem = testKeys().spki;
    expect(loadSettings({ SIGNING_KEY: pem }).signingKey).toBe(pem);
    expect(loadSettings({ SIGNING_KEY_PATH: "/etc/iot/key.pem" }).signingKeyPath).toBe("/etc/iot/key.pem");
  });
});

describe("loadSettings refuses invalid values with a SettingsError naming the variable", () => {
  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["HOST", "   "],
    ["TIMESTAMP_TOLERANCE_SECONDS", "-1"],
    ["TIMESTAMP_TOLERANCE_SECONDS", "5m"],
    ["CORS_ORIGINS", "[1]"],
    ["CORS_ORIGINS", '{"a": "http://x"}'],
    ["CORS_ORIGINS", "[not json"],
    ["CORS_ORIGINS", "not a url"],
    ["CORS_ORIGINS", "http://ok.example, ftp://files.example"],
    ["CORS_ORIGINS", '["http://ok.example/path"]'],
    ["MQTT_URL", "::"],
    ["MQTT_URL", "broker without scheme"],
    ["MAX_UPLOAD_BYTES", "0"],
    ["MAX_UPLOAD_BYTES", "1e9"],
    ["MQTT_FLUSH_TIMEOUT_MS", "-5"],
    ["MAX_CONFIG_BYTES", "0"],
    ["LOG_LEVEL", "verbose"],
    ["SIGNING_KEY", "not a pem"],
    ["UPLOAD_SIGNATURE_MIN_VERSION", "3"],
    ["UPLOAD_SIGNATURE_REUSE", "sometimes"],
    ["MAX_CONCURRENT_UPLOADS", "0"],
    ["UPLOAD_IDLE_TIMEOUT_MS", "10"],
    ["MAX_UPLOADS_PER_CLIENT", "9"],
    ["MAX_UPLOADS_PER_CLIENT", "0"],
    ["UPLOAD_MIN_BYTES_PER_SECOND", "-1"],
    ["CLIENT_IP_HEADER", "X Forwarded For"],
  ])("%s=%j", (variable, value) => {
    const error = settingsError({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.code).toBe("INVALID_SETTING");
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain("\n");
  });

  it.each([
    ["MQTT_PROTOCOL_VERSION", "3"],
    ["MQTT_PROTOCOL_VERSION", "3.1.1"],
    ["MQTT_QUEUE_LIMIT", "many"],
    ["MQTT_KEEPALIVE_SECONDS", "0"],
    ["MQTT_TLS_INSECURE", "perhaps"],
  ])("the MQTT plugin refuses its own %s=%j, naming it", (variable, value) => {
    let error: unknown;
    try {
      parseSettings(MQTT_SETTINGS, { [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).variable).toBe(variable);
  });

  it("refuses SIGNING_KEY and SIGNING_KEY_PATH together, naming both", () => {
    const error = settingsError({ SIGNING_KEY: testKeys().spki, SIGNING_KEY_PATH: "/etc/iot/key.pem" });
    expect(error.message).toContain("SIGNING_KEY");
    expect(error.message).toContain("SIGNING_KEY_PATH");
  });

  it("never repeats MQTT_URL's credentials or the signing key in the message", () => {
    expect(settingsError({ MQTT_URL: "mqtt://user:s3cret@[bad" }).message).not.toContain("s3cret");
    const broken = `-----BEGIN PRIVATE KEY-----\nc2VjcmV0a2V5bWF0ZXJpYWw=\n`;
    const error = settingsError({ SIGNING_KEY: broken, SIGNING_KEY_PATH: "/k.pem" });
    expect(error.message).not.toContain("c2VjcmV0a2V5bWF0ZXJpYWw");
  });
});

describe("redaction", () => {
  const secrets = ["s3cret", "hunter2", "t0ken", "fleet-user-token"];
  const pem = testKeys().pkcs8;
  const keyLines = pem.split("\n").filter((l) => l.length > 0 && !l.startsWith("-----"));

  it("redactSettings keeps no password, URL credential, query token or key text", () => {
    const settings = loadSettings({
      MQTT_URL: "mqtt://user:s3cret@broker.example:1883/base?token=t0ken",
      // Some brokers take a token as the user name: it is redacted too.
      MQTT_USERNAME: "fleet-user-token",
      MQTT_PASSWORD: "hunter2",
      SIGNING_KEY: pem,
    });
    const printed = JSON.stringify(redactSettings(settings));
    for (const secret of secrets) expect(printed).not.toContain(secret);
    for (const line of keyLines) expect(printed).not.toContain(line);
    expect(printed).not.toContain("BEGIN");
    // What is safe to show stays, so an operator can still read the log.
    expect(printed).toContain("broker.example:1883");
    // The MQTT plugin's own settings: its user name and password are declared secret.
    const mqtt = redactSettingValues(
      MQTT_SETTINGS,
      parseSettings(MQTT_SETTINGS, { MQTT_USERNAME: "fleet-user-token", MQTT_PASSWORD: "hunter2" }),
    );
    expect(mqtt).toMatchObject({ MQTT_USERNAME: "[redacted]", MQTT_PASSWORD: "[redacted]", MQTT_PROTOCOL_VERSION: 5 });
    expect(JSON.stringify(mqtt)).not.toContain("fleet-user-token");
    expect(printed).toContain('"signingKey":"[redacted]"');
  });

  it("redactSettings leaves unset secrets unset", () => {
    const printed = redactSettings(loadSettings({}));
    expect(printed.signingKey).toBeUndefined();
    expect(printed.notifyUrl).toBeUndefined();
  });

  it("redactSettings does not alter the settings it is given", () => {
    const settings = loadSettings({ MQTT_URL: "mqtt://user:s3cret@host" });
    redactSettings(settings);
    expect(settings.notifyUrl?.password).toBe("s3cret");
  });

  it.each([
    ["mqtt://user:s3cret@host", "mqtt://redacted:redacted@host"],
    ["mqtt://:s3cret@host:1883", "mqtt://:redacted@host:1883"],
    ["wss://user:s3cret@broker.example/mqtt?auth=t0ken#t0ken", "wss://redacted:redacted@broker.example/mqtt"],
    ["mqtt://user@host", "mqtt://redacted@host"],
    ["mqtt://host:1883", "mqtt://host:1883"],
    ["console:", "console:"],
  ])("redactUrl(%s)", (url, expected) => {
    const printed = redactUrl(new URL(url));
    expect(printed).toBe(expected);
    for (const secret of secrets) expect(printed).not.toContain(secret);
  });

  it.each(["mqtt:user:s3cret@host", "mqtt:/user:s3cret@host", "mqtt:///user:s3cret@host"])(
    "redactUrl hides credentials in a URL written without its authority: %s",
    (url) => {
      const settings = loadSettings({ MQTT_URL: url });
      expect(redactUrl(settings.notifyUrl)).toBe("mqtt:[redacted]");
      expect(JSON.stringify(redactSettings(settings))).not.toContain("s3cret");
    },
  );

  it("redactUrl of nothing is nothing", () => {
    expect(redactUrl(undefined)).toBeUndefined();
  });
});
