/**
 * iot-device's requests: POST /api/devices/{mac}/token (issue, or rotate) and DELETE of the
 * same path (revoke), each turned into a result or a typed CliError. The admin token goes in
 * the Authorization header only; the device token in the answer is checked to be one before
 * it is handed on, since it will be printed and then sent by a device as a header.
 */
import { randomUUID } from "node:crypto";
import { bearerOf } from "../core/auth/bearer.js";
import { type AnswerBody, notAResult } from "./answer-body.js";
import { networkError, readAnswer, type Transfer } from "./network-error.js";
import { type ErrorBody, refusalError, refusalOf } from "./server-error.js";
import { forTerminal, MAX_NAME_CHARS } from "./terminal-text.js";

export interface DeviceRequestDeps {
  fetch: typeof fetch;
  /** Wall clock, for a Retry-After given as a date. */
  clock: () => Date;
}

export interface DeviceTarget {
  /** The server's base URL, ending in `/`. */
  base: URL;
  mac: string;
  /** Undefined: sent without one, for a server without admin authentication. */
  adminToken?: string;
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
  const { response, answer, requestId } = await send("POST", target, deps);
  if (!response.ok) throw refusal(response, answer, requestId, target, "the token request", deps);
  const issued = issuedTokenOf(answer, target.mac);
  if (!issued) throw notAResult(COMMAND, "a device token", response.status, answer, requestId);
  return issued;
}

/** Revokes every token of the device. */
export async function revokeTokens(target: DeviceTarget, deps: DeviceRequestDeps): Promise<void> {
  const { response, answer, requestId } = await send("DELETE", target, deps);
  if (!response.ok) throw refusal(response, answer, requestId, target, "the revocation", deps);
}

async function send(method: "POST" | "DELETE", target: DeviceTarget, deps: DeviceRequestDeps) {
  const endpoint = new URL(`api/devices/${target.mac}/token`, target.base);
  // Sent as X-Request-Id, which the server adopts as its correlation id: a request whose
  // answer never arrives can still be found in the server's log.
  const requestId = randomUUID();
  const transfer: Transfer = { endpoint, requestId };
  let response: Response;
  try {
    response = await deps.fetch(endpoint, {
      method,
      headers: {
        Accept: "application/json",
        "X-Request-Id": requestId,
        ...(target.adminToken === undefined ? {} : { Authorization: `Bearer ${target.adminToken}` }),
      },
      // A redirect would carry the request elsewhere (a POST turned into a GET on the way):
      // the URL to use is the final one, which the network error tells the user to give.
      redirect: "error",
    });
  } catch (error) {
    throw networkError(error, transfer);
  }
  const answer = await readAnswer(response, () => transfer);
  return { response, answer, requestId };
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

function refusal(
  response: Response,
  answer: AnswerBody,
  requestId: string,
  target: DeviceTarget,
  action: string,
  deps: DeviceRequestDeps,
) {
  const r = refusalOf(response, answer, requestId, deps.clock().getTime());
  return refusalError(r, { command: COMMAND, action, explain: (body) => explain(body, target) });
}

/** What the server's error codes mean for an admin request about a device. */
function explain(body: ErrorBody, target: DeviceTarget): string[] | undefined {
  const auth = adminAuthExplanation(body, target.adminToken !== undefined);
  if (auth) return auth;
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

/** What the admin authentication's refusals mean, for every admin command (iot-device, iot-rollout). */
export function adminAuthExplanation(body: ErrorBody, tokenSent: boolean): string[] | undefined {
  switch (body.code) {
    case "UNAUTHORIZED":
      return !tokenSent
        ? [
            "the server needs an admin token: set IOT_ADMIN_TOKEN or pass --admin-token-file PATH (npx iot-token mints one, its hash goes in the server's API_TOKEN_HASHES)",
          ]
        : [
            "the server does not accept this admin token: its SHA-256 (npx iot-token --hash) must be in the server's API_TOKEN_HASHES, or it must be a valid token from the server's OIDC issuer",
          ];
    case "FORBIDDEN":
      return ["the admin token is valid but lacks the role the server requires (OIDC_REQUIRED_ROLE)"];
    case "AUTH_UNAVAILABLE":
      return ["the server cannot check admin tokens right now (its OIDC issuer is unreachable); try again later"];
    default:
      return undefined;
  }
}
