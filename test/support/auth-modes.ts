/**
 * The HTTP contract in its three authentication modes: anonymous (the original's
 * behaviour, which the admin UI relies on), API tokens, and OIDC against a real test
 * issuer. A target is started with the mode's environment and its `fetch` sends the
 * mode's credentials; `fetchAnonymous` sends none, so the suite can check both sides.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import type { ContractOptions, ContractTarget } from "./contract.js";
import { httpContract } from "./contract.js";
import { AUDIENCE, ROLE, startIssuer, type TestIssuer } from "./oidc-issuer.js";

export type AuthModeName = "anonymous" | "API tokens" | "OIDC";

interface AuthMode {
  name: AuthModeName;
  env(): Record<string, string>;
  /** The Authorization header value the mode's client sends, if any. */
  credentials(): Promise<string | undefined>;
}

/** Starts one OIDC issuer for the file and returns the three modes that use it. */
export function authModes(): AuthMode[] {
  let issuer: TestIssuer | undefined;
  beforeAll(async () => {
    issuer = await startIssuer();
  });
  afterAll(async () => {
    await issuer?.close();
  });
  const token = `iot_${randomBytes(32).toString("base64url")}`;
  const running = () => {
    if (!issuer) throw new Error("the test issuer is not running");
    return issuer;
  };
  return [
    { name: "anonymous", env: () => ({}), credentials: async () => undefined },
    {
      name: "API tokens",
      env: () => ({ API_TOKEN_HASHES: createHash("sha256").update(token).digest("hex") }),
      credentials: async () => `Bearer ${token}`,
    },
    {
      name: "OIDC",
      env: () => ({ OIDC_ISSUER: running().url, OIDC_AUDIENCE: AUDIENCE, OIDC_REQUIRED_ROLE: ROLE }),
      credentials: async () => `Bearer ${await running().token()}`,
    },
  ];
}

/** A target whose `fetch` carries the mode's credentials on every request. */
export function withCredentials(target: ContractTarget, mode: AuthMode): ContractTarget {
  return {
    ...target,
    authMode: mode.name,
    fetchAnonymous: target.fetch,
    async fetch(path, init = {}) {
      const authorization = await mode.credentials();
      if (!authorization) return target.fetch(path, init);
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", authorization);
      return target.fetch(path, { ...init, headers });
    },
  };
}

/** Runs the contract once per mode, each against a target started with that mode's settings. */
export function httpContractInModes(
  name: string,
  start: (env: Record<string, string>) => Promise<ContractTarget>,
  options?: ContractOptions,
) {
  for (const mode of authModes()) {
    httpContract(`${name}, ${mode.name}`, async () => withCredentials(await start(mode.env()), mode), options);
  }
}
