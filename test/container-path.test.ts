/**
 * The container path (README, "In a container") as far as it runs here. No container engine
 * can pull images on these machines, so the images are not built and compose is not run.
 * What is checked instead: compose.yaml, parsed, against the Dockerfile's runtime stage and
 * deploy/container.env (ports, volumes, env names, paths inside volumes, the key's secret);
 * and the image's command, user and environment run on the bundle with container.env, a
 * temporary folder standing for each volume or mount, next to a real Mosquitto started from
 * deploy/mosquitto/container.conf and the acl compose mounts.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORE_SETTINGS } from "../src/core/core-settings.js";
import { AUTH_SETTINGS } from "../src/plugins/auth/settings.js";
import { SERVER_SINK_PLUGINS } from "../src/plugins/sinks/server.js";
import { bootOutcome, expectRefusal } from "./support/boot-outcome.js";
import { compose, envFile, mount, runtimeStage, secretPath } from "./support/container-files.js";
import { testKeys } from "./support/keys.js";
import { type Broker, mosquittoAvailable, startBroker, subscribe } from "./support/mosquitto.js";
import { ROOT, type SpawnedServer, spawnServer } from "./support/server.js";
import { waitUntil } from "./support/wait.js";

const run = promisify(execFile);
const ENV_FILE = "deploy/container.env";
/** The official node images' `node` user (the Dockerfile's USER). */
const IMAGE_USERS: Record<string, { uid: number; gid: number }> = { node: { uid: 1000, gid: 1000 } };

describe("compose.yaml against the Dockerfile and deploy/container.env", () => {
  it("the server service: the image's port, its volume, the env file and the signing key's secret agree", async () => {
    const image = await runtimeStage();
    const { services, volumes = {}, secrets = {} } = await compose();
    const server = services.server;
    expect(server?.build).toBe(".");
    expect(server?.env_file).toBe(ENV_FILE);
    const env = await envFile(ENV_FILE);

    expect(env.HOST).toBe("0.0.0.0");
    const port = Number(env.PORT ?? image.env.PORT);
    expect(image.exposed).toContain(port);
    expect(server?.ports?.map((p) => Number(p.split(":").at(-1)))).toContain(port);

    // DATA_DIR lies in the image's volume, and compose puts a named volume there.
    const [volume] = image.volumes;
    const dataDir = env.DATA_DIR ?? image.env.DATA_DIR ?? "";
    expect(dataDir === volume || dataDir.startsWith(`${volume}/`)).toBe(true);
    const dataMount = server?.volumes?.map(mount).find((m) => m.target === volume);
    expect(dataMount?.named).toBe(true);
    expect(volumes).toHaveProperty(dataMount?.source as string);

    // The key file is a secret compose mounts into the server, from a file beside compose.yaml.
    const keySecret = server?.secrets?.find((name) => secretPath(name) === env.SIGNING_KEY_PATH);
    expect(keySecret, `SIGNING_KEY_PATH=${env.SIGNING_KEY_PATH} is no mounted secret`).toBeDefined();
    expect(secrets[keySecret as string]?.file).toMatch(/^\.\/[^/]+\.pem$/);
  });

  it("names only settings the server reads, with local checks allowed and every secret a placeholder", async () => {
    const env = await envFile(ENV_FILE);
    const known = new Set([
      ...Object.keys(CORE_SETTINGS),
      ...Object.keys(AUTH_SETTINGS),
      ...SERVER_SINK_PLUGINS.flatMap((plugin) => Object.keys(plugin.settings)),
    ]);
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    expect(env.ALLOWED_HOSTS?.split(",")).toEqual(expect.arrayContaining(["localhost", "127.0.0.1"]));
    expect(env.API_TOKEN_HASHES).toMatch(/^REPLACE_ME/);
    expect(env.MQTT_PASSWORD).toMatch(/^REPLACE_ME/);
  });

  it("the broker service: the NOTIFY_URL's host and port, deploy/mosquitto's acl, every path in a mount", async () => {
    const env = await envFile(ENV_FILE);
    const { services, volumes = {} } = await compose();
    const url = new URL(env.NOTIFY_URL ?? "");
    const broker = services[url.hostname];
    expect(broker?.image).toMatch(/^eclipse-mosquitto:2/);
    const mounts = broker?.volumes?.map(mount) ?? [];
    expect(mounts.find((m) => m.target === "/mosquitto/config/mosquitto.conf")?.source).toBe(
      "./deploy/mosquitto/container.conf",
    );
    const conf = await readFile(join(ROOT, "deploy/mosquitto/container.conf"), "utf8");
    expect(conf).toMatch(new RegExp(`^listener ${url.port}$`, "m"));
    expect(conf).toMatch(/^allow_anonymous false$/m);
    const aclPath = /^acl_file (\S+)$/m.exec(conf)?.[1];
    expect(mounts.find((m) => m.target === aclPath)?.source).toBe("./deploy/mosquitto/acl");
    const settingLines = conf.split("\n").filter((line) => !line.startsWith("#"));
    for (const path of settingLines.join("\n").match(/ \/\S+/g) ?? []) {
      const inside = mounts.find((m) => path.trim().startsWith(m.target));
      expect(inside, `${path} is in no mount of the broker`).toBeDefined();
    }
    for (const m of mounts.filter((m) => m.named)) expect(volumes).toHaveProperty(m.source);
    for (const m of mounts.filter((m) => !m.named)) await stat(join(ROOT, m.source));
  });
});

