/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86-64 unwind tables from call frame information (CFI): the bytes of an
 * .eh_frame or .debug_frame section in, a table of rows sorted by pc out,
 * small enough for a BPF program to binary-search and evaluate with a few
 * reads per native frame.
 *
 * The section is hostile input: every length, count, offset and LEB128 read
 * is bounded by the section, every loop by its bytes, the rows by a cap, and
 * what cannot be expressed or trusted becomes a row that stops the walk,
 * never a wrong rule. Sources: DWARF 4 and 5 section 6.4, the LSB's .eh_frame
 * and pointer encodings (DW_EH_PE_*), the x86-64 psABI's register numbers.
 *
 * Only three columns matter to a frame-by-frame walk on x86-64: the CFA, the
 * return address (rip, column 16) and rbp, the one callee-saved register
 * that later frames may compute their CFA from. The others are ignored.
 */
#ifndef PYSPY_CFI_H
#define PYSPY_CFI_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

/* How the CFA of a frame is found (struct cfi_row.cfa_kind). */
enum cfi_cfa {
	CFI_CFA_NONE,		/* no CFI covers this pc (between or past FDEs) */
	CFI_CFA_RSP,		/* cfa = rsp + cfa_off */
	CFI_CFA_RBP,		/* cfa = rbp + cfa_off */
	CFI_CFA_PLT,		/* lazy-binding PLT stubs, 16 bytes each:
				 * cfa = rsp + 8 + ((rip & 15) >= cfa_off ? 8 : 0);
				 * cfa_off is 11 for ld's plain PLT, 9 for its IBT PLT */
	CFI_CFA_UNDEFINED,	/* return address undefined: the outermost frame
				 * (_start, clone), the stack is complete */
	CFI_CFA_UNSUPPORTED,	/* a rule these rows cannot express (CFA from another
				 * register or an expression, return address not at
				 * cfa - 8) or CFI that could not be read: the walk stops */
};

/* Where the caller's rbp is (struct cfi_row.rbp_kind). */
enum cfi_rbp {
	CFI_RBP_SAME,		/* not saved by this frame: the caller's is rbp */
	CFI_RBP_AT_CFA,		/* saved at cfa + rbp_off */
	CFI_RBP_UNDEFINED,	/* explicitly undefined: the caller's rbp is unknown */
	CFI_RBP_UNSUPPORTED,	/* another rule (register, expression, value): unknown */
};

/*
 * One row: the rule for pc up to the next row's pc. The last row of a table
 * is always CFI_CFA_NONE, so a pc past the last FDE never takes a function's
 * rule. With this frame's rsp, rbp and rip, for the RSP, RBP and PLT kinds:
 *
 *	caller rip = *(u64 *)(cfa - 8)	(the x86-64 ABI; any other rule for the
 *					 return address is CFI_CFA_UNSUPPORTED)
 *	caller rsp = cfa
 *	caller rbp = rbp_kind == CFI_RBP_AT_CFA ? *(u64 *)(cfa + rbp_off) : rbp
 *
 * A caller's row is looked up at its return address - 1 (the call may be the
 * last instruction of a function). Fields that do not apply are 0, so two
 * rows with the same rule compare equal byte for byte. Meant for the header
 * the BPF programs share: fixed-width types, 16 bytes.
 */
struct cfi_row {
	__u64 pc;
	__s32 cfa_off;
	__s16 rbp_off;
	__u8 cfa_kind;		/* enum cfi_cfa */
	__u8 rbp_kind;		/* enum cfi_rbp */
};
_Static_assert(sizeof(struct cfi_row) == 16, "cfi_row is a map value: 16 bytes");

struct cfi_range {
	uint64_t begin, end;
};

struct cfi_table {
	struct cfi_row *rows;	/* sorted by pc, no two adjacent rows alike */
	size_t nrows;
	/* cfi__parse(): the pc range of each FDE taken, sorted, not
	 * overlapping: where functions are, for naming an address no symbol
	 * covers. NULL when there was no memory for them, and from
	 * cfi__merge(). */
	struct cfi_range *funcs;
	size_t nfuncs;
};

enum cfi_section {
	CFI_EH_FRAME,		/* .eh_frame: CIE id 0, pointer encodings */
	CFI_DEBUG_FRAME,	/* .debug_frame: CIE id all ones, offsets from the start */
};

/* Why a CIE could not be used; its FDEs count under CFI_SKIP_CIE. */
enum cfi_cie_bad {
	CFI_CIE_TRUNCATED,	/* a field runs past the entry */
	CFI_CIE_VERSION,	/* not 1, 3 or 4 (1 or 3 in .eh_frame) */
	CFI_CIE_AUGMENTATION,	/* an augmentation character or encoding not known */
	CFI_CIE_ADDRESS_SIZE,	/* version 4: address size not 4 or 8, or a segment selector */
	CFI_CIE_RA_COLUMN,	/* return address column not 16 (rip) */
	CFI_CIE_PROGRAM,	/* initial instructions malformed, or moving the location */
	CFI_CIE__COUNT
};

