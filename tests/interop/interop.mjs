// Interop of tokenauth (through jwt_tool) with Node's jsonwebtoken and jose. HS256: tokens signed
// by each verify in the others, with and without kid, and an expired token gives "jwt expired" in
// tokenauth and in jsonwebtoken. Every JWS algorithm tokenauth implements (HS*, RS*, PS*, ES*,
// EdDSA): tokens signed by jose verify in tokenauth and the reverse, with and without kid, and a
// token whose payload was changed after signing fails in both. JWKS (public-key algorithms): a
// JWKS made by jose selects keys in tokenauth (by kid, or by RFC 7638 thumbprint), a JWKS made by
// tokenauth verifies in jose and matches jose's JWK exactly. jsonwebtoken: both ways for RS*, PS*
// and ES*. Prints one line per check and a summary.
// usage: node interop.mjs JWT_TOOL NODE_DIR
// Exit: 0 all checks passed, 1 a check failed, 77 (ctest SKIP_RETURN_CODE) packages missing and
// CI is not "true" (under CI a missing package is a failure).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const [toolPath, nodeDir] = process.argv.slice(2);

function unavailable(why) {
  if (process.env.CI === 'true') {
    console.log(`FAIL: ${why}; CI=true, so the interop test must run`);
    process.exit(1);
  }
  console.log(`SKIP: ${why}`);
  process.exit(77);
}

if (!toolPath) {
  console.log('usage: node interop.mjs JWT_TOOL NODE_DIR');
  process.exit(1);
}
if (!nodeDir) unavailable('TOKENAUTH_NODE_DIR is not set (configure with -DTOKENAUTH_NODE_DIR=...)');
let jsonwebtoken;
let jose;
let versions;
try {
  const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
  jsonwebtoken = require('jsonwebtoken');
  jose = require('jose');
  versions = `jsonwebtoken ${require('jsonwebtoken/package.json').version}, ` +
             `jose ${require('jose/package.json').version}`;
} catch (e) {
  unavailable(`jsonwebtoken or jose not installed in ${nodeDir} ` +
              `(npm install --prefix ${nodeDir} with tests/interop/package.json): ${e.code ?? e}`);
}

const secret = 'interop-secret-0123456789-abcdefghij';  // 36 bytes: above HS256's 32-byte floor
const otherSecret = 'another-secret-0123456789-abcdefghij';
const secretBytes = new TextEncoder().encode(secret);
const now = Math.floor(Date.now() / 1000);
const ttl = 900;
// Escapes and non-ASCII text make the string getters unescape and keep UTF-8 intact.
const user = { id: '1', nick: 'tester "q" \\ / \t', name: 'Zoë 김 🙂' };

