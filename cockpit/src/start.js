// SPDX-License-Identifier: LGPL-2.1-or-later
// start.js - start a session: pick a runbook, fill its parameters (checked against their patterns
// before sending; the daemon checks again and its refusal is shown), set the reference, preview
// what it would run (PlanSession, which creates nothing), start, and land on the session view.
import { listRunbooks, getRunbook, startSession, planSession } from './bus.js';
import { h, button, replace, textInput, setInvalid, emptyState, formSelect, table } from './dom.js';
import { showError } from './actions.js';

const REFERENCE_MAX = 256;
const PARAM_MAX = 4096;

// A POSIX ERE (what the daemon uses, regcomp REG_EXTENDED) as a JavaScript RegExp: the bracket
// classes are translated; null when JavaScript cannot read it (then only the daemon checks).
export function ereToRegExp(pattern) {
    const classes = {
        alnum: 'A-Za-z0-9', alpha: 'A-Za-z', digit: '0-9', lower: 'a-z', upper: 'A-Z', space: ' \\t\\n\\r\\f\\v',
        xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~', blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f', print: '\\x20-\\x7e',
        graph: '\\x21-\\x7e', word: 'A-Za-z0-9_',
    };
    const js = pattern.replace(/\[:([a-z]+):\]/g, (m, c) => classes[c] ?? m);
    try {
        return new RegExp(js, 'u');
    } catch (e) {
        try {
            return new RegExp(js);
        } catch (e2) {
            return null;
        }
    }
}

const utf8Length = s => new TextEncoder().encode(s).length;

function helper(id, text, error) {
    return h('div', { class: 'pf-v5-c-form__helper-text', 'aria-live': 'polite' },
             h('div', { class: 'pf-v5-c-helper-text', id },
               h('div', { class: ['pf-v5-c-helper-text__item', error && 'pf-m-error'] },
                 h('span', { class: 'pf-v5-c-helper-text__item-text', text }))));
}

function group(id, label, required, control, help) {
    return h('div', { class: 'pf-v5-c-form__group' },
             h('div', { class: 'pf-v5-c-form__group-label' },
               h('label', { class: 'pf-v5-c-form__label', for: id },
                 h('span', { class: 'pf-v5-c-form__label-text', text: label }),
                 required ? h('span', { class: 'pf-v5-c-form__label-required', 'aria-hidden': 'true', text: ' *' }) : null)),
             h('div', { class: 'pf-v5-c-form__group-control' }, control, help));
}

