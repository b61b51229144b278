/*
 * microgo: what the start-up code hands to controllers and middleware.
 */

#ifndef MICROGO_H
#define MICROGO_H

#include "modules/config.h"

/* The configuration loaded before the workers forked; read-only. */
const struct config	*microgo_config(void);

#endif
