// Asset Management System: pm2 start ecosystem.config.js --update-env
module.exports = {
  apps: [
    {
      name: 'asset-backend',
      script: './app/backend/server.js',
      instances: 1,
      exec_mode: 'fork',
      watch: ['app/backend'],
      ignore_watch: ['node_modules', 'logs', 'uploads'],
      max_memory_restart: '500M',
      restart_delay: 4000,
      max_restarts: 10,
      min_uptime: '10s',
      env: { NODE_ENV: 'development', PORT: 5000 },
      error_file: './logs/backend-error.log',
      out_file: './logs/backend-out.log',
      log_file: './logs/backend-combined.log',
      time: true,
    },
    {
      name: 'asset-frontend-dev',
      script: 'npm',
      args: 'run dev',
      cwd: './app/frontend',
      max_memory_restart: '300M',
      env: { NODE_ENV: 'development', PORT: 5173 },
      error_file: '../../logs/frontend-error.log',
      out_file: '../../logs/frontend-out.log',
    },
  ],
};
