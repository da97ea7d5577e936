// SPDX-License-Identifier: BSD-2-Clause
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "kfeatures.h"
#include "log.h"

/* 1 when the helper is known to the kernel: a small program of the perf
 * event type calling it is loaded, and an unknown helper is the verifier's
 * one complaint that says it is absent. */
static bool helper(enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, id, NULL) > 0;
}

void kfeatures__probe(struct kfeatures *f)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);

	f->btf = !access("/sys/kernel/btf/vmlinux", R_OK);
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0;
	f->task_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) > 0;
	f->current_task_btf = helper(BPF_FUNC_get_current_task_btf);
	f->loop = helper(BPF_FUNC_loop);
	/* A sleepable helper: in a perf event program the verifier refuses
	 * the call as one that might sleep, which says it exists. */
	f->copy_from_user_task = helper(BPF_FUNC_copy_from_user_task);
	libbpf_set_print(old);
}

bool kfeatures__fentry(const char *func)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	int id, fd, link = -1;

	id = libbpf_find_vmlinux_btf_id(func, BPF_TRACE_FENTRY);
	if (id > 0) {
		opts.attach_btf_id = id;
		fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
		if (fd >= 0) {
			link = bpf_link_create(fd, 0, BPF_TRACE_FENTRY, NULL);
			close(fd);
		}
	}
	libbpf_set_print(old);
	if (link < 0)
		return false;
	close(link);
	return true;
}

void kfeatures__log(const struct kfeatures *f)
{
	pr_debug("kernel: BTF %s, ring buffer %s, task storage %s, bpf_get_current_task_btf %s, "
		 "bpf_loop %s, bpf_copy_from_user_task %s",
		 f->btf ? "yes" : "no", f->ringbuf ? "yes" : "no", f->task_storage ? "yes" : "no",
		 f->current_task_btf ? "yes" : "no", f->loop ? "yes" : "no",
		 f->copy_from_user_task ? "yes" : "no");
}

const char *kfeatures__missing(const struct kfeatures *f, bool iterate, char *buf, size_t len)
{
	static const struct {
		size_t at;
		const char *what;
	} needs[] = {
		{ offsetof(struct kfeatures, btf), "BTF (CONFIG_DEBUG_INFO_BTF)" },
		{ offsetof(struct kfeatures, ringbuf), "BPF ring buffers and task iterators (5.8)" },
	};
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		(void)iterate;	/* dump and --idle need nothing more */
		if (*(const bool *)((const char *)f + needs[i].at))
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? ", " : "",
			      needs[i].what);
	}
	return buf;
}
