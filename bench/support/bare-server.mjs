// The device-read baseline: a bare node:http server that reads the same file from
// disk on every request and sends it. No framework, no ETag, no validation.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";

const file = process.env.BARE_FILE;
const server = createServer(async (req, res) => {
  if (req.url === "/api/health") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"healthy"}');
    return;
  }
  const body = await readFile(file);
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
