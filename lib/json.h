/* SPDX-License-Identifier: GPL-2.0-only */
/* json.h - the few JSON helpers the tools need (we only ever write JSON). */
#ifndef PW_JSON_H
#define PW_JSON_H

#include <stdio.h>

/* Write s as a JSON string literal, quotes included, escaping as RFC 8259 asks. */
void pw_json_str(FILE *f, const char *s);

#endif
