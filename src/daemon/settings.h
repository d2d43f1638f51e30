/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* settings.h: <config-dir>/runbookd.json (see README): strictly parsed; absent means the defaults. */
#pragma once

#include "config/notify-config.h"
#include "engine/engine.h"

/* Fills 'c' with the defaults and what the file says, and *ret_notify with its notification sinks
 * ("notify", "console_url"; an empty configuration when none); -EINVAL with the file, the key and
 * what is wrong in *ret_error for a bad file (the daemon does not start, a Reload keeps what it has). */
/* c->freeze ("freeze") is the caller's to free (change_freezes_free()). */
int settings_load(const char *config_dir, EngineConfig *c, NotifyConfig **ret_notify, char **ret_error);
