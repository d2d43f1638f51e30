/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* settings.h: <config-dir>/runbookd.json (see README): strictly parsed; absent means the defaults. */
#pragma once

#include "engine/engine.h"

/* Fills 'c' with the defaults and what the file says; -EINVAL with the file, the key and what is
 * wrong in *ret_error for a bad file (the daemon does not start, a Reload keeps what it has). */
int settings_load(const char *config_dir, EngineConfig *c, char **ret_error);
