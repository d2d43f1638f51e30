// SPDX-License-Identifier: LGPL-2.1-or-later
// format.js - times (µs since the epoch, 0 = not yet), durations, exit status.

export function time(usec) {
    if (!usec)
        return '—';
    const d = new Date(usec / 1000);
    const pad = n => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
           `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// The time left until a deadline (µs since the epoch): "4 min 10 s left", "overdue"; '—' for none.
export function timeLeft(deadlineUsec, nowMs = Date.now()) {
    if (!deadlineUsec)
        return '—';
    const s = Math.round(deadlineUsec / 1e3 - nowMs) / 1e3;
    if (s <= 0)
        return 'overdue';
    const t = Math.ceil(s);
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
    return (h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`) + ' left';
}

export function duration(startUsec, endUsec) {
    if (!startUsec)
        return '—';
    if (!endUsec)
        return 'running';
    let s = Math.max(0, (endUsec - startUsec) / 1e6);
    if (s < 10)
        return `${s.toFixed(2)} s`;
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`;
}

export function exitStatus(code, signal) {
    if (signal)
        return `signal ${signal}`;
    if (code === undefined || code === null || code < 0)
        return '—';
    return String(code);
}
