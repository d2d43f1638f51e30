/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bytes.h: big-endian integers in byte buffers (store keys, start-log slots). */
#pragma once

#include <stdint.h>

static inline void be32_put(uint8_t *p, uint32_t v) {
        p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static inline uint32_t be32_get(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}
static inline void be64_put(uint8_t *p, uint64_t v) {
        be32_put(p, v >> 32); be32_put(p + 4, (uint32_t) v);
}
static inline uint64_t be64_get(const uint8_t *p) {
        return (uint64_t) be32_get(p) << 32 | be32_get(p + 4);
}
