// Serves an express app that holds a Parse Server, on loopback, until a signal: then it stops
// accepting, closes Parse's database pool and exits 0. Shared by the suite's Parse Servers
// (parse-app.mjs) and the playground's (playground/parse-and-page.mjs).

/** Listens on 127.0.0.1:`port`, logging `listening` once up; a listen error exits 1. */
export function serveUntilSignalled(app, server, { port, label, listening, signals = ['SIGTERM'] }) {
  const http = app.listen(port, '127.0.0.1', () => console.log(listening));
  http.on('error', (e) => {
    console.error(`${label}: ${e.message}`);
    process.exit(1);
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    http.closeAllConnections?.();
    http.close();
    try {
      await server.handleShutdown?.();
    } finally {
      process.exit(0);
    }
  };
  for (const signal of signals) process.on(signal, stop);
  return http;
}
