/**
 * BENCHMARKS.md's sections about what devices do: read configs and assets, on each
 * runtime, and the fleet at size (listing, fleet view, the fleet simulator). Numbers in
 * the prose come from the run's figures (Figures.say), never from the text.
 */
import { DEFAULTS as FLEET_DEFAULTS } from "../../tools/fleet/options.js";
import { assetsBench } from "../assets.js";
import { fleetBench } from "../fleet.js";
import { FLEET_SIM_RUNS, fleetSimBench, fleetSimCommand } from "../fleet-sim.js";
import { fleetViewBench } from "../fleet-view.js";
import { listingBench } from "../listing.js";
import { readsBench } from "../reads.js";
import { runtimesBench } from "../runtimes.js";
import type { Section } from "./section.js";
import { FLEET_DEVICES } from "./settings.js";

/** The shared-topic comparison: every device hears every save, so it stays at a thousand devices. */
export const COMPARISON_DEVICES = Math.min(1000, FLEET_DEVICES);

export const deviceSections: Section[] = [
  {
    title: "Device reads",
    commands: [
      "npx tsx bench/reads.ts                  # cached GET /files/configs/{mac}.json 200/304 vs Hono hello-world (Node, Deno, Bun); nginx, bare node:http, bare Deno.serve",
      "npx tsx bench/profile-reads.ts [200|304] # top self-time functions under config-read load (not a figure)",
    ],
    about: () => [
      "A device reads its config over and over: the server is measured that way, the config saved once, then " +
        "read at 50 connections, cached and answered by the fast path before the Hono app runs. Each figure is " +
        'against a "hello-world": a Hono app on the same runtime and adapter answering a constant body of the ' +
        "config's size, the runtime's own ceiling for a Hono app. The runs alternate (A B C, C B A, …) and each " +
        'figure is the median of its rounds. The rows "with a device token and read recording" run with ' +
        "`DEVICE_AUTH=device`, each request carrying the device's own token. Bare node:http answering a constant " +
        "body and nginx (one worker, `sendfile on`) serving the same file are references without a goal. So is " +
        "Deno's floor: bare `Deno.serve` giving the route's answer (the config's bytes, SPEC's headers, 304 to its " +
        "ETag, an X-Request-Id) with no app at all, the cheapest way measured (bench/support/floor-deno.ts); the " +
        "bench refuses to run if its header names differ from the server's.",
    ],
    notes: (f) => [
      "A device token is checked from memory (one SHA-256 the first time a token is seen, then a map lookup; " +
        "the table is refreshed from storage at most once a second), so device reads stay on the fast path " +
        `like open ones: on Node ${f.say(/^config read 200 on Node with a device token/, 0, true)} against ` +
        `${f.say(/^config read 200 on Node rps/, 0, true)} open, on Bun ` +
        `${f.say(/^config read 200 on Bun with a device token/, 0, true)} against ` +
        `${f.say(/^config read 200 on Bun rps/, 0, true)}.`,
      "On Deno the hello-world is a hard ceiling for this answer: bare Deno.serve with no app reached " +
        `${f.say(/^reference bare Deno\.serve.*200/, 0, true)} for the 200 and ` +
        `${f.say(/^reference bare Deno\.serve.*304/, 0, true)} for the 304, and the server ` +
        `${f.find(/^config read 200 on Deno vs its floor/)?.ratio?.toFixed(2) ?? "n/a"}× and ` +
        `${f.find(/^config read 304 on Deno vs its floor/)?.ratio?.toFixed(2) ?? "n/a"}× of that floor. Two ` +
        "things in Deno 2.9 make the difference, neither the app's: only a response whose sole header is " +
        "Content-Type takes Deno's static fast path (the hello-world's), and its HTTP/1 writer sends head and " +
        "body in one write only when both fit a 512-byte per-connection buffer. The hello-world's 109-byte head " +
        "and the config's 182 bytes fit; the route's 393-byte head (SPEC's headers) does not, so each 200 takes " +
        "two `sendto` calls where the 304 (382 bytes) takes one (strace), as the hello-world's 200 would with a " +
        "config over 403 bytes.",
    ],
    run: readsBench,
  },
  {
    title: "Runtimes",
    commands: ["npx tsx bench/runtimes.ts               # GET /files/configs/{mac}.json on Node, Deno and Bun"],
    about: () => [
      "The same cached config read (`GET /files/configs/{mac}.json` at 50 connections, answered 200, then 304 " +
        "to If-None-Match with its ETag) on Node " +
        "(`dist/node.mjs`), Deno and Bun (their entry points, as `npm run start:deno` and `start:bun` run them), " +
        "one after the other with the same file; Node is the baseline. One run each, without the alternating " +
        "rounds of the reads above: read it as the runtimes' order more than as exact ratios.",
    ],
    run: runtimesBench,
  },
  {
    title: "Asset streaming",
    commands: [
      "npx tsx bench/assets.ts                 # 1.5 MiB GET /files/assets/{name} at 10 conns vs bare createReadStream; nginx",
    ],
    about: () => [
      "`GET /files/assets/{name}` of a 1.5 MiB asset at 10 connections, against a bare node:http server piping " +
        "`fs.createReadStream` into the response with a Content-Length, in alternating rounds; nginx " +
        "(one worker, `sendfile on`) serving the same file is a reference without a goal.",
    ],
    run: assetsBench,
  },
  {
    title: "Listing and fleet view",
    commands: [
      "npx tsx bench/listing.ts                # GET /api/configs over 10,000 configs: warm p50/p99, cold first request",
      "npx tsx bench/fleet-view.ts             # GET /api/devices over 10,000 devices with records vs GET /api/configs",
    ],
    about: () => [
      "`GET /api/configs` over the configs written straight into the configs folder (the count is in each " +
        "figure's name): p50/p99 of sequential warm requests against `fs.readdir` of the folder, and the first " +
        "request after start (cold) against reading and parsing every file in the benchmark process. " +
        "`GET /api/devices` over as many devices, each with a config and fleet records written in the server's " +
        "own format (a batch of fetches, a report for every other device), alternating with `GET /api/configs`.",
    ],
    notes: () => [
      "The cold listing pays one open, two stats and a read per file through the same checks as every read " +
        "(no links out, no FIFOs), against a baseline that only reads; it happens once per boot. Warm, both " +
        "listings are kept as bytes, so a request copies them out and encodes nothing again.",
    ],
    run: async () => [...(await listingBench()), ...(await fleetViewBench())],
  },
  {
    title: "Fleet simulator",
    commands: [
      `npx tsx bench/fleet.ts ${COMPARISON_DEVICES}                # per-device topics vs the shared topic`,
      `npx tsx bench/fleet-sim.ts ${FLEET_DEVICES}          # the three runs below, in one process`,
      ...Object.values(FLEET_SIM_RUNS).map((extra) => fleetSimCommand(FLEET_DEVICES, extra)),
    ],
    about: () => [
      `**The figures of this section are at ${FLEET_DEVICES.toLocaleString("en-US")} devices** ` +
        "(`BENCH_FLEET_DEVICES`). tools/fleet simulates ESP32s, each with its own MQTT connection: one config " +
        "save per device, then one firmware upload; each device fetches its config (If-None-Match), reports it " +
        "applied it, and reads the firmware header, and the run waits for the fleet view to show every device " +
        `current. First ${COMPARISON_DEVICES.toLocaleString("en-US")} devices on the shared topic (the baseline: ` +
        "every device hears every save) against the same fleet on its own topics. Then three runs on their own " +
        "topics, in 2 shards (child processes), against a private Mosquitto and server: devices reporting over " +
        "HTTP, then one rollout over every device (waves " +
        `${FLEET_SIM_RUNS.http.split(" ").at(-1)} %, none failing); devices reporting over MQTT (QoS 1 to ` +
        "`iotsupport/status/<mac>`, the server with `MQTT_STATUS_TOPICS=true`); and the same rollout with a " +
        `share of the devices failing (${FLEET_SIM_RUNS.failing.split(" ").at(-1)}, chosen by a hash of the MAC), ` +
        "which must halt in its first wave. The server's and the broker's memory and the server's storage are " +
        "read when both have started and again when the fleet view first shows every device current.",
    ],
    notes: (f) => [
      'In the first rows the baseline is the shared-topic fleet, except for "converged", whose baseline is the ' +
        "fleet's size. Every time includes the simulator's own event loop (its p99 delay in the worst process was " +
        `${f.say(/^fleet sim .* simulator event-loop delay p99/)}): read them as upper bounds. The reports' p99 ` +
        "is the simulator's queue as much as the server's: every device request of a shard (fetches, reports " +
        "and the firmware header reads the upload sets off at once) shares " +
        `${FLEET_DEFAULTS.fetchConcurrency} slots. The writes for read records are one batch per process and ` +
        "flush, whatever the fleet's size. An MQTT report, acknowledged to the broker on arrival, goes into the " +
        "view at once and is written in the background (src/features/fleet/report-backlog.ts).",
    ],
    run: async () => [...(await fleetBench(COMPARISON_DEVICES)), ...(await fleetSimBench(FLEET_DEVICES))],
  },
];
