/**
 * iot-device's requests: POST /api/devices/{mac}/token (issue, or rotate) and DELETE of the
 * same path (revoke), each turned into a result or a typed CliError. They are sent by
 * admin-request.ts (the admin token in the Authorization header only); the device token in
 * the answer is checked to be one before it is handed on, since it will be printed and then
 * sent by a device as a header.
 */
import { bearerOf } from "../core/auth/bearer.js";
import {
  type AdminAnswer,
  type AdminRequestDeps,
  type AdminServer,
  adminRefusal,
  sendAdminRequest,
} from "./admin-request.js";
import { type AnswerBody, notAResult } from "./answer-body.js";
import type { ErrorBody } from "./server-error.js";
import { forTerminal, MAX_NAME_CHARS } from "./terminal-text.js";

export type DeviceRequestDeps = AdminRequestDeps;

export interface DeviceTarget extends AdminServer {
  mac: string;
}

/** The server's 201 answer; `issued_at` is already safe for a terminal. */
export interface IssuedToken {
  mac_address: string;
  token: string;
  issued_at: string;
}

const COMMAND = "iot-device";

/** Issues a token for the device; when it has one, this starts a rotation. */
export async function issueToken(target: DeviceTarget, deps: DeviceRequestDeps): Promise<IssuedToken> {
  const sent = await sendAdminRequest(target, { method: "POST", path: tokenPath(target) }, deps);
  if (!sent.response.ok) throw refusal(sent, target, "the token request", deps);
  const issued = issuedTokenOf(sent.answer, target.mac);
  if (!issued) throw notAResult(COMMAND, "a device token", sent.response.status, sent.answer, sent.requestId);
  return issued;
}

/** Revokes every token of the device. */
export async function revokeTokens(target: DeviceTarget, deps: DeviceRequestDeps): Promise<void> {
  const sent = await sendAdminRequest(target, { method: "DELETE", path: tokenPath(target) }, deps);
  if (!sent.response.ok) throw refusal(sent, target, "the revocation", deps);
}

const tokenPath = (target: DeviceTarget) => `api/devices/${target.mac}/token`;

function refusal(sent: AdminAnswer, target: DeviceTarget, action: string, deps: DeviceRequestDeps) {
  return adminRefusal(sent, { command: COMMAND, action, server: target, explain }, deps);
}

function issuedTokenOf(answer: AnswerBody, mac: string): IssuedToken | undefined {
  if (answer.truncated) return undefined;
  let value: Partial<Record<keyof IssuedToken, unknown>>;
  try {
    value = JSON.parse(answer.text) as typeof value;
  } catch {
    // Not JSON: the caller says the answer was not a device token.
    return undefined;
  }
  const { mac_address, token, issued_at } = value ?? {};
  // A token for another device, or one a device could not send as a header, is no answer to this request.
  if (mac_address !== mac || typeof token !== "string" || typeof issued_at !== "string") return undefined;
  if (bearerOf(`Bearer ${token}`).kind !== "token") return undefined;
  return { mac_address, token, issued_at: forTerminal(issued_at, MAX_NAME_CHARS) };
}

/** What the server's error codes mean for an admin request about a device (after the admin authentication's). */
function explain(body: ErrorBody): string[] | undefined {
  switch (body.code) {
    case "ROUTE_NOT_FOUND":
      return ["the server has no device tokens (/api/devices/{mac}/token): it is older than this command"];
    case "INVALID_OPERATION":
      return ["the server does not accept this MAC address"];
    case "STORAGE_FULL":
      return ["the server's storage is full; its operator must free space before a token can be issued"];
    default:
      return undefined;
  }
}
