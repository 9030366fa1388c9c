/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/term.h — text for a terminal: control bytes made visible.
 *
 * Names and messages from outside (scenario and device names, QMP error
 * texts, malformed-message excerpts, stored run fields) may hold ESC/OSC
 * sequences or newlines; written raw to a terminal they change its state
 * or forge lines.  Every terminal path writes such text through
 * term_safe(): C0 controls (0x00-0x1f, ESC included), DEL (0x7f) and the
 * UTF-8 encoded C1 controls (U+0080-U+009F, bytes C2 80..C2 9F) become
 * "\xHH" ("\n", "\r", "\t" for those three, "\\" for a backslash only
 * when it would look like such an escape); everything else, UTF-8
 * included, is kept.  The result is cut (at a whole escape) to fit.
 */
#ifndef MIGSIM_BASE_TERM_H
#define MIGSIM_BASE_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* s made safe into buf (len >= 1); returns buf. */
char *term_safe(const char *s, char *buf, size_t len);
/* true if s holds a byte term_safe() would escape. */
bool term_needs_escape(const char *s);
/* fputs of term_safe(s) without a length limit. */
void term_fputs(const char *s, FILE *f);

#endif
