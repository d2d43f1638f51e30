// SPDX-License-Identifier: LGPL-2.1-or-later
// store.js - a value loaded from the daemon and reloaded (coalesced) when a signal says it changed.
import { debounce } from './bus.js';

export class Store {
    constructor(load) {
        this.load = load;
        this.value = null;
        this.error = null;
        this.subscribers = new Set();
        this.generation = 0;
        this.refresh = debounce(() => this.reload(), 80);
    }

    async reload() {
        const gen = ++this.generation;
        try {
            const v = await this.load();
            if (gen !== this.generation)
                return;
            this.value = v;
            this.error = null;
        } catch (e) {
            if (gen !== this.generation)
                return;
            this.error = e;
        }
        for (const fn of this.subscribers)
            fn(this);
    }

    subscribe(fn) {
        this.subscribers.add(fn);
        return () => this.subscribers.delete(fn);
    }
}
