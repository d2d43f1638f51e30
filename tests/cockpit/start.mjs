// SPDX-License-Identifier: LGPL-2.1-or-later
//
// start.mjs - the Start form: a parameter failing its pattern is refused in the form (nothing is
// sent); a value the form accepts but the daemon refuses shows the daemon's words; a good value
// starts the session and lands on its view.
//   --user U --runbook R --reference REF --param NAME
//   --bad VALUE          refused by the form (pattern)
//   --daemon-bad VALUE   accepted by the form, refused by the daemon once --mutate has run
//   --mutate CMD         a shell command run (by this script) before submitting --daemon-bad,
//                        e.g. a stricter pattern and Manager.Reload
//   --plan-expect TEXT   Preview with --good first: the plan shows TEXT as a command, nothing starts
//   --good VALUE         starts the session
//   --shot NAME
// Prints "STARTED: ID" on success.
import { execSync } from 'node:child_process';
import { args, openPage, shot, check, checkSelectCaret, note, textOf, waitOrFail, run } from './lib.mjs';

const a = args();

run(async () => {
    const { browser, page } = await openPage(a.user, '/start', { width: Number(a.width || 1280) });
    try {
        await page.waitForSelector('#rb-runbook option[value="' + a.runbook + '"]', { state: 'attached' });
        await page.selectOption('#rb-runbook', a.runbook);
        await checkSelectCaret(page, '#rb-runbook');
        const input = `#rb-start-form input[data-param="${a.param}"]`;
        await waitOrFail(page.waitForSelector(input), `the form asks for parameter '${a.param}'`);
        await page.fill('#rb-reference', a.reference);

        // 1. refused by the form
        await page.fill(input, a.bad);
        await page.click('#rb-start-form button[type="submit"]');
        await waitOrFail(page.waitForSelector(`${input}[aria-invalid="true"]`), `'${a.bad}' is marked invalid`);
        const help = await textOf(page, `#rb-param-${a.param}-help`);
        check(/does not match its pattern/.test(help), 'the field says it does not match its pattern', help);
        check(await page.evaluate(sel => document.activeElement === document.querySelector(sel), input),
              'the focus is on the invalid field');
        check(page.url().endsWith('#/start'), 'still on the form', page.url());
        if (a.shot)
            await shot(page, `${a.shot}-invalid`);

        // 2. accepted by the form, refused by the daemon
        if (a['daemon-bad'] !== undefined) {
            note(`running: ${a.mutate}`);
            execSync(a.mutate, { stdio: 'inherit', shell: '/bin/bash' });
            await page.fill(input, a['daemon-bad']);
            await page.click('#rb-start-form button[type="submit"]');
            const ok = await waitOrFail(page.waitForSelector('#rb-messages [data-alert="danger"]'),
                                        'the daemon\'s refusal is shown in the form');
            const text = ok ? await textOf(page, '#rb-messages [data-alert="danger"]') : '';
            note(`refusal shown: ${text.replace(/\s+/g, ' ')}`);
            check(/The daemon refused the input/.test(text) && new RegExp(a.param).test(text),
                  'it says the daemon refused, with the daemon\'s message naming the parameter', text);
            check(page.url().endsWith('#/start'), 'still on the form', page.url());
            if (a.shot)
                await shot(page, `${a.shot}-refused-by-daemon`);
        }

        // 3. previewed (PlanSession): the rendered command, and still on the form
        if (a['plan-expect'] !== undefined) {
            await page.fill(input, a.good);
            await page.click('#rb-start-form button[data-action="plan"]');
            const shown = await waitOrFail(page.waitForSelector('#rb-plan tbody tr[data-step="0"]'),
                                           'Preview shows the steps the session would run');
            const commands = shown ? await textOf(page, '#rb-plan tbody') : '';
            note(`plan shown: ${commands.replace(/\s+/g, ' ')}`);
            check(commands.includes(a['plan-expect']), `the plan shows the rendered command ${a['plan-expect']}`, commands);
            check(page.url().endsWith('#/start'), 'still on the form after the preview', page.url());
            if (a.shot)
                await shot(page, `${a.shot}-plan`);
        }

        // 4. started
        await page.fill(input, a.good);
        await page.click('#rb-start-form button[type="submit"]');
        const landed = await waitOrFail(page.waitForURL(/#\/session\/[0-9]+$/), 'a good value starts the session and lands on its view');
        if (landed) {
            const id = page.url().match(/#\/session\/([0-9]+)$/)[1];
            await waitOrFail(page.waitForSelector('#rb-steps tbody[data-step="0"]'), 'the session view shows the steps');
            const ref = await textOf(page, '#rb-session-summary');
            check(ref.includes(a.reference), 'the session view shows the reference', ref);
            console.log(`STARTED: ${id}`);
            if (a.shot)
                await shot(page, `${a.shot}-landed`);
        }
    } finally {
        await browser.close();
    }
});
