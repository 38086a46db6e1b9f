// A minimal Node HTTP server, the kind of app PM2 users run; unitgen's tests run it under systemd.
// Listens on the socket systemd passes (fd 3) when LISTEN_FDS is set, else on $PORT (default 3000).
// Answers every request with its pid as JSON; on SIGINT/SIGTERM stops accepting, lets in-flight
// requests finish, and exits 0.   Run: PORT=3000 node examples/node-app/server.js
'use strict';
const http = require('http');

const fromSystemd = Number(process.env.LISTEN_FDS) > 0 &&
  (!process.env.LISTEN_PID || Number(process.env.LISTEN_PID) === process.pid);
const listen = fromSystemd ? { fd: 3 } : { port: Number(process.env.PORT || 3000), host: process.env.HOST || '127.0.0.1' };
const where = fromSystemd ? 'fd:3' : `port:${listen.port}`;

const server = http.createServer((req, res) => {
  const body = JSON.stringify({ pid: process.pid, listen: where, instance: process.env.NODE_APP_INSTANCE ?? null, url: req.url }) + '\n';
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});

server.listen(listen, () => console.log(`node-app pid ${process.pid} listening on ${where}`));

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.log(`node-app got ${sig}, closing`);
    server.close(() => process.exit(0));
    if (server.closeIdleConnections) server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10000).unref();
  });
}
