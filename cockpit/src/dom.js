// SPDX-License-Identifier: LGPL-2.1-or-later
// dom.js - small helpers to build PatternFly markup without a framework.

// h(tag, attrs, ...children): an element; attrs: class, text, on* (listeners), dataset keys as
// 'data-x', booleans for boolean attributes; children: nodes, strings, arrays, null/false (skipped).
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false)
            continue;
        if (k === 'class')
            el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
        else if (k === 'text')
            el.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function')
            el.addEventListener(k.slice(2).toLowerCase(), v);
        else if (v === true)
            el.setAttribute(k, '');
        else
            el.setAttribute(k, String(v));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false)
            continue;
        if (Array.isArray(c))
            append(el, c);
        else if (c instanceof Node)
            el.appendChild(c);
        else
            el.appendChild(document.createTextNode(String(c)));
    }
}

export function clear(el) {
    while (el.firstChild)
        el.removeChild(el.firstChild);
    return el;
}

export function replace(el, ...children) {
    clear(el);
    append(el, children);
    return el;
}

export function button(label, { variant = 'secondary', small = false, onClick, ...rest } = {}) {
    return h('button', {
        type: 'button',
        class: ['pf-v5-c-button', `pf-m-${variant}`, small && 'pf-m-small'],
        onclick: onClick,
        ...rest,
    }, label);
}

// A PatternFly inline alert; variant: danger, warning, info, success. role=alert for errors.
export function alert(variant, title, description) {
    return h('div', {
        class: ['pf-v5-c-alert', `pf-m-${variant}`, 'pf-m-inline'],
        role: variant === 'danger' || variant === 'warning' ? 'alert' : 'status',
        'data-alert': variant,
    },
    h('p', { class: 'pf-v5-c-alert__title' },
      h('span', { class: 'pf-v5-screen-reader', text: `${variant} alert: ` }), title),
    description ? h('div', { class: 'pf-v5-c-alert__description' }, description) : null);
}

const STATE_COLORS = {
    succeeded: 'green',
    running: 'blue',
    approved: 'cyan',
    waiting_approval: 'gold',
    waiting_retry: 'gold',
    waiting_lock: 'gold',
    waiting_window: 'gold',
    created: 'grey',
    pending: 'grey',
    failed: 'red',
    timed_out: 'red',
    rejected: 'red',
    expired: 'red',
    cancelled: 'orange',
    interrupted: 'orange',
    skipped: 'grey',
};

export function stateLabel(state) {
    const text = String(state || 'unknown').replaceAll('_', ' ');
    return h('span', { class: ['pf-v5-c-label', 'pf-m-compact', `pf-m-${STATE_COLORS[state] || 'grey'}`],
                       'data-state': state },
             h('span', { class: 'pf-v5-c-label__content', text }));
}

// table(columns, rows, opts): a PatternFly table that stacks into cards below the md breakpoint;
// columns: [label...]; rows: [[cell...]...] where a cell is a node/string; data-label per cell.
export function table(columns, rows, { caption, rowAttrs } = {}) {
    return h('table', { class: 'pf-v5-c-table pf-m-grid-md pf-m-compact', role: 'grid' },
             caption ? h('caption', { class: 'pf-v5-c-table__caption pf-v5-screen-reader', text: caption }) : null,
             h('thead', { class: 'pf-v5-c-table__thead' },
               h('tr', { class: 'pf-v5-c-table__tr' },
                 columns.map(c => h('th', { class: 'pf-v5-c-table__th pf-m-wrap', scope: 'col', text: c })))),
             h('tbody', { class: 'pf-v5-c-table__tbody' },
               rows.map((cells, i) => h('tr', { class: 'pf-v5-c-table__tr', ...(rowAttrs ? rowAttrs(i) : {}) },
                   cells.map((c, j) => h('td', { class: 'pf-v5-c-table__td', 'data-label': columns[j] }, c))))));
}

export function emptyState(title, body) {
    return h('div', { class: 'pf-v5-c-empty-state pf-m-sm' },
             h('div', { class: 'pf-v5-c-empty-state__content' },
               h('div', { class: 'pf-v5-c-empty-state__header' },
                 h('div', { class: 'pf-v5-c-empty-state__title' },
                   h('h2', { class: 'pf-v5-c-empty-state__title-text', text: title }))),
               body ? h('div', { class: 'pf-v5-c-empty-state__body', text: body }) : null));
}

export function descriptionList(pairs) {
    return h('dl', { class: 'pf-v5-c-description-list pf-m-horizontal pf-m-compact' },
             pairs.filter(Boolean).map(([term, value]) =>
                 h('div', { class: 'pf-v5-c-description-list__group' },
                   h('dt', { class: 'pf-v5-c-description-list__term' },
                     h('span', { class: 'pf-v5-c-description-list__text', text: term })),
                   h('dd', { class: 'pf-v5-c-description-list__description' },
                     h('div', { class: 'pf-v5-c-description-list__text' }, value)))));
}

// textInput(id, opts): PatternFly form control around an <input>.
export function textInput(id, { value = '', placeholder, describedBy, required, type = 'text', name } = {}) {
    const input = h('input', { id, name: name || id, type, value, placeholder, 'aria-describedby': describedBy,
                               required, 'aria-invalid': 'false', autocomplete: 'off' });
    input.value = value;
    const wrap = h('span', { class: 'pf-v5-c-form-control' }, input);
    return { wrap, input };
}

// formSelect(select): PatternFly's form control around a <select>, with its caret (the select's own
// arrow is hidden by the form control's appearance: none), as PatternFly React's FormSelect does.
export function formSelect(select) {
    return h('span', { class: 'pf-v5-c-form-control' }, select,
             h('span', { class: 'pf-v5-c-form-control__utilities' },
               h('span', { class: 'pf-v5-c-form-control__toggle-icon' }, caretDown())));
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// A downward caret as inline SVG (no icon font is loaded), sized and coloured like text.
function caretDown() {
    const svg = document.createElementNS(SVG_NS, 'svg');
    for (const [k, v] of Object.entries({ class: 'pf-v5-svg', viewBox: '0 0 320 512', width: '1em', height: '1em',
                                          fill: 'currentColor', 'aria-hidden': 'true', focusable: 'false' }))
        svg.setAttribute(k, v);
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', 'M24 192h272a16 16 0 0 1 11.3 27.3l-136 136a16 16 0 0 1-22.6 0l-136-136A16 16 0 0 1 24 192z');
    svg.append(path);
    return svg;
}

export function setInvalid(wrap, input, invalid) {
    wrap.classList.toggle('pf-m-error', invalid);
    input.setAttribute('aria-invalid', invalid ? 'true' : 'false');
}
