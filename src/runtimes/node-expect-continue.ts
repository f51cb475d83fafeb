/**
 * `Expect: 100-continue` lets a client ask before sending a body. Node answers
 * "100 Continue" to every such request unless told otherwise; a device about to
 * send a firmware image bigger than the limit should hear 413 before it sends a
 * byte of it. The app still enforces every limit itself: this only answers early.
 * Any other expectation is refused here, as Node would, but in the API's shape.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { AppError, payloadTooLarge } from "../core/errors.js";
import { sendError } from "./node-error-response.js";

export interface BodyLimits {
  maxUploadBytes: number;
  maxConfigBytes: number;
}

function pathOf(target: string): string {
  // As the adapter builds the URL (dot segments removed), then with the escapes the router decodes.
  const path = (target.startsWith("/") ? new URL(`http://localhost${target}`) : new URL(target)).pathname;
  try {
    return decodeURI(path);
  } catch (error) {
    // A malformed escape: the router cannot match it to these routes either.
    if (error instanceof URIError) return path;
    throw error;
  }
}

/** The body limit of the route a request goes to, when it has one. */
function limitOf(req: IncomingMessage, limits: BodyLimits): number | undefined {
  const path = pathOf(req.url ?? "/");
  if (req.method === "POST" && path === "/api/assets") return limits.maxUploadBytes;
  if (req.method === "PUT" && path.startsWith("/api/configs/")) return limits.maxConfigBytes;
  return undefined;
}

/** Node's `checkContinue`: 413 for a declared length over the route's limit, else 100 and `next`. */
export function answerExpectContinue(limits: BodyLimits, next: RequestListener) {
  return function checkContinue(req: IncomingMessage, res: ServerResponse): void {
    const max = limitOf(req, limits);
    // Node's parser has already refused a Content-Length that is not a plain decimal number.
    const declared = req.headers["content-length"];
    if (max !== undefined && declared !== undefined && Number(declared) > max) {
      // Closing: a client whose wait for 100 runs out sends the body anyway, and it is not worth reading.
      sendError(req, res, payloadTooLarge(max), { Connection: "close" });
      return;
    }
    res.writeContinue();
    next(req, res);
  };
}

/**
 * Node's `checkExpectation`: an Expect other than 100-continue, which no route can meet.
 * RFC 9110 §10.1.1 allows 417 here, and Node sends one unless this listener exists, but
 * with no body and none of the headers every other answer carries.
 */
export function refuseExpectation(req: IncomingMessage, res: ServerResponse): void {
  const error = new AppError("EXPECTATION_FAILED", "The Expect header may only be 100-continue", {
    details: { header: "Expect" },
  });
  // Closing: a client that sends its body anyway must not have it parsed as its next request.
  sendError(req, res, error, { Connection: "close" });
}
