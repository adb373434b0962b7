// The real tokenauth-server with EdDSA keys from --jwt-keys-dir, verified by another party:
// jose's createRemoteJWKSet against GET /.well-known/jwks.json verifies the tokens of /auth/login
// (kid = RFC 7638 thumbprint); If-None-Match gets 304. Then key rotation by SIGHUP: a new key file
// signs at once while requests keep flowing on a kept-alive connection (none fails, the connection
// stays), old tokens keep verifying, a bad key file keeps the old set, and a removed key stays
// published for the access-token lifetime.
// usage: node jwks_test.cjs SERVER_BINARY WORK_DIR   (NODE_PATH must reach jose)
// Exit 77 = skipped (no jose), except under CI=true where that fails.
'use strict';
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const [serverBinary, workRoot] = process.argv.slice(2).map((p) => p && path.resolve(p));
let jose;
try {
  jose = require('jose');
} catch (e) {
  if (process.env.CI === 'true') {
    console.error('FAILED: npm jose not found (CI=true: this test must run)');
    process.exit(1);
  }
  console.log('SKIPPED: npm jose not found (./scripts/test installs it into build/node)');
  process.exit(77);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function writeKey(dir, name, ageSeconds) {
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const file = path.join(dir, name);
  fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const t = Date.now() / 1000 - ageSeconds;
  fs.utimesSync(file, t, t);
  return privateKey;
}

async function thumbprint(privateKey) {
  return jose.calculateJwkThumbprint(crypto.createPublicKey(privateKey).export({ format: 'jwk' }));
}

// One kept-alive connection for every request, so a dropped connection shows.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let sockets = 0;

function request(base, method, target, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${target}`, { method, agent, headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('socket', (s) => {
      if (!s.counted) {
        s.counted = true;
        ++sockets;
      }
    });
    req.on('error', reject);
    if (body !== undefined) req.end(JSON.stringify(body));
    else req.end();
  });
}

const post = (base, target, body) =>
  request(base, 'POST', target, { headers: { 'content-type': 'application/json' }, body });

function startServer(dir, keysDir) {
  return new Promise((resolve, reject) => {
    const server = spawn(serverBinary, [
      '--admin-listen', '',
      '--port', '0', '--users', 'memory', '--bcrypt-cost', '4', '--access-log', 'false',
      '--access-ttl', '10m', '--jwt-alg', 'EdDSA', '--jwt-keys-dir', keysDir,
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}${err}`)), 20000);
    server.stderr.on('data', (chunk) => (err += chunk));
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve({ server, base: m[1], stderr: () => err });
      }
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}):\n${out}${err}`)));
  });
}

async function waitFor(what, condition) {
  for (let i = 0; i < 200; ++i) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main() {
  fs.mkdirSync(workRoot, { recursive: true });
  const dir = fs.mkdtempSync(path.join(workRoot, 'run-'));
  const keysDir = path.join(dir, 'keys');
  fs.mkdirSync(keysDir);
  const first = writeKey(keysDir, 'first.pem', 3600);
  const firstKid = await thumbprint(first);
  const { server, base, stderr } = await startServer(dir, keysDir);
  try {
    const jwksUrl = new URL(`${base}/.well-known/jwks.json`);
    check((await post(base, '/auth/join', {
      email: 'ada@example.com', nick: 'ada', password: 'correct horse', name: 'Ada',
    })).status === 201, 'join');
    const login = async () => {
      const r = await post(base, '/auth/login', { email: 'ada@example.com', password: 'correct horse' });
      check(r.status === 200, `login: ${r.status} ${r.body}`);
      return JSON.parse(r.body).data.accessToken;
    };

    // jose verifies a login token through the published JWKS.
    const oldToken = await login();
    const remote = jose.createRemoteJWKSet(jwksUrl);
    const verified = await jose.jwtVerify(oldToken, remote, { algorithms: ['EdDSA'] });
    check(verified.protectedHeader.kid === firstKid, 'kid is the RFC 7638 thumbprint');
    check(verified.payload.nick === 'ada', 'claims');

    const jwks = await request(base, 'GET', '/.well-known/jwks.json');
    check(jwks.status === 200 && /^public, max-age=\d+$/.test(jwks.headers['cache-control']),
      `JWKS cache headers: ${JSON.stringify(jwks.headers)}`);
    check(!JSON.parse(jwks.body).keys.some((k) => 'd' in k), 'no private member');
    const etag = jwks.headers.etag;
    const same = await request(base, 'GET', '/.well-known/jwks.json', { headers: { 'if-none-match': etag } });
    check(same.status === 304 && same.body === '', `304 for the same ETag, got ${same.status}`);

    // Rotation: a new key file and SIGHUP while requests keep coming on the kept-alive connection.
    const second = writeKey(keysDir, 'second.pem', 0);
    const secondKid = await thumbprint(second);
    let stop = false;
    let served = 0;
    const load = (async () => {
      while (!stop) {
        const r = await request(base, 'GET', '/getnumber', { headers: { authorization: `Bearer ${oldToken}` } });
        check(r.status === 200, `a request failed during the reload: ${r.status} ${r.body}`);
        ++served;
      }
    })();
    for (let i = 0; i < 3; ++i) {
      server.kill('SIGHUP');
      await sleep(50);
    }
    await waitFor('the reloaded JWKS', async () => {
      const r = await request(base, 'GET', '/.well-known/jwks.json');
      return JSON.parse(r.body).keys.length === 2;
    });
    stop = true;
    await load;
    check(served > 0, 'requests were served during the reloads');
    check(sockets === 1, `every request on one connection, ${sockets} were opened`);
    check(/keys reloaded: 2 key\(s\)/.test(stderr()), `reload logged:\n${stderr()}`);

    const newToken = await login();
    check(jose.decodeProtectedHeader(newToken).kid === secondKid, 'the newest key signs');
    // A fresh remote set and the old one (which refetches on the unknown kid) both verify it.
    await jose.jwtVerify(newToken, jose.createRemoteJWKSet(jwksUrl), { algorithms: ['EdDSA'] });
    await jose.jwtVerify(newToken, jose.createRemoteJWKSet(jwksUrl, { cooldownDuration: 0 }),
      { algorithms: ['EdDSA'] });
    await jose.jwtVerify(oldToken, jose.createRemoteJWKSet(jwksUrl), { algorithms: ['EdDSA'] });

    // A bad key file: the reload fails, says why, and the old keys stay.
    const before = (await request(base, 'GET', '/.well-known/jwks.json')).body;
    fs.writeFileSync(path.join(keysDir, 'broken.pem'), 'not a key\n');
    server.kill('SIGHUP');
    await waitFor('the failed reload in the log', async () => /key reload failed: .*broken\.pem/.test(stderr()));
    check((await request(base, 'GET', '/.well-known/jwks.json')).body === before, 'JWKS unchanged');
    check(jose.decodeProtectedHeader(await login()).kid === secondKid, 'still signing with the second key');
    fs.unlinkSync(path.join(keysDir, 'broken.pem'));

    // The first key leaves the directory: still published and verifying (for the access TTL).
    fs.unlinkSync(path.join(keysDir, 'first.pem'));
    server.kill('SIGHUP');
    await waitFor('the second successful reload', async () =>
      (stderr().match(/keys reloaded: 1 key\(s\)/g) || []).length >= 1);
    const retired = JSON.parse((await request(base, 'GET', '/.well-known/jwks.json')).body);
    check(retired.keys.some((k) => k.kid === firstKid), 'the removed key is still published');
    const user = await request(base, 'GET', '/getuser', { headers: { authorization: `Bearer ${oldToken}` } });
    check(user.status === 200, `a token of the removed key still verifies: ${user.status}`);
  } finally {
    agent.destroy();
    server.removeAllListeners('exit');
    server.kill('SIGTERM');
  }
  const code = await new Promise((resolve) => server.on('exit', (c) => resolve(c)));
  check(code === 0, `server exit code ${code}`);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log('PASSED: jose verifies through the JWKS; SIGHUP rotation without a failed request');
}

main().catch((e) => {
  console.error(`FAILED: ${e.stack || e}`);
  process.exit(1);
});
