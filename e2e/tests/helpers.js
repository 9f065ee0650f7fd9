// Setting up a fupin server for browser tests: a fresh SQLite database, accounts made
// with `fupin user add`, a register imported with `fupin import`, `fupin serve` on a free
// port, and Debian's Chromium driven by playwright-core.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..');
const GOLDEN = path.join(ROOT, 'crates/cli/tests/fixtures/golden');
const BIN = process.env.FUPIN_BIN || path.join(ROOT, 'target/debug/fupin');
const PASSWORD = 'e2e-密码-2018';

function fupin(args, input) {
  const r = spawnSync(BIN, args, { input: input ?? '', encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`fupin ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return r.stdout;
}

function readCsv(file) {
  // The golden fixtures quote a few amounts ("12,345.60"); this parser handles quotes.
  const rows = [];
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    if (!line) continue;
    const cells = [];
    let cur = '', q = false;
    for (const ch of line) {
      if (ch === '"') q = !q;
      else if (ch === ',' && !q) { cells.push(cur); cur = ''; }
      else cur += ch;
    }
    cells.push(cur);
    rows.push(cells);
  }
  return rows;
}

/** The golden members file without the households that have error-level problems. */
function goldenWithoutErrors() {
  const lines = fs.readFileSync(path.join(GOLDEN, 'members.csv'), 'utf8').split('\n').filter(Boolean);
  const problems = readCsv(path.join(GOLDEN, 'expected_problems.csv')).slice(1);
  const household = (l) => l.split(',')[0];
  const bad = new Set(problems.filter((p) => p[2].startsWith('E')).map((p) => household(lines[Number(p[0]) - 1])));
  return lines.filter((l, i) => i === 0 || !bad.has(household(l))).join('\n') + '\n';
}

/** The same with one household's 不愁吃 set to 否: its verdict changes. */
function withFoodInsecure(text, householdNo) {
  const lines = text.split('\n');
  const col = lines[0].split(',').indexOf('不愁吃');
  return lines.map((l) => {
    if (!l.startsWith(householdNo + ',')) return l;
    const cells = l.split(',');
    cells[col] = '否';
    return cells.join(',');
  }).join('\n');
}

async function startServer(db) {
  const child = spawn(BIN, ['serve', '--db', db, '--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('fupin serve did not start: ' + out)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    child.on('exit', (c) => reject(new Error('fupin serve exited ' + c + ': ' + out)));
  });
  return { child, url };
}

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fupin-e2e-'));
  const db = `sqlite://${path.join(dir, 'fupin.db')}`;
  fupin(['migrate', '--db', db]);
  fupin(['user', 'add', 'admin', '--role', 'hq_admin', '--db', db], PASSWORD + '\n');
  fupin(['user', 'add', 'township', '--role', 'township_staff', '--township', '示例一乡', '--db', db], PASSWORD + '\n');
  const clean = path.join(dir, 'members-clean.csv');
  fs.writeFileSync(clean, goldenWithoutErrors());
  const villages = path.join(GOLDEN, 'villages.csv');
  fupin(['import', clean, '--villages', villages, '--year', '2018', '--line', '3535', '--db', db, '--user', 'admin']);
  // What the engine says about the same file, through `fupin assess`.
  const out = path.join(dir, 'assessed');
  fupin(['assess', clean, '--villages', villages, '--year', '2018', '--line', '3535', '--out', out]);
  const county = JSON.parse(fs.readFileSync(path.join(out, 'county.json'), 'utf8'));
  const households = readCsv(path.join(out, 'households.csv').toString());
  households[0][0] = households[0][0].replace(/^\uFEFF/, '');
  const server = await startServer(db);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return { dir, db, clean, villages, county, households, server, browser };
}

async function teardown(env) {
  if (!env) return;
  await env.browser?.close();
  env.server?.child.kill();
  fs.rmSync(env.dir, { recursive: true, force: true });
}

async function login(browser, base, username, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(base + '/login');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(base + '/'), page.click('button[type=submit]')]);
  return page;
}

const num = (s) => Number(String(s).replace(/[,%\s]/g, ''));

module.exports = { GOLDEN, PASSWORD, fupin, readCsv, goldenWithoutErrors, withFoodInsecure, setup, teardown, login, num };
