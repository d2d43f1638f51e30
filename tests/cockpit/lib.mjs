// SPDX-License-Identifier: LGPL-2.1-or-later
//
// tests/cockpit/lib.mjs - shared by the page's end-to-end scripts (tests/integration/test-cockpit.sh
// runs them): Debian's Chromium driven by playwright-core (from cockpit/node_modules), the page
// served by one cockpit-ws per user (--local-session, so the bridge runs as that user).
//
// Environment: SOURCE_ROOT, COCKPIT_URLS (JSON {user: "http://127.0.0.1:PORT"}), ARTIFACTS (the
// directory for screenshots), CHROMIUM (default /usr/bin/chromium).
// Output: "PASS: ..." / "FAIL: ..." lines (counted by the shell test), "# ..." notes; the exit
// status is 1 when something failed.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const SOURCE_ROOT = process.env.SOURCE_ROOT;
if (!SOURCE_ROOT)
    throw new Error('SOURCE_ROOT is not set');
const require = createRequire(path.join(SOURCE_ROOT, 'cockpit', 'package.json'));
const { chromium } = require('playwright-core');

const URLS = JSON.parse(process.env.COCKPIT_URLS || '{}');
export const ARTIFACTS = process.env.ARTIFACTS || '.';
mkdirSync(ARTIFACTS, { recursive: true });

let failed = 0;
export function pass(msg) { console.log(`PASS: ${msg}`); }
export function fail(msg) { failed++; console.log(`FAIL: ${msg}`); }
export function note(msg) { console.log(`# ${msg}`); }
export function check(cond, msg, detail = '') {
    if (cond)
        pass(msg);
    else
        fail(detail ? `${msg}: ${detail}` : msg);
    return !!cond;
}

// args(): --key value pairs (repeatable keys become arrays).
export function args() {
    const out = {};
    const a = process.argv.slice(2);
    for (let i = 0; i < a.length; i++) {
        if (!a[i].startsWith('--'))
            throw new Error(`unexpected argument '${a[i]}'`);
        const k = a[i].slice(2), v = a[i + 1] !== undefined && !a[i + 1].startsWith('--') ? a[++i] : 'true';
        out[k] = k in out ? [].concat(out[k], v) : v;
    }
    return out;
}
export const list = v => (v === undefined ? [] : [].concat(v));

// openPage(user, hash, {width, height}): a fresh browser on the page as USER; page errors (uncaught
// exceptions in the page) are failures.
export async function openPage(user, hash = '', { width = 1280, height = 900 } = {}) {
    const base = URLS[user];
    if (!base)
        throw new Error(`no cockpit-ws for user ${user} in COCKPIT_URLS`);
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    page.on('pageerror', e => fail(`uncaught error in the page (${user}): ${e.message}`));
    page.on('console', m => { if (m.type() === 'error') note(`console (${user}): ${m.text()}`) });
    const url = `${base}/cockpit/@localhost/runbookd/index.html${hash ? `#${hash}` : ''}`;
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
    return { browser, page };
}

export async function shot(page, name) {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    note(`screenshot ${file}`);
}

// text of the first element matching selector, '' when there is none
export async function textOf(page, selector) {
    const el = await page.$(selector);
    return el ? (await el.innerText()).trim() : '';
}

export async function waitOrFail(promise, msg) {
    try {
        await promise;
        pass(msg);
        return true;
    } catch (e) {
        fail(`${msg}: ${e.message.split('\n')[0]}`);
        return false;
    }
}

export function done() {
    process.exit(failed ? 1 : 0);
}

// run(main): runs an async main, turning an exception into a failure.
export function run(main) {
    main().catch(e => { fail(`exception: ${e.stack || e}`) }).finally(done);
}
