// SPDX-License-Identifier: LGPL-2.1-or-later
//
// session.mjs - the session view follows a session to its end without a reload.
//   --user U --session ID
//   --running-step N            wait until the page shows step N running (screenshot NAME-running)
//   --release FILE              created once the page showed step N running (the step waits for it)
//   --state S                   the end state the page must reach (within 90 s)
//   --stdout STEP=TEXT          (repeatable) step STEP's stdout shown must contain TEXT
//   --stderr STEP=TEXT          (repeatable) likewise for stderr
//   --truncated STEP            the page must say that STEP's output was truncated
//   --shows 'SELECTOR => TEXT'  (repeatable) the text of the element SELECTOR must contain TEXT
//   --journal-min K             at least K [EXECUTE_STEP] records shown
//   --shot NAME
// Prints "PAGE: {json}" with what the page shows per step, for the shell to compare with the daemon.
import { writeFileSync } from 'node:fs';
import { args, list, openSessionView, sameDocument, shot, check, note, textOf, waitOrFail, run } from './lib.mjs';

const a = args();

run(async () => {
    const { browser, page } = await openSessionView(a);
    try {
        await waitOrFail(page.waitForSelector('#rb-steps tbody[data-step="0"]'), `session ${a.session}: the steps are shown`);
        if (a['running-step'] !== undefined) {
            await waitOrFail(page.waitForSelector(`#rb-steps tbody[data-step="${a['running-step']}"][data-state="running"]`),
                             `the page shows step ${a['running-step']} running`);
            if (a.shot)
                await shot(page, `${a.shot}-running`);
        }
        if (a.release)
            writeFileSync(a.release, 'go\n');
        await waitOrFail(page.waitForSelector(`#rb-session-state[data-state="${a.state}"]`, { timeout: 90000 }),
                         `the page follows the session to '${a.state}'`);
        check(await sameDocument(page), 'without a reload');
        // the last step's output and journal records arrive just after the state: let them land
        const wantJournal = Number(a['journal-min'] || 0);
        if (wantJournal)
            await waitOrFail(page.waitForFunction(k => [...document.querySelectorAll('#rb-journal li')]
                .filter(li => li.textContent.includes('[EXECUTE_STEP]')).length >= k, wantJournal, { timeout: 20000 }),
                             `at least ${wantJournal} [EXECUTE_STEP] journal records shown`);
        await page.waitForFunction(() => !document.body.textContent.includes('Loading output…'), null, { timeout: 20000 })
            .catch(() => note('some output still loading'));

        for (const [stream, specs] of [['stdout', list(a.stdout)], ['stderr', list(a.stderr)]])
            for (const spec of specs) {
                const [step, text] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
                const shown = await textOf(page, `#rb-steps tbody[data-step="${step}"] pre[data-stream="${stream}"]`);
                check(shown.includes(text), `step ${step}'s ${stream} shown contains '${text}'`, `shown: ${shown.slice(0, 200)}`);
            }
        for (const spec of list(a.shows)) {
            const at = spec.indexOf(' => ');
            const [sel, text] = [spec.slice(0, at), spec.slice(at + 4)];
            const shown = await textOf(page, sel);
            check(shown.includes(text), `${sel} shown contains '${text}'`, `shown: ${shown.slice(0, 200)}`);
        }
        if (a.truncated !== undefined) {
            const t = await textOf(page, `#rb-steps tbody[data-step="${a.truncated}"] [data-alert="warning"]`);
            check(/Output truncated/.test(t), `step ${a.truncated}: the truncation is shown`, t);
        }
        const summary = await page.evaluate(() => ({
            state: document.querySelector('#rb-session-state')?.dataset.state,
            steps: [...document.querySelectorAll('#rb-steps tbody[data-step]')].map(tb => ({
                index: Number(tb.dataset.step), state: tb.dataset.state, exit: Number(tb.dataset.exit),
            })),
            journal: [...document.querySelectorAll('#rb-journal li')].map(li => li.textContent),
        }));
        console.log(`PAGE: ${JSON.stringify(summary)}`);
        if (a.shot) {
            await shot(page, `${a.shot}-finished`);
            await page.check('#rb-journal-all');
            await shot(page, `${a.shot}-journal-all`);
        }
    } finally {
        await browser.close();
    }
});
