/**
 * The correlation id of a request: the client's X-Request-Id when it is a safe token,
 * else a new UUID. The same rule as Hono's requestId middleware, for the answers made
 * before or without the app (refused targets, a failed Worker boot, cached device reads).
 */
export function correlationIdOf(given: string | string[] | null | undefined): string {
  return typeof given === "string" && given.length > 0 && given.length <= 255 && !/[^\w\-=]/.test(given)
    ? given
    : crypto.randomUUID();
}
