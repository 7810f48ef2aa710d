/**
 * The gateway's local feature service in the bench: `GET /users/{id}` answers that user's
 * features as JSON, computed from the id (no state). Run as `node feature-service.js PORT`.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);

createServer((request, response) => {
  const id = decodeURIComponent((request.url ?? '/').slice((request.url ?? '/').lastIndexOf('/') + 1));
  const number = Number.parseInt(id.replace(/\D/g, ''), 10) || 0;
  const body = JSON.stringify({ userId: id, tenure: (number % 100) / 100 });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}).listen(port, '127.0.0.1', () => console.log(`feature service listening on ${port}`));
// Exit through process.exit on SIGTERM, so a `node --cpu-prof` run of this front writes its profile.
process.on('SIGTERM', () => process.exit(0));
