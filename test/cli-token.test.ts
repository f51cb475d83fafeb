/** `iot-token`, run as a user runs it: mints a token whose hash a real server then accepts. */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT, spawnServer } from "./support/server.js";

const run = promisify(execFile);
const BIN = join(ROOT, "bin/iot-token.mjs");

/** Runs the command with `input` on stdin; resolves with exit code and output. */
function withStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe("iot-token", () => {
  it("prints a fresh 256-bit token and its SHA-256, which a server holding only the hash accepts", async () => {
    const { stdout } = await run(process.execPath, [BIN], { cwd: ROOT });
    const token = /^token:\s+(\S+)$/m.exec(stdout)?.[1] as string;
    const hash = /^sha256:\s+([0-9a-f]{64})$/m.exec(stdout)?.[1] as string;
    expect(token).toMatch(/^iot_[A-Za-z0-9_-]{43}$/);
    expect(hash).toBe(createHash("sha256").update(token).digest("hex"));
    expect(stdout).toContain("API_TOKEN_HASHES");
    const second = await run(process.execPath, [BIN], { cwd: ROOT });
    expect(second.stdout).not.toContain(token);

    const server = await spawnServer({ API_TOKEN_HASHES: hash });
    try {
      const withToken = await fetch(`${server.url}/api/configs`, { headers: { Authorization: `Bearer ${token}` } });
      expect(withToken.status).toBe(200);
      expect((await fetch(`${server.url}/api/configs`)).status).toBe(401);
      expect(server.output()).not.toContain(token);
      expect(server.output()).not.toContain(hash);
    } finally {
      await server.cleanup();
    }
  });

  it("prints JSON with --json, and the hash of a token read from stdin with --hash", async () => {
    const { stdout } = await run(process.execPath, [BIN, "--json"], { cwd: ROOT });
    const { token, sha256 } = JSON.parse(stdout) as { token: string; sha256: string };
    expect(sha256).toBe(createHash("sha256").update(token).digest("hex"));
    const hashed = await withStdin(["--hash"], `${token}\n`);
    expect(hashed).toMatchObject({ code: 0, stdout: `${sha256}\n` });
    expect((await withStdin(["--hash"], "")).code).toBe(2);
  });

  it("refuses unknown arguments with exit status 2 and the usage text", async () => {
    const result = await withStdin(["--token", "abc"], "");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: iot-token");
  });
});
