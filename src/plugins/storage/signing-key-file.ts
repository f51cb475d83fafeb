/**
 * Finds the signing key PEM on runtimes with a filesystem: SIGNING_KEY text,
 * SIGNING_KEY_PATH file, or a development key generated once under the data
 * directory (so a newcomer can sign and upload at once). Key material is never logged.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../core/logger.js";
import type { Settings } from "../../core/settings.js";
import { SigningKeyError } from "../../core/signing-key.js";

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

export async function loadSigningKeyPem(settings: Settings, logger: Logger): Promise<string> {
  if (settings.signingKey) return settings.signingKey;
  if (settings.signingKeyPath) {
    try {
      return await readFile(settings.signingKeyPath, "utf8");
    } catch (error) {
      const code = (error as { code?: string }).code ?? "unknown error";
      throw new SigningKeyError(`Invalid setting SIGNING_KEY_PATH: cannot read the key file (${code})`, {
        cause: error,
      });
    }
  }
  await mkdir(settings.dataDir, { recursive: true });
  const path = join(settings.dataDir, DEV_KEY_FILE);
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
    try {
      pem = await generateDevKey(path);
      logger.warn("no signing key configured: generated a development key pair; set SIGNING_KEY_PATH in production", {
        private_key: path,
        public_key: path.replace(/\.pem$/, ".pub.pem"),
      });
      return pem;
    } catch (writeError) {
      if ((writeError as { code?: string }).code !== "EEXIST") throw writeError;
      pem = await readFile(path, "utf8");
    }
  }
  logger.warn("no signing key configured: using the development key; set SIGNING_KEY_PATH in production", {
    private_key: path,
  });
  return pem;
}
