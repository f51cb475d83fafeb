/**
 * /api/configs: list, get, create-or-update, delete per-device configurations.
 * Notifications go out only after a successful save, never for a delete.
 */
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppDeps, AppEnv } from "../deps.js";
import { payloadTooLarge, validationFailed } from "../errors.js";
import { normaliseMac } from "../names.js";
import type { ConfigOperation } from "../observer.js";
import { secondsSince } from "../observer.js";
import { CONTENT_TOO_DEEP, nestsWithin, PutConfigBody } from "../schemas.js";
import { type ConfigContent, toSummary } from "../storage.js";

const isJson = (contentType: string | undefined) =>
  !!contentType && /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType.trim());

export function configRoutes(deps: AppDeps) {
  const { configs, notifier, observer } = deps;

  /** Times an operation and counts its outcome, failures included. */
  const measured = async <T>(operation: ConfigOperation, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    let status: "success" | "error" = "error";
    try {
      const result = await work();
      status = "success";
      return result;
    } finally {
      observer.configOperation(operation, status, secondsSince(start));
    }
  };

  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const list = await measured("list", () => configs.list());
      observer.configFilesCounted(list.length);
      return c.json({ configs: list.map(toSummary), count: list.length });
    })
    .get("/:mac", async (c) => {
      const mac = normaliseMac(c.req.param("mac"));
      return c.json(await measured("get", () => configs.get(mac)));
    })
    .put(
      "/:mac",
      async function checkMacFirst(c, next) {
        // A bad MAC is reported before anything about the body.
        normaliseMac(c.req.param("mac"));
        await next();
      },
      bodyLimit({
        maxSize: deps.limits.maxConfigBytes,
        onError: () => {
          throw payloadTooLarge(deps.limits.maxConfigBytes);
        },
      }),
      zValidator("json", PutConfigBody, (result, c) => {
        if (result.success) return;
        if (!isJson(c.req.header("content-type"))) {
          throw validationFailed("Request body must be JSON (Content-Type: application/json)", { field: "body" });
        }
        const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
        const first = issues[0];
        throw validationFailed(
          first ? `Invalid request body: ${first.path || "body"}: ${first.message}` : "Invalid request body",
          { field: first?.path.split(".")[0] || "body", issues },
        );
      }),
      async (c) => {
        const mac = normaliseMac(c.req.param("mac"));
        const body = c.req.valid("json");
        // zod rebuilds a record key by key and drops a "__proto__" key (against prototype pollution), so a
        // valid body could lose a key and still answer 200. Store the content exactly as sent: the same
        // text parsed again (Hono caches it), where JSON.parse makes every key an own property. The
        // schema checked the depth of zod's copy; check the kept key's subtree too, by checking it all.
        const { content } = (await c.req.json()) as { content: ConfigContent };
        if (!nestsWithin(content)) {
          throw validationFailed(`Invalid request body: content: ${CONTENT_TOO_DEEP}`, { field: "content" });
        }
        const { config, created } = await measured("save", () => configs.save(mac, content, body.allow_overwrite));
        if (created) observer.configFilesChanged(1);
        notifier.configSaved(mac);
        return c.json(config, 200);
      },
    )
    .delete("/:mac", async (c) => {
      const mac = normaliseMac(c.req.param("mac"));
      await measured("delete", () => configs.remove(mac));
      observer.configFilesChanged(-1);
      return c.body(null, 204);
    });
}
