// SPDX-License-Identifier: LGPL-2.1-or-later
// bus.js - runbookd's D-Bus API (docs/dbus-api.md) through Cockpit's bridge, as the logged-in
// user: polkit decides as it does for runbookctl and busctl. Signals are fanned out to listeners;
// nothing here polls.
/* global cockpit */

export const BUS_NAME = 'org.runbookd1';
export const MANAGER = '/org/runbookd1';
export const IFACE_MANAGER = 'org.runbookd1.Manager';
export const IFACE_SESSION = 'org.runbookd1.Session';
export const IFACE_STEP = 'org.runbookd1.Step';
const IFACE_PROPS = 'org.freedesktop.DBus.Properties';

// An interrupted session is not finished: it waits for an operator's Retry or Cancel.
export const SESSION_FINISHED = ['succeeded', 'failed', 'rejected', 'cancelled', 'expired'];
export const STEP_FINISHED = ['succeeded', 'failed', 'timed_out', 'rejected', 'skipped', 'cancelled', 'interrupted',
                              'expired'];

export const sessionPath = id => `${MANAGER}/session/${id}`;

let client = null;
const listeners = new Set();
const ownerListeners = new Set();

function dbus() {
    if (client)
        return client;
    client = cockpit.dbus(BUS_NAME, { bus: 'system' });
    client.subscribe({ path_namespace: MANAGER }, (path, iface, member, args) => {
        for (const fn of listeners)
            fn(path, iface, member, args);
    });
    client.addEventListener('owner', (_ev, owner) => {
        for (const fn of ownerListeners)
            fn(owner);
    });
    return client;
}

// onSignal(fn(path, iface, member, args)): every signal runbookd sends under /org/runbookd1
// (PropertiesChanged, InterfacesAdded/Removed, SessionNew/Removed); returns an unsubscribe.
export function onSignal(fn) {
    dbus();
    listeners.add(fn);
    return () => listeners.delete(fn);
}

// onOwner(fn(owner)): the daemon (re)started (owner: unique name) or went away (null).
export function onOwner(fn) {
    dbus();
    ownerListeners.add(fn);
    return () => ownerListeners.delete(fn);
}

// call(path, iface, method, signature, args): resolves with the reply's arguments (an array);
// rejects with an Error carrying .name (the D-Bus error name) and .message (the daemon's words).
export function call(path, iface, method, signature = '', args = []) {
    return new Promise((resolve, reject) => {
        dbus().call(path, iface, method, args, { type: signature })
                .then(reply => resolve(reply), err => reject(busError(err)));
    });
}

// daemonUid(): the uid runbookd runs as (the owner of org.runbookd1, which only root may own);
// 0 when it cannot be asked. The journal view matches it as _UID: records anyone else wrote with
// RUNBOOK_* fields (logger --journald) are not runbookd's.
export async function daemonUid() {
    try {
        const bus = cockpit.dbus('org.freedesktop.DBus', { bus: 'system' });
        const [uid] = await bus.call('/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetConnectionUnixUser',
                                     [BUS_NAME], { type: 's' });
        bus.close();
        return Number.isInteger(uid) ? uid : 0;
    } catch (e) {
        return 0;
    }
}

function busError(err) {
    const e = new Error(err?.message || cockpit.message(err) || String(err));
    e.name = err?.name || err?.problem || 'Error';
    return e;
}

// Unwraps {t, v} variants; 'ay' (base64) stays a string.
function unwrap(props) {
    const out = {};
    for (const [k, v] of Object.entries(props || {}))
        out[k] = v && typeof v === 'object' && 'v' in v ? v.v : v;
    return out;
}

export async function getAll(path, iface) {
    const [props] = await call(path, IFACE_PROPS, 'GetAll', 's', [iface]);
    return unwrap(props);
}

// A PropertiesChanged signal's changed properties ({} for any other signal or interface).
export function changedProps(iface, member, args, wantIface) {
    if (iface !== IFACE_PROPS || member !== 'PropertiesChanged' || args[0] !== wantIface)
        return null;
    return unwrap(args[1]);
}

export function decodeBytes(b64) {
    if (!b64)
        return '';
    const bin = window.atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++)
        bytes[i] = bin.charCodeAt(i);
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

// ---------------------------------------------------------------- the Manager's lists

const PENDING_FIELDS = ['session_id', 'step_index', 'runbook', 'reference', 'step_name', 'phase', 'command',
                        'target', 'creator_uid', 'creator_name', 'waiting_since', 'approvals',
                        'approvals_required', 'step_path', 'approval_deadline'];
const SESSION_FIELDS = ['id', 'runbook', 'reference', 'state', 'current_step', 'creator_uid', 'creator_name',
                        'created_at', 'finished_at', 'path'];

const toObjects = (rows, fields) => rows.map(r => Object.fromEntries(fields.map((f, i) => [f, r[i]])));

export async function listPendingApprovals() {
    const [rows] = await call(MANAGER, IFACE_MANAGER, 'ListPendingApprovals');
    return toObjects(rows, PENDING_FIELDS);
}

