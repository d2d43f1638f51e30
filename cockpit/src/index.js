// SPDX-License-Identifier: LGPL-2.1-or-later
// index.js - runbookd's Cockpit page: tabs Pending approvals / Sessions / Start, and the session
// view; routes through cockpit.location (#/, #/sessions, #/start, #/session/ID).
/* global cockpit */
import { onSignal, onOwner, listPendingApprovals, listNewestSessions, IFACE_SESSION, IFACE_STEP, changedProps } from './bus.js';
import { Store } from './store.js';
import { h, replace } from './dom.js';
import { approvalsView } from './approvals.js';
import { sessionsView } from './sessions.js';
import { sessionView } from './session.js';
import { startView } from './start.js';

const TABS = [
    { key: 'approvals', path: [], label: 'Pending approvals' },
    { key: 'sessions', path: ['sessions'], label: 'Sessions' },
    { key: 'start', path: ['start'], label: 'Start' },
];

function init() {
    const main = document.getElementById('main');
    const pending = new Store(listPendingApprovals);
    // the Sessions tab's list: the newest `count` sessions in the state filtered on, fetched page
    // by page (the daemon bounds each call); "Show more" raises count
    const sessionsQuery = { states: [], count: 200, unreviewed: false };
    const sessions = new Store(() => listNewestSessions(sessionsQuery.states, sessionsQuery.count, sessionsQuery.unreviewed));
    const ctx = {
        user: null,
        pending,
        sessions,
        sessionsQuery,
        go: path => cockpit.location.go(path),
        setQuery: options => {
            const clean = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
            cockpit.location.replace(cockpit.location.path, clean);
        },
    };

    const badge = h('span', { class: 'rb-badge rb-hidden', id: 'rb-pending-count' });
    const tabItems = {};
    const nav = h('nav', { class: 'pf-v5-c-tabs pf-m-page-insets', 'aria-label': 'runbookd' },
                  h('ul', { class: 'pf-v5-c-tabs__list' },
                    TABS.map(t => (tabItems[t.key] = h('li', { class: 'pf-v5-c-tabs__item' },
                        h('a', { class: 'pf-v5-c-tabs__link', href: `#/${t.path.join('/')}`, 'data-tab': t.key },
                          h('span', { class: 'pf-v5-c-tabs__item-text', text: t.label }),
                          t.key === 'approvals' ? badge : null))))));
    const viewSlot = h('div', { id: 'rb-view' });
    replace(main, h('section', { class: 'pf-v5-c-page__main-tabs pf-m-limit-width' }, nav), viewSlot);

    pending.subscribe(store => {
        const n = store.value ? store.value.length : 0;
        badge.textContent = String(n);
        badge.classList.toggle('rb-hidden', n === 0);
        badge.setAttribute('aria-label', `${n} waiting`);
    });

    // Signals that change the lists: a new or removed session/step, a state or approvals change.
    onSignal((path, iface, member, args) => {
        if (member === 'InterfacesAdded' || member === 'InterfacesRemoved' ||
            member === 'SessionNew' || member === 'SessionRemoved') {
            pending.refresh();
            sessions.refresh();
            return;
        }
        const step = changedProps(iface, member, args, IFACE_STEP);
        if (step && ('State' in step || 'Approvals' in step || 'Decisions' in step))
            pending.refresh();
        const session = changedProps(iface, member, args, IFACE_SESSION);
        if (session && ('State' in session || 'CurrentStep' in session || 'FinishedAt' in session)) {
            sessions.refresh();
            pending.refresh();
        }
    });

    let current = null, currentKey = null;
    function route() {
        const path = cockpit.location.path;
        const options = cockpit.location.options;
        const key = path.join('/');
        if (key === currentKey && current)
            return;   // only the options changed (a filter): the view keeps itself
        if (current && current.unmount)
            current.unmount();
        let tab;
        if (path[0] === 'session' && /^[0-9]+$/.test(path[1] || '')) {
            current = sessionView(ctx, Number(path[1]));
            tab = 'sessions';
        } else if (path[0] === 'sessions') {
            current = sessionsView(ctx, options);
            tab = 'sessions';
        } else if (path[0] === 'start') {
            current = startView(ctx, options);
            tab = 'start';
        } else {
            current = approvalsView(ctx);
            tab = 'approvals';
        }
        currentKey = key;
        for (const [k, li] of Object.entries(tabItems)) {
            li.classList.toggle('pf-m-current', k === tab);
            const a = li.querySelector('a');
            if (k === tab)
                a.setAttribute('aria-current', 'page');
            else
                a.removeAttribute('aria-current');
        }
        replace(viewSlot, current.root);
        document.title = `Runbooks: ${TABS.find(t => t.key === tab).label}`;
        // keyboard users land on the new view's heading
        if (route.ran)
            current.root.querySelector('h1')?.focus();
        route.ran = true;
    }

    onOwner(owner => {
        // runbookd (re)started or stopped: everything shown may be stale
        pending.refresh();
        sessions.refresh();
        if (owner && current && current.reload)
            current.reload();
    });

    cockpit.user().then(u => {
        ctx.user = u;
        pending.refresh();
    }, () => {});
    cockpit.addEventListener('locationchanged', route);
    route();
    pending.refresh();
    cockpit.translate?.();
    document.body.dataset.ready = 'true';
}

if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', init);
else
    init();
