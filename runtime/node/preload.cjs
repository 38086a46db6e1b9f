'use strict';
// unitgen's preload for Node.js, loaded by every Node process of an app through
// NODE_OPTIONS=--require <this file>. It lets an unmodified app use the listening sockets that
// systemd holds for it:
//
//   1. the app's own server.listen(PORT) (http, https, express, fastify, koa: all end in
//      net.Server.prototype.listen) gets the inherited socket of the matching entry instead of
//      binding one;
//   2. a launcher that holds the sockets and listens on none of them (npm, npx, a #! script that
//      spawns the server) passes them to its children, so that npm -> sh -> node works;
//   3. when a server gets its socket and emits 'listening', <UNITGEN_READY_DIR>/listening-<i> is
//      created (ready = "listen");
//   4. on SIGTERM or SIGINT, unless the app listens for that signal itself, the servers that got a
//      socket stop accepting, finish what is in flight with "Connection: close", close idle
//      keep-alive connections, and the process exits 0 once no connection is left (or at
//      UNITGEN_DRAIN_MS).
//
// The environment it reads (set by the generated unit):
//   UNITGEN_LISTEN     JSON array of strings, one per socket in order: "3000" (a port on every
//                      address), "127.0.0.1:3000" or "[::1]:3000" (one address), "/run/app.sock"
//   UNITGEN_LISTEN_FD  the fd of the first entry (default 3); entry i is fd FIRST + i
//   LISTEN_FDS         set by systemd; must count at least the entries
//   UNITGEN_READY_DIR  where the readiness markers go (none when absent)
//   UNITGEN_DRAIN_MS   the graceful-stop deadline in ms (default 10000)
//
// Without UNITGEN_LISTEN it does nothing at all. It never writes to stdout; what it says goes to
// stderr on lines that start with "unitgen: ". Any inconsistency (bad JSON, an fd that is not a
// socket, ...) is said once and the app runs as if there were no preload. CommonJS, no
// dependency, Node 18 and later.

