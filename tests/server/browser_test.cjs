// Browser test of the demo page: headless Chromium (Debian's, driven by npm playwright-core)
// joins, logs in, gets a number, waits past the 2 s access TTL, gets a number again (the page
// refreshes its token: seen in the network log), logs out, and saves a screenshot.
// usage: node browser_test.cjs SERVER_BINARY SCREENSHOT_PATH   (NODE_PATH must reach playwright-core)
// Exit 77 = skipped (no chromium / playwright-core), except under CI=true where that fails.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [serverBinary, screenshotPath] = process.argv.slice(2).map((p) => p && path.resolve(p));
const chromiumPath = '/usr/bin/chromium';
const ci = process.env.CI === 'true';

function skip(why) {
  if (ci) {
    console.error(`FAILED: ${why} (CI=true: the browser test must run)`);
    process.exit(1);
  }
  console.log(`SKIPPED: ${why}`);
  process.exit(77);
}

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  skip('npm playwright-core not found (./scripts/test installs it into build/node)');
}
if (!fs.existsSync(chromiumPath)) skip(`${chromiumPath} not found (apt-get install chromium)`);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function startServer(dir) {
  return new Promise((resolve, reject) => {
    const server = spawn(serverBinary, [
      '--port', '0', '--access-ttl', '2s', '--bcrypt-cost', '4',
      '--users', `sqlite:${path.join(dir, 'users.db')}`,
    ], {
      cwd: dir,
      env: { ...process.env, JWT_SECRET: 'browser-test-secret-0123456789abcdefghij' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve({ server, base: m[1], output: () => out });
      }
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}):\n${out}`)));
    server.on('error', reject);
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-browser-'));
  const { server, base, output } = await startServer(dir);
  const profile = path.join(dir, 'profile');  // a fresh --user-data-dir
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const network = [];
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('response', (r) => {
      const url = new URL(r.url());
      network.push({ method: r.request().method(), path: url.pathname, status: r.status() });
    });
    // HTTP errors the flow expects (403 before login, 401 jwt expired) are logged as "Failed to
    // load resource"; anything else (a CSP violation, a script error) fails the test.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));

    await page.goto(base + '/');
    await page.waitForSelector('#log li');  // the start-up reissuance has answered (no cookie yet)

    await page.fill('#join-email', 'pat@example.com');
    await page.fill('#join-nick', 'pat');
    await page.fill('#join-name', 'Pat Doe');
    await page.fill('#join-password', 'browser password');
    await page.click('#join-submit');
    await page.waitForSelector('#log li:has-text("joined as pat")');

    await page.fill('#login-password', 'browser password');
    await page.click('#login-submit');
    await page.waitForSelector('#status:has-text("Logged in as pat")');

    await page.click('#get-number');
    await page.waitForSelector('#log li:has-text("number ")');
    const first = Number(await page.textContent('#number'));
    check(first >= 1 && first <= 10, `first number ${first}`);

    await page.waitForTimeout(3000);  // past the 2 s access TTL
    const before = network.length;
    await page.click('#get-number');
    await page.waitForFunction(() => document.querySelectorAll('#log li').length >= 6 &&
                               /number \d+$/.test(document.querySelector('#log li').textContent));
    const after = network.slice(before).map((n) => `${n.method} ${n.path} ${n.status}`);
    check(JSON.stringify(after) === JSON.stringify([
      'GET /getnumber 401', 'POST /auth/reissuance 200', 'GET /getnumber 200']),
    `expected an expired token, one reissuance and a retry, saw ${JSON.stringify(after)}`);

    await page.click('#logout');
    await page.waitForSelector('#status:has-text("Not logged in")');
    check(network.some((n) => n.path === '/auth/logout' && n.status === 200), 'logout answered 200');
    await page.screenshot({ path: screenshotPath, fullPage: true });

    // The cookie is gone: a reload cannot restore the session.
    await page.reload();
    await page.waitForSelector('#log li:has-text("ready")');
    check((await page.textContent('#status')) === 'Not logged in', 'logged out after reload');

    check(problems.length === 0, `console errors (CSP?): ${problems.join(' | ')}`);
  } finally {
    await context.close();
    server.kill('SIGTERM');
    await new Promise((resolve) => server.on('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  check(server.exitCode === 0, `server exit code ${server.exitCode} after SIGTERM`);
  check(/tokenauth-server: stopped/.test(output()), 'graceful stop message');
  console.log(`browser test passed; network log:\n${network.map(
    (n) => `  ${n.method} ${n.path} ${n.status}`).join('\n')}\nscreenshot: ${screenshotPath}`);
}

main().catch((e) => {
  console.error('FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
