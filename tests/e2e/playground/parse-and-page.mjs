// The playground's Parse side (scripts/playground.sh starts it): one Parse Server 9 mounted at
// /parse and, on the same origin, a sample app page at / that logs in with Instagram through
// igauth and ends in a Parse session. Configured through the environment:
//   PLAYGROUND_PORT     loopback port to listen on
//   PLAYGROUND_IGAUTH   igauth's base URL (http://127.0.0.1:PORT)
//   PLAYGROUND_API_KEY  igauth's API key (Parse's adapter sends it to /v1/introspect)
//   PLAYGROUND_DB       PostgreSQL URI of an empty database
//   PLAYGROUND_MASTER   Parse's master key
// Parse verifies every Instagram login through igauth's /v1/introspect (way 1).
import express from 'express';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParseServer } from 'parse-server';

import { serveUntilSignalled } from '../serve-parse.mjs';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`playground: ${name} is not set`);
    process.exit(2);
  }
  return value;
};
const port = Number(env('PLAYGROUND_PORT'));
const igauth = env('PLAYGROUND_IGAUTH');
const APP_ID = 'playground';
const origin = `http://127.0.0.1:${port}`;

const server = new ParseServer({
  appId: APP_ID,
  masterKey: env('PLAYGROUND_MASTER'),
  databaseURI: env('PLAYGROUND_DB'),
  serverURL: `${origin}/parse`,
  logsFolder: null,
  auth: {
    instagram: {
      oauth2: true,
      tokenIntrospectionEndpointUrl: `${igauth}/v1/introspect`,
      useridField: 'sub',
      authorizationHeader: `Bearer ${env('PLAYGROUND_API_KEY')}`,
    },
  },
});
await server.start();

const page = fs
  .readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'page.html'), 'utf8')
  .replaceAll('{{IGAUTH}}', igauth)
  .replaceAll('{{APP_ID}}', APP_ID);

const app = express();
app.use('/parse', server.app);
app.get('/', (_req, res) => res.type('html').set('Cache-Control', 'no-store').send(page));
serveUntilSignalled(app, server, {
  port,
  label: 'playground',
  listening: `playground page listening on ${origin}/`,
  signals: ['SIGTERM', 'SIGINT'],
});