export function startView(ctx, query) {
    const root = h('section', { class: 'pf-v5-c-page__main-section rb-stack', 'aria-labelledby': 'rb-title' });
    const messages = h('div', { class: 'rb-live', 'aria-live': 'polite', id: 'rb-messages' });
    const formSlot = h('div', { class: 'rb-form-wide' });
    root.append(h('h1', { class: 'pf-v5-c-title pf-m-xl', id: 'rb-title', tabindex: '-1', text: 'Start a runbook' }),
                messages, formSlot);
    let closed = false;

    const runbookSel = h('select', { id: 'rb-runbook', name: 'runbook', 'aria-describedby': 'rb-runbook-help' });
    const runbookHelp = h('div', { class: 'pf-v5-c-form__helper-text' },
                          h('div', { class: 'pf-v5-c-helper-text', id: 'rb-runbook-help' }));
    const paramSlot = h('div', { class: 'rb-stack' });
    const ref = textInput('rb-reference', { describedBy: 'rb-reference-help', placeholder: 'e.g. CHG-1234' });
    const refHelp = h('div', {});
    const submit = button('Start', { variant: 'primary', type: 'submit', 'data-action': 'start' });
    submit.type = 'submit';
    const preview = button('Preview', { variant: 'secondary', 'data-action': 'plan' });
    const planSlot = h('div', { id: 'rb-plan', class: 'rb-stack', 'aria-live': 'polite' });
    let fields = [];   // [{name, wrap, input, helpSlot, helpId, regex, pattern, def, description}]

    const form = h('form', { class: 'pf-v5-c-form', novalidate: true, id: 'rb-start-form' },
                   group('rb-runbook', 'Runbook', true, formSelect(runbookSel), runbookHelp),
                   group('rb-reference', 'Reference', false, ref.wrap, refHelp),
                   paramSlot,
                   h('div', { class: 'pf-v5-c-form__group pf-m-action' },
                     h('div', { class: 'pf-v5-c-form__actions' }, submit, preview)),
                   planSlot);

    const refHelpText = `A ticket or change number to find the session by (at most ${REFERENCE_MAX} bytes).`;
    replace(refHelp, helper('rb-reference-help', refHelpText));

    function fieldHelpText(f) {
        const parts = [];
        if (f.description)
            parts.push(f.description);
        if (f.secret)
            parts.push('Secret: a value, or cred:NAME for a credential of runbookd\'s');
        if (f.pattern)
            parts.push(`Must match ${f.pattern}`);
        if (f.def !== undefined)
            parts.push(`Default: ${f.def}`);
        return parts.join(' · ') || 'Free text.';
    }

    function checkField(f) {
        const v = f.input.value;
        let problem = null;
        if (v === '' && f.def === undefined)
            problem = `${f.name} is required.`;
        else if (v !== '' && utf8Length(v) > PARAM_MAX)
            problem = `${f.name} is too long (at most ${PARAM_MAX} bytes).`;
        else if (v !== '' && f.regex && !f.regex.test(v))
            problem = `${f.name} does not match its pattern ${f.pattern}.`;
        setInvalid(f.wrap, f.input, !!problem);
        replace(f.helpSlot, helper(f.helpId, problem || fieldHelpText(f), !!problem));
        return problem;
    }

    function checkReference() {
        const v = ref.input.value;
        const problem = utf8Length(v) > REFERENCE_MAX ? `The reference is too long (at most ${REFERENCE_MAX} bytes).` : null;
        setInvalid(ref.wrap, ref.input, !!problem);
        replace(refHelp, helper('rb-reference-help', problem || refHelpText, !!problem));
        return problem;
    }
    ref.input.addEventListener('blur', checkReference);

    async function showRunbook(name) {
        replace(paramSlot);
        fields = [];
        replace(runbookHelp.firstChild);
        if (!name)
            return;
        let doc;
        try {
            doc = await getRunbook(name);
        } catch (e) {
            showError(messages, `Cannot read runbook ${name}`, e);
            return;
        }
        if (closed || runbookSel.value !== name)
            return;
        replace(runbookHelp.firstChild, h('div', { class: 'pf-v5-c-helper-text__item' },
                                          h('span', { class: 'pf-v5-c-helper-text__item-text', text: doc.description || '' })));
        const params = doc.parameters || {};
        for (const [pname, spec] of Object.entries(params)) {
            const id = `rb-param-${pname}`;
            const f = {
                name: pname, description: spec.description, pattern: spec.pattern, def: spec.default,
                secret: spec.secret === true,
                regex: spec.pattern ? ereToRegExp(spec.pattern) : null, helpId: `${id}-help`,
                helpSlot: h('div', {}),
            };
            // a secret parameter's value is not shown as it is typed (runbookd shows it as *** or cred:NAME)
            const ti = textInput(id, { describedBy: f.helpId, placeholder: f.def, required: f.def === undefined, name: pname,
                                       type: f.secret ? 'password' : 'text' });
            f.wrap = ti.wrap;
            f.input = ti.input;
            f.input.dataset.param = pname;
            f.input.addEventListener('blur', () => { if (f.input.value !== '' || f.touched) checkField(f) });
            f.input.addEventListener('input', () => { f.touched = true; if (f.input.getAttribute('aria-invalid') === 'true') checkField(f) });
            replace(f.helpSlot, helper(f.helpId, fieldHelpText(f)));
            paramSlot.append(group(id, pname, f.def === undefined, f.wrap, f.helpSlot));
            fields.push(f);
        }
    }

    runbookSel.addEventListener('change', () => { replace(messages); replace(planSlot); showRunbook(runbookSel.value) });

    // The form's values once every field passes its checks; null (focus on the first problem) if not.
    function formParameters(verb) {
        const name = runbookSel.value;
        if (!name) {
            runbookSel.focus();
            return null;
        }
        const problems = [checkReference() && ref.input, ...fields.map(f => checkField(f) && f.input)].filter(Boolean);
        if (problems.length) {
            replace(messages, h('div', { class: 'pf-v5-c-alert pf-m-danger pf-m-inline', role: 'alert', 'data-alert': 'danger' },
                                h('p', { class: 'pf-v5-c-alert__title', text: `${verb}: ${problems.length} field${problems.length > 1 ? 's need' : ' needs'} fixing.` })));
            problems[0].focus();
            return null;
        }
        const parameters = {};
        for (const f of fields)
            if (f.input.value !== '')
                parameters[f.name] = f.input.value;
        return parameters;
    }

    function planNotes(st) {
        const notes = [];
        if (st.when)
            notes.push(`when ${st.when}`);
        if (st.onFailure === 'continue')
            notes.push('on failure: continue');
        if (st.retries > 0)
            notes.push(`${st.retries} retries, ${Math.round(st.retryDelay / 1e6)} s apart`);
        if (st.captures.length)
            notes.push(`captures ${st.captures.join(', ')}`);
        return notes.join(' · ');
    }

    preview.addEventListener('click', async () => {
        replace(messages);
        replace(planSlot);
        const parameters = formParameters('No preview');
        if (!parameters)
            return;
        const name = runbookSel.value;
        preview.disabled = true;
        try {
            const steps = await planSession(name, parameters);
            if (closed || runbookSel.value !== name)
                return;
            const gates = steps.filter(st => st.requiresApproval).length;
            replace(planSlot,
                    h('h2', { class: 'pf-v5-c-title pf-m-lg', text: `What ${name} would run` }),
                    h('p', { text: `${steps.length} step${steps.length === 1 ? '' : 's'}, ${gates} behind an approval. Nothing has been started; ` +
                                   'a value that only an earlier step will capture shows as its {{steps.ID.NAME}} reference.' }),
                    table(['#', 'Phase', 'Step', 'Command', 'Target', 'Approval', 'Notes'],
                          steps.map(st => [String(st.index), st.phase, st.name,
                                           h('code', { class: 'rb-command rb-plan-command', text: st.command }),
                                           `${st.target} (${st.connector})`,
                                           st.requiresApproval ? `required (${st.approvalsRequired})` : 'none',
                                           planNotes(st)]),
                          { caption: `The steps ${name} would run`, rowAttrs: i => ({ 'data-step': String(i) }) }));
        } catch (e) {
            showError(messages, `The daemon refused to plan ${name}`, e);
        } finally {
            preview.disabled = false;
        }
    });

    form.addEventListener('submit', async ev => {
        ev.preventDefault();
        replace(messages);
        const name = runbookSel.value;
        const parameters = formParameters('Not started');
        if (!parameters)
            return;
        submit.disabled = true;
        try {
            const { id } = await startSession(name, ref.input.value, parameters);
            ctx.go(['session', String(id)]);
        } catch (e) {
            showError(messages, `The daemon did not start ${name}`, e);
        } finally {
            submit.disabled = false;
        }
    });

    (async () => {
        let runbooks;
        try {
            runbooks = await listRunbooks();
        } catch (e) {
            showError(messages, 'Cannot list the runbooks', e);
            return;
        }
        if (closed)
            return;
        if (runbooks.length === 0) {
            replace(formSlot, emptyState('No runbooks', 'runbookd has no runbooks configured.'));
            return;
        }
        runbooks.sort((a, b) => a.name.localeCompare(b.name));
        replace(runbookSel, h('option', { value: '', text: 'Choose a runbook…' }),
                runbooks.map(r => h('option', { value: r.name, text: r.description ? `${r.name} — ${r.description}` : r.name })));
        replace(formSlot, form);
        if (query.runbook && runbooks.some(r => r.name === query.runbook)) {
            runbookSel.value = query.runbook;
            await showRunbook(query.runbook);
        }
    })();

    return { root, unmount() { closed = true } };
}
