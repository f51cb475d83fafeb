/**
 * Finds the signing key PEM on runtimes with a filesystem: SIGNING_KEY text,
 * SIGNING_KEY_PATH file, or a development key generated once under the data
 * directory (so a newcomer can sign and upload at once). Key material is never logged.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../core/logger.js";
import { type CoreSettings, SettingsError } from "../core/settings.js";
import { assertNotServed, prepareDirectory } from "./data-dirs.js";

export const DEV_KEY_FILE = "dev-signing-key.pem";

const toPem = (label: string, der: ArrayBuffer) => {
  const base64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
};

async function generateDevKey(path: string): Promise<string> {
  const pair = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const pem = toPem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  // "wx": if another process created it first, we use theirs rather than overwrite.
  await writeFile(path, pem, { flag: "wx", mode: 0o600 });
  await writeFile(
    path.replace(/\.pem$/, ".pub.pem"),
    toPem("PUBLIC KEY", await crypto.subtle.exportKey("spki", pair.publicKey)),
    {
      mode: 0o644,
    },
  );
  return pem;
}

export interface KeySource {
  pem: string;
  /** The setting the key came from, named in any error about it. */
  variable: "SIGNING_KEY" | "SIGNING_KEY_PATH" | "DATA_DIR";
}

const isPrivate = (pem: string) => /-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(pem);
const codeOf = (error: unknown) => (error as { code?: string }).code ?? "unknown error";

const devKeyPath = (settings: CoreSettings) => join(settings.dataDir, DEV_KEY_FILE);

/**
 * The signing key's PEM as configured, read without writing anything: SIGNING_KEY, the
 * SIGNING_KEY_PATH file, or the development key an earlier start generated; undefined when
 * a development key is still to be generated. Refuses a private key where it would be served.
 */
export async function findSigningKeyPem(settings: CoreSettings): Promise<KeySource | undefined> {
  if (settings.signingKey) return { pem: settings.signingKey, variable: "SIGNING_KEY" };
  if (settings.signingKeyPath) {
    let pem: string;
    try {
      pem = await readFile(settings.signingKeyPath, "utf8");
    } catch (error) {
      throw new SettingsError("SIGNING_KEY_PATH", `cannot read the key file (${codeOf(error)})`);
    }
    // A public key may sit anywhere; a private one never where it could be served.
    if (isPrivate(pem)) await assertNotServed(settings.signingKeyPath, "SIGNING_KEY_PATH", settings);
    return { pem, variable: "SIGNING_KEY_PATH" };
  }
  const path = devKeyPath(settings);
  // Checked before the key is generated, so a misplaced DATA_DIR never gets a key written into it.
  await assertNotServed(path, "DATA_DIR", settings);
  try {
    return { pem: await readFile(path, "utf8"), variable: "DATA_DIR" };
  } catch (error) {
    if (codeOf(error) === "ENOENT") return undefined;
    throw new SettingsError("DATA_DIR", `cannot read ${path} (${codeOf(error)})`);
  }
}

const usingDevKey = (logger: Logger, path: string) =>
  logger.warn("no signing key configured: using the development key; set SIGNING_KEY_PATH in production", {
    private_key: path,
  });

/** The key findSigningKeyPem finds, or else a development key generated under DATA_DIR (created if missing). */
export async function loadSigningKeyPem(settings: CoreSettings, logger: Logger): Promise<KeySource> {
  const path = devKeyPath(settings);
  const found = await findSigningKeyPem(settings);
  if (found) {
    if (found.variable === "DATA_DIR") usingDevKey(logger, path);
    return found;
  }
  await prepareDirectory(settings.dataDir, "DATA_DIR");
  try {
    const pem = await generateDevKey(path);
    logger.warn("no signing key configured: generated a development key pair; set SIGNING_KEY_PATH in production", {
      private_key: path,
      public_key: path.replace(/\.pem$/, ".pub.pem"),
    });
    return { pem, variable: "DATA_DIR" };
  } catch (writeError) {
    if (codeOf(writeError) !== "EEXIST") {
      throw new SettingsError("DATA_DIR", `cannot write the development key ${path} (${codeOf(writeError)})`);
    }
  }
  // Another process generated it first: theirs is used.
  usingDevKey(logger, path);
  return { pem: await readFile(path, "utf8"), variable: "DATA_DIR" };
}
