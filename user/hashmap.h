/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small open-addressing hash table from a 64-bit key to a pointer, used for
 * pid -> process, code address -> cache entry and stack hash -> stack.
 * Callers own the values.
 */
#ifndef PYSPY_HASHMAP_H
#define PYSPY_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap;

struct hashmap *hashmap__new(void);
void hashmap__free(struct hashmap *m);
void *hashmap__get(const struct hashmap *m, uint64_t key);
/* Inserts or replaces; returns 0 or -ENOMEM. */
int hashmap__put(struct hashmap *m, uint64_t key, void *value);
/* Removes key and returns its value, or NULL. */
void *hashmap__del(struct hashmap *m, uint64_t key);
size_t hashmap__size(const struct hashmap *m);
/* Iteration: *pos starts at 0; returns false at the end. Do not insert or
 * delete while iterating. */
bool hashmap__next(const struct hashmap *m, size_t *pos, uint64_t *key, void **value);

/* Frees m and each value: fn(ctx, value), or free(value) when fn is NULL.
 * m may be NULL. */
void hashmap__free_all(struct hashmap *m, void (*fn)(void *ctx, void *value), void *ctx);
/* Removes every entry drop() says to, each value going as in
 * hashmap__free_all(); returns how many, or -ENOMEM (nothing removed). */
int hashmap__del_if(struct hashmap *m, bool (*drop)(void *ctx, uint64_t key, void *value),
		    void (*fn)(void *ctx, void *value), void *ctx);

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);

#endif
