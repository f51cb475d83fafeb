/**
 * iot-token: mints an admin API token and prints the SHA-256 to configure in
 * API_TOKEN_HASHES (or METRICS_TOKEN_HASHES, DEVICE_TOKEN_HASHES). The server only ever
 * holds the hash. `--hash` prints the hash of a token read from stdin (never from the
 * command line, where shells keep history and `ps` shows arguments).
 */
import { createHash, randomBytes } from "node:crypto";

export interface TokenCliDeps {
  argv: string[];
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  random?: (bytes: number) => Buffer;
}

const USAGE = `Usage: iot-token            print a new token and the hash to configure
       iot-token --hash     read a token on stdin, print its hash
       iot-token --json     the new token and hash as JSON (for scripts)
`;

/** 32 random bytes (256 bits), base64url; the prefix lets secret scanners recognise a leaked one. */
export const newToken = (random: (bytes: number) => Buffer = randomBytes) => `iot_${random(32).toString("base64url")}`;
export const tokenHash = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

export async function runToken(deps: TokenCliDeps): Promise<number> {
  const [flag, ...rest] = deps.argv;
  if (rest.length > 0 || (flag !== undefined && !["--hash", "--json", "--help", "-h"].includes(flag))) {
    deps.stderr(`iot-token: unexpected arguments\n\n${USAGE}`);
    return 2;
  }
  if (flag === "--help" || flag === "-h") {
    deps.stdout(USAGE);
    return 0;
  }
  if (flag === "--hash") {
    const token = (await deps.readStdin()).trim();
    if (!token) {
      deps.stderr('iot-token: no token on stdin (e.g. printf %s "$TOKEN" | npx iot-token --hash)\n');
      return 2;
    }
    deps.stdout(`${tokenHash(token)}\n`);
    return 0;
  }
  const token = newToken(deps.random);
  const hash = tokenHash(token);
  if (flag === "--json") {
    deps.stdout(`${JSON.stringify({ token, sha256: hash })}\n`);
    return 0;
  }
  deps.stdout(
    `token:  ${token}\nsha256: ${hash}\n\n` +
      "Give the token to its client (header Authorization: Bearer <token>) and keep it secret.\n" +
      "Put the sha256 in API_TOKEN_HASHES (comma-separated with any others) and restart the server;\n" +
      "the server never needs the token itself.\n",
  );
  return 0;
}

export async function main(): Promise<number> {
  return runToken({
    argv: process.argv.slice(2),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async () => {
      let text = "";
      for await (const chunk of process.stdin) text += chunk;
      return text;
    },
  });
}
