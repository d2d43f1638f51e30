// SPDX-License-Identifier: LGPL-2.1-or-later
//
// approvals.mjs - the Pending approvals page as one user, acting on one waiting step.
//   --user U --session ID --step N       the row acted on
//   --action approve|reject              (reject: the page must ask for a comment: --comment C)
//   --expect ok|denied|self              ok: a success message and the row leaves the list;
//                                        denied: polkit's refusal in words; self: four-eyes;
//                                        in both refusals the row stays
//   --contains TEXT (repeatable)         text the row must show (runbook, command, creator, …)
//   --ticks                              the row's time left (Expires) counts down without a reload
//   --keyboard                           reach the button with Tab and press Enter
//   --width W                            viewport width (narrow screens stack the table)
//   --shot NAME                          screenshots NAME-before.png and NAME-after.png
import { args, list, openPage, shot, check, pass, fail, note, textOf, waitOrFail, run } from './lib.mjs';

const a = args();

run(async () => {
    const { browser, page } = await openPage(a.user, '/', { width: Number(a.width || 1280) });
    try {
        const row = `#rb-approvals tr[data-session="${a.session}"][data-step="${a.step}"]`;
        if (!await waitOrFail(page.waitForSelector(row), `${a.user} sees step ${a.step} of session ${a.session} waiting`))
            return;
        const rowText = await textOf(page, row);
        for (const t of list(a.contains))
            check(rowText.includes(t), `the row shows '${t}'`, `row: ${rowText}`);
        if (a.ticks) {
            const sel = `${row} .rb-deadline`;
            const first = await textOf(page, sel);
            await waitOrFail(page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent !== t, [sel, first],
                                                  { timeout: 5000 }), `the time left counts down (was '${first}')`);
        }
        const badge = await textOf(page, '#rb-pending-count');
        check(Number(badge) >= 1, `the tab counts the pending approvals (${badge})`);
        if (a.shot)
            await shot(page, `${a.shot}-before`);

        const btn = `${row} button[data-action="${a.action}"]`;
        if (a.keyboard) {
            // Tab from the top of the page until the button has the focus, then Enter
            await page.focus('body');
            let reached = false;
            for (let i = 0; i < 80 && !reached; i++) {
                await page.keyboard.press('Tab');
                reached = await page.evaluate(sel => document.activeElement === document.querySelector(sel), btn);
            }
            if (!check(reached, `the ${a.action} button is reachable with Tab`))
                return;
            await page.keyboard.press('Enter');
        } else {
            await page.click(btn);
        }

        if (a.action === 'reject') {
            await waitOrFail(page.waitForSelector('dialog[open] #rb-comment'), 'Reject asks for a comment');
            if (a.shot)
                await shot(page, `${a.shot}-comment`);
            await page.click('dialog[open] button.pf-m-danger');
            await waitOrFail(page.waitForSelector('dialog[open] .pf-v5-c-helper-text__item.pf-m-error'),
                             'an empty comment is refused in the dialog');
            await page.fill('dialog[open] #rb-comment', a.comment || 'rejected from the page');
            await page.keyboard.press('Tab');
            await page.click('dialog[open] button.pf-m-danger');
        }

        const messages = '#rb-messages';
        if (a.expect === 'ok') {
            await waitOrFail(page.waitForSelector(`${messages} [data-alert="success"]`), `the page reports the ${a.action}`);
            await waitOrFail(page.waitForSelector(row, { state: 'detached' }), 'the row leaves the list (no reload)');
        } else {
            const ok = await waitOrFail(page.waitForSelector(`${messages} [data-alert="danger"]`), 'the page reports a refusal');
            const text = ok ? await textOf(page, `${messages} [data-alert="danger"]`) : '';
            note(`refusal shown: ${text.replace(/\s+/g, ' ')}`);
            if (a.expect === 'denied') {
                check(/Not authorized: polkit refused/.test(text), 'the refusal says polkit refused', text);
                check(/org\.runbookd1\.approve-step/.test(text), "the daemon's message (naming the action) is shown", text);
            } else if (a.expect === 'self') {
                check(/Four-eyes rule/.test(text), 'the refusal names the four-eyes rule', text);
            }
            // the list stays true: the step is still there, still waiting
            await page.waitForTimeout(500);
            check(await page.$(row) !== null, 'the row is still listed after the refusal');
        }
        if (a.shot)
            await shot(page, `${a.shot}-after`);
        pass(`approvals page as ${a.user}: ${a.action} → ${a.expect}`);
    } finally {
        await browser.close();
    }
});
