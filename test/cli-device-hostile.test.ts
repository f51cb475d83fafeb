/**
 * iot-device against a server that misbehaves on purpose (test/support/hostile-server.ts
 * writes its answers byte for byte): what no real server sends must not reach the terminal
 * raw, nor pass for a device token.
 */
import { describe, expect, it } from "vitest";
import { runDevice as device } from "./support/cli-run.js";
import { expectTerminalSafe, HOSTILE, hostileRefusal, hostileServers } from "./support/hostile-cli.js";
import { sendJson } from "./support/hostile-server.js";

/** A deadline for one test of a few CLI runs on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 120_000;
const MAC = "aa-bb-cc-dd-ee-01";
const OTHER = "aa-bb-cc-dd-ee-02";
/** An admin token, to see where it is sent (the server here checks nothing). */
const ADMIN = "iot_hostile-test-admin-token";

describe("iot-device against a server that misbehaves", () => {
  const serve = hostileServers();

  it(
    "escapes what it prints of the server's strings, and sends the admin token in the header only",
    async () => {
      const issuing = await serve((socket) =>
        sendJson(socket, "201 Created", { mac_address: MAC, token: "iotd_abc", issued_at: `${HOSTILE}` }),
      );
      const issued = await device(["token", MAC, "--server", issuing.url], { IOT_ADMIN_TOKEN: ADMIN });
      expect(issued.code).toBe(0);
      expectTerminalSafe(issued.stdout);
      expect(issued.stdout).toContain("issued \\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe (shown only here");
      const request = issuing.requests[0];
      expect(request).toMatchObject({ method: "POST", path: `/api/devices/${MAC}/token` });
      expect(request?.headers.authorization).toBe(`Bearer ${ADMIN}`);

      const refusing = await serve(hostileRefusal("401 Unauthorized", "UNAUTHORIZED"));
      const refused = await device(["revoke", MAC, "--server", refusing.url]);
      expect(refused.code).toBe(1);
      expectTerminalSafe(refused.stderr);
      expect(refused.stderr).toContain("(401 UNAUTHORIZED): \\x1b]0;owned");
    },
    CLI_TEST_MS,
  );

  it(
    "refuses an answer that is not this device's token (another MAC, a token no header can carry, a huge body)",
    async () => {
      for (const body of [
        { mac_address: OTHER, token: "iotd_abc", issued_at: "2026-01-01T00:00:00.000Z" },
        { mac_address: MAC, token: "iotd_a\u001b[2Jb c", issued_at: "2026-01-01T00:00:00.000Z" },
        { mac_address: MAC, token: "iotd_abc", issued_at: "x", padding: "A".repeat(200_000) },
      ]) {
        const s = await serve((socket) => sendJson(socket, "201 Created", body));
        const run = await device(["token", MAC, "--server", s.url]);
        expect(run.code).toBe(1);
        expect(run.stdout).toBe("");
        expect(run.stderr).toContain("the server answered 201 but not with a device token");
        expect(run.stderr).not.toContain("iotd_");
      }
    },
    CLI_TEST_MS,
  );
});
