// SPDX-License-Identifier: LGPL-2.1-or-later
// sessions.js - the sessions (Manager.ListSessions, newest first, a page at a time), filtered by
// state (by the daemon) and reference (among those loaded); kept current by the signals.
import { h, replace, table, emptyState, stateLabel, formSelect } from './dom.js';
import { showError } from './actions.js';
import * as fmt from './format.js';

const STATES = ['created', 'waiting_approval', 'waiting_lock', 'waiting_window', 'running', 'succeeded', 'failed', 'rejected', 'cancelled', 'interrupted',
                'expired'];
const PAGE = 200;
const UNREVIEWED = 'unreviewed';

export function sessionsView(ctx, query) {
    const root = h('section', { class: 'pf-v5-c-page__main-section rb-stack', 'aria-labelledby': 'rb-title' });
    const messages = h('div', { class: 'rb-live', 'aria-live': 'polite' });
    const body = h('div', { id: 'rb-sessions' });
    const stateSel = h('select', { id: 'rb-filter-state', 'aria-label': 'Filter by state' },
                       h('option', { value: '', text: 'All states' }),
                       STATES.map(s => h('option', { value: s, text: s.replaceAll('_', ' ') })),
                       // not a state: the sessions that ran a step by break-glass and wait for a review
                       h('option', { value: UNREVIEWED, text: 'needs review (break-glass)' }));
    stateSel.value = STATES.includes(query.state) || query.state === UNREVIEWED ? query.state : '';
    const refInput = h('input', { id: 'rb-filter-reference', type: 'search', placeholder: 'Reference contains…',
                                  'aria-label': 'Filter by reference', autocomplete: 'off' });
    refInput.value = query.reference || '';
    const setQuery = () => {
        ctx.sessionsQuery.unreviewed = stateSel.value === UNREVIEWED;
        ctx.sessionsQuery.states = stateSel.value && stateSel.value !== UNREVIEWED ? [stateSel.value] : [];
        ctx.sessionsQuery.count = PAGE;
    };
    setQuery();

    const toolbar = h('div', { class: 'pf-v5-c-toolbar' },
                      h('div', { class: 'pf-v5-c-toolbar__content' },
                        h('div', { class: 'pf-v5-c-toolbar__content-section' },
                          h('div', { class: 'pf-v5-c-toolbar__item' },
                            formSelect(stateSel)),
                          h('div', { class: 'pf-v5-c-toolbar__item' },
                            h('span', { class: 'pf-v5-c-form-control' }, refInput)))));
    root.append(h('h1', { class: 'pf-v5-c-title pf-m-xl', id: 'rb-title', tabindex: '-1', text: 'Sessions' }),
                toolbar, messages, body);

    const render = store => {
        if (store.error) {
            showError(messages, 'Cannot list the sessions', store.error);
            if (!store.value)
                return;
        } else {
            replace(messages);
        }
        const state = stateSel.value, ref = refInput.value.trim().toLowerCase();
        const loaded = store.value ? store.value.sessions : [];
        const more = store.value ? store.value.more : false;
        // a reload for another state may still be on its way: show only what matches
        const rows = loaded.filter(s => (!state || state === UNREVIEWED || s.state === state) &&
                                        (!ref || s.reference.toLowerCase().includes(ref)));
        const showMore = more
            ? h('button', { type: 'button', class: 'pf-v5-c-button pf-m-link pf-m-inline', id: 'rb-sessions-more',
                            onclick: () => { ctx.sessionsQuery.count += PAGE; ctx.sessions.refresh() } }, 'Show more')
            : null;
        if (rows.length === 0) {
            const filtered = state || ref;
            replace(body, emptyState(filtered ? 'No session matches the filter' : 'No sessions yet',
                                     filtered ? (more ? `None among the newest ${loaded.length} loaded.` : 'None in all.')
                                              : 'Start one from the Start tab.'),
                    showMore);
            return;
        }
        const shown = rows;
        replace(body,
                table(['ID', 'Runbook', 'Reference', 'State', 'Current step', 'Started by', 'Created', 'Finished'],
                      shown.map(s => [
                          h('a', { href: `#/session/${s.id}`, 'aria-label': `Session ${s.id}`, text: String(s.id) }),
                          s.runbook,
                          h('a', { href: `#/session/${s.id}`, text: s.reference || '—' }),
                          stateLabel(s.state),
                          s.current_step >= 0 ? String(s.current_step) : '—',
                          s.creator_name,
                          h('span', { class: 'rb-nowrap', text: fmt.time(s.created_at) }),
                          h('span', { class: 'rb-nowrap', text: fmt.time(s.finished_at) }),
                      ]),
                      { caption: 'Sessions', rowAttrs: i => ({ 'data-session': shown[i].id, 'data-state': shown[i].state }) }),
                more
                    ? h('p', {}, `${shown.length} of the newest ${loaded.length} sessions shown. `, showMore)
                    : h('p', { class: 'rb-muted', text: `${shown.length} of ${loaded.length} sessions.` }));
    };
    const onFilter = () => {
        ctx.setQuery({ state: stateSel.value || undefined, reference: refInput.value.trim() || undefined });
        render(ctx.sessions);
    };
    stateSel.addEventListener('change', () => {
        setQuery();
        onFilter();
        ctx.sessions.refresh();
    });
    refInput.addEventListener('input', onFilter);

    const unsubscribe = ctx.sessions.subscribe(render);
    if (ctx.sessions.value)
        render(ctx.sessions);
    ctx.sessions.refresh();
    return { root, unmount: unsubscribe };
}
