// SPDX-License-Identifier: BSD-2-Clause
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "demangle.h"

typedef char *(*cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static cxa_demangle_fn cxa_demangle;

static void load(void)
{
	/* never closed: the demangler is used for the life of the process */
	void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);

	if (h)
		cxa_demangle = (cxa_demangle_fn)dlsym(h, "__cxa_demangle");
}

bool demangle__wanted(const char *name)
{
	return name[0] == '_' && name[1] == 'Z';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool is_hash(const char *s)
{
	for (int i = 0; i < 16; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/* A Rust legacy name ends its path with "17h" and a 16-digit hash
 * ("_ZN...17h0123456789abcdefE"), perhaps followed by ".llvm.N" or such:
 * the length up to its 'E', 0 for another name. */
static size_t rust_legacy_len(const char *m, size_t n)
{
	if (strncmp(m, "_ZN", 3))
		return 0;
	for (size_t i = 3; i + 20 <= n; i++)
		if (!memcmp(m + i, "17h", 3) && is_hash(m + i + 3) && m[i + 19] == 'E' &&
		    (m[i + 20] == 0 || m[i + 20] == '.'))
			return i + 20;
	return 0;
}

/* Drops the "::h<16 hex digits>" that ends s. */
static void drop_rust_hash(char *s)
{
	size_t n = strlen(s);

	if (n >= 19 && !memcmp(s + n - 19, "::h", 3) && is_hash(s + n - 16))
		s[n - 19] = 0;
}

/* Rust's legacy escapes, decoded in place (never longer). */
static void rust_unescape(char *s)
{
	static const struct {
		const char *esc;
		char c;
	} escapes[] = {
		{ "$SP$", '@' }, { "$BP$", '*' }, { "$RF$", '&' }, { "$LT$", '<' },
		{ "$GT$", '>' }, { "$LP$", '(' }, { "$RP$", ')' }, { "$C$", ',' },
	};
	const char *r = s;
	char *w = s;
	bool start = true;

	while (*r) {
		size_t k, n = sizeof(escapes) / sizeof(escapes[0]);

		/* an identifier starting with '$' is written "_$" */
		if (start && r[0] == '_' && r[1] == '$')
			r++;
		start = false;
		if (r[0] == ':' && r[1] == ':') {
			*w++ = *r++;
			*w++ = *r++;
			start = true;
			continue;
		}
		if (r[0] == '.' && r[1] == '.') {
			*w++ = ':';
			*w++ = ':';
			r += 2;
			start = true;
			continue;
		}
		for (k = 0; *r == '$' && k < n; k++)
			if (!strncmp(r, escapes[k].esc, strlen(escapes[k].esc)))
				break;
		if (*r == '$' && k < n) {
			*w++ = escapes[k].c;
			r += strlen(escapes[k].esc);
		} else if (r[0] == '$' && r[1] == 'u' && hexval(r[2]) >= 0 && hexval(r[3]) >= 0 &&
			   r[4] == '$' && hexval(r[2]) * 16 + hexval(r[3]) >= 0x20 &&
			   hexval(r[2]) * 16 + hexval(r[3]) < 0x7f) {
			*w++ = (char)(hexval(r[2]) * 16 + hexval(r[3]));
			r += 5;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
}

char *demangle(const char *name)
{
	size_t n = strnlen(name, DEMANGLE_IN_MAX + 1), rust;
	char path[DEMANGLE_IN_MAX + 1];
	char *out;
	int status = -1;

	if (!demangle__wanted(name) || n > DEMANGLE_IN_MAX)
		return NULL;
	pthread_once(&load_once, load);
	if (!cxa_demangle)
		return NULL;
	/* a Rust name loses what follows its path (".llvm.123": the
	 * demangler refuses it after a name without parameters) */
	rust = rust_legacy_len(name, n);
	if (rust) {
		memcpy(path, name, rust);
		path[rust] = 0;
		name = path;
	}
	out = cxa_demangle(name, NULL, NULL, &status);
	if (status || !out) {
		free(out);
		return NULL;
	}
	if (rust) {
		drop_rust_hash(out);
		rust_unescape(out);
	}
	if (strlen(out) >= DEMANGLE_OUT_MAX)
		memcpy(out + DEMANGLE_OUT_MAX - 4, "...", 4);
	return out;
}
