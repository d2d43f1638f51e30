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

// openSessionView(a): openPage() on session a.session's view as a.user (a.width), the document
// marked so that sameDocument(page) tells whether the page was reloaded since.
export async function openSessionView(a) {
    const r = await openPage(a.user, `/session/${a.session}`, { width: Number(a.width || 1280) });
    await r.page.evaluate(() => { window.__rbNoReload = 'still the same document' });
    return r;
}
export const sameDocument = page => page.evaluate(() => window.__rbNoReload === 'still the same document');

// the <tbody> of step N in the session view (data-state, data-exit)
export const stepSel = n => `#rb-steps tbody[data-step="${n}"]`;

// waitStepState(page, n, state, {timeout}): waits (a PASS or a FAIL) until step N is shown in STATE
export function waitStepState(page, n, state, { timeout } = {}) {
    return waitOrFail(page.waitForSelector(`${stepSel(n)}[data-state="${state}"]`, timeout ? { timeout } : {}),
                      `step ${n} is shown ${state.replaceAll('_', ' ')}`);
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

// checkSelectCaret(page, selector): the <select> shows PatternFly's caret: an icon inside the
// control's box, at its right end, vertically within it, and not covering the select's text.
export async function checkSelectCaret(page, selector) {
    const r = await page.evaluate(sel => {
        const select = document.querySelector(sel);
        const icon = select?.parentElement.querySelector('.pf-v5-c-form-control__toggle-icon svg');
        if (!select || !icon)
            return { missing: !select ? 'select' : 'caret' };
        const box = b => ({ left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width, height: b.height });
        const style = getComputedStyle(icon);
        return { select: box(select.getBoundingClientRect()), icon: box(icon.getBoundingClientRect()),
                 visible: style.visibility === 'visible' && style.display !== 'none' && style.opacity !== '0',
                 appearance: getComputedStyle(select).appearance, paddingRight: parseFloat(getComputedStyle(select).paddingRight) };
    }, selector);
    if (r.missing)
        return check(false, `${selector} has a caret`, `no ${r.missing}`);
    const { select: s, icon: i } = r;
    return check(r.visible && i.width >= 6 && i.height >= 6 &&
                 i.left >= s.left + s.width / 2 && i.right <= s.right && s.right - i.right <= 32 &&
                 i.top >= s.top && i.bottom <= s.bottom && r.paddingRight >= i.width && r.appearance === 'none',
                 `${selector} shows a caret at its right end (PatternFly's form control toggle icon)`, JSON.stringify(r));
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
