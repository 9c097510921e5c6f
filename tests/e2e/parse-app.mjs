// One Parse Server 9 in its own process, configured by the harness through the environment:
//   PARSE_APP_CONFIG  JSON of ParseServer options (serverURL is filled in here)
//   PARSE_APP_PORT    loopback port to listen on; Parse is mounted at /parse
// A process per Parse Server, because Parse keeps triggers, hooks and Cloud Code in
// process-wide registries: two differently configured servers cannot share one.
import express from 'express';
import { ParseServer } from 'parse-server';

import { serveUntilSignalled } from './serve-parse.mjs';

const config = JSON.parse(process.env.PARSE_APP_CONFIG ?? '{}');
const port = Number(process.env.PARSE_APP_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('parse-app: PARSE_APP_PORT must be a port number');
  process.exit(2);
}

const server = new ParseServer({
  logsFolder: null, // no ./logs directory left behind
  ...config,
  serverURL: `http://127.0.0.1:${port}/parse`,
});
await server.start();

const app = express();
app.use('/parse', server.app);
// Until SIGTERM from the harness: then stop accepting, close the database pool, exit 0.
serveUntilSignalled(app, server, { port, label: 'parse-app', listening: `parse-app listening on ${port}` });
