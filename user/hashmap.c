// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"

/* Linear probing with backward-shift deletion: no tombstones. */
struct slot {
	uint64_t key;
	void *value;		/* NULL: empty */
};

struct hashmap {
	struct slot *slots;
	size_t cap;		/* power of two */
	size_t size;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static uint64_t rotl(uint64_t x, unsigned int r)
{
	return x << r | x >> (64 - r);
}

/* A word at a time: one multiply and one rotate per 8 bytes, the last 0-7
 * bytes as one more word; the length is part of the seed, so keys that
 * differ only in trailing zero bytes still differ. */
uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed ^ (len * 0x9e3779b97f4a7c15ULL), w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, sizeof(w));
		h = rotl(h ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = rotl(h ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
	}
	return mix(h);
}

struct hashmap *hashmap__new(void)
{
	struct hashmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cap = 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void hashmap__free(struct hashmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static size_t find(const struct hashmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = mix(key) & mask;

	while (m->slots[i].value && m->slots[i].key != key)
		i = (i + 1) & mask;
	return i;
}

void *hashmap__get(const struct hashmap *m, uint64_t key)
{
	return m->slots[find(m, key)].value;
}

static int grow(struct hashmap *m)
{
	struct slot *old = m->slots;
	size_t oldcap = m->cap;

	m->slots = calloc(oldcap * 2, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].value)
			m->slots[find(m, old[i].key)] = old[i];
	free(old);
	return 0;
}

int hashmap__put(struct hashmap *m, uint64_t key, void *value)
{
	size_t i;

	if (!value)
		return -EINVAL;
	if ((m->size + 1) * 4 > m->cap * 3 && grow(m))
		return -ENOMEM;
	i = find(m, key);
	if (!m->slots[i].value)
		m->size++;
	m->slots[i].key = key;
	m->slots[i].value = value;
	return 0;
}

void *hashmap__del(struct hashmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = find(m, key), j;
	void *v = m->slots[i].value;

	if (!v)
		return NULL;
	m->slots[i].value = NULL;
	m->size--;
	/* Shift back later entries of the run that would no longer be found. */
	for (j = (i + 1) & mask; m->slots[j].value; j = (j + 1) & mask) {
		size_t home = mix(m->slots[j].key) & mask;

		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			m->slots[j].value = NULL;
			i = j;
		}
	}
	return v;
}

size_t hashmap__size(const struct hashmap *m)
{
	return m->size;
}

bool hashmap__next(const struct hashmap *m, size_t *pos, uint64_t *key, void **value)
{
	while (*pos < m->cap) {
		struct slot *s = &m->slots[(*pos)++];

		if (s->value) {
			if (key)
				*key = s->key;
			if (value)
				*value = s->value;
			return true;
		}
	}
	return false;
}

void hashmap__free_all(struct hashmap *m, void (*fn)(void *ctx, void *value), void *ctx)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		void *v = m->slots[i].value;

		if (!v)
			continue;
		if (fn)
			fn(ctx, v);
		else
			free(v);
	}
	hashmap__free(m);
}

int hashmap__del_if(struct hashmap *m, bool (*drop)(void *ctx, uint64_t key, void *value),
		    void (*fn)(void *ctx, void *value), void *ctx)
{
	struct slot *old = m->slots, *fresh = calloc(m->cap, sizeof(*fresh));
	int n = 0;

	/* Into a new table: deleting in place moves entries under the scan. */
	if (!fresh)
		return -ENOMEM;
	m->slots = fresh;
	m->size = 0;
	for (size_t i = 0; i < m->cap; i++) {
		struct slot *sl = &old[i];

		if (!sl->value)
			continue;
		if (drop(ctx, sl->key, sl->value)) {
			if (fn)
				fn(ctx, sl->value);
			else
				free(sl->value);
			n++;
			continue;
		}
		m->slots[find(m, sl->key)] = *sl;
		m->size++;
	}
	free(old);
	return n;
}
