// SPDX-License-Identifier: LGPL-2.1-or-later
//
// sessions.mjs - the Sessions list and its filters.
//   --user U --all IDS            (comma-separated) the ids the unfiltered list must show, in order
//   --state S --reference R --filtered IDS   the ids shown once filtered by state S and reference R
//   --more IDS                    after "Show more": the ids it must show (the first page is --all)
//   --shot NAME
import { args, openPage, shot, check, checkSelectCaret, run } from './lib.mjs';

const a = args();
const ids = page => page.evaluate(() => [...document.querySelectorAll('#rb-sessions tr[data-session]')].map(tr => tr.dataset.session).join(','));

run(async () => {
    const { browser, page } = await openPage(a.user, '/sessions', { width: Number(a.width || 1280) });
    try {
        await page.waitForSelector('#rb-sessions tr[data-session], #rb-sessions .pf-v5-c-empty-state');
        check(await ids(page) === a.all, 'the list shows every session, newest first', `${await ids(page)} vs ${a.all}`);
        await checkSelectCaret(page, '#rb-filter-state');
        if (a.shot)
            await shot(page, `${a.shot}-all`);
        if (a.more) {
            check(await page.$('#rb-sessions-more') !== null, '"Show more" is offered when the daemon has more');
            await page.click('#rb-sessions-more');
            await page.waitForFunction(want => [...document.querySelectorAll('#rb-sessions tr[data-session]')]
                .map(tr => tr.dataset.session).join(',') === want, a.more, { timeout: 15000 }).catch(() => {});
            check(await ids(page) === a.more, '"Show more" adds the next page, newest first',
                  `${(await ids(page)).split(',').length} shown`);
            check(await page.$('#rb-sessions-more') === null, 'no "Show more" once everything is shown');
            return;
        }
        await page.selectOption('#rb-filter-state', a.state);
        await page.fill('#rb-filter-reference', a.reference);
        // the state filter asks the daemon again: wait for the list to settle on the answer
        await page.waitForFunction(want => [...document.querySelectorAll('#rb-sessions tr[data-session]')]
            .map(tr => tr.dataset.session).join(',') === want, a.filtered || '', { timeout: 15000 }).catch(() => {});
        check(await ids(page) === (a.filtered || ''), `filtered by state '${a.state}' and reference '${a.reference}'`,
              `${await ids(page)} vs ${a.filtered}`);
        check(/[#&?]?state=/.test(page.url()), 'the filter is kept in the URL', page.url());
        if (a.shot)
            await shot(page, `${a.shot}-filtered`);
    } finally {
        await browser.close();
    }
});
