/**
 * What every admin command (iot-device, iot-rollout) does to send a request: the admin token
 * in the Authorization header only, a request id, no redirects, a bounded answer; and what the
 * admin authentication's refusals mean. The commands add their paths and their own error codes.
 */
import { randomUUID } from "node:crypto";
import type { AnswerBody } from "./answer-body.js";
import { networkError, readAnswer, type Transfer } from "./network-error.js";
import { type ErrorBody, refusalError, refusalOf } from "./server-error.js";

export interface AdminServer {
  /** The server's base URL, ending in `/`. */
  base: URL;
  /** Undefined: sent without one, for a server without admin authentication. */
  adminToken?: string;
}

export interface AdminRequest {
  method: "GET" | "POST" | "DELETE";
  /** Relative to the server's base URL. */
  path: string;
  /** JSON text; absent for a request without a body. */
  body?: string;
  /** How much of a successful answer is read; absent, the default bound (an error in the API's shape is small). */
  maxSuccessBytes?: number;
}

export interface AdminAnswer {
  response: Response;
  answer: AnswerBody;
  requestId: string;
}

export interface AdminRequestDeps {
  fetch: typeof fetch;
  /** Wall clock, for a Retry-After given as a date. */
  clock: () => Date;
}

export async function sendAdminRequest(
  server: AdminServer,
  request: AdminRequest,
  deps: Pick<AdminRequestDeps, "fetch">,
): Promise<AdminAnswer> {
  const endpoint = new URL(request.path, server.base);
  // Sent as X-Request-Id, which the server adopts as its correlation id: a request whose
  // answer never arrives can still be found in the server's log.
  const requestId = randomUUID();
  const transfer: Transfer = { endpoint, requestId };
  let response: Response;
  try {
    response = await deps.fetch(endpoint, {
      method: request.method,
      headers: {
        Accept: "application/json",
        "X-Request-Id": requestId,
        ...(request.body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(server.adminToken === undefined ? {} : { Authorization: `Bearer ${server.adminToken}` }),
      },
      body: request.body,
      // A redirect would carry the request elsewhere (a POST turned into a GET on the way):
      // the URL to use is the final one, which the network error tells the user to give.
      redirect: "error",
    });
  } catch (error) {
    throw networkError(error, transfer);
  }
  const answer = await readAnswer(response, () => transfer, response.ok ? request.maxSuccessBytes : undefined);
  return { response, answer, requestId };
}

/** A refused admin request → CliError: the admin authentication's codes first, then the command's own. */
export function adminRefusal(
  sent: AdminAnswer,
  refused: {
    command: string;
    action: string;
    server: AdminServer;
    explain: (body: ErrorBody) => string[] | undefined;
  },
  deps: Pick<AdminRequestDeps, "clock">,
) {
  const r = refusalOf(sent.response, sent.answer, sent.requestId, deps.clock().getTime());
  const tokenSent = refused.server.adminToken !== undefined;
  return refusalError(r, {
    command: refused.command,
    action: refused.action,
    explain: (body) => adminAuthExplanation(body, tokenSent) ?? refused.explain(body),
  });
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