function tool(args, input) {
  const r = spawnSync(toolPath, args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0 && r.status !== 1) {  // 2: usage or exception; null: killed by a signal
    throw new Error(`jwt_tool ${args[0]} exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  }
  return { status: r.status, out: r.stdout.trim() };
}
const keyArgs = (kid) => (kid ? [secret, '--kid', kid] : [secret]);
const toolSign = (claims, kid, signNow = now) =>
  tool(['sign', ...keyArgs(kid), '--now', String(signNow), '--ttl', String(ttl)],
       JSON.stringify(claims)).out;
const toolVerify = (token, kid) => tool(['verify', ...keyArgs(kid)], token);

// Deep equality; object member order does not count (assert on Object.keys for that).
function assertEqual(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

// tokenauth's verify output for a token carrying `claims` (and header kid).
function expectVerified(token, kid, claims) {
  const r = toolVerify(token, kid);
  if (r.status !== 0) throw new Error(`tokenauth rejected it: ${r.out}`);
  assertEqual(JSON.parse(r.out), { ...claims, kid: kid ?? '' }, 'tokenauth claims');
}

function expectToolError(token, kid, message) {
  const r = toolVerify(token, kid);
  assertEqual(r.status === 1 ? r.out : `accepted: ${r.out}`, `error: ${message}`, 'tokenauth');
}

function expectJsonwebtokenError(token, key, message) {
  try {
    jsonwebtoken.verify(token, key, { algorithms: ['HS256'] });
  } catch (e) {
    assertEqual(e.message, message, 'jsonwebtoken error');
    return;
  }
  throw new Error(`jsonwebtoken accepted the token, expected "${message}"`);
}

// Payload of a tokenauth-signed token as seen by a Node library: exactly these claims, in the
// order given to the signer, then iat and exp.
function expectPayload(payload, header, kid, iat) {
  assertEqual(Object.keys(payload), ['id', 'nick', 'name', 'iat', 'exp'], 'claim names');
  assertEqual(payload, { ...user, iat, exp: iat + ttl }, 'claims');
  assertEqual(header.alg, 'HS256', 'alg');
  assertEqual(header.kid, kid, 'kid');
}

const jsonwebtokenSign = (claims, key, kid) =>
  jsonwebtoken.sign(claims, key, { algorithm: 'HS256', ...(kid ? { keyid: kid } : {}) });

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

for (const kid of [undefined, 'key-2024']) {
  const tag = kid ? `with kid` : `without kid`;
  const claims = { ...user, iat: now, exp: now + ttl };
  const expired = { ...user, iat: now - 1000, exp: now - 100 };

  check(`jsonwebtoken -> tokenauth (${tag})`, () =>
    expectVerified(jsonwebtokenSign(claims, secret, kid), kid, claims));

  check(`jose -> tokenauth (${tag})`, async () => {
    const token = await new jose.SignJWT({ ...user })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) })
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(secretBytes);
    expectVerified(token, kid, claims);
  });

  check(`tokenauth -> jsonwebtoken (${tag})`, () => {
    const { header, payload } =
      jsonwebtoken.verify(toolSign(user, kid), secret, { algorithms: ['HS256'], complete: true });
    expectPayload(payload, header, kid, now);
    assertEqual(header.typ, 'JWT', 'typ');
  });

  check(`tokenauth -> jose (${tag})`, async () => {
    const { payload, protectedHeader } =
      await jose.jwtVerify(toolSign(user, kid), secretBytes, { algorithms: ['HS256'] });
    expectPayload(payload, protectedHeader, kid, now);
  });

  check(`expired, signed by jsonwebtoken: "jwt expired" in tokenauth and jsonwebtoken (${tag})`,
        () => {
          const token = jsonwebtokenSign(expired, secret, kid);
          expectToolError(token, kid, 'jwt expired');
          expectJsonwebtokenError(token, secret, 'jwt expired');
        });

  check(`expired, signed by tokenauth: "jwt expired" in tokenauth and jsonwebtoken, ` +
        `ERR_JWT_EXPIRED in jose (${tag})`, async () => {
    const token = toolSign(user, kid, now - 1000);  // exp = now - 100
    expectToolError(token, kid, 'jwt expired');
    expectJsonwebtokenError(token, secret, 'jwt expired');
    try {
      await jose.jwtVerify(token, secretBytes, { algorithms: ['HS256'] });
    } catch (e) {
      assertEqual(e.code, 'ERR_JWT_EXPIRED', 'jose error code');
      return;
    }
    throw new Error('jose accepted an expired token');
  });

  // Both sides must reject, with the same message, or the checks above prove little.
  check(`wrong key: "invalid signature" in tokenauth and jsonwebtoken (${tag})`, () => {
    expectToolError(jsonwebtokenSign(claims, otherSecret, kid), kid, 'invalid signature');
    expectJsonwebtokenError(toolSign(user, kid), otherSecret, 'invalid signature');
  });
}

// --- every algorithm, both ways, with jose ---------------------------------------------------

// Fresh keys per run: PEM files for jwt_tool (PKCS#8 to sign, SPKI to verify), KeyObjects for jose.
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-interop-'));
process.on('exit', () => fs.rmSync(keyDir, { recursive: true, force: true }));
function keyPair(name, type, options) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync(type, options);
  const privateFile = path.join(keyDir, `${name}.pem`);
  const publicFile = path.join(keyDir, `${name}.pub.pem`);
  fs.writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { signKey: privateKey, verifyKey: publicKey, signArg: `@${privateFile}`,
           verifyArg: `@${publicFile}` };
}
function hmacKey(text) {  // as long as the MAC: RFC 7518 §3.2's floor
  const bytes = new TextEncoder().encode(text);
  return { signKey: bytes, verifyKey: bytes, signArg: text, verifyArg: text };
}
const rsa = keyPair('rsa2048', 'rsa', { modulusLength: 2048 });
const keys = {
  HS256: hmacKey('interop-hs256-secret-0123456789abcd'),
  HS384: hmacKey('interop-hs384-secret-0123456789abcdefghijklmnopq'),
  HS512: hmacKey('interop-hs512-secret-0123456789abcdefghijklmnopqrstuvwxyz0123456789ab'),
  RS256: rsa, RS384: rsa, RS512: rsa, PS256: rsa, PS384: rsa, PS512: rsa,
  ES256: keyPair('p256', 'ec', { namedCurve: 'P-256' }),
  ES384: keyPair('p384', 'ec', { namedCurve: 'P-384' }),
  ES512: keyPair('p521', 'ec', { namedCurve: 'P-521' }),
  EdDSA: keyPair('ed25519', 'ed25519'),
};

const algTool = (command, alg, key, kid) =>
  [command, command === 'sign' ? key.signArg : key.verifyArg, '--alg', alg,
   ...(kid ? ['--kid', kid] : [])];
const algToolSign = (alg, key, kid) =>
  tool([...algTool('sign', alg, key, kid), '--now', String(now), '--ttl', String(ttl)],
       JSON.stringify(user)).out;
const algToolVerify = (alg, key, kid, token) => tool(algTool('verify', alg, key, kid), token);
const joseSign = (alg, key, kid) =>
  new jose.SignJWT({ ...user })
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .sign(key.signKey);

// The same token with the payload's id changed after signing: the signature no longer covers it.
function tamper(token) {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  claims.id = `${claims.id}0`;
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

for (const [alg, key] of Object.entries(keys)) {
  for (const kid of [undefined, `${alg.toLowerCase()}-key`]) {
    const tag = `${alg}, ${kid ? 'with kid' : 'without kid'}`;
    const claims = { ...user, iat: now, exp: now + ttl };

    check(`jose -> tokenauth (${tag})`, async () => {
      const r = algToolVerify(alg, key, kid, await joseSign(alg, key, kid));
      if (r.status !== 0) throw new Error(`tokenauth rejected it: ${r.out}`);
      assertEqual(JSON.parse(r.out), { ...claims, kid: kid ?? '' }, 'tokenauth claims');
    });

    check(`tokenauth -> jose (${tag})`, async () => {
      const { payload, protectedHeader } =
        await jose.jwtVerify(algToolSign(alg, key, kid), key.verifyKey, { algorithms: [alg] });
      assertEqual(Object.keys(payload), ['id', 'nick', 'name', 'iat', 'exp'], 'claim names');
      assertEqual(payload, claims, 'claims');
      assertEqual(protectedHeader, { alg, typ: 'JWT', ...(kid ? { kid } : {}) }, 'header');
    });

    check(`tampered payload: "invalid signature" in tokenauth, ` +
          `ERR_JWS_SIGNATURE_VERIFICATION_FAILED in jose (${tag})`, async () => {
      const r = algToolVerify(alg, key, kid, tamper(await joseSign(alg, key, kid)));
      assertEqual(r.status === 1 ? r.out : `accepted: ${r.out}`, 'error: invalid signature',
                  'tokenauth');
      try {
        await jose.jwtVerify(tamper(algToolSign(alg, key, kid)), key.verifyKey,
                             { algorithms: [alg] });
      } catch (e) {
        assertEqual(e.code, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'jose error code');
        return;
      }
      throw new Error('jose accepted a tampered token');
    });
  }
}

// jsonwebtoken 9 implements RS*, PS* and ES* (not EdDSA): both ways for each, without kid.
for (const alg of Object.keys(keys).filter((a) => /^(RS|PS|ES)/.test(a))) {
  const key = keys[alg];
  const claims = { ...user, iat: now, exp: now + ttl };
  check(`jsonwebtoken <-> tokenauth, both ways (${alg})`, () => {
    const r = algToolVerify(alg, key, undefined,
                            jsonwebtoken.sign(claims, key.signKey, { algorithm: alg }));
    if (r.status !== 0) throw new Error(`tokenauth rejected it: ${r.out}`);
    assertEqual(JSON.parse(r.out), { ...claims, kid: '' }, 'tokenauth claims');
    const { header, payload } = jsonwebtoken.verify(algToolSign(alg, key), key.verifyKey,
                                                    { algorithms: [alg], complete: true });
    assertEqual(payload, claims, 'claims');
    assertEqual(header, { alg, typ: 'JWT' }, 'header');
  });
}

// --- JWKS both ways with jose (public-key algorithms) ------------------------------------------

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const pkAlgs = Object.keys(keys).filter((alg) => !alg.startsWith('HS'));
const jwkOf = async (alg) => ({ ...(await jose.exportJWK(keys[alg].verifyKey)), alg });
const jwksFile = (name, doc) => {
  const file = path.join(keyDir, `${name}.jwks.json`);
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
};
const algToolVerifyJwks = (alg, file, token) => tool(['verify', '--jwks', file, '--alg', alg], token);
// One document holding every algorithm's key, as an identity provider publishes them (the RSA
// key appears once per RS*/PS* algorithm, under different kids), plus a decoy marked "use":"enc".
const joseJwks = async () => {
  const entries = await Promise.all(pkAlgs.map(async (alg) => ({ ...(await jwkOf(alg)),
                                                                 kid: `${alg}-jwk` })));
  const enc = { ...(await jwkOf('ES256')), kid: 'enc-only', use: 'enc' };
  return jwksFile('jose', { keys: [...entries, enc] });
};
let joseJwksFile;

for (const alg of pkAlgs) {
  const key = keys[alg];
  const claims = { ...user, iat: now, exp: now + ttl };

  check(`jose JWKS -> tokenauth: kid selects among ${pkAlgs.length} keys; a key without kid is ` +
        `found by its RFC 7638 thumbprint (${alg})`, async () => {
    joseJwksFile ??= await joseJwks();
    const r = algToolVerifyJwks(alg, joseJwksFile, await joseSign(alg, key, `${alg}-jwk`));
    if (r.status !== 0) throw new Error(`tokenauth rejected it: ${r.out}`);
    assertEqual(JSON.parse(r.out), { ...claims, kid: `${alg}-jwk` }, 'tokenauth claims');

    const jwk = await jwkOf(alg);  // no kid: tokenauth names it by its thumbprint
    const thumbprint = await jose.calculateJwkThumbprint(jwk, 'sha256');
    const single = jwksFile(`${alg}-nokid`, { keys: [jwk] });
    const t = algToolVerifyJwks(alg, single, await joseSign(alg, key, thumbprint));
    if (t.status !== 0) throw new Error(`tokenauth rejected the thumbprint kid: ${t.out}`);
    assertEqual(JSON.parse(t.out).kid, thumbprint, 'kid');
  });

  check(`tokenauth JWKS -> jose: verifies tokenauth's token, equals jose's JWK, no private ` +
        `member, thumbprint kid as jose computes it (${alg})`, async () => {
    const kid = `${alg}-tokenauth`;
    // Made from the private key: only the public half may come out.
    const published = JSON.parse(tool(['jwks', key.signArg, '--alg', alg, '--kid', kid]).out);
    assertEqual(published.keys.length, 1, 'keys');
    const jwk = published.keys[0];
    for (const m of privateMembers) if (m in jwk) throw new Error(`JWKS holds private "${m}"`);
    assertEqual(jwk, { ...(await jwkOf(alg)), kid, use: 'sig' }, 'JWK');
    const { payload, protectedHeader } = await jose.jwtVerify(
      algToolSign(alg, key, kid), jose.createLocalJWKSet(published), { algorithms: [alg] });
    assertEqual(payload, claims, 'claims');
    assertEqual(protectedHeader.kid, kid, 'kid');

    const unnamed = JSON.parse(tool(['jwks', key.signArg, '--alg', alg]).out);
    assertEqual(unnamed.keys.map((k) => k.kid),
                [await jose.calculateJwkThumbprint(await jwkOf(alg), 'sha256')], 'thumbprint kid');
  });
}

check('JWKS key marked "use":"enc" is not used to verify: "jwt key id unknown" in tokenauth',
      async () => {
        joseJwksFile ??= await joseJwks();
        const r = algToolVerifyJwks('ES256', joseJwksFile, await joseSign('ES256', keys.ES256,
                                                                          'enc-only'));
        assertEqual(r.status === 1 ? r.out : `accepted: ${r.out}`, 'error: jwt key id unknown',
                    'tokenauth');
      });

let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok    ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL  ${name}\n      ${e.message}`);
  }
}
console.log(`\ninterop (${versions}): ${checks.length} checks, ${checks.length - failed} passed, ` +
            `${failed} failed`);
process.exit(failed ? 1 : 0);
