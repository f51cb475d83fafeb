/**
 * What authentication costs an admin read: GET /api/configs/{mac} at 50 connections with
 * an API token and with an OIDC token (key set cached, verified tokens remembered),
 * against the same server with no authentication, in the same run: five rounds, the
 * order turning each round, medians compared.
 */
import { createHash } from "node:crypto";
import { AUDIENCE, ROLE, startIssuer } from "../test/support/oidc-issuer.js";
import { assertClean, httpLoad, LOAD_TOOL } from "./support/http-load.js";
import { startServer } from "./support/server.js";
import { isMain, report } from "./support/stats.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const TOKEN = "iot_bench-admin-token-0123456789abcdefghijklmnopqrs";
const ROUNDS = 5;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

export async function authBench(): Promise<string[]> {
  const issuer = await startIssuer();
  const bundle = [process.execPath, "dist/node.mjs"];
  const servers = {
    anonymous: await startServer({}, bundle),
    token: await startServer({ API_TOKEN_HASHES: createHash("sha256").update(TOKEN).digest("hex") }, bundle),
    oidc: await startServer({ OIDC_ISSUER: issuer.url, OIDC_AUDIENCE: AUDIENCE, OIDC_REQUIRED_ROLE: ROLE }, bundle),
  };
  const headers = {
    anonymous: {},
    token: { Authorization: `Bearer ${TOKEN}` },
    oidc: { Authorization: `Bearer ${await issuer.token()}` },
  };
  const lines: string[] = [];
  try {
    for (const [kind, server] of Object.entries(servers) as Array<[keyof typeof servers, (typeof servers)["token"]]>) {
      const res = await fetch(`${server.url}/api/configs/${MAC}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", ...headers[kind] },
        body: JSON.stringify({ content: { deviceName: "bench", enableOTA: true } }),
      });
      if (res.status !== 200) throw new Error(`${kind}: PUT answered ${res.status}`);
    }
    const run = async (kind: keyof typeof servers) => {
      const url = `${servers[kind].url}/api/configs/${MAC}`;
      await httpLoad({ url, connections: 50, seconds: 1, headers: headers[kind] });
      return assertClean(kind, await httpLoad({ url, connections: 50, headers: headers[kind] }));
    };
    // Five rounds, medians compared: on two shared cores one run can drift by 30 %. The order
    // turns each round, so no kind always runs first (on a cooler machine) or last.
    const rps: Record<keyof typeof servers, number[]> = { anonymous: [], token: [], oidc: [] };
    const kinds = ["anonymous", "token", "oidc"] as const;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[(round + i) % kinds.length] as (typeof kinds)[number];
        rps[kind].push((await run(kind)).rps);
      }
    }
    const baseline = median(rps.anonymous);
    lines.push(
      report(
        `admin read GET /api/configs/{mac} anonymous rps (${LOAD_TOOL}, 50 conns)`,
        baseline,
        "req/s",
        undefined,
        0,
      ),
    );
    lines.push(report("admin read with an API token rps vs anonymous", median(rps.token), "req/s", baseline, 0));
    lines.push(report("admin read with an OIDC token rps vs anonymous", median(rps.oidc), "req/s", baseline, 0));
  } finally {
    for (const server of Object.values(servers)) await server.stop();
    await issuer.close();
  }
  return lines;
}

if (isMain(import.meta.url)) await authBench();