(function unitgenPreload() {
  const env = process.env;
  if (env.UNITGEN_LISTEN === undefined) return;

  const said = new Set();
  let fs;
  function say(msg) {
    if (said.has(msg)) return;
    said.add(msg);
    try {
      fs.writeSync(2, 'unitgen: ' + msg + '\n');
    } catch (_) {
      // stderr is gone: nowhere to say it
    }
  }

  try {
    fs = require('fs');
    // A cluster worker asks its primary for its listening socket; the primary (which loads this
    // preload too) hands it the inherited one.
    if (env.NODE_UNIQUE_ID !== undefined) return;
    if (!require('worker_threads').isMainThread) return;
    let setup;
    try {
      setup = readEnv();
    } finally {
      // Node's fs.realpathSync skips paths it has cached, and then looks at the mode of
      // whatever was stat'ed last (a shared buffer): left at a socket, it stops resolving, and
      // the main module /usr/bin/npm (a link into /usr/lib/node_modules) is then loaded from
      // /usr/bin, where npm cannot find its own files. Stat a plain file so that the buffer
      // says so, whatever readEnv found.
      try {
        fs.statSync(__filename);
      } catch (_) {
        // nothing to reset it with
      }
    }
    if (typeof setup === 'string') {
      say(setup + '; the app binds its own sockets');
      return;
    }
    install(setup);
  } catch (e) {
    say('the preload failed (' + describe(e) + '); the app binds its own sockets');
  }

  function describe(e) {
    return (e && (e.code || e.message)) || String(e);
  }

  // ---------------------------------------------------------------- the environment

  function parseEntry(s, net) {
    if (typeof s !== 'string') return null;
    if (s.startsWith('/')) return { path: s };
    let m = /^(\d{1,5})$/.exec(s);
    if (m) return portOk(+m[1]) ? { port: +m[1], host: null } : null;
    m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s);
    if (m && net.isIPv6(m[1]) && portOk(+m[2])) return { port: +m[2], host: m[1].toLowerCase() };
    m = /^([^:]+):(\d{1,5})$/.exec(s);
    if (m && net.isIPv4(m[1]) && portOk(+m[2])) return { port: +m[2], host: m[1] };
    return null;
  }

  function portOk(p) {
    return Number.isInteger(p) && p > 0 && p <= 65535;
  }

  // The entries and their fds, or a sentence saying why the sockets cannot be used.
  function readEnv() {
    const net = require('net');
    let list;
    try {
      list = JSON.parse(env.UNITGEN_LISTEN);
    } catch (e) {
      return 'UNITGEN_LISTEN is not valid JSON (' + JSON.stringify(env.UNITGEN_LISTEN) + ')';
    }
    if (!Array.isArray(list) || list.length === 0) {
      return 'UNITGEN_LISTEN is not a non-empty JSON array of strings (' + env.UNITGEN_LISTEN + ')';
    }
    let first = 3;
    if (env.UNITGEN_LISTEN_FD !== undefined) {
      if (!/^\d+$/.test(env.UNITGEN_LISTEN_FD) || +env.UNITGEN_LISTEN_FD < 3) {
        return 'UNITGEN_LISTEN_FD is ' + JSON.stringify(env.UNITGEN_LISTEN_FD) +
          ', not a file descriptor number of 3 or more';
      }
      first = +env.UNITGEN_LISTEN_FD;
    }
    if (env.LISTEN_FDS === undefined) {
      return 'UNITGEN_LISTEN is set but LISTEN_FDS is not: no socket was passed';
    }
    if (!/^\d+$/.test(env.LISTEN_FDS) || +env.LISTEN_FDS < list.length) {
      return 'LISTEN_FDS is ' + JSON.stringify(env.LISTEN_FDS) + ' but UNITGEN_LISTEN names ' +
        list.length + ' socket' + (list.length === 1 ? '' : 's');
    }
    const entries = [];
    for (let i = 0; i < list.length; i++) {
      const e = parseEntry(list[i], net);
      if (e === null) {
        return 'UNITGEN_LISTEN entry ' + JSON.stringify(list[i]) +
          ' is not a port, "address:port" or an absolute path';
      }
      e.index = i;
      e.text = list[i];
      e.fd = first + i;
      e.server = null;
      let st;
      try {
        st = fs.fstatSync(e.fd);
      } catch (err) {
        return 'fd ' + e.fd + ' (for ' + JSON.stringify(e.text) + ') is not open (' + describe(err) + ')';
      }
      if (!st.isSocket()) {
        return 'fd ' + e.fd + ' (for ' + JSON.stringify(e.text) + ') is not a socket';
      }
      e.ino = st.ino;
      entries.push(e);
    }
    let drainMs = 10000;
    if (env.UNITGEN_DRAIN_MS !== undefined) {
      if (/^\d+$/.test(env.UNITGEN_DRAIN_MS)) {
        drainMs = +env.UNITGEN_DRAIN_MS;
      } else {
        say('UNITGEN_DRAIN_MS is ' + JSON.stringify(env.UNITGEN_DRAIN_MS) +
          ', not a number of milliseconds; draining for at most 10000 ms');
      }
    }
    return { entries, first, drainMs, readyDir: env.UNITGEN_READY_DIR || null };
  }

  // Is the socket of this entry listening, and on the entry's port? Read from /proc/self/net:
  // true, or a sentence saying what is wrong. Unknown (no /proc, another network namespace)
  // counts as fine: fstat already said it is a socket.
  function checkListening(e) {
    const files = e.path ? ['unix'] : ['tcp6', 'tcp'];
    for (const f of files) {
      let text;
      try {
        text = fs.readFileSync('/proc/self/net/' + f, 'latin1');
      } catch (_) {
        continue;
      }
      const ino = String(e.ino);
      for (const line of text.split('\n')) {
        if (line.indexOf(' ' + ino) < 0) continue;
        const c = line.trim().split(/\s+/);
        if (e.path) {
          // Num RefCount Protocol Flags Type St Inode Path
          if (c[6] !== ino) continue;
          if ((parseInt(c[3], 16) & 0x10000) === 0) return 'not a listening socket';
          return true;
        }
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        if (c[9] !== ino) continue;
        if (c[3] !== '0A') return 'not a listening socket';
        const port = parseInt(c[1].split(':')[1], 16);
        if (port !== e.port) return 'listening on port ' + port + ', not ' + e.port;
        return true;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- install

  function install(setup) {
    const net = require('net');
    const path = require('path');
    const childProcess = require('child_process');
    const entries = setup.entries;
    const origListen = net.Server.prototype.listen;
    const origSpawn = childProcess.ChildProcess.prototype.spawn;
    const origClose = net.Server.prototype.close;
    if (typeof origListen !== 'function' || typeof origSpawn !== 'function') {
      say('this Node has no net.Server.prototype.listen or ChildProcess.prototype.spawn to patch; ' +
        'the app binds its own sockets');
      return;
    }
    let claimedAny = false;
    const servers = []; // servers that got a systemd socket

    // ---- 1. listen

    function toNumber(x) {
      x = Number(x);
      return x >= 0 ? x : false;
    }

    function validPort(p) {
      if (typeof p === 'string' && p.trim() === '') return false;
      if (typeof p !== 'number' && typeof p !== 'string') return false;
      return +p === (+p >>> 0) && +p > 0 && +p <= 65535;
    }

    // What the app asked for, read the way Node's listen reads its arguments:
    // { port, host } | { path } | { fd } | null (anything else: left to Node).
    function asked(args) {
      if (args.length === 0) return null;
      const a0 = args[0];
      let r = null;
      let opts = null;
      if (a0 !== null && typeof a0 === 'object') {
        opts = a0;
        if (opts._handle || opts.handle) return null;
        if (typeof opts.fd === 'number') {
          r = { fd: opts.fd };
        } else if (opts.port !== undefined && opts.port !== null) {
          if (!validPort(opts.port)) return null;
          r = { port: +opts.port, host: opts.host || null };
        } else if (typeof opts.path === 'string' && opts.path !== '') {
          r = { path: opts.path };
        } else {
          return null;
        }
      } else if (typeof a0 === 'string' && toNumber(a0) === false) {
        r = { path: a0 };
      } else if (typeof a0 === 'number' || typeof a0 === 'string') {
        if (!validPort(a0)) return null;
        const host = args.length > 1 && typeof args[1] === 'string' ? args[1] : null;
        r = { port: +a0, host: host || null };
      } else {
        return null;
      }
      const last = args[args.length - 1];
      r.cb = typeof last === 'function' ? last : null;
      r.backlog = (opts && opts.backlog) ||
        toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]) || null;
      r.signal = opts && opts.signal ? opts.signal : null;
      return r;
    }

    function unbracket(h) {
      return h.length > 1 && h[0] === '[' && h[h.length - 1] === ']' ? h.slice(1, -1) : h;
    }
    function showHost(h) {
      return net.isIPv6(h) ? '[' + h + ']' : h;
    }
    function isAny(h) {
      return h === '0.0.0.0' || h === '::' || h === '::0';
    }
    function isLoopback(h) {
      return h === '127.0.0.1' || h === '::1';
    }

    // The entry for this request and what to say about it, or null.
    function choose(req) {
      if (req.fd !== undefined) {
        const e = entries.find((x) => x.fd === req.fd && x.server === null);
        return e ? { e, warn: null } : null;
      }
      if (req.path !== undefined) {
        if (req.path[0] === '\0') return null;
        const p = path.resolve(req.path);
        const e = entries.find((x) => x.path !== undefined && x.path === p && x.server === null);
        return e ? { e, warn: null } : null;
      }
      const host = req.host === null ? null : unbracket(String(req.host).toLowerCase());
      const candidates = entries.filter((x) => x.port === req.port && x.server === null);
      if (candidates.length === 0) return null;
      const score = (x) => {
        if (x.host === host) return 4;
        if (x.host === null && (host === null || isAny(host))) return 4;
        if (host === null) return 3;
        if (host === 'localhost' && x.host !== null && isLoopback(x.host)) return 3;
        if (x.host === null) return 2;
        return 1;
      };
      let best = candidates[0];
      for (const x of candidates) if (score(x) > score(best)) best = x;
      const s = score(best);
      let warn = null;
      const where = showHost(host || '') + ':' + req.port;
      if (s === 2) {
        const local = host === 'localhost' ? '127.0.0.1' : showHost(host);
        warn = 'the app listens on ' + where + ', but listen = [' + req.port +
          '] accepts on every address; write listen = ["' + local + ':' + req.port +
          '"] to keep it local';
      } else if (s === 1) {
        warn = 'the app listens on ' + where + ', but listen = ["' + best.text +
          '"] accepts on ' + showHost(best.host) + ' only; the app gets that socket (make the two agree)';
      }
      return { e: best, warn };
    }

    function unitgenListen(...args) {
      let pick = null;
      let req = null;
      try {
        if (!this.listening) {
          req = asked(args);
          if (req !== null) pick = choose(req);
          if (pick !== null) {
            const bad = checkListening(pick.e);
            if (bad !== true) {
              say('fd ' + pick.e.fd + ' (for ' + JSON.stringify(pick.e.text) + ') is ' + bad +
                '; the app binds its own socket');
              pick = null;
            }
          }
        }
      } catch (e) {
        say('could not read the arguments of listen (' + describe(e) + '); the app binds its own socket');
        pick = null;
      }
      if (pick === null) return origListen.apply(this, args);

      const e = pick.e;
      if (pick.warn) say(pick.warn);
      let result;
      if (req.fd !== undefined) {
        // A systemd-aware app that takes its fd itself: nothing to rewrite.
        result = origListen.apply(this, args);
      } else {
        const opts = { fd: e.fd };
        if (req.signal) opts.signal = req.signal;
        // Keep the queue systemd made (the kernel caps this at net.core.somaxconn) unless the app
        // asked for a backlog of its own: Node would shrink it to 511.
        const newArgs = [opts, req.backlog || 0x7fffffff];
        if (req.cb) newArgs.push(req.cb);
        result = origListen.apply(this, newArgs);
      }
      try {
        claim(this, e);
      } catch (err) {
        say('could not follow the server of ' + JSON.stringify(e.text) + ' (' + describe(err) + ')');
      }
      return result;
    }

    function claim(server, e) {
      e.server = server;
      claimedAny = true;
      if (e.path !== undefined && !server._pipeName) {
        // Node reads the path of a Unix socket server from here (server.address()).
        server._pipeName = e.path;
      }
      servers.push(server);
      follow(server);
      if (setup.readyDir !== null) {
        server.once('listening', () => {
          const file = path.join(setup.readyDir, 'listening-' + e.index);
          try {
            fs.writeFileSync(file, '');
          } catch (err) {
            say('could not write the readiness marker ' + file + ' (' + describe(err) + ')');
          }
        });
      }
      catchSignals();
    }

    // ---- 2. children

    // The stdio of a child with the sockets appended (a child's fd numbers are the indexes in
    // its stdio), or null when stdio is something Node will refuse anyway.
    function withSockets(stdio) {
      stdio = stdio || 'pipe';
      if (typeof stdio === 'string') {
        if (stdio === 'inherit') stdio = [0, 1, 2];
        else if (stdio === 'pipe' || stdio === 'ignore' || stdio === 'overlapped') stdio = [stdio, stdio, stdio];
        else return null;
      } else if (Array.isArray(stdio)) {
        stdio = stdio.slice();
        while (stdio.length < 3) stdio.push(undefined);
      } else {
        return null;
      }
      const at = stdio.length;
      for (const e of entries) stdio.push(e.fd);
      return { stdio, at };
    }

    // Does a child with this environment get the sockets (true), none and no UNITGEN_LISTEN
    // either, so that a Node child does not look for sockets it does not have (false), or is it
    // none of our business, having an environment of its own (null)?
    function childGets(listen, clusterWorker) {
      if (listen !== env.UNITGEN_LISTEN) return null;
      return !(claimedAny || clusterWorker);
    }

    // ChildProcess.prototype.spawn's options: the file, args, stdio and envPairs (["K=V"]).
    function passFds(options) {
      if (options === null || typeof options !== 'object') return;
      let pairs = options.envPairs;
      if (pairs === undefined) pairs = Object.keys(env).map((k) => k + '=' + env[k]);
      if (!Array.isArray(pairs)) return;
      const value = (k) => {
        const p = pairs.find((x) => x.startsWith(k + '='));
        return p === undefined ? undefined : p.slice(k.length + 1);
      };
      const gets = childGets(value('UNITGEN_LISTEN'), value('NODE_UNIQUE_ID') !== undefined);
      if (gets === null) return;
      const drop = (names) => pairs.filter((p) => !names.some((k) => p.startsWith(k + '=')));
      if (!gets) {
        options.envPairs = drop(['UNITGEN_LISTEN', 'UNITGEN_LISTEN_FD']);
        return;
      }
      const w = withSockets(options.stdio);
      if (w === null) return;
      options.stdio = w.stdio;
      options.envPairs = drop(['UNITGEN_LISTEN_FD', 'LISTEN_FDS']);
      options.envPairs.push('UNITGEN_LISTEN_FD=' + w.at, 'LISTEN_FDS=' + entries.length);
    }

    function unitgenSpawn(options) {
      try {
        passFds(options);
      } catch (e) {
        say('could not pass the sockets to a child process (' + describe(e) + ')');
      }
      return origSpawn.apply(this, arguments);
    }

    // spawnSync, execSync and execFileSync do not go through ChildProcess.prototype.spawn: their
    // options (stdio, env) are rewritten the same way. Which argument is the options object:
    // spawnSync(file[, args][, options]), execFileSync(file[, args][, options]),
    // execSync(command[, options]).
    function syncOptions(options) {
      if (options !== undefined && (options === null || typeof options !== 'object')) return options;
      const childEnv = (options && options.env) || env;
      const gets = childGets(childEnv.UNITGEN_LISTEN, childEnv.NODE_UNIQUE_ID !== undefined);
      if (gets === null) return options;
      const o = Object.assign({}, options);
      o.env = Object.assign({}, childEnv);
      if (!gets) {
        delete o.env.UNITGEN_LISTEN;
        delete o.env.UNITGEN_LISTEN_FD;
        return o;
      }
      const w = withSockets(o.stdio);
      if (w === null) return options;
      o.stdio = w.stdio;
      o.env.UNITGEN_LISTEN_FD = String(w.at);
      o.env.LISTEN_FDS = String(entries.length);
      return o;
    }

    function wrapSync(name, hasArgs) {
      const orig = childProcess[name];
      if (typeof orig !== 'function') return null;
      return function (...args) {
        try {
          const i = hasArgs && (Array.isArray(args[1]) || args[1] == null) ? 2 : 1;
          while (args.length <= i) args.push(undefined);
          args[i] = syncOptions(args[i]);
        } catch (e) {
          say('could not pass the sockets to a child process (' + describe(e) + ')');
        }
        return orig.apply(this, args);
      };
    }
    const syncWrappers = {
      spawnSync: wrapSync('spawnSync', true),
      execFileSync: wrapSync('execFileSync', true),
      execSync: wrapSync('execSync', false),
    };

    // ---- 4. drain

    const conns = new Set(); // the connections of our servers (TLS: the TLS sockets)
    const sessions = new Set(); // HTTP/2 sessions
    let draining = false;
    const IDLE_GRACE_MS = Math.min(1000, Math.floor(setup.drainMs / 3));

    function follow(server) {
      const tls = typeof server.setSecureContext === 'function';
      server.on(tls ? 'secureConnection' : 'connection', (sock) => {
        conns.add(sock);
        sock.once('close', () => conns.delete(sock));
      });
      server.on('session', (session) => {
        sessions.add(session);
        session.once('close', () => sessions.delete(session));
      });
    }

    const handlers = {};
    function catchSignals() {
      for (const sig of ['SIGTERM', 'SIGINT']) {
        if (handlers[sig]) continue;
        handlers[sig] = () => onSignal(sig);
        // First in line, so that it sees every listener the app has at the moment the signal
        // arrives (a process.once listener is gone once it has run).
        process.prependListener(sig, handlers[sig]);
      }
    }

    // How many of the process's signal listeners belong to the signal-exit package (v3 and v4),
    // which stay passive while any other listener is there.
    function signalExitListeners() {
      let n = 0;
      try {
        const v3 = process.__signal_exit_emitter__;
        if (v3 && typeof v3.count === 'number') n += v3.count;
        const v4 = globalThis[Symbol.for('signal-exit emitter')];
        if (v4 && typeof v4.count === 'number') n += v4.count;
      } catch (_) {
        // not there
      }
      return n;
    }

    function onSignal(sig) {
      try {
        const others = process.listeners(sig).filter((l) => l !== handlers[sig]);
        if (others.length > signalExitListeners()) return; // the app stops itself
        if (draining) return;
        const ours = servers.filter((s) => s.listening);
        if (ours.length === 0) {
          // Nothing of ours to drain (the app closed them, or a cluster primary passed them
          // on): the signal does what it does without the preload.
          process.removeListener(sig, handlers[sig]);
          process.kill(process.pid, sig);
          return;
        }
        drain(sig, ours);
      } catch (e) {
        say('draining failed (' + describe(e) + '); exiting');
        process.exit(0);
      }
    }

    function drain(sig, ours) {
      draining = true;
      const started = Date.now();
      let left = ours.length;
      const done = () => {
        if (--left === 0) process.exit(0);
      };
      for (const s of ours) {
        // Stop accepting: close this process's copy of the listening socket. net's close, not
        // http's (Node >= 19 would drop idle keep-alive connections at once); 'close' comes
        // when the server's last connection is gone.
        origClose.call(s, done);
        // Requests that arrive from now on are answered with "Connection: close".
        s.prependListener('request', onRequestWhileDraining);
      }
      const open = conns.size;
      say(sig + ': stopped accepting on ' + entries.filter((e) => ours.includes(e.server))
        .map((e) => e.text).join(', ') + '; finishing ' + open + ' open connection' +
        (open === 1 ? '' : 's') + ' (at most ' + setup.drainMs + ' ms)');
      for (const sock of conns) {
        const res = sock._httpMessage;
        sock.unitgenIdleSince = started;
        sock.unitgenBytes = sock.bytesRead;
        if (res) lastResponse(res, sock);
      }
      for (const session of sessions) {
        try {
          session.close(); // GOAWAY: no new streams, the open ones finish
        } catch (_) {
          // already closing
        }
      }
      const tick = setInterval(closeIdle, Math.max(10, Math.min(50, IDLE_GRACE_MS)));
      tick.unref();
      setTimeout(() => {
        say(conns.size + ' connection' + (conns.size === 1 ? '' : 's') + ' still open after ' +
          setup.drainMs + ' ms (UNITGEN_DRAIN_MS); exiting');
        process.exit(0);
      }, setup.drainMs);
    }

    function onRequestWhileDraining(req, res) {
      try {
        if (req.socket && !req.stream) lastResponse(res, req.socket);
      } catch (_) {
        // an HTTP/2 compatibility request or something else: nothing to do
      }
    }

    // Make this response the connection's last: "Connection: close" in its headers, and Node
    // closes the connection once it is sent. (A response whose headers already went out with
    // keep-alive is left as it is: its client goes on to send its next request, which gets
    // "Connection: close". Closing right behind it instead would race that request.)
    function lastResponse(res, sock) {
      if (res.headersSent) return;
      res.shouldKeepAlive = false;
      res.once('finish', () => {
        // The app insisted on "Connection: keep-alive": end the connection after it anyway.
        if (res.shouldKeepAlive && typeof sock.destroySoon === 'function') sock.destroySoon();
      });
    }

    // An HTTP/1 connection with no response under way and nothing received for a grace period
    // is closed; the clients of busy connections are told by "Connection: close" instead.
    function closeIdle() {
      const now = Date.now();
      const idle = [];
      for (const sock of conns) {
        if (!sock.parser || sock.destroyed) continue; // not (or no longer) HTTP/1: left to end
        if (sock.unitgenIdleSince === undefined || busy(sock)) {
          sock.unitgenIdleSince = now;
          sock.unitgenBytes = sock.bytesRead;
          continue;
        }
        if (now - sock.unitgenIdleSince >= IDLE_GRACE_MS) idle.push(sock);
      }
      if (idle.length === 0 || closing) return;
      // Close each one right after a poll of the loop for I/O, which reads any request that has
      // just arrived on it (and makes it busy): one per turn of the loop, so that what is left
      // to race a close is a request sent in the microseconds between that poll and the close.
      closing = true;
      const next = () => {
        let sock;
        while ((sock = idle.pop()) !== undefined) {
          if (!sock.destroyed && !busy(sock)) {
            sock.destroy();
            break;
          }
        }
        if (idle.length > 0) setImmediate(next);
        else closing = false;
      };
      setImmediate(next);
    }
    let closing = false;

    function busy(sock) {
      return Boolean(sock._httpMessage) || sock.bytesRead !== sock.unitgenBytes;
    }

    // ---- patch, last, so that a failure above patches nothing

    net.Server.prototype.listen = unitgenListen;
    childProcess.ChildProcess.prototype.spawn = unitgenSpawn;
    for (const name of Object.keys(syncWrappers)) {
      if (syncWrappers[name] !== null) childProcess[name] = syncWrappers[name];
    }
  }
})();
