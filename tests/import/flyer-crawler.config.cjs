// Production: pm2 startOrReload ecosystem.config.cjs --env production --update-env
const path = require('path');

const shared = {
  cwd: path.join(__dirname, 'app/flyer'),
  env_file: '.env',
  max_memory_restart: '512M',
  out_file: './logs/out.log',
  error_file: './logs/error.log',
  log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
};

module.exports = {
  namespace: 'flyer-crawler-prod',
  apps: [
    {
      ...shared,
      name: 'flyer-crawler-api',
      script: './dist/server.js',
      node_args: '--max-old-space-size=400 --enable-source-maps',
      env: { NODE_ENV: 'development', PORT: 3001, DB_HOST: process.env.DB_HOST || 'localhost' },
      env_production: { NODE_ENV: 'production', PORT: 3001 },
    },
    {
      ...shared,
      name: 'flyer-crawler-worker',
      script: './dist/worker.js',
      args: ['--queue', 'flyers'],
      env: { NODE_ENV: 'development', WORKER_CONCURRENCY: 4 },
      env_production: { NODE_ENV: 'production', WORKER_CONCURRENCY: 8 },
    },
    {
      ...shared,
      name: 'flyer-crawler-analytics-worker',
      script: './dist/analytics-worker.js',
      max_memory_restart: '256M',
      cron_restart: '0 4 * * *',
      env: { NODE_ENV: 'development' },
      env_production: { NODE_ENV: 'production' },
    },
  ],
};
