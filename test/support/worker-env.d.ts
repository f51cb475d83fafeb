// The bindings tests running inside workerd (vitest.workers.config.ts) get from "cloudflare:workers".
declare module "cloudflare:workers" {
  export const env: { BUCKET: import("@cloudflare/workers-types/2023-07-01/index.js").R2Bucket };
}
