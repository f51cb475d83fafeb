/** Small helpers shared by the route tests. */
import { expect } from "vitest";

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "PUT",
  headers: { "Content-Type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** Asserts that a parsed body has exactly the API's error shape with this status and code. */
export function expectErrorShape(body: unknown, status: number, code: string) {
  expect(body).toEqual({
    error: expect.any(String),
    details: expect.any(Object),
    code,
    status,
    correlationId: expect.any(String),
  });
}

/** Asserts the API's error shape and returns the body. */
export async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, unknown>;
  expectErrorShape(body, status, code);
  expect(res.headers.get("x-request-id")).toBe(body.correlationId);
  // No stack traces or server paths in any error.
  expect(JSON.stringify(body)).not.toMatch(/\/tmp\/|\/work\/|at .*\(.*:\d+:\d+\)|node_modules/);
  return body as {
    error: string;
    details: Record<string, unknown>;
    code: string;
    status: number;
    correlationId: string;
  };
}

/** A body sent with chunked transfer encoding: a stream, so no Content-Length. */
export function chunked(bytes: Uint8Array, chunkSize = 16 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{(.*)\})? (.+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return 0;
}
