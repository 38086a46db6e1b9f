// A small app as people write them: http.createServer(...).listen(process.env.PORT || 3000).
// The preload tests run it with knobs in the environment to vary only how it listens:
//   LISTEN_FORM   "port" (default), "port-host" (listen(PORT, LISTEN_HOST)), "options"
//                 (listen({ port: PORT })), "path" (listen(SOCK)), "path-options"
//                 (listen({ path: SOCK })), "fd" (listen({ fd: 3 }), a systemd-aware app)
//   SECOND_PORT   also listen(SECOND_PORT) with a second server
//   DELAY_MS      wait this long before listening
//   OWN_SIGTERM   handle SIGTERM itself (print "app: SIGTERM" and keep running)
// Routes: / (who answered: pid, ppid, server.address()), /slow?ms=N, /stream?ms=N (headers at
// once, the body N ms later), /child-fds (the fds a child process of the app has, and whether
// it was given UNITGEN_LISTEN).
'use strict';
const fs = require('fs');
const http = require('http');
const { execFile } = require('child_process');

function handler(server) {
  return (req, res) => {
    res.setHeader('X-Pid', process.pid);
    const url = new URL(req.url, 'http://x');
    const ms = Number(url.searchParams.get('ms') || 0);
    const reply = (extra) => {
      const body = JSON.stringify({ pid: process.pid, ppid: process.ppid, address: server.address(), ...extra });
      res.setHeader('Content-Type', 'application/json');
      res.end(body + '\n');
    };
    switch (url.pathname) {
      case '/slow':
        setTimeout(reply, ms);
        break;
      case '/stream':
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' });
        res.write('he');
        setTimeout(() => res.end('llo'), ms);
        break;
      case '/child-fds':
        execFile('sh', ['-c', 'ls -l /proc/self/fd; echo "UNITGEN_LISTEN=${UNITGEN_LISTEN-unset}"'], (err, out) =>
          reply({ childFds: err ? String(err) : out }));
        break;
      default:
        reply({});
    }
  };
}

function serve(port) {
  const server = http.createServer();
  server.on('request', handler(server));
  server.on('error', (e) => {
    console.log('listen error', e.code);
  });
  server.on('listening', () => {
    // What the readiness directory holds when the app hears 'listening' (the markers must come
    // after).
    const dir = process.env.UNITGEN_READY_DIR;
    const ready = dir ? ' ready-dir ' + JSON.stringify(fs.readdirSync(dir).sort()) : '';
    console.log('listening', JSON.stringify(server.address()) + ready);
  });
  return server;
}

function start() {
  const server = serve();
  const form = process.env.LISTEN_FORM || 'port';
  if (form === 'port') server.listen(process.env.PORT || 3000);
  else if (form === 'port-host') server.listen(process.env.PORT, process.env.LISTEN_HOST);
  else if (form === 'options') server.listen({ port: Number(process.env.PORT) });
  else if (form === 'path') server.listen(process.env.SOCK);
  else if (form === 'path-options') server.listen({ path: process.env.SOCK });
  else if (form === 'fd') server.listen({ fd: 3 });
  if (process.env.SECOND_PORT) serve().listen(process.env.SECOND_PORT);
}

if (process.env.OWN_SIGTERM) {
  process.on('SIGTERM', () => console.log('app: SIGTERM'));
}
if (process.env.DELAY_MS) setTimeout(start, Number(process.env.DELAY_MS));
else start();