// One page of ListSessions, newest first: { sessions, next } — next is the id to pass as
// `before` for the page after it, 0 when there is none. `states`: only these (all when empty).
export async function listSessions({ states = [], before = 0, limit = 200, unreviewed = false } = {}) {
    const options = { limit: { t: 'u', v: limit } };
    if (unreviewed)
        options.unreviewed = { t: 'b', v: true };
    if (states.length)
        options.states = { t: 'as', v: states };
    if (before)
        options.before = { t: 'u', v: before };
    const [rows, next] = await call(MANAGER, IFACE_MANAGER, 'ListSessions', 'a{sv}', [options]);
    return { sessions: toObjects(rows, SESSION_FIELDS), next };
}

// The newest `count` sessions in `states` (all when empty), page by page: { sessions, more }.
export async function listNewestSessions(states, count, unreviewed = false) {
    const sessions = [];
    let before = 0;
    do {
        const page = await listSessions({ states, before, limit: Math.min(1000, count - sessions.length), unreviewed });
        sessions.push(...page.sessions);
        before = page.next;
    } while (before && sessions.length < count);
    return { sessions, more: before !== 0 };
}

export async function listRunbooks() {
    const [rows] = await call(MANAGER, IFACE_MANAGER, 'ListRunbooks');
    return rows.map(([name, description, file]) => ({ name, description, file }));
}

export async function getRunbook(name) {
    const [json] = await call(MANAGER, IFACE_MANAGER, 'GetRunbook', 's', [name]);
    return JSON.parse(json);
}

export async function startSession(runbook, reference, parameters) {
    const [id, path] = await call(MANAGER, IFACE_MANAGER, 'StartSession', 'ssa{ss}', [runbook, reference, parameters]);
    return { id, path };
}

// PlanSession: what StartSession would create, step by step; nothing is created.
const PLAN_FIELDS = ['index', 'phase', 'name', 'id', 'target', 'connector', 'command', 'requiresApproval',
                     'approvalsRequired', 'when', 'onFailure', 'retries', 'retryDelay', 'timeout', 'digest', 'captures'];
export async function planSession(runbook, parameters) {
    const [rows] = await call(MANAGER, IFACE_MANAGER, 'PlanSession', 'sa{ss}', [runbook, parameters]);
    return rows.map(r => Object.fromEntries(PLAN_FIELDS.map((f, i) => [f, r[i]])));
}

// Results a(ssiittbs) of a step on a target group; a daemon without the property: [].
const RESULT_FIELDS = ['target', 'state', 'exit_status', 'signal', 'started_at', 'finished_at', 'truncated', 'error'];
export function hostResults(step) {
    return Array.isArray(step.Results) ? toObjects(step.Results, RESULT_FIELDS) : [];
}

export async function getOutput(stepPath) {
    const [stdout, stderr, truncated] = await call(stepPath, IFACE_STEP, 'GetOutput');
    return { stdout: decodeBytes(stdout), stderr: decodeBytes(stderr), truncated };
}

export async function getHostOutput(stepPath, target) {
    const [stdout, stderr, truncated] = await call(stepPath, IFACE_STEP, 'GetHostOutput', 's', [target]);
    return { stdout: decodeBytes(stdout), stderr: decodeBytes(stderr), truncated };
}

// ---------------------------------------------------------------- errors in words

// explain(err, doing): a sentence for a refusal, then the daemon's own message.
export function explain(err) {
    const short = (err.name || '').replace(/^org\.runbookd1\.Error\./, '').replace(/^org\.freedesktop\.DBus\.Error\./, '');
    const why = {
        AccessDenied: 'Not authorized: polkit refused this action to your user.',
        InteractiveAuthorizationRequired: 'Not authorized without authenticating, and this page cannot ask for a password here.',
        SelfApprovalForbidden: 'Four-eyes rule: you started this session, so another operator must approve its steps.',
        AlreadyApproved: 'Already decided: you have already approved this step.',
        NotWaitingApproval: 'Already decided: the step is no longer waiting for approval.',
        SessionFinished: 'The session has already finished.',
        NotInterrupted: 'This session cannot be retried (only an interrupted one, or one that failed at a step and did not roll back).',
        NoSuchSession: 'No such session.',
        NoSuchStep: 'No such step.',
        NoSuchRunbook: 'No such runbook.',
        InvalidParameter: 'The daemon refused the input.',
        InvalidRunbook: 'The runbook is invalid.',
        LimitExceeded: 'A limit of the daemon was reached.',
        DigestMismatch: 'The step changed since it was shown.',
        ConnectorUnavailable: 'The connector is not available.',
        ServiceUnknown: 'runbookd is not running.',
        UnknownObject: 'No such object (it may have been removed).',
    }[short];
    return { title: why || `Failed (${short || 'error'}).`, detail: err.message || '' };
}

// debounce(fn, ms): coalesces bursts of signals into one refresh.
export function debounce(fn, ms = 100) {
    let timer = null;
    return () => {
        if (timer !== null)
            return;
        timer = window.setTimeout(() => { timer = null; fn() }, ms);
    };
}
