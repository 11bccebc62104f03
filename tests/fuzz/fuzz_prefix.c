// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_prefix.c - libFuzzer harness for pw_prefix_parse: it must never crash,
 * must always leave a one-line message on failure, and whatever it accepts
 * must survive format -> parse unchanged.  Built by tests/fuzz/run-fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[2 * PW_PREFIX_STRLEN], err[256], *s;
	struct pw_prefix p, q;
	size_t i;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (pw_prefix_parse(s, &p, err, sizeof(err))) {
		for (i = 0; err[i]; i++) {
			if ((unsigned char)err[i] < 0x20)
				abort();	/* messages are one printable line */
		}
		if (!i)
			abort();	/* and never empty */
		free(s);
		return 0;
	}
	free(s);

	if ((p.family != 4 && p.family != 6) || p.len > (p.family == 4 ? 32 : 128))
		abort();
	q = p;
	pw_prefix_mask(&q);
	if (memcmp(&p, &q, sizeof(p)) || !pw_prefix_contains(&p, p.family, p.addr))
		abort();	/* accepted prefixes are masked */
	pw_prefix_format(&p, buf, sizeof(buf));
	if (strlen(buf) >= PW_PREFIX_STRLEN)
		abort();	/* PW_PREFIX_STRLEN would truncate it */
	if (pw_prefix_parse(buf, &q, err, sizeof(err)))
		abort();
	if (memcmp(&p, &q, sizeof(p)) || pw_prefix_cmp(&p, &q))
		abort();
	return 0;
}
