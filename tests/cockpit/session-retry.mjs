// SPDX-License-Identifier: LGPL-2.1-or-later
//
// session-retry.mjs - a session view open while runbookd is killed and restarted: the view notices
// the restart and shows the session interrupted without a reload; Retry puts the step back to
// waiting for a fresh approval.
//   --user U --session ID
//   --running-step N            the step shown running when the daemon is killed
//   --ready FILE                created once the page shows step N running: the test then kills
//                               runbookd (-9) and starts it again
//   --try-approve self          after the Retry, U (the session's creator) tries Approve from the
//                               view and must be refused by four-eyes, the step still waiting
//   --shot NAME
// Prints "PAGE: {json}" with the session's and the steps' states and the step's attempt as shown.
import { writeFileSync } from 'node:fs';
import { args, openSessionView, sameDocument, stepSel, waitStepState, shot, check, note, textOf, waitOrFail, run } from './lib.mjs';

const a = args();
const actionSel = action => `#rb-session-actions button[data-action="${action}"]`;

run(async () => {
    const { browser, page } = await openSessionView(a);
    let summary = {};
    try {
        const n = a['running-step'];
        if (!await waitStepState(page, n, 'running'))
            return;
        check(await page.$(actionSel('retry')) === null, 'a running session offers no Retry');
        if (a.shot)
            await shot(page, `${a.shot}-running`);
        writeFileSync(a.ready, 'shown running\n');

        // the test kills runbookd and starts it again
        await waitOrFail(page.waitForSelector('#rb-session-state[data-state="interrupted"]', { timeout: 60000 }),
                         "after runbookd's restart the session is shown 'interrupted'");
        await waitStepState(page, n, 'interrupted');
        check(await sameDocument(page), 'without a reload');
        const err = await textOf(page, '#rb-session-error');
        check(/interrupted; retry .* or cancel/.test(err), "the session's error says what to do", err);
        check(await page.$(actionSel('retry')) !== null, 'an interrupted session offers Retry');
        check(await page.$(actionSel('cancel')) !== null, 'an interrupted session offers Cancel');
        if (a.shot)
            await shot(page, `${a.shot}-interrupted`);

        await page.click(actionSel('retry'));
        const ok = await waitOrFail(page.waitForSelector('#rb-messages [data-alert="success"]'), 'the view reports the retry');
        if (ok) {
            const text = await textOf(page, '#rb-messages');
            check(/waits for a fresh approval/.test(text), 'the message says the step waits for a fresh approval', text);
        }
        await waitStepState(page, n, 'waiting_approval');
        await waitOrFail(page.waitForSelector('#rb-session-state[data-state="waiting_approval"]'),
                         "the session is shown 'waiting approval'");
        await waitOrFail(page.waitForFunction(s => /Attempt\s*2/.test(document.querySelector(s)?.textContent || ''),
                                              `#rb-step-${n}-details`), `step ${n} shows attempt 2`);
        check(await page.$(actionSel('retry')) === null, 'Retry is no longer offered');
        check(await page.$(actionSel('approve')) !== null, 'Approve is offered for the re-armed step');

        if (a['try-approve'] === 'self') {
            await page.click(actionSel('approve'));
            const refused = await waitOrFail(page.waitForSelector('#rb-messages [data-alert="danger"]'),
                                             'approving from the view is refused');
            const text = refused ? await textOf(page, '#rb-messages [data-alert="danger"]') : '';
            note(`refusal shown: ${text.replace(/\s+/g, ' ')}`);
            check(/Four-eyes rule/.test(text), 'the refusal names the four-eyes rule', text);
            await page.waitForTimeout(300);
            check(await page.$(`${stepSel(n)}[data-state="waiting_approval"]`) !== null, `step ${n} is still shown waiting`);
        }
        summary = await page.evaluate(n => ({
            state: document.querySelector('#rb-session-state')?.dataset.state,
            steps: [...document.querySelectorAll('#rb-steps tbody[data-step]')].map(tb => tb.dataset.state),
            attempt: (document.querySelector(`#rb-step-${n}-details`)?.textContent.match(/Attempt\s*([0-9]+)/) || [])[1],
        }), n);
        if (a.shot)
            await shot(page, `${a.shot}-retried`);
    } finally {
        console.log(`PAGE: ${JSON.stringify(summary)}`);
        await browser.close();
    }
});
