/**
 * BENCHMARKS.md's sections about what the server does for operators: writes and their
 * notifications, authentication, rollouts, uploads, start-up, the Workers hub. Numbers
 * in the prose come from the run's figures (Figures.say), never from the text.
 */
import { authBench } from "../auth.js";
import { latencyBench } from "../notify-latency.js";
import { rolloutBench } from "../rollout.js";
import { throughputBench } from "../sink-throughput.js";
import { startupBench } from "../startup.js";
import { statusReportBench } from "../status-report.js";
import { uploadBench } from "../upload.js";
import { workerHubBench } from "../worker-hub.js";
import { writeBench } from "../write.js";
import { fmt } from "./figures.js";
import type { Section } from "./section.js";
import { HUB_SAMPLES, NOTIFY_SAMPLES, SINK_MESSAGES, UPLOAD_MIB } from "./settings.js";

const SINK_WINDOW = 20;

export const serverSections: Section[] = [
  {
    title: "Writes, status reports and notifications",
    commands: [
      "npx tsx bench/write.ts                  # PUT with MQTT tcp/ws vs no-op sink; PUT p99 broker down vs up",
      "npx tsx bench/status-report.ts          # PUT /files/status/{mac}.json vs a config save of the same size",
      `npx tsx bench/notify-latency.ts ${NOTIFY_SAMPLES}    # PUT sent → subscriber receives vs raw mqtt.js publish → receive`,
      `npx tsx bench/sink-throughput.ts ${SINK_MESSAGES} ${SINK_WINDOW} # notifier + metrics + MQTT sink vs raw mqtt.js`,
    ],
    about: () => [
      "`PUT /api/configs/{mac}` at 50 connections with MQTT notifications over TCP and over WebSocket, against " +
        "the same PUT with the no-op sink (alternating rounds, the median of each), and its p99 with the broker " +
        "stopped during the run against the broker up. A status report (`PUT /files/status/{mac}.json`) against " +
        "a config save of the same size on the same server, both durable before their answer. Notification " +
        "latency: PUT sent → a subscriber receives, against raw mqtt.js publish → receive on the same broker and " +
        `transport (${NOTIFY_SAMPLES} samples). Sink throughput: ${fmt(SINK_MESSAGES)} notifications handed to ` +
        `the notifier, metrics decorator and MQTT sink at once, against raw mqtt.js with ${SINK_WINDOW} messages ` +
        "in flight.",
    ],
    notes: (f) => [
      "The end-to-end notification latency starts when the PUT is sent, so it contains the durable write " +
        "itself: two fsyncs (the temporary file, then the directory after the rename). The PUT alone took " +
        `${f.say(/^PUT alone p50/, 2)} at p50 in this run. SPEC sends a notification only once the file is ` +
        "durably stored, so that cost is the PUT's; what the notification path adds on top of it " +
        `("minus the PUT alone") was ${f.say(/^notify latency tcp p50 minus the PUT alone/, 2)} over TCP and ` +
        `${f.say(/^notify latency ws p50 minus the PUT alone/, 2)} over WebSocket.`,
      "Raw mqtt.js never holds more messages than its window, while the benchmark hands the notifier its " +
        "notifications in one burst, as a storm of saves would: the backlog waits in the sink's queue (no promise " +
        "or closure per notification since issue 22: one receipt object each through notifier, decorator and " +
        "sink, about 260 bytes held per queued notification), and what is left over raw mqtt.js is mostly the " +
        "garbage collection of that backlog and the metrics per message. For scale: " +
        `the server saved ${f.say(/^write PUT with MQTT tcp rps/)} with MQTT over TCP in this run, and the sink ` +
        `alone sustained ${f.say(/^sink throughput tcp/)}.`,
      "Over WebSocket the PUT reached " +
        `${f.find(/^write PUT with MQTT ws rps/)?.ratio?.toFixed(2) ?? "n/a"}× the no-op sink, over TCP ` +
        `${f.find(/^write PUT with MQTT tcp rps/)?.ratio?.toFixed(2) ?? "n/a"}×: on 2 cores shared by the load ` +
        "tool, the server and Mosquitto, WebSocket framing (client-side masking in `ws`, libwebsockets in the " +
        "broker) takes CPU the no-op baseline does not spend.",
    ],
    run: async () => [
      ...(await writeBench()),
      ...(await statusReportBench()),
      ...(await latencyBench(NOTIFY_SAMPLES)),
      ...(await throughputBench(SINK_MESSAGES, SINK_WINDOW)),
    ],
  },
  {
    title: "Admin authentication",
    commands: [
      "npx tsx bench/auth.ts                   # GET /api/configs/{mac} with an API token / OIDC token vs anonymous",
    ],
    about: () => [
      "`GET /api/configs/{mac}` at 50 connections with a valid API token and with an OIDC token (signature " +
        "verified, key set cached, verified tokens remembered), each on its own server, against anonymous " +
        "requests to a third: five rounds, the order turning each round, medians compared.",
    ],
    run: authBench,
  },
  {
    title: "Rollouts",
    commands: ["npx tsx bench/rollout.ts                # release rate vs client PUTs; tipping report → next wave"],
    about: () => [
      "a) Configs on disk for the devices (the count is in the figure's name); as many " +
        "`PUT /api/configs/{mac}` from a client, as many in flight as a release saves at once, against a " +
        "rollout with one wave of 100 % over the same devices, from the create request to the last config " +
        "notification (each sent once its config is durably saved; every config then checked on disk), " +
        "alternating rounds, medians. b) Sequential rollouts with waves 1, 10, 50, 100 % and " +
        "`advance_when.applied_percent` 100, the benchmark reporting `ok` for each config notification and " +
        "polling `GET /api/rollouts/{id}`: from the answer to a wave's last report to the next wave's " +
        "`released_at`.",
    ],
    notes: (f) => [
      "A release skips what a client's PUT pays for (HTTP, parsing and validating the body) and saves the same " +
        "bytes the same way (ordered write, fsync, rename, notification). A decision waits for the engine's " +
        "next tick (every 0.5 s on Node, Deno and Bun; README, Rollouts), and a report lands at a random point " +
        `of it: compare the p50 (${f.say(/^rollout decision latency p50/)}) and the p99 ` +
        `(${f.say(/^rollout decision latency p99/)}) with that tick.`,
    ],
    run: rolloutBench,
  },
  {
    title: "Uploads and start-up",
    commands: [
      `npx tsx bench/upload.ts ${UPLOAD_MIB}             # upload vs fs copy, server peak RSS; version 2 vs version 1 signatures`,
      "npx tsx bench/startup.ts                # process start → first 200 on /api/health",
    ],
    about: () => [
      `A signed upload of ${fmt(UPLOAD_MIB)} MiB (\`BENCH_UPLOAD_MIB\`): throughput and the server's peak ` +
        "memory (VmHWM), against writing the same bytes with `fs` directly (read, write elsewhere, fsync); then " +
        "version 2 signatures (the server hashes the content before it commits) against version 1 on the same " +
        "file, and the p50 of repeated 16 MiB uploads, alternating. Start-up: the bundled Node server " +
        "(`npm start` runs it after building) from process start to its first 200 on `/api/health`, median of 7.",
    ],
    run: async () => [...(await uploadBench(UPLOAD_MIB)), ...(await startupBench())],
  },
  {
    title: "Workers notification hub",
    commands: [
      `npx tsx bench/worker-hub.ts ${HUB_SAMPLES}          # wrangler dev: hub vs per-request notify latency, cold hub, PUT rps vs no sink (hub in the same / its own process)`,
    ],
    about: () => [
      "`wrangler dev --local` with a private Mosquitto (MQTT over WebSocket), the same run measuring the " +
        "Worker with the hub (a Durable Object holding one connection), the Worker without the hub's binding " +
        "(a connection per saving request) and the Worker with no sink. The PUT rate with the hub twice: in the " +
        "Worker's own session, where the Worker, the hub and the R2 simulator share one workerd process, and as a " +
        "Worker of its own (`wrangler.hub.toml`) in a second session, a second workerd process, as deployed the " +
        "hub runs apart (its calls then pass through wrangler's dev-registry proxy, which a deployment does not " +
        "have). All on the same 2 cores as the load tool; each PUT through the hub costs one RPC and one Durable " +
        "Object storage write.",
    ],
    run: () => workerHubBench(HUB_SAMPLES),
  },
];
