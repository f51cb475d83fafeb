// The part of the "cloudflare:workers" module the Worker uses. The importable
// @cloudflare/workers-types (imported by path, so its globals stay out of the Node code)
// leave module blocks out; this brings the class back from its namespace.
declare module "cloudflare:workers" {
  import type { CloudflareWorkersModule } from "@cloudflare/workers-types/2023-07-01/index.js";
  export const DurableObject: typeof CloudflareWorkersModule.DurableObject;
  export type DurableObject<Env = unknown> = CloudflareWorkersModule.DurableObject<Env>;
}
