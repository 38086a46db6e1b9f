// After the 755-restart incident: one process, restart limits, memory cap.
module.exports = {
  apps: [{
    name: 'proxy-service',
    script: 'server.js',
    cwd: __dirname + '/app/proxy-service',
    instances: 1,
    exec_mode: 'fork',
    autorestart: true,
    watch: false,
    max_restarts: 10,
    min_uptime: 10000,
    max_memory_restart: '500M',
    env: { NODE_ENV: 'development', PORT: 3000 },
    env_production: { NODE_ENV: 'production', PORT: 3000 },
  }],
};
