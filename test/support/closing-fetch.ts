/**
 * fetch to a spawned server on a new connection per bodiless request (`Connection: close`), for the
 * suites that send hundreds of requests in sequence to one process. Why: a reused idle
 * keep-alive connection races the server's keepAliveTimeout (5 s; the client gives up at 4 s,
 * timed from when *it* read the last answer). On a machine so busy that the test process reads
 * an answer a second or more after the server sent it, the client can send on a connection the
 * server is closing at that moment ("other side closed", seen once in CI under stress-ng).
 * RFC 9112 §9.3.1 leaves such requests to the client to retry; these suites test answers, not
 * connection reuse (test/node-protocol.test.ts checks the keep-alive settings; other suites reuse).
 */
export function closingFetch(base: string): (path: string, init?: RequestInit) => Promise<Response> {
  return (path, init = {}) => {
    // Only requests without a body: the server answers an oversized body early (413) and, told
    // `close`, ends the connection while the client still writes, which undici reports as EPIPE
    // instead of the answer. Bodies keep the connection, as a real uploader's client does.
    if (init.body !== undefined && init.body !== null) return fetch(`${base}${path}`, init);
    const headers = new Headers(init.headers);
    headers.set("Connection", "close");
    return fetch(`${base}${path}`, { ...init, headers });
  };
}
