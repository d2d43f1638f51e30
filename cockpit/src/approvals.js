// SPDX-License-Identifier: LGPL-2.1-or-later
// approvals.js - every step waiting for approval, across sessions (Manager.ListPendingApprovals),
// with Approve and Reject; kept true by the signals that change it.
import { h, button, replace, table, emptyState } from './dom.js';
import { approve, reject, showError } from './actions.js';
import * as fmt from './format.js';

export function approvalsView(ctx) {
    const root = h('section', { class: 'pf-v5-c-page__main-section rb-stack', 'aria-labelledby': 'rb-title' });
    const messages = h('div', { class: 'rb-live', 'aria-live': 'polite', id: 'rb-messages' });
    const body = h('div', { id: 'rb-approvals' });
    root.append(h('h1', { class: 'pf-v5-c-title pf-m-xl', id: 'rb-title', tabindex: '-1', text: 'Pending approvals' }),
                messages, body);

    const render = store => {
        if (store.error && !store.value) {
            showError(messages, 'Cannot list the pending approvals', store.error);
            return;
        }
        const rows = store.value || [];
        if (rows.length === 0) {
            replace(body, emptyState('No step is waiting for approval', 'Steps that need an approval appear here as soon as a session reaches them.'));
            return;
        }
        replace(body, table(
            ['Runbook', 'Reference', 'Step', 'Phase', 'Command', 'Target', 'Started by', 'Waiting since', 'Approvals',
             'Expires', 'Actions'],
            rows.map(p => {
                const label = `step ${p.step_index} (${p.step_name}) of session ${p.session_id}`;
                const mine = ctx.user && p.creator_uid === ctx.user.id;
                return [
                    p.runbook,
                    h('a', { href: `#/session/${p.session_id}`, text: p.reference || `session ${p.session_id}` }),
                    `${p.step_index}: ${p.step_name}`,
                    p.phase,
                    h('code', { class: 'rb-command', text: p.command }),
                    p.target,
                    h('span', {}, p.creator_name, mine ? h('span', { class: 'rb-muted', text: ' (you)' }) : null),
                    h('span', { class: 'rb-nowrap', text: fmt.time(p.waiting_since) }),
                    h('span', { 'data-approvals': `${p.approvals}/${p.approvals_required}`,
                                text: `${p.approvals} of ${p.approvals_required}` }),
                    h('span', { class: 'rb-nowrap rb-deadline', 'data-deadline': String(p.approval_deadline || 0),
                                title: p.approval_deadline ? `expires at ${fmt.time(p.approval_deadline)} without a decision` : '',
                                text: p.approval_deadline ? fmt.timeLeft(p.approval_deadline) : 'no deadline' }),
                    h('div', { class: 'rb-actions' },
                      button('Approve', { variant: 'primary', small: true, 'aria-label': `Approve ${label}`,
                                          'data-action': 'approve',
                                          onClick: async () => { await approve(messages, p.step_path, label); ctx.pending.refresh() } }),
                      button('Reject', { variant: 'danger', small: true, 'aria-label': `Reject ${label}`,
                                         'data-action': 'reject',
                                         onClick: async () => { await reject(messages, p.step_path, label); ctx.pending.refresh() } })),
                ];
            }),
            { caption: 'Steps waiting for approval',
              rowAttrs: i => ({ 'data-session': rows[i].session_id, 'data-step': rows[i].step_index }) }));
    };
    const unsubscribe = ctx.pending.subscribe(render);
    if (ctx.pending.value || ctx.pending.error)
        render(ctx.pending);
    ctx.pending.refresh();
    // the time left counts down between the signals that change the list
    const ticker = setInterval(() => {
        for (const el of root.querySelectorAll('.rb-deadline[data-deadline]'))
            if (Number(el.dataset.deadline))
                el.textContent = fmt.timeLeft(Number(el.dataset.deadline));
    }, 1000);

    return { root, unmount: () => { clearInterval(ticker); unsubscribe() } };
}
