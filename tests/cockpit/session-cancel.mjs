// SPDX-License-Identifier: LGPL-2.1-or-later
//
// session-cancel.mjs - Cancel a running session from its view: the confirmation can be declined
// (nothing happens), then confirmed; the view follows the session to 'cancelled' without reload.
//   --user U --session ID
//   --running-step N            the step shown running when Cancel is pressed
//   --skipped M                 (repeatable) steps that must end skipped
//   --shot NAME
// Prints "PAGE: {json}" with the session's and the steps' states as shown.
import { args, list, openSessionView, sameDocument, stepSel, waitStepState, shot, check, note, textOf, waitOrFail, run } from './lib.mjs';

const a = args();
const cancelBtn = '#rb-session-actions button[data-action="cancel"]';

run(async () => {
    const { browser, page } = await openSessionView(a);
    let summary = {};
    try {
        const n = a['running-step'];
        if (!await waitStepState(page, n, 'running'))
            return;
        if (!await waitOrFail(page.waitForSelector(cancelBtn), 'a running session offers Cancel'))
            return;
        check(await page.$('#rb-session-actions button[data-action="retry"]') === null, 'a running session offers no Retry');

        // declined: the dialog closes, nothing is sent
        await page.click(cancelBtn);
        await waitOrFail(page.waitForSelector('dialog[open]'), 'Cancel asks for a confirmation');
        await page.click('dialog[open] button.pf-m-link');
        await waitOrFail(page.waitForSelector('dialog', { state: 'detached' }), "'Keep the session' closes the dialog");
        await page.waitForTimeout(300);
        check(await page.$('#rb-messages [data-alert]') === null, 'declining sends nothing (no outcome reported)');
        check(await page.$(`${stepSel(n)}[data-state="running"]`) !== null, `step ${n} is still shown running`);

        // confirmed
        await page.click(cancelBtn);
        await waitOrFail(page.waitForSelector('dialog[open]'), 'Cancel asks again');
        const text = await textOf(page, 'dialog[open]');
        check(/stopped/.test(text) && /skipped/.test(text), 'the dialog says what cancelling does', text);
        if (a.shot)
            await shot(page, `${a.shot}-confirm`);
        await page.click('dialog[open] button.pf-m-danger');
        const ok = await waitOrFail(page.waitForSelector('#rb-messages [data-alert="success"]'), 'the view reports the cancel');
        if (ok)
            note(`shown: ${(await textOf(page, '#rb-messages')).replace(/\s+/g, ' ')}`);
        await waitOrFail(page.waitForSelector('#rb-session-state[data-state="cancelled"]'), "the session is shown 'cancelled'");
        await waitStepState(page, n, 'cancelled');
        for (const m of list(a.skipped))
            await waitStepState(page, m, 'skipped');
        const err = await textOf(page, '#rb-session-error');
        check(err.includes(`cancelled by ${a.user}`), 'the session says who cancelled it', err);
        check(await page.$(cancelBtn) === null, 'a cancelled session offers no Cancel');
        check(await sameDocument(page), 'without a reload');
        summary = await page.evaluate(() => ({
            state: document.querySelector('#rb-session-state')?.dataset.state,
            steps: [...document.querySelectorAll('#rb-steps tbody[data-step]')].map(tb => tb.dataset.state),
        }));
        if (a.shot)
            await shot(page, `${a.shot}-cancelled`);
    } finally {
        console.log(`PAGE: ${JSON.stringify(summary)}`);
        await browser.close();
    }
});
