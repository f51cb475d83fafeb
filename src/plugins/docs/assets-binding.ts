/**
 * Swagger UI's files on Workers, which have no filesystem: wrangler.toml's `[assets]` uploads
 * the installed swagger-ui-dist package as static assets, bound as ASSETS with
 * `run_worker_first`, so every request still comes to the Worker and only the files the docs
 * routes name are ever served, with the app's headers. They do not count towards the
 * Worker's bundle size.
 */
import type { SwaggerUiFiles } from "./swagger-ui.js";

/** The part of the static assets binding used here (a Fetcher). */
export interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}

export function assetsBindingFiles(assets: AssetsBinding): SwaggerUiFiles {
  return {
    async read(file) {
      // The host is ignored by the binding: only the path names the asset.
      const res = await assets.fetch(new Request(`https://assets.invalid/${file}`));
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel();
        throw new Error(`static asset ${file}: ${res.status} from the ASSETS binding`);
      }
      return res.body;
    },
  };
}
