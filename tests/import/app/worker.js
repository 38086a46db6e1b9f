// A stand-in for a queue worker.
setInterval(() => {}, 1000);
