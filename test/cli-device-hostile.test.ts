/**
 * iot-device against a server that misbehaves on purpose (test/support/hostile-server.ts
 * writes its answers byte for byte): what no real server sends must not reach the terminal
 * raw, nor pass for a device token.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runDevice as device } from "./support/cli-run.js";
import { type HostileServer, hostileServer, sendJson } from "./support/hostile-server.js";

/** A deadline for one test of a few CLI runs on a loaded machine, not an expectation of speed. */
const CLI_TEST_MS = 120_000;
/** What a terminal would obey: controls (C0, DEL, C1), format characters (bidi overrides), separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const MAC = "aa-bb-cc-dd-ee-01";
const OTHER = "aa-bb-cc-dd-ee-02";
/** An admin token, to see where it is sent (the server here checks nothing). */
const ADMIN = "iot_hostile-test-admin-token";

describe("iot-device against a server that misbehaves", () => {
  const HOSTILE = "\u001b]0;owned\u0007\u001b[2J\u202egnp.exe";
  const servers: HostileServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const serve = async (answer: Parameters<typeof hostileServer>[0]) => {
    const s = await hostileServer(answer);
    servers.push(s);
    return s;
  };

  it(
    "escapes what it prints of the server's strings, and sends the admin token in the header only",
    async () => {
      const issuing = await serve((socket) =>
        sendJson(socket, "201 Created", { mac_address: MAC, token: "iotd_abc", issued_at: `${HOSTILE}` }),
      );
      const issued = await device(["token", MAC, "--server", issuing.url], { IOT_ADMIN_TOKEN: ADMIN });
      expect(issued.code).toBe(0);
      expect(UNSAFE.test(issued.stdout.replaceAll("\n", ""))).toBe(false);
      expect(issued.stdout).toContain("issued \\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe (shown only here");
      const request = issuing.requests[0];
      expect(request).toMatchObject({ method: "POST", path: `/api/devices/${MAC}/token` });
      expect(request?.headers.authorization).toBe(`Bearer ${ADMIN}`);

      const refusing = await serve((socket) =>
        sendJson(socket, "401 Unauthorized", {
          error: HOSTILE,
          code: "UNAUTHORIZED",
          status: 401,
          details: {},
          correlationId: HOSTILE,
        }),
      );
      const refused = await device(["revoke", MAC, "--server", refusing.url]);
      expect(refused.code).toBe(1);
      expect(UNSAFE.test(refused.stderr.replaceAll("\n", ""))).toBe(false);
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
