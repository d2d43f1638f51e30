// SPDX-License-Identifier: LGPL-2.1-or-later
//
// session-break-glass.mjs - break-glass and review from a session view.
//   --user U --session ID
//   --action break-glass --reason R   Break glass… asks for a reason (an empty one is refused in
//                                     the dialog); the step runs and the view shows that the
//                                     session needs a review
//   --action review --comment C       Review (offered while one is required); the view shows who
//                                     reviewed it
//   --shot NAME
import { args, openSessionView, shot, check, pass, textOf, waitOrFail, run } from './lib.mjs';

const a = args();
const actionSel = action => `#rb-session-actions button[data-action="${action}"]`;

run(async () => {
    const { browser, page } = await openSessionView(a);
    try {
        if (a.action === 'break-glass') {
            if (!await waitOrFail(page.waitForSelector(actionSel('break-glass')), 'a waiting step offers Break glass'))
                return;
            await page.click(actionSel('break-glass'));
            await waitOrFail(page.waitForSelector('dialog[open] #rb-comment'), 'Break glass asks for a reason');
            const dialogText = await textOf(page, 'dialog[open]');
            check(/review/.test(dialogText), 'the dialog says it will be reviewed', dialogText);
            await page.click('dialog[open] button.pf-m-danger');
            await waitOrFail(page.waitForSelector('dialog[open] .pf-v5-c-helper-text__item.pf-m-error'),
                             'an empty reason is refused in the dialog');
            await page.fill('dialog[open] #rb-comment', a.reason);
            if (a.shot)
                await shot(page, `${a.shot}-reason`);
            await page.click('dialog[open] button.pf-m-danger');
            await waitOrFail(page.waitForSelector('#rb-messages [data-alert="success"]'), 'the view reports the break-glass');
            await waitOrFail(page.waitForSelector('#rb-session-review'), 'the view says the session needs a review');
            check(/required/.test(await textOf(page, '#rb-session-review')), 'review required');
        } else {
            if (!await waitOrFail(page.waitForSelector(actionSel('review')), 'the session offers Review'))
                return;
            await page.click(actionSel('review'));
            await waitOrFail(page.waitForSelector('dialog[open] #rb-comment'), 'Review asks for a comment');
            await page.fill('dialog[open] #rb-comment', a.comment);
            await page.click('dialog[open] button.pf-m-primary');
            await waitOrFail(page.waitForSelector('#rb-messages [data-alert="success"]'), 'the view reports the review');
            await waitOrFail(page.waitForFunction(u => /done by/.test(document.querySelector('#rb-session-review')?.textContent || '') &&
                                                      document.querySelector('#rb-session-review').textContent.includes(u), a.user),
                             'the view shows who reviewed it');
            check(await page.$(actionSel('review')) === null, 'Review is no longer offered');
        }
        if (a.shot)
            await shot(page, `${a.shot}-after`);
        pass(`session view as ${a.user}: ${a.action}`);
    } finally {
        await browser.close();
    }
});
