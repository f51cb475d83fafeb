/**
 * The private Mosquitto of a fleet run. Every device holds one connection, so the broker
 * needs a descriptor per device plus its listeners and the server's connection. Its
 * `max_connections` is set to what the run needs (unlimited would also do, but a number
 * says in the broker's own config what it was sized for), and the open-file limit it
 * inherited from this process is read back from /proc: a broker that cannot accept
 * every device fails the run at set-up, saying so, instead of refusing devices midway.
 * The limit is not raised here: it can only go up to the hard limit, which on the
 * machine this was built on equals the soft one (20,000), and 10,000 devices fit in it.
 */
import { type Broker, startBroker } from "../../test/support/mosquitto.js";
import { FleetError } from "./errors.js";
import { openFileLimit } from "./fds.js";

/** Connections beyond the devices: the server's, readiness probes, an operator's subscriber. */
const SPARE_CONNECTIONS = 50;
/** Descriptors beyond connections: listeners, log, epoll, and what the C library keeps open. */
const SPARE_FDS = 50;

export function brokerConfig(ports: { tcp: number; ws: number }, maxConnections: number): string {
  return `${[
    `listener ${ports.tcp} 127.0.0.1`,
    "protocol mqtt",
    `max_connections ${maxConnections}`,
    `listener ${ports.ws} 127.0.0.1`,
    "protocol websockets",
    `max_connections ${SPARE_CONNECTIONS}`,
    "persistence false",
    "allow_anonymous true",
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
  ].join("\n")}\n`;
}

export async function startFleetBroker(devices: number): Promise<Broker> {
  const maxConnections = devices + SPARE_CONNECTIONS;
  const broker = await startBroker({
    config: { write: async (_dir, ports) => brokerConfig(ports, maxConnections) },
  });
  const pid = broker.pid();
  const limit = pid === undefined ? undefined : await openFileLimit(pid);
  const needed = maxConnections + SPARE_FDS;
  if (limit !== undefined && limit < needed) {
    await broker.cleanup();
    throw new FleetError(
      "SETUP",
      `the private Mosquitto may open ${limit} files (inherited ulimit -n) but ${devices} devices need about ${needed}: ` +
        "raise the limit (ulimit -n, up to the hard limit) or use --broker with a broker sized for the fleet",
    );
  }
  return broker;
}
