if (!process.env.DATABASE_URL) {
  throw new Error('DATABASE_URL must be set before loading the ecosystem file');
}
module.exports = { apps: [{ name: 'api', script: 'server.js' }] };
