module.exports = (env) => ({ apps: [{ name: 'api', script: 'server.js', env }] });
