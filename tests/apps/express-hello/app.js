// An Express app as the guides write it: app.listen(process.env.PORT || 3000, callback). It also
// uses signal-exit (as execa, write-file-atomic and many others do), whose passive SIGTERM
// listener must not keep the preload from draining.
'use strict';
const express = require('express');
const { onExit } = require('signal-exit');

const app = express();
app.get('/', (req, res) => res.json({ hello: 'express', pid: process.pid, address: server.address() }));
app.get('/slow', (req, res) => {
  setTimeout(() => res.json({ pid: process.pid }), Number(req.query.ms || 0));
});
onExit(() => {
  console.log('exit hook ran');
});
const server = app.listen(process.env.PORT || 3000, () => {
  console.log('listening', JSON.stringify(server.address()));
});
