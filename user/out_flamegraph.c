// SPDX-License-Identifier: BSD-2-Clause
/*
 * An interactive SVG flame graph in one self-contained file: root at the
 * bottom, children in name order, hover details, click to zoom, search.
 * The stacks become a tree first, so frames too narrow to see are merged
 * into one frame per parent before anything is written, and huge profiles
 * stay quick to open.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"
#include "out_common.h"
#include "textesc.h"

#define FG_WIDTH 1200
#define FG_PAD 10
#define FG_FRAME_H 16
#define FG_FONT 12
/* Average glyph width as a share of the font size, to cut labels. */
#define FG_CHAR_W (FG_FONT * 0.59)
#define FG_TOP 70
#define FG_BOTTOM 34
/* Frames narrower than a pixel are merged: at most this many per row. */
#define FG_MAX_PER_ROW (FG_WIDTH - 2 * FG_PAD)
#define NO_FRAME UINT32_MAX

struct node {
	uint32_t frame;		/* view frame id; NO_FRAME for the root */
	uint32_t depth;
	uint32_t child;		/* first child, 0 for none: the root is nobody's child */
	uint32_t sibling;
	uint32_t parent;
	uint32_t nsmall;	/* children too narrow to show */
	uint64_t count;
	uint64_t small;		/* their samples, shown as one merged frame */
};

struct fg {
	FILE *f;
	const struct view *v;
	const struct output_opts *o;
	struct node *nodes;
	size_t n, cap;
	uint64_t total, min_count;
	double scale;		/* pixels per sample */
	unsigned int height;
};

static int node_new(struct fg *g, uint32_t frame, uint32_t depth, uint32_t *idx)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		struct node *nn;

		if (cap > UINT32_MAX)
			return -E2BIG;
		nn = realloc(g->nodes, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		g->nodes = nn;
		g->cap = cap;
	}
	memset(&g->nodes[g->n], 0, sizeof(g->nodes[0]));
	g->nodes[g->n].frame = frame;
	g->nodes[g->n].depth = depth;
	*idx = g->n++;
	return 0;
}

static int build(struct fg *g, const struct agg *a)
{
	struct hashmap *edges = hashmap__new();
	size_t idx, nstacks = agg__stacks(a);
	uint32_t root;
	int err;

	if (!edges)
		return -ENOMEM;
	err = node_new(g, NO_FRAME, 0, &root);
	for (idx = 0; !err && idx < nstacks; idx++) {
		uint64_t count = agg__stack(a, idx)->count;
		const uint32_t *ids;
		unsigned int n, i;
		uint32_t cur = root;

		ids = view__stack(g->v, idx, &n);
		g->nodes[root].count += count;
		for (i = 0; i < n; i++) {
			/* Node numbers and frame ids both fit 32 bits: an exact key. */
			uint64_t key = (uint64_t)cur << 32 | ids[i];
			uint32_t next = (uintptr_t)hashmap__get(edges, key);

			if (!next) {
				err = node_new(g, ids[i], i + 1, &next);
				if (!err && hashmap__put(edges, key, (void *)(uintptr_t)next))
					err = -ENOMEM;
				if (err)
					break;
				g->nodes[next].parent = cur;
				g->nodes[next].sibling = g->nodes[cur].child;
				g->nodes[cur].child = next;
			}
			g->nodes[next].count += count;
			cur = next;
		}
	}
	hashmap__free(edges);
	return err;
}

/* Writes s as XML character data, at most max code points of it. */
static void xml_text(FILE *f, const char *s, size_t max)
{
	size_t n = strlen(s), k;
	uint32_t cp;
	char buf[4];

	for (; n && max; s += k, n -= k, max--) {
		k = utf8__next(s, n, &cp);
		switch (cp) {
		case '<':
			fputs("&lt;", f);
			continue;
		case '>':
			fputs("&gt;", f);
			continue;
		case '&':
			fputs("&amp;", f);
			continue;
		case '"':
			fputs("&quot;", f);
			continue;
		case '\'':
			fputs("&apos;", f);
			continue;
		case '\t':
		case '\n':
		case '\r':
			fprintf(f, "&#%u;", cp);
			continue;
		}
		/* Characters XML 1.0 forbids even as references. */
		if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
			cp = 0xfffd;
		/* Allowed, but controls (textesc.h): kept, as references, so the
		 * file shown on a terminal cannot drive it. */
		if ((cp >= 0x7f && cp <= 0x9f) || textesc__reorders(cp)) {
			fprintf(f, "&#%u;", cp);
			continue;
		}
		fwrite(buf, 1, utf8__put(buf, cp), f);
	}
}

