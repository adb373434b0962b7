// Browser test of the demo page: headless Chromium (Debian's, driven by npm playwright-core) with
// two browser contexts (two devices of one user) against a server with a 3 s access TTL:
//   join, log in (claims shown, no refresh token anywhere in the page) -> the access token expires
//   (countdown) -> a request gets 401 jwt expired, the page reissues and retries -> a second
//   session -> the first ends the second -> log out everywhere -> the stolen-token simulation ends
//   a session by reuse detection -> phone-width layout -> a reload after logout stays logged out.
// A PNG per step is saved in SCREENSHOT_DIR.
// usage: node browser_test.cjs SERVER_BINARY SCREENSHOT_DIR   (NODE_PATH must reach playwright-core)
// Exit 77 = skipped (no chromium / playwright-core), except under CI=true where that fails.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [serverBinary, screenshotDir] = process.argv.slice(2).map((p) => p && path.resolve(p));
const chromiumPath = '/usr/bin/chromium';
const ci = process.env.CI === 'true';
const accessTtl = 3;  // seconds

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
      '--admin-listen', '',
      '--port', '0', '--access-ttl', `${accessTtl}s`, '--bcrypt-cost', '4',
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

// One device: a browser context with its page, its network log and its console problems.
async function device(browser, base, name, problems, viewport) {
  const context = await browser.newContext({ viewport: viewport || { width: 1100, height: 900 } });
  const page = await context.newPage();
  const network = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    network.push(`${r.request().method()} ${url.pathname} ${r.status()}`);
  });
  // HTTP errors the flow expects (403 before login, 401 jwt expired, ...) are logged as "Failed to
  // load resource"; anything else (a CSP violation, a script error) fails the test.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${name}: ${e}`));
  await page.goto(base + '/');
  await page.waitForSelector('#log li:has-text("ready")');
  return { name, context, page, network };
}

async function login(d, email) {
  await d.page.fill('#login-email', email);
  await d.page.fill('#login-password', 'browser password');
  await d.page.click('#login-submit');
  await d.page.waitForSelector('#status:has-text("Logged in as pat")');
  await d.page.waitForSelector('#sessions li.current');
}

async function sessionCount(d) {
  return d.page.locator('#sessions li').count();
}

// Clicks "Refresh list" and waits for the answer to it.
async function refreshList(d) {
  const before = await d.page.locator('#log li').count();
  await d.page.click('#sessions-refresh');
  await d.page.waitForFunction((n) => {
    const items = [...document.querySelectorAll('#log li')];
    return items.length > n && items.slice(0, items.length - n).some((li) => /\/auth\/sessions → /.test(li.textContent));
  }, before);
  await d.page.waitForLoadState('networkidle');
}