describe.skipIf(!mosquittoAvailable())(
  "the image's command, user and environment on the bundle, with the broker",
  () => {
    let scratch: string;
    let app: string;
    let broker: Broker | undefined;
    let server: SpawnedServer | undefined;
    const logins = { server: "server-password-1", device: "device-password-1" };
    const MAC = "a0-b1-c2-d3-e4-f5";

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), "iot-test-container-"));
      // The image's user must reach the bundle and the folders standing for its volumes.
      await chmod(scratch, 0o755);
      await run(process.execPath, ["scripts/build.mjs"], { cwd: ROOT });
      app = join(scratch, "app");
      await cp(join(ROOT, "dist"), join(app, "dist"), { recursive: true });
      broker = await startBroker({
        config: {
          probe: { username: "iotsupport", password: logins.server },
          async write(dir, ports) {
            // The broker's mounts (compose.yaml) as folders under `dir`; the logins made with
            // mosquitto_passwd -b, standing for README's `docker compose run … mosquitto_passwd`.
            for (const folder of ["config", "passwd", "data"]) await mkdir(join(dir, folder));
            await cp(join(ROOT, "deploy/mosquitto/acl"), join(dir, "config/acl"));
            const passwd = join(dir, "passwd/passwd");
            await run("mosquitto_passwd", ["-c", "-b", passwd, "iotsupport", logins.server]);
            await run("mosquitto_passwd", ["-b", passwd, MAC, logins.device]);
            const conf = await readFile(join(ROOT, "deploy/mosquitto/container.conf"), "utf8");
            return conf
              .replaceAll(" /mosquitto/", ` ${dir}/`)
              .replace(/^listener 1883$/m, `listener ${ports.tcp} 127.0.0.1`);
          },
        },
      });
    });
    afterAll(async () => {
      await server?.cleanup();
      await broker?.cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    /** The image's command (relative to its WORKDIR, here `app`), as its user, with this environment. */
    async function imageRun(env: Record<string, string>) {
      const image = await runtimeStage();
      const user = IMAGE_USERS[image.user];
      expect(user, `the Dockerfile's USER ${image.user}`).toBeDefined();
      const [program, ...args] = image.cmd;
      expect(program).toBe("node");
      const command = { command: process.execPath, args: args.map((a) => (a.startsWith("dist/") ? join(app, a) : a)) };
      const volume = await mkdtemp(join(scratch, "data-"));
      await chmod(volume, 0o755);
      await chown(volume, user?.uid as number, user?.gid as number);
      // The volume's path inside the image, moved to the folder standing for it; PORT=0 so
      // parallel tests do not collide on 3201.
      const dataDir = (env.DATA_DIR ?? image.env.DATA_DIR ?? "").replace(image.volumes[0] as string, volume);
      return { env: { ...image.env, ...env, DATA_DIR: dataDir, PORT: "0" }, command, user, volume };
    }

    it("as shipped: refuses to start with one line naming API_TOKEN_HASHES", async () => {
      const { env, command } = await imageRun(await envFile(ENV_FILE));
      expectRefusal(await bootOutcome(env, command), "API_TOKEN_HASHES");
    });

    it("filled in: serves as the image's user, writes into its volume, notifies a device through the broker", async () => {
      const shipped = await envFile(ENV_FILE);
      const keyFile = join(scratch, "signing-public.pem");
      await writeFile(keyFile, testKeys().spki, { mode: 0o644 });
      const token = "container-admin-token";
      const notify = new URL(shipped.NOTIFY_URL ?? "");
      notify.host = new URL(broker?.tcpUrl ?? "").host;
      const { env, command, user, volume } = await imageRun({
        ...shipped,
        API_TOKEN_HASHES: createHash("sha256").update(token).digest("hex"),
        MQTT_PASSWORD: logins.server,
        // The secret's mount point and the broker's service name, as this machine reaches them.
        SIGNING_KEY_PATH: shipped.SIGNING_KEY_PATH === secretPath("signing-public.pem") ? keyFile : "",
        NOTIFY_URL: notify.href,
      });
      server = await spawnServer(env, undefined, command, user);
      // Listening on 0.0.0.0; reached from the host as ALLOWED_HOSTS allows (the published port).
      expect(server.url).toMatch(/^http:\/\/0\.0\.0\.0:/);
      const url = server.url.replace("0.0.0.0", "127.0.0.1");
      await waitUntil("the server's sink to log in", async () => {
        const health = (await (await fetch(`${url}/api/health`)).json()) as { notifications: { ready: boolean } };
        return health.notifications.ready;
      });
      const device = await subscribe(broker?.tcpUrl ?? "", [`iotsupport/updates/configs/${MAC}`], {
        username: MAC,
        password: logins.device,
      });
      try {
        const res = await fetch(`${url}/api/configs/${MAC}`, {
          method: "PUT",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ content: { deviceName: "in a container" } }),
        });
        expect(res.status).toBe(200);
        expect((await device.waitFor(1)).map((m) => m.topic)).toEqual([`iotsupport/updates/configs/${MAC}`]);
      } finally {
        await device.close();
      }
      // Written by the image's user, inside the folder standing for the volume.
      const written = await stat(join(volume, "configs"));
      expect(written.uid).toBe(user?.uid);
      expect(await server.stop("SIGTERM")).toBe(0);
      server = undefined;
    });
  },
);
