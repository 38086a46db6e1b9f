// increment_var and instance_var: PM2 (lib/God.js, injectVariables) gives each instance its
// own value, counting up from env.
module.exports = {
  apps: [
    {
      name: 'shard',
      script: 'app/server.js',
      instances: 3,
      increment_var: 'PORT',
      instance_var: 'INSTANCE_ID',
      env: { PORT: 4000 },
    },
    { name: 'no-base', script: 'app/server.js', instances: 2, exec_mode: 'cluster', increment_var: 'PORT' },
    {
      name: 'metrics',
      script: 'app/worker.js',
      instances: 2,
      exec_mode: 'fork',
      increment_var: 'METRICS_PORT',
      env: { METRICS_PORT: 9100 },
    },
  ],
};