async function main() {
  fs.mkdirSync(screenshotDir, { recursive: true });
  for (const f of fs.readdirSync(screenshotDir)) if (f.endsWith('.png')) fs.rmSync(path.join(screenshotDir, f));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-browser-'));
  const { server, base, output } = await startServer(dir);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  const problems = [];
  const shots = [];
  const shot = async (d, name) => {
    const file = path.join(screenshotDir, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
    await d.page.screenshot({ path: file, fullPage: true });
    shots.push(file);
  };
  try {
    const a = await device(browser, base, 'laptop', problems);
    const b = await device(browser, base, 'phone', problems, { width: 390, height: 844 });

    // Join and log in: the claims are shown, the refresh token is nowhere in the page.
    await a.page.fill('#join-email', 'pat@example.com');
    await a.page.fill('#join-nick', 'pat');
    await a.page.fill('#join-name', 'Pat Doe');
    await a.page.fill('#join-password', 'browser password');
    await a.page.click('#join-submit');
    await a.page.waitForSelector('#log li:has-text("joined as pat")');
    await login(a, 'pat@example.com');
    check(await a.page.textContent('#claims dt:has-text("nick") + dd') === 'pat', 'nick claim shown');
    check(/\(.+\)$/.test(await a.page.textContent('#claims dt:has-text("exp") + dd')), 'exp shown as a time');
    check(/^expires in 0:0[0-3]$/.test(await a.page.textContent('#countdown')), 'countdown runs');
    check(await a.page.evaluate(() => document.cookie) === '', 'the refresh cookie is HttpOnly');
    check(!(await a.page.content()).includes('rt1.'), 'no refresh token in the page');
    check(await sessionCount(a) === 1, 'one session after login');
    await shot(a, 'logged-in');

    // The access token expires: the countdown says so; the next request reissues and retries.
    await a.page.waitForSelector('#countdown.expired', { timeout: (accessTtl + 2) * 1000 });
    await a.page.waitForTimeout(1100);  // exp is a whole second: be past it on the server too
    await shot(a, 'access-token-expired');
    const before = a.network.length;
    await a.page.click('#get-number');
    await a.page.waitForFunction(() => /^\d+$/.test(document.querySelector('#number').textContent));
    const after = a.network.slice(before);
    check(JSON.stringify(after) === JSON.stringify([
      'GET /getnumber 401', 'POST /auth/reissuance 200', 'GET /getnumber 200']),
    `expected an expired token, one reissuance and a retry, saw ${JSON.stringify(after)}`);
    check(await a.page.locator('#log li:has-text("access token expired: reissuing")').count() === 1, 'reissuance logged');
    check(!(await a.page.textContent('#countdown')).startsWith('expired'), 'countdown restarted');
    await shot(a, 'silent-reissuance');

    // A second device: two sessions, each sees the other.
    await login(b, 'pat@example.com');
    check(await sessionCount(b) === 2, 'the phone sees two sessions');
    await refreshList(a);
    check(await sessionCount(a) === 2, 'the laptop sees two sessions');
    await shot(b, 'phone-two-sessions');

    // The laptop ends the phone's session; the phone learns on its next request.
    await a.page.click('#sessions li:not(.current) button.end');
    await a.page.waitForSelector('#log li:has-text("ended session")');
    await a.page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 1);
    check(await a.page.locator('#sessions li.current').count() === 1, 'the laptop keeps its own');
    await shot(a, 'laptop-ended-phone');
    await b.page.click('#sessions-refresh');
    await b.page.waitForSelector('#status:has-text("Not logged in")');
    check(b.network.some((n) => /^(GET \/auth\/sessions 401|POST \/auth\/reissuance 401)$/.test(n)),
      'the phone was refused');
    await shot(b, 'phone-session-ended');

    // Log out everywhere ends both sessions.
    await login(b, 'pat@example.com');
    await refreshList(a);
    check(await sessionCount(a) === 2, 'two sessions again');
    await a.page.click('#logout-all');
    await a.page.waitForSelector('#log li:has-text("logged out everywhere: 2 session(s) ended")');
    check(await a.page.textContent('#status') === 'Not logged in', 'the laptop is logged out');
    await b.page.click('#sessions-refresh');
    await b.page.waitForSelector('#status:has-text("Not logged in")');
    await shot(a, 'logged-out-everywhere');

    // The stolen refresh token: reuse detection ends the laptop's session, not the phone's.
    await login(a, 'pat@example.com');
    await login(b, 'pat@example.com');
    await a.page.click('#steal');
    await a.page.waitForSelector('#log li:has-text("reuse detected")');
    check(await a.page.textContent('#status') === 'Not logged in', 'the stolen session is over');
    check(a.network.slice(-2).join() === 'POST /auth/demo/steal 200,POST /auth/reissuance 401',
      `steal then refused reissuance, saw ${a.network.slice(-2)}`);
    await shot(a, 'stolen-token-detected');
    await refreshList(b);
    check(await sessionCount(b) === 1, 'only the phone\'s session is left');
    await b.page.click('#get-number');
    await b.page.waitForFunction(() => /^\d+$/.test(document.querySelector('#number').textContent));
    await shot(b, 'phone-width-after-theft');

    // The laptop's cookie is gone: a reload cannot restore the session.
    await a.page.reload();
    await a.page.waitForSelector('#log li:has-text("ready")');
    check(await a.page.textContent('#status') === 'Not logged in', 'logged out after reload');

    check(problems.length === 0, `console errors (CSP?): ${problems.join(' | ')}`);
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    await new Promise((resolve) => server.on('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  check(server.exitCode === 0, `server exit code ${server.exitCode} after SIGTERM`);
  check(/tokenauth-server: stopped/.test(output()), 'graceful stop message');
  console.log(`browser test passed; screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}`);
}

main().catch((e) => {
  console.error('FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
