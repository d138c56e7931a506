/* SPDX-License-Identifier: MIT */
/* ioregion-drive's script parser (syntax: drive-script.h). */
#include "drive-script.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 4096
#define MAX_TOKENS 16
#define MAX_REPEAT 100000000ul

struct parser {
	const char *name;
	unsigned int line;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static bool
fits(uint64_t v, unsigned int size)
{
	return size == 8 || v >> (size * 8) == 0;
}

/* A "string" token (quotes included) into s->bytes. */
static int
parse_string(struct parser *p, const char *tok, struct drive_step *s)
{
	size_t len = strlen(tok), n = 0;

	if (len < 2 || tok[len - 1] != '"')
		return fail(p, "unterminated string");
	s->bytes = malloc(len);
	if (!s->bytes)
		return fail(p, "out of memory");
	for (size_t i = 1; i < len - 1; i++) {
		char c = tok[i];

		if (c == '\\') {
			if (++i >= len - 1)
				return fail(p, "a string ends in a backslash");
			switch (tok[i]) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '\\': c = '\\'; break;
			case '"': c = '"'; break;
			default:
				return fail(p, "unknown escape \\%c", tok[i]);
			}
		}
		s->bytes[n++] = c;
	}
	if (n == 0)
		return fail(p, "an empty string writes nothing");
	s->nbytes = n;
	return 0;
}

/* Split @line into tokens in place; a "..." token keeps its blanks. */
static int
tokenize(struct parser *p, char *line, char **tok, int *ntok)
{
	int n = 0;

	while (*line) {
		while (isspace((unsigned char)*line))
			line++;
		if (!*line || *line == '#')
			break;
		if (n == MAX_TOKENS)
			return fail(p, "too many words");
		tok[n++] = line;
		if (*line == '"') {
			for (line++; *line && *line != '"'; line++)
				if (*line == '\\' && line[1])
					line++;
			if (*line == '"')
				line++;
		} else {
			while (*line && !isspace((unsigned char)*line))
				line++;
		}
		if (*line)
			*line++ = '\0';
	}
	*ntok = n;
	return 0;
}

static int
parse_addr(struct parser *p, const char *tok, struct drive_step *s)
{
	const char *plus;
	size_t len;

	if (isdigit((unsigned char)tok[0]))
		return parse_u64(tok, &s->addr) ? fail(p, "bad address '%s'", tok) : 0;
	plus = strchr(tok, '+');
	len = plus ? (size_t)(plus - tok) : strlen(tok);
	if (len == 0 || len >= sizeof(s->region))
		return fail(p, "bad region name in '%s'", tok);
	memcpy(s->region, tok, len);
	s->region[len] = '\0';
	s->addr = 0;
	if (plus && parse_u64(plus + 1, &s->addr))
		return fail(p, "bad offset in '%s'", tok);
	return 0;
}

