// Baseline for asset streaming: bare node:http doing fs.createReadStream(BARE_FILE).pipe(res)
// with the header work a file server must do (a stat for Content-Length, a Content-Type).
// GET /health answers 200 without touching the file. PORT from the environment.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";

const file = process.env.BARE_FILE;
const server = createServer(async (req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "Content-Length": 0 }).end();
    return;
  }
  const { size } = await stat(file);
  res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": size });
  createReadStream(file).pipe(res);
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
