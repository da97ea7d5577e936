// SPDX-License-Identifier: BSD-2-Clause
/*
 * A file's CFI made into the rows the BPF unwinder evaluates: .eh_frame,
 * with .debug_frame filling its gaps (cfi.c), narrowed to struct
 * py_native_row, appended to the native_rows map (mapped, written in
 * place) and indexed by 64 KiB page in native_pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cfi.h"
#include "elffile.h"
#include "log.h"
#include "native_int.h"

/* The section's rows; an empty table when the file has none or they do
 * not parse. */
static void section_rows(const struct elffile *ef, const char *name, enum cfi_section kind,
			 struct cfi_table *t, struct cfi_stats *stp)
{
	struct elf_section sec;
	struct cfi_stats st = { 0 };
	const void *data;
	size_t size;

	memset(t, 0, sizeof(*t));
	if (elffile__find_section(ef, name, &sec))
		return;
	data = elffile__section_data(ef, &sec, &size);
	if (!data || !size)
		return;
	if (cfi__parse(data, size, sec.addr, kind, 0, t, &st))
		memset(t, 0, sizeof(*t));
	if (stp)
		*stp = st;
}

/* One cfi_row as a py_native_row: what does not fit stops the unwind. */
static struct py_native_row narrow(const struct cfi_row *r)
{
	struct py_native_row o = { .pc = (uint32_t)r->pc };
	unsigned int cfa, fp = PY_FP_SAME;

	switch (r->cfa_kind) {
	case CFI_CFA_RSP:
		cfa = PY_CFA_SP;
		break;
	case CFI_CFA_RBP:
		cfa = PY_CFA_FP;
		break;
	case CFI_CFA_PLT:
		cfa = PY_CFA_PLT;
		break;
	case CFI_CFA_UNDEFINED:
		cfa = PY_CFA_ROOT;
		break;
	case CFI_CFA_NONE:
		cfa = PY_CFA_NONE;
		break;
	default:
		cfa = PY_CFA_UNSUPPORTED;
	}
	if (cfa == PY_CFA_SP || cfa == PY_CFA_FP || cfa == PY_CFA_PLT) {
		if (r->cfa_off < 0 || r->cfa_off > UINT16_MAX)
			cfa = PY_CFA_UNSUPPORTED;
		else
			o.cfa_off = (uint16_t)r->cfa_off;
	}
	if (r->rbp_kind == CFI_RBP_AT_CFA) {
		if (r->rbp_off % 8 == 0 && r->rbp_off / 8 >= INT8_MIN && r->rbp_off / 8 <= INT8_MAX) {
			fp = PY_FP_AT_CFA;
			o.fp_off8 = (int8_t)(r->rbp_off / 8);
		} else {
			fp = PY_FP_UNDEFINED;
		}
	} else if (r->rbp_kind != CFI_RBP_SAME) {
		fp = PY_FP_UNDEFINED;
	}
	o.kinds = (uint8_t)(cfa | fp << 4);
	return o;
}

/* The table narrowed, rows alike merged; NULL on a pc past 4 GiB or when
 * out of memory. */
static struct py_native_row *narrow_all(const struct cfi_table *t, uint32_t *count)
{
	struct py_native_row *rows = malloc(t->nrows * sizeof(*rows) + 1);
	uint32_t n = 0;

	if (!rows)
		return NULL;
	for (size_t i = 0; i < t->nrows; i++) {
		struct py_native_row r;

		if (t->rows[i].pc > UINT32_MAX) {
			free(rows);
			return NULL;
		}
		r = narrow(&t->rows[i]);
		if (n && rows[n - 1].kinds == r.kinds && rows[n - 1].cfa_off == r.cfa_off &&
		    rows[n - 1].fp_off8 == r.fp_off8)
			continue;
		rows[n++] = r;
	}
	*count = n;
	return rows;
}

/* native_pages for rows[0, n), which sit at native_rows[base]. */
static int index_pages(struct native *n, const struct native_file *f,
		       const struct py_native_row *rows, uint32_t count, uint32_t base)
{
	uint32_t first = 0, last, page, p0, p1;

	if (!count)
		return 0;
	p0 = rows[0].pc >> PY_NATIVE_PAGE_SHIFT;
	p1 = rows[count - 1].pc >> PY_NATIVE_PAGE_SHIFT;
	for (page = p0;; page++) {
		uint64_t start = (uint64_t)page << PY_NATIVE_PAGE_SHIFT;
		uint64_t end = start + (1ULL << PY_NATIVE_PAGE_SHIFT);
		struct py_native_page_key key = { .file = f->id, .page = page };
		struct py_native_page val;

		while (first + 1 < count && rows[first + 1].pc <= start)
			first++;
		last = first;
		while (last + 1 < count && rows[last + 1].pc < end)
			last++;
		val.first = base + first;
		val.count = last - first + 1;
		if (bpf_map_update_elem(n->maps.pages_fd, &key, &val, BPF_ANY)) {
			int err = -errno;

			/* No page may lead to rows the next file will take. */
			for (key.page = p0; key.page < page; key.page++)
				bpf_map_delete_elem(n->maps.pages_fd, &key);
			return err;
		}
		if (page == p1)
			break;
	}
	return 0;
}

void native__file_tables(struct native *n, struct native_file *f, const struct elffile *ef)
{
	struct cfi_table eh, dbg, all = { 0 };
	struct cfi_stats st = { 0 };
	struct py_native_row *rows = NULL;
	uint32_t count = 0;

	section_rows(ef, ".eh_frame", CFI_EH_FRAME, &eh, &st);
	section_rows(ef, ".debug_frame", CFI_DEBUG_FRAME, &dbg, NULL);
	f->largest_begin = st.largest_begin;
	f->largest_end = st.largest_end;
	/* Function starts for names: .eh_frame's, else .debug_frame's. */
	free(f->funcs);
	if (eh.nfuncs) {
		f->funcs = eh.funcs;
		f->nfuncs = eh.nfuncs;
		eh.funcs = NULL;
	} else {
		f->funcs = dbg.funcs;
		f->nfuncs = dbg.nfuncs;
		dbg.funcs = NULL;
	}
	if (cfi__merge(&eh, &dbg, 0, &all))
		memset(&all, 0, sizeof(all));
	cfi__table_free(&eh);
	cfi__table_free(&dbg);
	if (all.nrows)
		rows = narrow_all(&all, &count);
	cfi__table_free(&all);
	if (!rows || !count) {
		n->stats.files_no_cfi++;
		free(rows);
		return;
	}
	if (count > n->maps.nrows - n->rows_used) {
		n->stats.files_table_full++;
		pr_debug("native: no room left for the unwind rows of %s", f->path);
		free(rows);
		return;
	}
	memcpy((struct py_native_row *)n->maps.rows + n->rows_used, rows, count * sizeof(*rows));
	if (index_pages(n, f, rows, count, n->rows_used)) {
		n->stats.files_table_full++;
		free(rows);
		return;
	}
	f->first_row = n->rows_used;
	f->nrows = count;
	n->rows_used += count;
	n->stats.rows = n->rows_used;
	free(rows);
}
