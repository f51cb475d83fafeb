/**
 * What the CLI tests against a misbehaving server (hostile-server.ts) share: the hostile text a
 * server sends, what a terminal must never receive raw, servers closed after their describe
 * block, and a refusal in the API's error shape whose words are hostile.
 */
import { afterAll, expect } from "vitest";
import { type Answer, type HostileServer, hostileServer, sendJson } from "./hostile-server.js";

/** What a terminal would obey: controls (C0, DEL, C1), format characters (bidi overrides), separators. */
export const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
/** A window title (OSC), a screen clear and a right-to-left override, as a server's name or error text. */
export const HOSTILE = "\u001b]0;owned\u0007\u001b[2J\u202egnp.exe";

/** Output with nothing a terminal would obey, but its line breaks. */
export function expectTerminalSafe(text: string): void {
  expect(UNSAFE.test(text.replaceAll("\n", ""))).toBe(false);
}

/** Starts hostile servers for the describe block this is called in; all are closed after it. */
export function hostileServers(): (answer: Answer) => Promise<HostileServer> {
  const servers: HostileServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  return async (answer) => {
    const s = await hostileServer(answer);
    servers.push(s);
    return s;
  };
}

/** A refusal in the API's error shape, its message and correlation id HOSTILE. */
export function hostileRefusal(statusLine: string, code: string, details: Record<string, unknown> = {}): Answer {
  const status = Number(statusLine.split(" ")[0]);
  return (socket) => sendJson(socket, statusLine, { error: HOSTILE, code, status, details, correlationId: HOSTILE });
}
