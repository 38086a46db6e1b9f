// An ES module ecosystem file (pm2 start ecosystem.config.mjs)
const port = Number(process.env.BASE_PORT ?? 6000);

export default {
  apps: [
    { name: 'esm-api', script: './app/server.js', env: { PORT: port } },
    { name: 'esm-worker', script: './app/worker.js', env: { PORT: port + 1 } },
  ],
};
