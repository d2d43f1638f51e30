// SPDX-License-Identifier: LGPL-2.1-or-later
// actions.js - Approve, Reject (asks for a comment), Break glass (asks for a reason), Review,
// Cancel, Retry; each reports its outcome in
// words into a live region, the daemon's message included.
import { call, explain, IFACE_SESSION, IFACE_STEP } from './bus.js';
import { h, alert, button, replace, setInvalid } from './dom.js';

export function showOutcome(region, variant, title, detail) {
    const a = alert(variant, title, detail);
    replace(region, a);
    a.scrollIntoView?.({ block: 'nearest' });
}

export function showError(region, what, err) {
    const { title, detail } = explain(err);
    showOutcome(region, 'danger', `${what}: ${title}`, detail);
}

async function run(region, what, done, fn) {
    try {
        await fn();
        showOutcome(region, 'success', done);
        return true;
    } catch (e) {
        showError(region, what, e);
        return false;
    }
}

export function approve(region, stepPath, label) {
    return run(region, `Approving ${label} failed`, `Approved ${label}.`,
               () => call(stepPath, IFACE_STEP, 'Approve', 's', ['']));
}

export async function reject(region, stepPath, label) {
    const comment = await askComment(`Reject ${label}`, 'Why is this step rejected? The comment is recorded with the decision.');
    if (comment === null)
        return false;
    return run(region, `Rejecting ${label} failed`, `Rejected ${label}.`,
               () => call(stepPath, IFACE_STEP, 'Reject', 's', [comment]));
}

export async function breakGlass(region, sessionPath, label) {
    const reason = await askComment(`Break glass: run ${label} without its approvals`,
                                    'Why must it run now, without the approvals it still needs? The reason is recorded, ' +
                                    'logged at warning priority, and someone else must review the session afterwards.',
                                    { action: 'Break glass', field: 'Reason', required: 'A reason is required to break the glass.' });
    if (reason === null)
        return false;
    return run(region, `Breaking the glass on ${label} failed`, `${label} runs by break-glass; the session needs a review.`,
               () => call(sessionPath, IFACE_SESSION, 'BreakGlass', 's', [reason]));
}

export async function review(region, sessionPath, label) {
    const comment = await askComment(`Review ${label}`, 'A step of this session ran by break-glass. What did you check?',
                                     { action: 'Review', variant: 'primary', required: 'A comment is required to review.' });
    if (comment === null)
        return false;
    return run(region, `Reviewing ${label} failed`, `Reviewed ${label}.`,
               () => call(sessionPath, IFACE_SESSION, 'Review', 's', [comment]));
}

export async function cancel(region, sessionPath, label) {
    const ok = await confirmDialog(`Cancel ${label}?`,
                                   'A running step is stopped (its whole process group) and the steps that have not run are skipped. This cannot be undone.',
                                   'Cancel session');
    if (!ok)
        return false;
    return run(region, `Cancelling ${label} failed`, `Cancelled ${label}.`,
               () => call(sessionPath, IFACE_SESSION, 'Cancel'));
}

export function retry(region, sessionPath, label) {
    return run(region, `Retrying ${label} failed`, `${label}: the step waits for a fresh approval.`,
               () => call(sessionPath, IFACE_SESSION, 'Retry'));
}

let dialogSeq = 0;

// modal(title, body, footerButtons): a <dialog> shown modally (focus stays inside, Escape closes);
// resolves with what close(value) was given (undefined on Escape).
function modal(title, bodyNodes, makeButtons) {
    return new Promise(resolve => {
        const id = `rb-dialog-${++dialogSeq}`;
        const dlg = h('dialog', { class: 'rb-dialog', 'aria-labelledby': `${id}-title` });
        let result;
        const close = v => { result = v; dlg.close() };
        dlg.append(h('div', { class: 'pf-v5-c-modal-box pf-m-sm' },
                     h('header', { class: 'pf-v5-c-modal-box__header' },
                       h('h1', { class: 'pf-v5-c-modal-box__title', id: `${id}-title`, text: title })),
                     h('div', { class: 'pf-v5-c-modal-box__body' }, bodyNodes),
                     h('footer', { class: 'pf-v5-c-modal-box__footer' }, makeButtons(close))));
        dlg.addEventListener('close', () => { dlg.remove(); resolve(result) });
        document.body.append(dlg);
        dlg.showModal();
    });
}

function askComment(title, help, { action = 'Reject', variant = 'danger', field = 'Comment',
                                   required = 'A comment is required to reject.' } = {}) {
    const input = h('textarea', { id: 'rb-comment', rows: 3, maxlength: 4096, 'aria-describedby': 'rb-comment-help',
                                  'aria-invalid': 'false', required: true });
    const wrap = h('span', { class: 'pf-v5-c-form-control pf-m-textarea pf-m-resize-vertical' }, input);
    const helpEl = h('div', { class: 'pf-v5-c-helper-text', id: 'rb-comment-help' },
                     h('div', { class: 'pf-v5-c-helper-text__item' }, h('span', { class: 'pf-v5-c-helper-text__item-text', text: help })));
    const form = h('form', { class: 'pf-v5-c-form', novalidate: true },
                   h('div', { class: 'pf-v5-c-form__group' },
                     h('div', { class: 'pf-v5-c-form__group-label' },
                       h('label', { class: 'pf-v5-c-form__label', for: 'rb-comment' },
                         h('span', { class: 'pf-v5-c-form__label-text', text: field }),
                         h('span', { class: 'pf-v5-c-form__label-required', 'aria-hidden': 'true', text: ' *' }))),
                     h('div', { class: 'pf-v5-c-form__group-control' }, wrap, helpEl)));
    return modal(title, form, close => {
        const submit = () => {
            const v = input.value.trim();
            if (!v) {
                setInvalid(wrap, input, true);
                replace(helpEl, h('div', { class: 'pf-v5-c-helper-text__item pf-m-error' },
                                  h('span', { class: 'pf-v5-c-helper-text__item-text', text: required })));
                input.focus();
                return;
            }
            close(v);
        };
        form.addEventListener('submit', ev => { ev.preventDefault(); submit() });
        return [button(action, { variant, onClick: submit }),
                button('Cancel', { variant: 'link', onClick: () => close(null) })];
    }).then(v => (v === undefined ? null : v));
}

function confirmDialog(title, text, confirmLabel) {
    return modal(title, h('p', { text }), close => [
        button(confirmLabel, { variant: 'danger', onClick: () => close(true) }),
        button('Keep the session', { variant: 'link', onClick: () => close(false) }),
    ]).then(v => v === true);
}
