/**
 * What to tell a client whose request Node refused before the app saw it. The
 * status comes from the error's code; the sentence from llhttp's `reason`, because
 * llhttp gives several faults one code (HPE_INVALID_CONTENT_LENGTH is both "not a
 * number" and "sent with Transfer-Encoding"). The reasons are fixed literals in
 * llhttp (Node 20 ships llhttp 9); each one here was observed from Node 20 with raw
 * requests (test/node-protocol.test.ts sends the ones that matter most).
 */
import { AppError } from "../core/errors.js";

export interface ParserLimits {
  /** Node's maxHeaderSize: request line plus headers, in bytes. */
  maxHeaderBytes: number;
  /** How long the request line and headers may take to arrive. */
  headersTimeoutMs: number;
}

/** What a Node parser or request-timeout error carries. */
export interface ClientErrorLike {
  code?: string;
  reason?: string;
}

const CL_WITH_TE = "Content-Length and Transfer-Encoding must not be sent together";
const CRLF_AFTER_VERSION = "the request line must end with CRLF right after the HTTP version";
const CHUNK_EXTENSION = "a chunk extension contains a character that is not allowed";

const BY_REASON: Record<string, string> = {
  "Content-Length can't be present with Transfer-Encoding": CL_WITH_TE,
  "Transfer-Encoding can't be present with Content-Length": CL_WITH_TE,
  "Duplicate Content-Length": "Content-Length must be sent only once",
  "Empty Content-Length": "Content-Length is empty",
  "Invalid character in Content-Length": "Content-Length must be a decimal number of bytes",
  "Content-Length overflow": "Content-Length is too large",
  "Request has invalid `Transfer-Encoding`": "Transfer-Encoding must end with chunked",
  "Invalid `Transfer-Encoding` header value": "Transfer-Encoding must name chunked once, as the last coding",
  "Invalid header token": "a header name is not a valid token (no spaces, nothing between the name and the colon)",
  "Invalid header field char": "a header name is not a valid token (no spaces, nothing between the name and the colon)",
  "Invalid header value char": "a header value contains a control character",
  "Unexpected whitespace after header value": "a header line starts with whitespace (line folding is not accepted)",
  "Unexpected space after start line": "the line after the request line starts with whitespace",
  "Expected space after method": "the method must be followed by one space",
  "Expected CRLF after version": CRLF_AFTER_VERSION,
  "Expected LF after headers": "the header section must end with an empty line (CRLF)",
  "Expected LF after chunk data": "a chunk's data must be followed by CRLF (the data is longer than its size says)",
  "Invalid character in chunk size": "a chunk size must be a hexadecimal number",
  "Chunk size overflow": "a chunk size is too large",
  "Invalid character in chunk extensions": CHUNK_EXTENSION,
  "Invalid character in chunk extensions name": CHUNK_EXTENSION,
  "Invalid character in chunk extensions value": CHUNK_EXTENSION,
  "Invalid character in chunk extensions quoted value": CHUNK_EXTENSION,
  "Invalid character in chunk extensions quote value": CHUNK_EXTENSION,
  "Invalid quoted-pair in chunk extensions quoted value": CHUNK_EXTENSION,
};

const BY_CODE: Record<string, string> = {
  HPE_INVALID_METHOD: "the request line does not start with a known HTTP method (methods are case-sensitive)",
  HPE_INVALID_URL:
    "the request target is not a valid path or URL (it must start with /; spaces and non-ASCII characters must be percent-encoded)",
  HPE_INVALID_CONSTANT:
    "the request line must be METHOD, a space, the target, a space, HTTP/1.1 (is a space unencoded?)",
  HPE_INVALID_VERSION: "the HTTP version is not valid (use HTTP/1.1 or HTTP/1.0)",
  HPE_UNEXPECTED_CONTENT_LENGTH: "Content-Length must be sent only once",
  HPE_INVALID_CONTENT_LENGTH: "Content-Length is invalid",
  HPE_INVALID_TRANSFER_ENCODING: "Transfer-Encoding is invalid",
  HPE_INVALID_HEADER_TOKEN: "a header line is not valid",
  HPE_UNEXPECTED_SPACE: "the line after the request line starts with whitespace",
  HPE_CR_EXPECTED: "a line ends in LF without CR (lines must end with CRLF)",
  HPE_LF_EXPECTED: "a CR is not followed by LF (lines must end with CRLF)",
  HPE_STRICT: "the request breaks HTTP/1.1 message framing",
  HPE_INVALID_CHUNK_SIZE: "a chunk size is invalid",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "chunk extensions are too long",
  HPE_CLOSED_CONNECTION: "data was sent after a request with Connection: close",
  HPE_INVALID_EOF_STATE: "the connection ended in the middle of a request",
  HPE_PAUSED_H2_UPGRADE: "HTTP/2 with prior knowledge is not supported; use HTTP/1.1",
};

/**
 * The error to answer with, or undefined when the error is the connection's own
 * failure (ECONNRESET, EPIPE, …): then there is no request to answer.
 */
export function describeClientError(error: ClientErrorLike, limits: ParserLimits): AppError | undefined {
  const code = error.code ?? "";
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") {
    // requestTimeout is 0 (see node-http.ts), so only the headers deadline raises this.
    return new AppError("REQUEST_TIMEOUT", `Request headers were not received within ${limits.headersTimeoutMs} ms`, {
      details: { timeout_ms: limits.headersTimeoutMs },
    });
  }
  if (!code.startsWith("HPE_")) return undefined;
  const details: Record<string, unknown> = { parser_code: code };
  if (error.reason) details.parser_reason = error.reason;
  if (code === "HPE_HEADER_OVERFLOW") {
    return new AppError("HEADERS_TOO_LARGE", `Request line and headers exceed ${limits.maxHeaderBytes} bytes`, {
      details: { ...details, max_bytes: limits.maxHeaderBytes },
    });
  }
  const sentence = BY_REASON[error.reason ?? ""] ?? BY_CODE[code] ?? "the request could not be parsed";
  return new AppError("VALIDATION_FAILED", `Malformed HTTP request: ${sentence}`, { details });
}
