// SPDX-License-Identifier: LGPL-2.1-or-later
//
// session-locks.mjs - the session view says which of the session's locks are held, by whom, and
// its place in the queue while it waits for them.
//   --user U --session ID
//   --state S                   the session state shown
//   --contains TEXT             (repeatable) text the Locks line must hold
//   --shot NAME
import { args, list, openSessionView, shot, check, textOf, waitOrFail, run } from './lib.mjs';

const a = args();

run(async () => {
    const { browser, page } = await openSessionView(a);
    try {
        if (!await waitOrFail(page.waitForSelector(`#rb-session-state[data-state="${a.state}"]`),
                              `the session is shown ${a.state.replaceAll('_', ' ')}`))
            return;
        if (!await waitOrFail(page.waitForSelector('#rb-session-locks'), 'the session view has a Locks line'))
            return;
        const text = await textOf(page, '#rb-session-locks');
        for (const want of list(a.contains))
            check(text.includes(want), `the Locks line says '${want}'`, text);
        if (a.shot)
            await shot(page, a.shot);
    } finally {
        await browser.close();
    }
});
