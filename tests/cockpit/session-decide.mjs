// SPDX-License-Identifier: LGPL-2.1-or-later
//
// session-decide.mjs - Approve and Reject from a session's view (not the pending list), and the
// hosts of a step on a target group: their state, exit status, duration and error, and a host's
// output on demand.
//   --user U --session ID
//   --approve N                 approve step N with the view's header button
//   --approved-state S          the state step N must reach once approved (e.g. succeeded)
//   --hosts T1,T2,...           step N is on a target group of these hosts, in this order
//   --host-output T             (repeatable) open host T's output
//   --reject M --comment C      then reject step M (which must come to wait) with comment C
//   --state S                   the session's end state
//   --journal-min K             wait until at least K [EXECUTE_STEP] records are shown
//   --shot NAME
// Prints "PAGE: {json}": the hosts as shown ({target, state, exit, duration, error}), the host
// outputs shown ({target: {stdout, stderr, truncated}}) and the [EXECUTE_STEP] records shown.
import { args, list, openSessionView, sameDocument, stepSel, waitStepState, shot, check, note, textOf, waitOrFail, run } from './lib.mjs';

const a = args();
const HOST_FINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'interrupted'];

// actionButton(page, action, step): the header's Approve/Reject button, once it names step N
async function actionButton(page, action, step) {
    const sel = `#rb-session-actions button[data-action="${action}"]`;
    const ok = await waitOrFail(page.waitForFunction(([s, n]) => {
        const b = document.querySelector(s);
        return b && new RegExp(`\\bstep ${n}$`).test(b.textContent.trim());
    }, [sel, step]), `the session view offers '${action} step ${step}'`);
    return ok ? sel : null;
}

async function successMessage(page, want) {
    const sel = '#rb-messages [data-alert="success"]';
    const ok = await waitOrFail(page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent.includes(w), [sel, want]),
                                `the view reports: ${want}`);
    if (!ok)
        note(`shown: ${(await textOf(page, '#rb-messages')).replace(/\s+/g, ' ')}`);
}

run(async () => {
    const { browser, page } = await openSessionView(a);
    const shown = { hosts: [], outputs: {}, journal: [] };
    try {
        const n = a.approve;
        await waitStepState(page, n, 'waiting_approval');
        const hosts = list(a.hosts).join(',').split(',').filter(Boolean);
        if (hosts.length) {
            const listed = await page.$$eval(`${stepSel(n)} tr[data-host]`, trs => trs.map(tr => tr.dataset.host));
            check(listed.join(',') === hosts.join(','), `before it runs, step ${n} lists its hosts ${hosts.join(', ')}`,
                  listed.join(','));
        }
        if (a.shot)
            await shot(page, `${a.shot}-waiting`);

        // approve from the header
        const approveBtn = await actionButton(page, 'approve', n);
        if (!approveBtn)
            return;
        await page.click(approveBtn);
        await successMessage(page, `Approved step ${n}`);
        await waitStepState(page, n, a['approved-state'], { timeout: 30000 });
        const details = await textOf(page, `#rb-step-${n}-details`);
        check(details.includes(`Approved by ${a.user}`), `step ${n}'s decisions show the approval by ${a.user}`, details);

        // the hosts, each finished, with state, exit status, duration and error
        if (hosts.length) {
            const rows = `${stepSel(n)} tr[data-host]`;
            await waitOrFail(page.waitForFunction(([sel, final]) => {
                const trs = [...document.querySelectorAll(sel)];
                return trs.length && trs.every(tr => final.includes(tr.querySelector('td[data-label="State"] [data-state]')?.dataset.state));
            }, [rows, HOST_FINAL]), `every host of step ${n} is shown finished`);
            shown.hosts = await page.$$eval(rows, trs => trs.map(tr => {
                const cell = l => tr.querySelector(`td[data-label="${l}"]`);
                return {
                    target: tr.dataset.host,
                    state: cell('State').querySelector('[data-state]')?.dataset.state,
                    exit: cell('Exit').textContent.trim(),
                    duration: cell('Duration').textContent.trim(),
                    error: cell('Error').textContent.trim(),
                };
            }));
            check(shown.hosts.map(r => r.target).join(',') === hosts.join(','), `the hosts are listed in the group's order`,
                  JSON.stringify(shown.hosts));
            check(await page.$(`${stepSel(n)} [data-output="step-${n}"]`) === null,
                  'the group step shows no (always empty) output of its own, only its hosts\'');
            note(`hosts shown: ${JSON.stringify(shown.hosts)}`);
        }
        for (const t of list(a['host-output'])) {
            const btn = `${stepSel(n)} tr[data-host="${t}"] button`;
            const label = await textOf(page, btn);
            check(label === 'Show output', `host ${t} offers 'Show output'`, label);
            await page.click(btn);
            const out = `${stepSel(n)} [data-output="${n}-${t}"]`;
            if (!await waitOrFail(page.waitForSelector(out), `host ${t}'s output is shown on demand`))
                continue;
            check(await page.getAttribute(btn, 'aria-expanded') === 'true' && await textOf(page, btn) === 'Hide output',
                  `host ${t}'s button now hides the output (aria-expanded)`);
            shown.outputs[t] = await page.$eval(out, el => ({
                stdout: el.querySelector('pre[data-stream="stdout"]').textContent,
                stderr: el.querySelector('pre[data-stream="stderr"]').textContent,
                truncated: !!el.querySelector('[data-alert="warning"]'),
            }));
        }
        if (a.shot)
            await shot(page, `${a.shot}-hosts`);

        // reject the next step from the header, with a comment
        if (a.reject !== undefined) {
            const m = a.reject;
            await waitStepState(page, m, 'waiting_approval', { timeout: 30000 });
            const rejectBtn = await actionButton(page, 'reject', m);
            if (!rejectBtn)
                return;
            await page.click(rejectBtn);
            await waitOrFail(page.waitForSelector('dialog[open] #rb-comment'), 'Reject asks for a comment');
            await page.fill('dialog[open] #rb-comment', a.comment);
            if (a.shot)
                await shot(page, `${a.shot}-reject-comment`);
            await page.click('dialog[open] button.pf-m-danger');
            await successMessage(page, `Rejected step ${m}`);
            await waitStepState(page, m, 'rejected');
            const d = await textOf(page, `#rb-step-${m}-details`);
            check(d.includes(`Rejected by ${a.user}`) && d.includes(a.comment),
                  `step ${m}'s decisions show the rejection by ${a.user} with the comment`, d);
        }
        await waitOrFail(page.waitForSelector(`#rb-session-state[data-state="${a.state}"]`, { timeout: 30000 }),
                         `the session is shown '${a.state}'`);
        check(await page.$('#rb-session-actions button') === null, 'a finished session offers no action');
        check(await sameDocument(page), 'all without a reload');
        await page.waitForFunction(() => !document.body.textContent.includes('Loading output…'), null, { timeout: 20000 })
            .catch(() => note('some output still loading'));
        const wantJournal = Number(a['journal-min'] || 0);
        if (wantJournal)
            await waitOrFail(page.waitForFunction(k => [...document.querySelectorAll('#rb-journal li')]
                .filter(li => li.textContent.includes('[EXECUTE_STEP]')).length >= k, wantJournal),
                             `at least ${wantJournal} [EXECUTE_STEP] journal records shown`);
        shown.journal = await page.$$eval('#rb-journal li', lis => lis.map(li => li.textContent));
        if (a.shot)
            await shot(page, `${a.shot}-finished`);
    } finally {
        console.log(`PAGE: ${JSON.stringify(shown)}`);
        await browser.close();
    }
});
