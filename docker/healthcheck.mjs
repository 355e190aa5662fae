// The image's HEALTHCHECK. The api (and `all`) must answer GET /readyz with 200 (PostgreSQL, Redis,
// Docker Engine and registry reachable); a worker, which serves no HTTP, must reach the two things
// it takes work from and does it with: Redis (PING) and the Docker Engine (/_ping).
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';

const TIMEOUT = 4_000;

function get(options) {
  return new Promise((resolve, reject) => {
    const req = request({ ...options, method: 'GET', timeout: TIMEOUT }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`${options.path}: ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${options.path}: no answer in ${TIMEOUT} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function redisPing(url) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 6379) });
    socket.setTimeout(TIMEOUT, () => socket.destroy(new Error('redis: no answer')));
    const auth = u.password
      ? `AUTH ${u.username ? `${decodeURIComponent(u.username)} ` : ''}${decodeURIComponent(u.password)}\r\n`
      : '';
    socket.on('connect', () => socket.write(`${auth}PING\r\n`));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
      if (answer.includes('+PONG')) {
        socket.end();
        resolve();
      } else if (answer.startsWith('-')) socket.destroy(new Error(`redis: ${answer.trim()}`));
    });
    socket.on('error', reject);
  });
}

function dockerPing(host) {
  if (host.startsWith('unix://')) return get({ socketPath: host.slice('unix://'.length), path: '/_ping' });
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return get({ host: u.hostname, port: Number(u.port || 2375), path: '/_ping' });
}

const role = (() => {
  try {
    return readFileSync('/tmp/dockyard-role', 'utf8').trim();
  } catch {
    return 'starting';
  }
})();
const env = process.env;
const check =
  role === 'worker'
    ? Promise.all([redisPing(env.REDIS_URL), dockerPing(env.DOCKER_HOST ?? 'unix:///var/run/docker.sock')])
    : get({ host: '127.0.0.1', port: Number(env.PORT ?? 3000), path: '/readyz' });
check.then(
  () => process.exit(0),
  (err) => {
    console.error(`${role}: ${err.message}`);
    process.exit(1);
  },
);
