/**
 * The ceiling of any Node front: plain `node:http` reading the POST body and answering a
 * constant. Run by `npm run bench -- fronts` as `node plain-http-front.js PORT`.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const BODY = Buffer.from(JSON.stringify({ outputs: { probability: [0.5] } }));

createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    response.end(BODY);
  });
}).listen(port, '127.0.0.1', () => console.log(`plain node:http front listening on ${port}`));
// Exit through process.exit on SIGTERM, so a `node --cpu-prof` run of this front writes its profile.
process.on('SIGTERM', () => process.exit(0));
