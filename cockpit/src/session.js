// SPDX-License-Identifier: LGPL-2.1-or-later
// session.js - one session: its properties, each step (phase, state, target, exit status,
// duration, approvals, output; the hosts of a step on a target group) and the session's journal
// records; Approve/Reject/Cancel/Retry where they apply. Follows the session live from
// PropertiesChanged signals and `journalctl --follow`.
/* global cockpit */
import {
    onSignal, getAll, changedProps, getOutput, getHostOutput, hostResults, sessionPath, daemonUid,
    IFACE_SESSION, IFACE_STEP, SESSION_FINISHED,
} from './bus.js';
import { h, button, replace, stateLabel, descriptionList, alert } from './dom.js';
import { approve, reject, breakGlass, review, cancel, retry, showError } from './actions.js';
import * as fmt from './format.js';

const WHO_READS = 'Members of the group systemd-journal (or adm) may read the system journal.';
const STEP_COLUMNS = ['', '#', 'Phase', 'Step', 'State', 'Target', 'Exit', 'Duration', 'Approvals'];

export function sessionView(ctx, id) {
    const path = sessionPath(id);
    const root = h('section', { class: 'pf-v5-c-page__main-section rb-stack', 'aria-labelledby': 'rb-title' });
    const title = h('h1', { class: 'pf-v5-c-title pf-m-xl', id: 'rb-title', tabindex: '-1', text: `Session ${id}` });
    const stateSlot = h('span', { id: 'rb-session-state' });
    const actions = h('div', { class: 'rb-actions', id: 'rb-session-actions' });
    const messages = h('div', { class: 'rb-live', 'aria-live': 'polite', id: 'rb-messages' });
    const summary = h('div', { id: 'rb-session-summary' });
    const stepsTable = h('table', { class: 'pf-v5-c-table pf-m-grid-md pf-m-compact pf-m-expandable', role: 'grid',
                                    id: 'rb-steps', 'aria-label': 'Steps' },
                         h('thead', { class: 'pf-v5-c-table__thead' },
                           h('tr', { class: 'pf-v5-c-table__tr' },
                             STEP_COLUMNS.map((c, i) => h('th', { class: 'pf-v5-c-table__th pf-m-wrap', scope: 'col' },
                                                          i === 0 ? h('span', { class: 'pf-v5-screen-reader', text: 'Details' }) : c)))));
    const showAll = h('input', { type: 'checkbox', id: 'rb-journal-all', class: 'pf-v5-c-check__input' });
    const journalNote = h('div', { id: 'rb-journal-note', 'aria-live': 'polite' });
    const journalList = h('ol', { class: 'rb-journal', id: 'rb-journal', 'aria-label': 'Journal records' });

    root.append(
        h('div', { class: 'rb-header' },
          h('div', {}, h('a', { href: '#/sessions', text: '‹ Sessions' }), title, stateSlot),
          actions),
        messages, summary,
        h('h2', { class: 'pf-v5-c-title pf-m-lg', text: 'Steps' }), stepsTable,
        h('div', { class: 'rb-header' },
          h('h2', { class: 'pf-v5-c-title pf-m-lg', text: 'Journal' }),
          h('div', { class: 'pf-v5-c-check' }, showAll,
            h('label', { class: 'pf-v5-c-check__label', for: 'rb-journal-all', text: 'All records of the session, not only [EXECUTE_STEP]' }))),
        journalNote, journalList);

    let session = null;
    const steps = [];          // index -> props
    const stepBodies = [];     // index -> <tbody>
    const expanded = new Map(); // index -> bool (user's choice)
    const outputs = new Map();  // index -> {key, stdout, stderr, truncated, error}
    const hostOutputs = new Map(); // `${index}/${target}` -> output
    let closed = false;

    // ------------------------------------------------------------ session header
    // Locks a(su): each lock and who holds it; LockState/LockPosition: its place while it waits
    function lockText(s) {
        const held = s.Locks.map(([name, holder]) => holder === s.Id ? `${name} (held by this session)`
            : holder ? `${name} (held by session ${holder})` : `${name} (free)`).join(', ');
        return s.LockState === 'waiting' ? `${held} — waiting, position ${s.LockPosition} in the queue` : held;
    }

    function renderSession() {
        title.textContent = `Session ${id}: ${session.Runbook}`;
        replace(stateSlot, ' ', stateLabel(session.State));
        stateSlot.dataset.state = session.State;
        const params = Object.entries(session.Parameters || {});
        replace(summary, descriptionList([
            ['Reference', session.Reference || '—'],
            ['Runbook', session.Runbook],
            ['State', session.State.replaceAll('_', ' ')],
            ['Started by', session.CreatedBy],
            ['Created', fmt.time(session.CreatedAt)],
            ['Finished', fmt.time(session.FinishedAt)],
            ['Current step', session.CurrentStep >= 0 ? String(session.CurrentStep) : '—'],
            params.length ? ['Parameters', h('span', { class: 'rb-mono', text: params.map(([k, v]) => `${k}=${v}`).join('  ') })] : null,
            session.Error ? ['Error', h('span', { id: 'rb-session-error', text: session.Error })] : null,
            session.FailedSteps > 0 ? ['Failed steps', h('span', { id: 'rb-session-failed-steps',
                text: `${session.FailedSteps} (allowed by on_failure: continue)` })] : null,
            session.Rollback && session.Rollback !== 'none' ? ['Rollback', h('span', { id: 'rb-session-rollback',
                text: session.Rollback })] : null,
            session.Review === 'required' ? ['Review', h('span', { id: 'rb-session-review', class: 'rb-step-error',
                text: 'required: a step ran by break-glass' })] : null,
            session.Review === 'done' ? ['Review', h('span', { id: 'rb-session-review',
                text: `done by ${session.ReviewedBy} at ${fmt.time(session.ReviewedAt)}` +
                      (session.ReviewComment ? `: “${session.ReviewComment}”` : '') })] : null,
            (session.Locks || []).length ? ['Locks', h('span', { id: 'rb-session-locks',
                text: lockText(session) })] : null,
        ]));
        renderActions();
    }

    function renderActions() {
        const label = `session ${id}`;
        const waiting = steps.find(s => s && s.State === 'waiting_approval');
        // a break-glass also runs a step that waits for its change window
        const glass = waiting || (session.State === 'waiting_window' ? steps[session.CurrentStep] : null);
        const finished = SESSION_FINISHED.includes(session.State);
        replace(actions,
                waiting ? button(`Approve step ${waiting.Index}`, {
                    variant: 'primary', 'data-action': 'approve',
                    onClick: () => approve(messages, `${path}/step/${waiting.Index}`, stepLabel(waiting)),
                }) : null,
                waiting ? button(`Reject step ${waiting.Index}`, {
                    variant: 'danger', 'data-action': 'reject',
                    onClick: () => reject(messages, `${path}/step/${waiting.Index}`, stepLabel(waiting)),
                }) : null,
                glass ? button('Break glass…', {
                    variant: 'danger', 'data-action': 'break-glass',
                    onClick: () => breakGlass(messages, path, stepLabel(glass)),
                }) : null,
                session.Review === 'required' ? button('Review', {
                    variant: 'primary', 'data-action': 'review', onClick: () => review(messages, path, label),
                }) : null,
                !finished ? button('Cancel session', {
                    variant: 'secondary', 'data-action': 'cancel', onClick: () => cancel(messages, path, label),
                }) : null,
                session.State === 'interrupted' || (session.State === 'failed' &&
                    ['none', 'skipped', 'rejected', 'expired'].includes(session.Rollback || 'none')) ? button('Retry', {
                    variant: 'secondary', 'data-action': 'retry', onClick: () => retry(messages, path, label),
                }) : null);
    }

    const stepLabel = s => `step ${s.Index} (${s.Name}) of session ${id}`;

    // ------------------------------------------------------------ steps
    const onGroup = s => s.Connector === 'group' || hostResults(s).length > 0;

    function isExpanded(s) {
        if (expanded.has(s.Index))
            return expanded.get(s.Index);
        return s.StartedAt > 0 || s.State === 'waiting_approval' || !!s.Error;
    }

    function renderStep(i) {
        const s = steps[i];
        if (!s)
            return;
        const open = isExpanded(s);
        const detailsId = `rb-step-${i}-details`;
        const approvals = s.Approvals || [];
        const approvedCount = approvals.filter(a => a[2] === 'approve').length;
        const main = h('tr', { class: ['pf-v5-c-table__tr', 'pf-v5-c-table__control-row', open && 'pf-m-expanded'] },
                       h('td', { class: 'pf-v5-c-table__td pf-v5-c-table__toggle' },
                         h('button', { type: 'button', class: ['pf-v5-c-button', 'pf-m-plain', 'rb-toggle', open && 'pf-m-expanded'],
                                       'aria-expanded': open ? 'true' : 'false', 'aria-controls': detailsId,
                                       'aria-label': `Details of step ${i} (${s.Name})`,
                                       onclick: () => { expanded.set(i, !open); renderStep(i) } },
                           h('span', { 'aria-hidden': 'true', text: open ? '▾' : '▸' }))),
                       ...[String(s.Index), s.Phase, s.Name, stateLabel(s.State), s.Target,
                           fmt.exitStatus(s.ExitStatus, s.Signal), fmt.duration(s.StartedAt, s.FinishedAt),
                           s.RequiresApproval ? `${approvedCount} of ${s.ApprovalsRequired}` : 'not needed']
                               .map((c, j) => h('td', { class: 'pf-v5-c-table__td', 'data-label': STEP_COLUMNS[j + 1] }, c)));
        const detail = h('tr', { class: ['pf-v5-c-table__tr', 'pf-v5-c-table__expandable-row', open && 'pf-m-expanded'],
                                 id: detailsId, hidden: !open },
                         h('td', { class: 'pf-v5-c-table__td', colspan: STEP_COLUMNS.length },
                           open ? stepDetails(s) : null));
        const body = h('tbody', { class: ['pf-v5-c-table__tbody', open && 'pf-m-expanded'], 'data-step': i,
                                  'data-state': s.State, 'data-exit': s.ExitStatus },
                       main, detail);
        if (stepBodies[i])
            stepBodies[i].replaceWith(body);
        else
            stepsTable.append(body);
        stepBodies[i] = body;
        if (open && !onGroup(s))
            loadOutput(s);
    }

    function stepDetails(s) {
        // Decisions: (uid, login uid, user, login user, decision, time, attempt, comment, digest)
        const decisions = s.Decisions || [];
        const hosts = hostResults(s);
        return h('div', { class: 'rb-details' },
                 descriptionList([
                     s.StepId ? ['Id', h('code', { class: 'rb-step-id', text: s.StepId })] : null,
                     (s.ApproverGroups || []).length ? ['Approvers', h('span', { class: 'rb-step-approvers',
                         text: `${s.ApproversFromEach ? 'one from each of' : `${s.ApprovalsRequired} from`} ` +
                               s.ApproverGroups.join(', ') })] : null,
                     s.When ? ['When', h('code', { class: 'rb-step-when', text: s.When })] : null,
                     ['Command', h('code', { class: 'rb-command', text: s.Command })],
                     ['Connector', s.Connector],
                     s.OnFailure === 'continue' ? ['On failure', 'continue (a failure does not stop the session)'] : null,
                     Object.keys(s.Captured || {}).length ? ['Captured', h('span', { class: 'rb-mono rb-step-captured',
                         text: Object.entries(s.Captured).map(([k, v]) => `${k}=${v}`).join('  ') })] : null,
                     ['Started', fmt.time(s.StartedAt)],
                     ['Finished', fmt.time(s.FinishedAt)],
                     s.Attempt > 1 ? ['Attempt', String(s.Attempt)] : null,
                     s.Retries > 0 ? ['Retries', h('span', { class: 'rb-step-retries',
                         text: `${s.RetriesDone || 0} done of ${s.Retries}, each after ${Math.round((s.RetryDelay || 0) / 1e6)} s` })] : null,
                     s.ApprovalDeadline > 0 && s.State === 'waiting_approval' ? ['Expires', h('span', {
                         class: 'rb-step-deadline' },
                         h('span', { class: 'rb-deadline', 'data-deadline': String(s.ApprovalDeadline),
                                     text: fmt.timeLeft(s.ApprovalDeadline) }),
                         ` (at ${fmt.time(s.ApprovalDeadline)}), without a decision`)] : null,
                     s.State === 'expired' && s.ApprovalTimeout > 0 ? ['Expired', h('span', { class: 'rb-step-deadline',
                         text: `no decision within ${Math.round(s.ApprovalTimeout / 1e6)} s` })] : null,
                     s.WindowOpensAt > 0 ? ['Window', h('span', { class: 'rb-step-window',
                         text: `waits until ${fmt.time(s.WindowOpensAt)}: ${s.WindowReason}` })] : null,
                     s.RetryAt > 0 ? ['Next attempt', h('span', { class: 'rb-step-retry-at',
                         text: `${s.Attempt + 1} at ${fmt.time(s.RetryAt)}` })] : null,
                     s.Error ? ['Error', h('span', { class: 'rb-step-error', text: s.Error })] : null,
                     decisions.length ? ['Decisions', h('ul', { class: 'rb-approvals' },
                         decisions.map(([uid, loginUid, user, loginUser, decision, t, , comment]) =>
                             h('li', {}, `${decision === 'approve' ? 'Approved' : decision === 'lapsed' ? 'Approved (lapsed)' :
                                             decision === 'break_glass' ? 'BREAK-GLASS' : 'Rejected'} by ` +
                               `${loginUser && loginUid !== uid ? `${loginUser} (as ${user})` : user} at ${fmt.time(t)}`,
                               comment ? `: “${comment}”` : '')))] : null,
                 ]),
                 // a step on a target group has no output of its own: each host has its own
                 onGroup(s) ? hostsTable(s, hosts) : outputNode(s));
    }

    function outputNode(s) {
        if (!s.StartedAt)
            return h('p', { class: 'rb-muted', text: 'No output: the step has not run.' });
        const o = outputs.get(s.Index);
        if (!o || o.key === undefined)
            return h('p', { class: 'rb-muted', text: 'Loading output…' });
        if (o.error)
            return alert('warning', 'Cannot read the output', o.error.message);
        return outputBlock(`step-${s.Index}`, o);
    }

    function outputBlock(key, o) {
        return h('div', { class: 'rb-output-wrap', 'data-output': key },
                 o.truncated ? alert('warning', 'Output truncated', 'The output exceeded the daemon\'s output cap: only its beginning and its end were kept.') : null,
                 h('div', { class: 'rb-output-label', text: 'stdout' }),
                 h('pre', { class: 'rb-output', 'data-stream': 'stdout', tabindex: '0', 'aria-label': `stdout of ${key}` },
                   o.stdout || h('span', { class: 'rb-muted', text: '(empty)' })),
                 h('div', { class: 'rb-output-label', text: 'stderr' }),
                 h('pre', { class: 'rb-output', 'data-stream': 'stderr', tabindex: '0', 'aria-label': `stderr of ${key}` },
                   o.stderr || h('span', { class: 'rb-muted', text: '(empty)' })));
    }

    function hostsTable(s, hosts) {
        const cols = ['Host', 'State', 'Exit', 'Duration', 'Error', 'Output'];
        const rows = [];
        for (const r of hosts) {
            const key = `${s.Index}/${r.target}`;
            const out = hostOutputs.get(key);
            rows.push(h('tr', { class: 'pf-v5-c-table__tr', 'data-host': r.target },
                        [r.target, stateLabel(r.state), fmt.exitStatus(r.exit_status, r.signal),
                         fmt.duration(r.started_at, r.finished_at), r.error || '—',
                         r.started_at ? button(out ? 'Hide output' : 'Show output', {
                             variant: 'link', small: true, 'aria-expanded': out ? 'true' : 'false',
                             'aria-label': `${out ? 'Hide' : 'Show'} output of ${r.target}`,
                             onClick: async () => {
                                 if (hostOutputs.has(key)) {
                                     hostOutputs.delete(key);
                                 } else {
                                     try {
                                         hostOutputs.set(key, await getHostOutput(`${path}/step/${s.Index}`, r.target));
                                     } catch (e) {
                                         hostOutputs.set(key, { error: e });
                                     }
                                 }
                                 renderStep(s.Index);
                             },
                         }) : '—'].map((c, j) => h('td', { class: 'pf-v5-c-table__td', 'data-label': cols[j] }, c))));
            if (out)
                rows.push(h('tr', { class: 'pf-v5-c-table__tr' },
                            h('td', { class: 'pf-v5-c-table__td', colspan: cols.length },
                              out.error ? alert('warning', `Cannot read the output of ${r.target}`, out.error.message)
                                  : outputBlock(`${s.Index}-${r.target}`, out))));
        }
        return h('table', { class: 'pf-v5-c-table pf-m-grid-md pf-m-compact', role: 'grid', 'aria-label': `Hosts of step ${s.Index}` },
                 h('thead', { class: 'pf-v5-c-table__thead' },
                   h('tr', { class: 'pf-v5-c-table__tr' }, cols.map(c => h('th', { class: 'pf-v5-c-table__th pf-m-wrap', scope: 'col', text: c })))),
                 h('tbody', { class: 'pf-v5-c-table__tbody' }, rows));
    }

    async function loadOutput(s) {
        if (!s.StartedAt)
            return;
        const key = `${s.State}/${s.Attempt}/${s.FinishedAt}`;
        const have = outputs.get(s.Index);
        if (have && (have.key === key || have.loading === key))
            return;
        outputs.set(s.Index, { ...(have || {}), loading: key, key: have?.key });
        let o;
        try {
            o = { key, ...(await getOutput(`${path}/step/${s.Index}`)) };
        } catch (e) {
            o = { key, error: e };
        }
        if (closed)
            return;
        const now = outputs.get(s.Index);
        if (now && now.loading !== key)
            return; // a newer load is on its way
        outputs.set(s.Index, o);
        renderStep(s.Index);
    }

    // ------------------------------------------------------------ journal
    const records = [];
    let journalProc = null, journalFailed = false;

    function renderJournal() {
        const all = showAll.checked;
        const shown = records.filter(r => all || r.message.startsWith('[EXECUTE_STEP]'));
        const none = journalFailed ? 'No records could be read.'
            : all ? 'No journal records for this session yet.' : 'No [EXECUTE_STEP] records for this session yet.';
        replace(journalList, shown.length === 0
            ? h('li', { class: 'rb-muted', text: none })
            : shown.map(r => h('li', { 'data-message-id': r.id },
                               h('time', { text: fmt.time(r.time) }),
                               r.step !== undefined ? h('span', { class: 'rb-muted', text: `step ${r.step} · ` }) : null,
                               r.message)));
    }
    showAll.addEventListener('change', renderJournal);

    function journalField(v) {
        if (Array.isArray(v) && typeof v[0] === 'number')
            return new TextDecoder().decode(new Uint8Array(v));
        if (Array.isArray(v))
            return journalField(v[v.length - 1]);
        return v === undefined ? undefined : String(v);
    }

    function startJournal() {
        // a placeholder until the real journalctl runs: daemonUid() is asked first
        journalProc = { close() {} };
        daemonUid().then(uid => {
            if (!closed)
                spawnJournal(uid);
        });
    }

    function spawnJournal(uid) {
        const notes = [];
        let partial = '';
        renderJournal();
        // Session ids are unique within one state directory only: the runbook, the reference and
        // the creation time single out this session's records. Any local user can write records
        // with RUNBOOK_* fields: only those runbookd wrote count, told by fields journald adds
        // itself (_UID of runbookd, _COMM=runbookd).
        const matches = [`RUNBOOK_SESSION=${id}`, `RUNBOOK_NAME=${session.Runbook}`, `_UID=${uid}`, '_COMM=runbookd'];
        if (session.Reference)
            matches.push(`RUNBOOK_REFERENCE=${session.Reference}`);
        const since = Math.floor(session.CreatedAt / 1e6) - 1;
        journalProc = cockpit.spawn(['journalctl', '--no-pager', '-o', 'json', '--lines=all', '--follow',
                                     ...(since > 0 ? [`--since=@${since}`] : []), ...matches], { err: 'out' });
        journalProc.stream(chunk => {
            const lines = (partial + chunk).split('\n');
            partial = lines.pop();
            let changed = false, noted = false;
            for (const line of lines) {
                if (!line.trim())
                    continue;
                if (line.startsWith('{')) {
                    try {
                        const j = JSON.parse(line);
                        records.push({ time: Number(j.__REALTIME_TIMESTAMP), message: journalField(j.MESSAGE) || '',
                                       step: journalField(j.RUNBOOK_STEP), id: journalField(j.MESSAGE_ID) });
                        changed = true;
                        continue;
                    } catch (e) { /* not a record: shown as a note below */ }
                }
                notes.push(line.trim());
                noted = true;
            }
            if (changed)
                renderJournal();
            if (noted)
                replace(journalNote, alert('warning', 'The journal cannot be read completely',
                                           `${notes.join(' ')}${/permission/i.test(notes.join(' ')) ? ` ${WHO_READS}` : ''}`));
        });
        journalProc.then(() => {}, err => {
            if (closed)
                return;
            journalFailed = true;
            renderJournal();
            const why = err.message || cockpit.message(err);
            replace(journalNote, alert('warning', 'The journal cannot be read',
                                       `${why}${notes.length ? ` (${notes.join(' ')})` : ''}. ${WHO_READS}`));
        });
    }

    // ------------------------------------------------------------ loading and signals
    async function loadStep(i, stepPath) {
        try {
            steps[i] = await getAll(stepPath, IFACE_STEP);
        } catch (e) {
            showError(messages, `Cannot read step ${i}`, e);
            return;
        }
        if (closed)
            return;
        renderStep(i);
        renderActions();
    }

    async function load() {
        try {
            session = await getAll(path, IFACE_SESSION);
        } catch (e) {
            if (closed)
                return;
            showError(messages, `Cannot show session ${id}`, e);
            return;
        }
        if (closed)
            return;
        renderSession();
        await Promise.all((session.Steps || []).map((p, i) => loadStep(i, p)));
        if (!closed && !journalProc)
            startJournal();
    }

    const stepPrefix = `${path}/step/`;
    const unsubscribe = onSignal((p, iface, member, args) => {
        if (p === path) {
            const c = changedProps(iface, member, args, IFACE_SESSION);
            if (c && session) {
                Object.assign(session, c);
                renderSession();
            }
        } else if (p.startsWith(stepPrefix)) {
            const i = Number(p.slice(stepPrefix.length));
            const c = changedProps(iface, member, args, IFACE_STEP);
            if (c && steps[i]) {
                Object.assign(steps[i], c);
                renderStep(i);
                renderActions();
            }
        }
    });

    load();
    // the time left of a waiting step counts down
    const ticker = setInterval(() => {
        for (const el of root.querySelectorAll('.rb-deadline[data-deadline]'))
            el.textContent = fmt.timeLeft(Number(el.dataset.deadline));
    }, 1000);
    return {
        root,
        unmount() {
            closed = true;
            clearInterval(ticker);
            unsubscribe();
            if (journalProc)
                journalProc.close('cancelled');
        },
        reload() {
            // the daemon restarted: read everything again
            load();
        },
    };
}