static size_t utf8_len(const char *s)
{
	size_t n = strlen(s), cps = 0;
	uint32_t cp;

	while (n) {
		size_t k = utf8__next(s, n, &cp);

		s += k;
		n -= k;
		cps++;
	}
	return cps;
}

/* The label cut to fit w pixels, as the script does after a zoom. */
static void fit_text(FILE *f, const char *label, double w)
{
	long room = (long)((w - 6) / FG_CHAR_W);
	size_t len;

	if (room < 3)
		return;
	len = utf8_len(label);
	if (len <= (size_t)room) {
		xml_text(f, label, SIZE_MAX);
		return;
	}
	xml_text(f, label, room - 2);
	fputs("..", f);
}

static void print_count(FILE *f, uint64_t v)
{
	if (v >= 1000) {
		print_count(f, v / 1000);
		fprintf(f, ",%03" PRIu64, v % 1000);
		return;
	}
	fprintf(f, "%" PRIu64, v);
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Warm colours for Python, cool for native, grey for markers: stable per
 * function name, so the same function has the same colour in every graph. */
static void colour(const struct frame *fr, char *buf, size_t len)
{
	uint32_t h;
	double v1, v2, v3;

	if (!fr || fr->kind == FRAME_MARKER) {
		snprintf(buf, len, "rgb(190,190,190)");
		return;
	}
	h = fnv1a(fr->name);
	v1 = (h & 0xff) / 255.0;
	v2 = (h >> 8 & 0xff) / 255.0;
	v3 = (h >> 16 & 0xff) / 255.0;
	if (fr->kind == FRAME_NATIVE)
		snprintf(buf, len, "rgb(%d,%d,%d)", (int)(80 + 60 * v1), (int)(150 + 60 * v2),
			 (int)(200 + 55 * v3));
	else
		snprintf(buf, len, "rgb(%d,%d,%d)", (int)(205 + 50 * v3), (int)(230 * v1),
			 (int)(55 * v2));
}

static int cmp_label(const void *x, const void *y, void *arg)
{
	const struct fg *g = arg;
	const struct node *a = &g->nodes[*(const uint32_t *)x], *b = &g->nodes[*(const uint32_t *)y];
	int c = strcmp(view__label(g->v, a->frame), view__label(g->v, b->frame));

	if (c)
		return c;
	return a->frame < b->frame ? -1 : a->frame > b->frame;
}

static void emit_node(struct fg *g, const struct frame *fr, const char *label, uint32_t depth,
		      uint64_t x, uint64_t count)
{
	double px = FG_PAD + x * g->scale, w = count * g->scale;
	unsigned int y = g->height - FG_BOTTOM - (depth + 1) * FG_FRAME_H;
	char fill[32];

	colour(fr, fill, sizeof(fill));
	fprintf(g->f, "<g data-x=\"%" PRIu64 "\" data-w=\"%" PRIu64 "\"><title>", x, count);
	xml_text(g->f, label, SIZE_MAX);
	fputs(" (", g->f);
	print_count(g->f, count);
	fprintf(g->f, " sample%s, %.2f%%)</title><rect x=\"%.2f\" y=\"%u\" width=\"%.2f\" "
		"height=\"%u\" rx=\"2\" fill=\"%s\"/><text x=\"%.2f\" y=\"%u\">",
		count == 1 ? "" : "s", 100.0 * count / g->total, px, y, w, FG_FRAME_H - 1, fill,
		px + 3, y + FG_FRAME_H - 4);
	fit_text(g->f, label, w);
	fputs("</text></g>\n", g->f);
}

/* The narrow children of nd as one frame, after the shown ones at x. */
static void emit_small(struct fg *g, const struct node *nd, uint64_t x)
{
	char label[64];

	if (nd->small < g->min_count)
		return;
	snprintf(label, sizeof(label), "[%u narrow frames]", nd->nsmall);
	emit_node(g, NULL, label, nd->depth + 1, x, nd->small);
}

/* Depth first, children in label order. */
static int emit_tree(struct fg *g, uint32_t idx, uint64_t x)
{
	const struct node *nd = &g->nodes[idx];
	uint32_t c, *kids;
	size_t n = 0, i;
	int err = 0;

	if (nd->frame == NO_FRAME)
		emit_node(g, NULL, "all", 0, x, nd->count);
	else
		emit_node(g, view__frame(g->v, nd->frame), view__label(g->v, nd->frame), nd->depth,
			  x, nd->count);
	for (c = nd->child; c; c = g->nodes[c].sibling)
		if (g->nodes[c].count >= g->min_count)
			n++;
	if (!n) {
		emit_small(g, nd, x);
		return 0;
	}
	kids = malloc(n * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	n = 0;
	for (c = nd->child; c; c = g->nodes[c].sibling)
		if (g->nodes[c].count >= g->min_count)
			kids[n++] = c;
	qsort_r(kids, n, sizeof(*kids), cmp_label, g);
	for (i = 0; i < n && !err; i++) {
		err = emit_tree(g, kids[i], x);
		x += g->nodes[kids[i]].count;
	}
	free(kids);
	if (!err)
		emit_small(g, nd, x);
	return err;
}

static const char script[] =
	"(function () {\n"
	"'use strict';\n"
	"var W = %d, PAD = %d, CW = %.3f, HIGHLIGHT = 'rgb(230,0,230)';\n"
	"var frames = document.getElementById('frames');\n"
	"var gs = Array.prototype.slice.call(frames.children);\n"
	"var details = document.getElementById('details');\n"
	"var matched = document.getElementById('matched');\n"
	"var unzoom = document.getElementById('unzoom');\n"
	"var searchBtn = document.getElementById('search');\n"
	"var items = null, root = null, searching = null;\n"
	"/* What every frame needs, read once on first use rather than on load. */\n"
	"function all() {\n"
	"  if (items) return items;\n"
	"  items = gs.map(function (g) {\n"
	"    var r = g.children[1], it = {\n"
	"      g: g, r: r, t: g.children[2],\n"
	"      x: +g.getAttribute('data-x'), w: +g.getAttribute('data-w'),\n"
	"      y: +r.getAttribute('y'), fill: r.getAttribute('fill'),\n"
	"      label: g.firstElementChild.textContent.replace(/ \\([\\d,]+ samples?, [\\d.]+%%\\)$/, '')\n"
	"    };\n"
	"    g._it = it;\n"
	"    return it;\n"
	"  });\n"
	"  root = items[0];\n"
	"  return items;\n"
	"}\n"
	"function frameOf(el) {\n"
	"  while (el && el.parentNode !== frames) el = el.parentNode;\n"
	"  return el;\n"
	"}\n"
	"function place(it, x, w) {\n"
	"  var room = Math.floor((w - 6) / CW), l = it.label;\n"
	"  it.r.setAttribute('x', x.toFixed(2));\n"
	"  it.r.setAttribute('width', w.toFixed(2));\n"
	"  it.t.setAttribute('x', (x + 3).toFixed(2));\n"
	"  it.t.textContent = room < 3 ? '' : l.length <= room ? l : l.slice(0, room - 2) + '..';\n"
	"}\n"
	"function zoom(zg) {\n"
	"  var z, scale;\n"
	"  all();\n"
	"  z = zg._it;\n"
	"  scale = (W - 2 * PAD) / z.w;\n"
	"  items.forEach(function (it) {\n"
	"    var hide = false, parent = false;\n"
	"    if (it.y > z.y) {\n"
	"      /* Rows below: the zoomed frame's ancestors span the width. */\n"
	"      if (it.x <= z.x && it.x + it.w >= z.x + z.w) {\n"
	"        parent = z !== root;\n"
	"        place(it, PAD, W - 2 * PAD);\n"
	"      } else {\n"
	"        hide = true;\n"
	"      }\n"
	"    } else if (it.x >= z.x && it.x + it.w <= z.x + z.w) {\n"
	"      place(it, PAD + (it.x - z.x) * scale, it.w * scale);\n"
	"    } else {\n"
	"      hide = true;\n"
	"    }\n"
	"    it.g.classList.toggle('hide', hide);\n"
	"    it.g.classList.toggle('parent', parent);\n"
	"  });\n"
	"  unzoom.classList.toggle('hide', z === root);\n"
	"}\n"
	"function search(term) {\n"
	"  var re, ranges = [], sum = 0, end = -1;\n"
	"  try { re = new RegExp(term); } catch (e) {\n"
	"    /* Not a regular expression: plain text. */\n"
	"    re = new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&'));\n"
	"  }\n"
	"  searching = term;\n"
	"  all().forEach(function (it) {\n"
	"    var hit = it !== root && re.test(it.label);\n"
	"    it.r.setAttribute('fill', hit ? HIGHLIGHT : it.fill);\n"
	"    it.g.classList.toggle('match', hit);\n"
	"    if (hit) ranges.push([it.x, it.x + it.w]);\n"
	"  });\n"
	"  /* Nested matches (recursion) count once. */\n"
	"  ranges.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
	"  ranges.forEach(function (r) {\n"
	"    if (r[1] <= end) return;\n"
	"    sum += r[1] - Math.max(r[0], end);\n"
	"    end = r[1];\n"
	"  });\n"
	"  matched.textContent = 'Matched: ' + (root.w ? 100 * sum / root.w : 0).toFixed(1) + '%%';\n"
	"  searchBtn.textContent = 'Reset Search';\n"
	"}\n"
	"function resetSearch() {\n"
	"  searching = null;\n"
	"  if (items) items.forEach(function (it) {\n"
	"    it.r.setAttribute('fill', it.fill);\n"
	"    it.g.classList.remove('match');\n"
	"  });\n"
	"  matched.textContent = '';\n"
	"  searchBtn.textContent = 'Search';\n"
	"}\n"
	"function ask() {\n"
	"  var term = window.prompt('Search frames (regular expression or text):', searching || '');\n"
	"  if (term) search(term); else if (term !== null) resetSearch();\n"
	"}\n"
	"frames.addEventListener('click', function (e) {\n"
	"  var g = frameOf(e.target);\n"
	"  if (g) zoom(g);\n"
	"});\n"
	"frames.addEventListener('mouseover', function (e) {\n"
	"  var g = frameOf(e.target);\n"
	"  if (g) details.textContent = g.firstElementChild.textContent;\n"
	"});\n"
	"frames.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"unzoom.addEventListener('click', function () { zoom(all()[0].g); });\n"
	"searchBtn.addEventListener('click', function () {\n"
	"  if (searching !== null) resetSearch(); else ask();\n"
	"});\n"
	"window.addEventListener('keydown', function (e) {\n"
	"  if (((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) || e.key === 'F3') {\n"
	"    e.preventDefault();\n"
	"    ask();\n"
	"  } else if (e.key === 'Escape') {\n"
	"    resetSearch();\n"
	"  }\n"
	"});\n"
	"window.flamegraph = { zoom: zoom, search: search, resetSearch: resetSearch };\n"
	"})();\n";

static void header(struct fg *g, const struct agg *a)
{
	const struct output_opts *o = g->o;
	const struct stack_trace *st;
	size_t pos = 0;
	int pid = 0, npids = 0;
	FILE *f = g->f;

	while (agg__next(a, &pos, &st) && npids < 2) {
		if (!npids || st->pid != pid)
			npids++;
		pid = st->pid;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n",
		FG_WIDTH, g->height, FG_WIDTH, g->height);
	fputs("<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
	      "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>"
	      "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/></linearGradient></defs>\n"
	      "<style type=\"text/css\">\n"
	      "text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; "
	      "fill: rgb(0,0,0); }\n"
	      "#title { font-size: 17px; text-anchor: middle; }\n"
	      "#subtitle { text-anchor: middle; fill: rgb(90,90,90); }\n"
	      "#frames > g { cursor: pointer; }\n"
	      "#frames > g:hover > rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
	      "#frames text { pointer-events: none; }\n"
	      ".ctl { cursor: pointer; fill: rgb(20,60,170); }\n"
	      ".ctl:hover { text-decoration: underline; }\n"
	      ".hide { display: none; }\n"
	      ".parent { opacity: 0.5; }\n"
	      "</style>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" fill=\"url(#bg)\"/>\n",
		FG_WIDTH, g->height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"26\">", FG_WIDTH / 2);
	if (npids == 1) {
		agg__next(a, &(size_t){ 0 }, &st);
		xml_text(f, st->cmdline[0] ? st->cmdline : "Flame Graph", SIZE_MAX);
	} else if (npids) {
		fputs("Every Python process", f);
	} else {
		fputs("No samples", f);
	}
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"46\">", FG_WIDTH / 2);
	if (o->command && o->command[0]) {
		xml_text(f, o->command, 200);
		fputs(" \xc2\xb7 ", f);
	}
	fprintf(f, "%.1f s at %u Hz \xc2\xb7 ", o->duration_s, o->rate);
	print_count(f, g->total);
	fprintf(f, " sample%s</text>\n", g->total == 1 ? "" : "s");
	fprintf(f, "<text id=\"unzoom\" class=\"ctl hide\" x=\"%d\" y=\"26\">Reset Zoom</text>\n"
		"<text id=\"search\" class=\"ctl\" x=\"%d\" y=\"26\" text-anchor=\"end\">"
		"Search</text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%u\" text-anchor=\"end\"></text>\n",
		FG_PAD, FG_WIDTH - FG_PAD, FG_PAD, g->height - 12, FG_WIDTH - FG_PAD,
		g->height - 12);
}

int write_flamegraph(FILE *f, const struct agg *a, const struct output_opts *o)
{
	struct fg g = { .f = f, .o = o };
	struct view *v = NULL;
	uint32_t maxdepth = 0;
	size_t i;
	int err;

	err = view__new(a, o, &v);
	if (err)
		return err;
	g.v = v;
	err = build(&g, a);
	if (err)
		goto cleanup;
	g.total = g.nodes[0].count;
	g.scale = g.total ? (double)(FG_WIDTH - 2 * FG_PAD) / g.total : 0;
	/* Zooming only widens frames: what is kept now stays visible. */
	g.min_count = (g.total + FG_MAX_PER_ROW - 1) / FG_MAX_PER_ROW;
	if (g.min_count < 1)
		g.min_count = 1;
	/* Counts shrink towards the leaves: a narrow node's parent is shown. */
	for (i = 1; i < g.n; i++) {
		struct node *p = &g.nodes[g.nodes[i].parent];

		if (g.nodes[i].count < g.min_count) {
			p->small += g.nodes[i].count;
			p->nsmall++;
		}
	}
	for (i = 0; i < g.n; i++) {
		uint32_t d = g.nodes[i].depth + (g.nodes[i].small >= g.min_count);

		if (g.nodes[i].count >= g.min_count && d > maxdepth)
			maxdepth = d;
	}
	g.height = FG_TOP + (maxdepth + 1) * FG_FRAME_H + FG_BOTTOM;
	header(&g, a);
	fputs("<g id=\"frames\">\n", f);
	if (g.total)
		err = emit_tree(&g, 0, 0);
	if (err)
		goto cleanup;
	fputs("</g>\n", f);
	if (g.total) {
		fputs("<script type=\"text/ecmascript\"><![CDATA[\n", f);
		fprintf(f, script, FG_WIDTH, FG_PAD, FG_CHAR_W);
		fputs("]]></script>\n", f);
	}
	fputs("</svg>\n", f);
	if (ferror(f))
		err = -EIO;
cleanup:
	free(g.nodes);
	view__free(v);
	return err;
}