/* Why an FDE is left out of the table. */
enum cfi_skip {
	CFI_SKIP_CIE,		/* its CIE is missing or unusable */
	CFI_SKIP_TRUNCATED,	/* a header field runs past the entry */
	CFI_SKIP_ENCODING,	/* pc_begin not absolute or pc-relative (datarel,
				 * textrel, funcrel, aligned, indirect, omitted) */
	CFI_SKIP_EMPTY,		/* pc range of 0 bytes */
	CFI_SKIP_WRAP,		/* pc_begin + pc_range past 2^64 */
	CFI_SKIP_OVERLAP,	/* starts inside the range of an FDE already taken */
	CFI_SKIP_LIMIT,		/* the table was full */
	CFI_SKIP__COUNT
};

/* Why an FDE's program stopped early: from there to the FDE's end the
 * table says CFI_CFA_UNSUPPORTED. The rows before are exact. */
enum cfi_cut {
	CFI_CUT_OPCODE,		/* an opcode not in DWARF 5 or the GNU extensions */
	CFI_CUT_TRUNCATED,	/* an operand past the end of the entry, or a
				 * LEB128 past 64 bits */
	CFI_CUT_STATE,		/* restore_state on an empty stack, or remember_state
				 * deeper than CFI_STATE_DEPTH */
	CFI_CUT_LOCATION,	/* set_loc backwards, unreadable, or past 2^64 */
	CFI_CUT_OVERFLOW,	/* an offset that does not fit 64 bits once factored */
	CFI_CUT__COUNT
};

/* remember_state nesting followed; compilers use 1 or 2. */
#define CFI_STATE_DEPTH 16
/* Rows when the caller gives no cap: 16 MiB of table. */
#define CFI_ROWS_MAX (1u << 20)

struct cfi_stats {
	__u32 entries;			/* CIEs + FDEs + zero terminators seen */
	__u32 cies;
	__u32 cies_bad[CFI_CIE__COUNT];
	__u32 fdes;			/* FDEs whose rows are in the table */
	__u32 skipped[CFI_SKIP__COUNT];
	__u32 cut[CFI_CUT__COUNT];	/* among fdes: programs stopped early */
	__u32 rows;			/* == table.nrows */
	__u32 rows_unsupported;		/* rows of kind CFI_CFA_UNSUPPORTED */
	__u32 bad_entry;		/* 1: the walk over entries stopped at a bad
					 * length; later entries were not seen */
	__u32 truncated;		/* 1: the row cap was hit; the table ends with a
					 * CFI_CFA_NONE row where it was cut */
	/* The pc range of the largest FDE taken: in a stripped interpreter,
	 * where its eval loop is (by far its largest function). */
	__u64 largest_begin, largest_end;
};

/*
 * Builds the table of one section. `sec_vaddr` is the section's link-time
 * address (for pc-relative pointers; unused for .debug_frame), `max_rows` the
 * cap on rows (0: CFI_ROWS_MAX; at least 2). Row pcs are link-time addresses:
 * add the load bias to compare with a live pc.
 *
 * Returns 0 with *out filled (nrows may be 0) and *st counted, or -EINVAL
 * (bad arguments) or -ENOMEM, with *out empty. Malformed input is never an
 * error: what can be read is in the table, the rest is counted in *st.
 * Memory is O(len + max_rows), time O(len log len).
 */
int cfi__parse(const uint8_t *sec, size_t len, uint64_t sec_vaddr, enum cfi_section kind,
	       size_t max_rows, struct cfi_table *out, struct cfi_stats *st);

/* The row whose range holds pc (the last row with row.pc <= pc), NULL when
 * pc is below the first row. The binary search the BPF side does. */
const struct cfi_row *cfi__lookup(const struct cfi_table *t, uint64_t pc);

/*
 * One table from two of the same file: `first` where it has a rule other
 * than CFI_CFA_NONE, `fill` elsewhere (.eh_frame first, .debug_frame to fill
 * its gaps). Either may be empty. Returns 0, -ENOMEM, or -E2BIG when the
 * result would pass max_rows (0: CFI_ROWS_MAX); *out is empty on error.
 */
int cfi__merge(const struct cfi_table *first, const struct cfi_table *fill, size_t max_rows,
	       struct cfi_table *out);

void cfi__table_free(struct cfi_table *t);

/* Short names for reports ("truncated", "overlap", ...). */
const char *cfi__skip_name(enum cfi_skip r);
const char *cfi__cut_name(enum cfi_cut r);
const char *cfi__cie_bad_name(enum cfi_cie_bad r);

#endif
