/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the running kernel offers the BPF programs, probed before they are
 * loaded: a kernel that lacks something is told apart from a verifier
 * complaint, and named.
 */
#ifndef PYSPY_KFEATURES_H
#define PYSPY_KFEATURES_H

#include <stdbool.h>
#include <stddef.h>

struct kfeatures {
	bool btf;			/* /sys/kernel/btf/vmlinux */
	bool ringbuf;			/* BPF_MAP_TYPE_RINGBUF (5.8) */
	bool task_storage;		/* BPF_MAP_TYPE_TASK_STORAGE (5.11) */
	bool current_task_btf;		/* bpf_get_current_task_btf() (5.11) */
	bool loop;			/* bpf_loop() (5.17) */
	bool copy_from_user_task;	/* bpf_copy_from_user_task(), sleepable iterators (5.18) */
};

void kfeatures__probe(struct kfeatures *f);
/* Prints what was found (-v). */
void kfeatures__log(const struct kfeatures *f);
/*
 * What a command needs and the kernel lacks, with no fallback, as text for a
 * message ("" when nothing). The rest (task storage, bpf_loop, sleepable
 * iterators) have fallbacks: see sampler.c.
 */
const char *kfeatures__missing(const struct kfeatures *f, bool iterate, char *buf, size_t len);
/*
 * True when a program can run at the entry of the kernel function `func`
 * (fentry): one is loaded and attached there, then removed. Kernels built
 * without ftrace, or locked down, refuse it.
 */
bool kfeatures__fentry(const char *func);

#endif