static int
parse_access(struct parser *p, char **tok, int ntok, struct drive_step *s)
{
	uint64_t v;
	int i;

	if (!strcmp(tok[0], "r") || !strcmp(tok[0], "read"))
		s->op = DRIVE_READ;
	else if (!strcmp(tok[0], "w") || !strcmp(tok[0], "write"))
		s->op = DRIVE_WRITE;
	else if (!strcmp(tok[0], "p") || !strcmp(tok[0], "posted"))
		s->op = DRIVE_POSTED;
	else if (!strcmp(tok[0], "irq") || !strcmp(tok[0], "interrupt"))
		return fail(p, "interrupt checks are not supported yet (the "
			    "library has no interrupt support)");
	else
		return fail(p, "unknown operation '%s' (r, w, p or say)", tok[0]);
	if (ntok < 4)
		return fail(p, "want OP SPACE ADDR SIZE");
	if (!strcmp(tok[1], "mmio"))
		s->pio = false;
	else if (!strcmp(tok[1], "pio"))
		s->pio = true;
	else
		return fail(p, "space '%s': want mmio or pio", tok[1]);
	if (parse_addr(p, tok[2], s) < 0)
		return -1;
	if (parse_u64(tok[3], &v) || (v != 1 && v != 2 && v != 4 && v != 8))
		return fail(p, "size '%s': want 1, 2, 4 or 8", tok[3]);
	s->size = (unsigned int)v;
	i = 4;
	if (s->op != DRIVE_READ) {
		if (i >= ntok || strchr(tok[i], '='))
			return fail(p, "a write wants a VALUE");
		if (tok[i][0] == '"') {
			if (parse_string(p, tok[i], s) < 0)
				return -1;
			if (s->size != 1)
				return fail(p, "a string is written byte by byte: SIZE 1");
		} else if (parse_u64(tok[i], &s->value) || !fits(s->value, s->size)) {
			return fail(p, "value '%s' does not fit in %u byte(s)",
				    tok[i], s->size);
		}
		i++;
	}
	for (; i < ntok; i++) {
		if (!strncmp(tok[i], "expect=", 7)) {
			if (s->op != DRIVE_READ)
				return fail(p, "expect= is for reads");
			if (!strcmp(tok[i] + 7, "none")) {
				s->expect = EXPECT_NONE;
			} else if (parse_u64(tok[i] + 7, &s->expected) ||
				   !fits(s->expected, s->size)) {
				return fail(p, "expect '%s' does not fit in %u "
					    "byte(s)", tok[i] + 7, s->size);
			} else {
				s->expect = EXPECT_VALUE;
			}
		} else if (!strncmp(tok[i], "repeat=", 7)) {
			if (parse_u64(tok[i] + 7, &v) || v < 1 || v > MAX_REPEAT)
				return fail(p, "repeat wants 1..%lu", MAX_REPEAT);
			s->repeat = (unsigned long)v;
		} else {
			return fail(p, "unexpected '%s'", tok[i]);
		}
	}
	return 0;
}

static struct drive_step *
new_step(struct parser *p, struct drive_script *sc)
{
	struct drive_step *s, *grown;

	grown = realloc(sc->steps, (sc->nsteps + 1) * sizeof(*sc->steps));
	if (!grown)
		return NULL;
	sc->steps = grown;
	s = &sc->steps[sc->nsteps++];
	memset(s, 0, sizeof(*s));
	s->line = p->line;
	s->repeat = 1;
	return s;
}

static int
parse_line(struct parser *p, char *line, struct drive_script *sc)
{
	char *tok[MAX_TOKENS];
	struct drive_step *s;
	char *t = line;
	int ntok = 0;

	while (isspace((unsigned char)*t))
		t++;
	if (!strncmp(t, "say", 3) && (!t[3] || isspace((unsigned char)t[3]))) {
		s = new_step(p, sc);
		if (!s)
			return fail(p, "out of memory");
		s->op = DRIVE_SAY;
		t += 3;
		while (*t == ' ' || *t == '\t')
			t++;
		s->text = strdup(t);
		return s->text ? 0 : fail(p, "out of memory");
	}
	if (tokenize(p, t, tok, &ntok) < 0)
		return -1;
	if (ntok == 0)
		return 0;
	s = new_step(p, sc);
	if (!s)
		return fail(p, "out of memory");
	return parse_access(p, tok, ntok, s);
}

int
drive_script_parse(FILE *f, const char *name, struct drive_script *s,
		   char *err, size_t errlen)
{
	struct parser p = { .name = name, .err = err, .errlen = errlen };
	char line[MAX_LINE];

	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		p.line++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			return fail(&p, "line longer than %d bytes", MAX_LINE - 2);
		if (parse_line(&p, line, s) < 0)
			return -1;
	}
	if (ferror(f))
		return fail(&p, "read error");
	return 0;
}

void
drive_script_free(struct drive_script *s)
{
	for (size_t i = 0; i < s->nsteps; i++) {
		free(s->steps[i].bytes);
		free(s->steps[i].text);
	}
	free(s->steps);
	s->steps = NULL;
	s->nsteps = 0;
}
