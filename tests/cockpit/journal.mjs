// SPDX-License-Identifier: LGPL-2.1-or-later
//
// journal.mjs - the session view when the journal cannot be read: the page says why, and the rest
// of the view (steps from D-Bus) is still there.
//   --user U --session ID --shot NAME
import { args, openPage, shot, check, note, textOf, waitOrFail, run } from './lib.mjs';

const a = args();

run(async () => {
    const { browser, page } = await openPage(a.user, `/session/${a.session}`);
    try {
        await waitOrFail(page.waitForSelector('#rb-steps tbody[data-step="0"]'), 'the steps are shown');
        const ok = await waitOrFail(page.waitForSelector('#rb-journal-note [data-alert="warning"]'), 'the page says the journal cannot be read');
        const text = ok ? await textOf(page, '#rb-journal-note') : '';
        note(`shown: ${text.replace(/\s+/g, ' ')}`);
        check(/insufficient permissions/.test(text), "journalctl's reason is shown", text);
        check(/systemd-journal/.test(text), 'it says who may read the journal', text);
        if (a.shot)
            await shot(page, a.shot);
    } finally {
        await browser.close();
    }
});
