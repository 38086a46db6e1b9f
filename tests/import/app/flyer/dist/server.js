// A stand-in for an app's entry point: import only checks that it exists.
require('http').createServer((req, res) => res.end('ok\n')).listen(process.env.PORT || 3000);
