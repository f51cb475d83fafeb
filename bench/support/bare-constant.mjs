// Reference: bare node:http answering every request with a constant JSON body (no framework,
// no routing) — the most Node itself can do per request here. PORT from the environment.
import { createServer } from "node:http";
import { helloBody } from "./hello-body.mjs";

const bytes = helloBody();
const server = createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": bytes.length }).end(bytes);
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
