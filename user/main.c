// SPDX-License-Identifier: BSD-2-Clause
/*
 * pyspy-bpf: command line. As in bpftool, a table of commands (cmds[]) and
 * a selector that picks one from argv[1]; each command's handler parses its
 * own options in one getopt loop, where the options several commands share
 * (-p, -r, -s, -g, -i, --full-filenames, --btf, -v, -h, -V) are taken by
 * common_option(), so they are spelled, checked and refused the same way
 * everywhere.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "completions.h"
#include "dump.h"
#include "help.h"
#include "log.h"
#include "record.h"
#include "upload.h"

#define MAX_RATE 10000

enum { OPT_NOLINENO = 256, OPT_FULL_FILENAMES, OPT_RINGBUF, OPT_BTF, OPT_DELAY, OPT_INTERVAL,
       OPT_KEEP, OPT_UPLOAD, OPT_APP_NAME, OPT_TAG, OPT_NATIVE_ALL, OPT_NONBLOCKING,
       OPT_HIDEPROGRESS, OPT_CAPTURE, OPT_CORE, OPT_ASYNC };

/* Last in every table, in this order, as getopt_long has always seen them. */
#define COMMON_LONG_OPTS						\
	{ "nonblocking", no_argument, NULL, OPT_NONBLOCKING },		\
	{ "btf", required_argument, NULL, OPT_BTF },			\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "help", no_argument, NULL, 'h' },				\
	{ "version", no_argument, NULL, 'V' },				\
	{}

static const struct option record_longopts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate", required_argument, NULL, 'r' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "subprocesses", no_argument, NULL, 's' },
	{ "threads", no_argument, NULL, 't' },
	{ "gil", no_argument, NULL, 'g' },
	{ "idle", no_argument, NULL, 'i' },
	{ "function", no_argument, NULL, 'F' },
	{ "native", no_argument, NULL, 'n' },
	{ "native-all", no_argument, NULL, OPT_NATIVE_ALL },
	{ "async", no_argument, NULL, OPT_ASYNC },
	{ "nolineno", no_argument, NULL, OPT_NOLINENO },
	{ "full-filenames", no_argument, NULL, OPT_FULL_FILENAMES },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "hideprogress", no_argument, NULL, OPT_HIDEPROGRESS },
	{ "capture", no_argument, NULL, OPT_CAPTURE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "upload", required_argument, NULL, OPT_UPLOAD },
	{ "app-name", required_argument, NULL, OPT_APP_NAME },
	{ "tag", required_argument, NULL, OPT_TAG },
	COMMON_LONG_OPTS
};

static const struct option top_longopts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "rate", required_argument, NULL, 'r' },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "subprocesses", no_argument, NULL, 's' },
	{ "gil", no_argument, NULL, 'g' },
	{ "idle", no_argument, NULL, 'i' },
	{ "native", no_argument, NULL, 'n' },
	{ "async", no_argument, NULL, OPT_ASYNC },
	{ "full-filenames", no_argument, NULL, OPT_FULL_FILENAMES },
	COMMON_LONG_OPTS
};

static const struct option completions_longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{}
};

static const struct option dump_longopts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "subprocesses", no_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "locals", no_argument, NULL, 'l' },
	{ "core", required_argument, NULL, OPT_CORE },
	{ "native", no_argument, NULL, 'n' },
	{ "async", no_argument, NULL, OPT_ASYNC },
	{ "full-filenames", no_argument, NULL, OPT_FULL_FILENAMES },
	COMMON_LONG_OPTS
};

/*
 * What a handler is given: its own arguments (argv[0] is the command's
 * name, or the program's when the command was not named) and the whole
 * command line, which record shows as the profile's title.
 */
struct cmd_args {
	int argc;
	char **argv;
	bool named;		/* -h: this command's help, else every command's */
	int line_argc;
	char **line_argv;
};

struct cmd {
	const char *name;
	const char *summary;	/* one line, for completion scripts */
	int (*func)(const struct cmd *cmd, const struct cmd_args *a);
	const char *synopsis;	/* after "usage: pyspy-bpf " */
	const char *help;	/* its options, without the common ones */
	const char *optstring;
	const struct option *longopts;
	bool many_pids;		/* -p repeatable; else the last one counts */
};

/* The options several commands share, before they go to each command's own
 * options structure. */
struct common_opts {
	pid_t pids[MAX_PIDS];
	int npids;
	unsigned int rate;
	bool subprocesses;
	bool gil_only;
	bool idle;
	bool full_filenames;
	bool native;
	bool async_tasks;
	const char *btf_path;
};

/* Option handlers: the option was taken, on to the next; or it is not the
 * handler's (common_option leaves it to the command's own). Any other
 * value is the exit status to stop with. */
#define OPT_TAKEN	(-1)
#define OPT_NOT_MINE	(-2)

/* Defined after the handlers it names; NR_CMDS and the terminator. */
#define NR_CMDS 4
static const struct cmd cmds[NR_CMDS + 1];

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "pyspy-bpf: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'pyspy-bpf --help' for more information.\n");
	return EXIT_USAGE;
}

/*
 * After getopt_long returned '?' or ':': name the option that is wrong, also
 * inside a cluster of short options (-Zt), where argv[optind - 1] is the
 * cluster or, after it, the next argument.
 */
static int bad_option(int c, char **argv)
{
	char name[64];
	const char *arg = argv[optind - 1];

	if (!strncmp(arg, "--", 2) && arg[2]) {
		/* A long option: as written, up to its '='. */
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	} else if (optopt > 0 && optopt < 256) {
		snprintf(name, sizeof(name), "-%c", optopt);
	} else {
		snprintf(name, sizeof(name), "%s", arg);
	}
	if (c == ':')
		return usage_error("option '%s' needs a value", name);
	return usage_error("unknown option '%s'", name);
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A pid as py-spy takes it: decimal, or hexadecimal after 0x. */
static int parse_pid(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (strncmp(s, "0x", 2) && strncmp(s, "0X", 2))
		return parse_ulong(s, 1, INT_MAX, out);
	s += 2;
	if (!isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end || v < 1 || v > INT_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v <= 0 || v > 1e8)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Root, or the capabilities BPF profiling needs (CAP_SYS_ADMIN covers all). */
static bool privileged(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	if (eff & (1ULL << 21))
		return true;
	return (eff & (1ULL << 39)) && (eff & (1ULL << 38)) && (eff & (1ULL << 19));
}

/* The command line as one string, for titles. */
static const char *join_args(int argc, char **argv, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < argc && n + 1 < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? " " : "", argv[i]);
	return buf;
}

static int need_privileges(void)
{
	if (privileged())
		return 0;
	fprintf(stderr, "pyspy-bpf: profiling needs root, or CAP_BPF, CAP_PERFMON and "
			"CAP_SYS_PTRACE (and CAP_DAC_READ_SEARCH for other users' processes): "
			"run it with sudo\n");
	return EXIT_FAILURE_;
}

/* --btf FILE: a readable regular file that parses as BTF (raw or in an ELF
 * file's .BTF section), checked before anything is loaded. */
static int check_btf(const char *path)
{
	libbpf_print_fn_t old_print;
	struct stat st;
	struct btf *btf;
	int err;

	if (!path) {
		/* CO-RE needs the running kernel's types: built in since 5.4
		 * with CONFIG_DEBUG_INFO_BTF, which most distributions set. */
		if (access("/sys/kernel/btf/vmlinux", R_OK)) {
			fprintf(stderr, "pyspy-bpf: this kernel has no BTF ('/sys/kernel/btf/vmlinux': "
					"%s): give its BTF with --btf FILE (a vmlinux with a .BTF "
					"section, or a BTF file made for this kernel)\n",
				strerror(errno));
			return EXIT_KERNEL;
		}
		return 0;
	}
	if (stat(path, &st) || access(path, R_OK)) {
		fprintf(stderr, "pyspy-bpf: cannot read BTF file '%s': %s\n", path,
			strerror(errno));
		return EXIT_KERNEL;
	}
	if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "pyspy-bpf: --btf '%s' is %s\n", path,
			S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		return EXIT_KERNEL;
	}
	/* libbpf's own complaints (no ELF header...) only with -vv. */
	old_print = libbpf_set_print(NULL);
	if (log_verbose >= 2)
		libbpf_set_print(old_print);
	btf = btf__parse(path, NULL);
	err = libbpf_get_error(btf);
	libbpf_set_print(old_print);
	if (err) {
		fprintf(stderr, "pyspy-bpf: --btf '%s' is not a BTF file\n", path);
		return EXIT_KERNEL;
	}
	btf__free(btf);
	/* The types serve CO-RE; the programs on the process tracepoints and
	 * the task iterator are still checked against the kernel's own. */
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "pyspy-bpf: this kernel has no BTF of its own "
				"('/sys/kernel/btf/vmlinux': %s): --btf gives the types of its "
				"structures, but its tracepoint programs need a kernel built with "
				"CONFIG_DEBUG_INFO_BTF\n", strerror(errno));
		return EXIT_KERNEL;
	}
	return 0;
}

/* Written with fprintf(stdout, ...), never printf: the fuzz target
 * points stdout at /dev/null around this file. */
static void help_all(void)
{
	const struct cmd *cmd;

	for (cmd = cmds; cmd->name; cmd++)
		fprintf(stdout, "%s pyspy-bpf %s\n", cmd == cmds ? "usage:" : "      ",
			cmd->synopsis);
	/* record is the default command: its options are "options:", with
	 * the common ones among them. */
	fprintf(stdout, "\n%s%s\n", cmds[0].help, common_help);
	for (cmd = cmds + 1; cmd->name; cmd++)
		fprintf(stdout, "\n%s", cmd->help);
	fprintf(stdout, "\n%s", footer_help);
}

static void help_cmd(const struct cmd *cmd)
{
	fprintf(stdout, "usage: pyspy-bpf %s\n\n%s%s\n%s", cmd->synopsis, cmd->help,
		common_help, footer_help);
}

/* The options of common_help and those several commands take; which of
 * them a command accepts at all is up to its optstring and long options. */
static int common_option(int c, const struct cmd *cmd, const struct cmd_args *a,
			 struct common_opts *co)
{
	unsigned long v;

	switch (c) {
	case 'p':
		if (parse_pid(optarg, &v))
			return usage_error("invalid pid '%s'", optarg);
		if (!cmd->many_pids) {
			co->pids[0] = v;
			co->npids = 1;
			break;
		}
		if (co->npids == MAX_PIDS)
			return usage_error("too many pids (at most %s)", "64");
		co->pids[co->npids++] = v;
		break;
	case 'r':
		if (parse_ulong(optarg, 1, MAX_RATE, &v))
			return usage_error("invalid rate '%s': 1 to 10000 samples per second", optarg);
		co->rate = v;
		break;
	case 's':
		co->subprocesses = true;
		break;
	case 'g':
		co->gil_only = true;
		break;
	case 'i':
		co->idle = true;
		break;
	case OPT_FULL_FILENAMES:
		co->full_filenames = true;
		break;
	case 'n':
		co->native = true;
		break;
	case OPT_ASYNC:
		co->async_tasks = true;
		break;
	case OPT_BTF:
		co->btf_path = optarg;
		break;
	case OPT_NONBLOCKING:
		break;	/* what pyspy-bpf always is */
	case 'v':
		log_verbose++;
		break;
	case 'h':
		if (a->named)
			help_cmd(cmd);
		else
			help_all();
		return EXIT_OK;
	case 'V':
		fprintf(stdout, "pyspy-bpf %s\n", PYSPY_VERSION);
		return EXIT_OK;
	default:
		return OPT_NOT_MINE;
	}
	return OPT_TAKEN;
}

/*
 * The one getopt loop: options are handled in the order given, so the
 * first wrong one is the one reported, and -h or -V after a wrong option
 * does not hide it. Returns OPT_TAKEN when every option was taken, with
 * optind at the first argument that is not one; else an exit status.
 */
static int parse_options(const struct cmd *cmd, const struct cmd_args *a,
			 struct common_opts *co, int (*own)(int c, void *ctx), void *ctx)
{
	int c, err;

	while ((c = getopt_long(a->argc, a->argv, cmd->optstring, cmd->longopts, NULL)) != -1) {
		err = common_option(c, cmd, a, co);
		if (err == OPT_NOT_MINE && own)
			err = own(c, ctx);
		if (err == OPT_NOT_MINE)
			return bad_option(c, a->argv);
		if (err != OPT_TAKEN)
			return err;
	}
	return OPT_TAKEN;
}

/* record's own options, and what the checks after parsing need to know. */
struct record_ctx {
	struct record_opts o;
	bool format_set;	/* -f given: --interval keeps it, not pprof */
};

static int record_option(int c, void *ctx)
{
	struct record_ctx *r = ctx;
	struct record_opts *o = &r->o;
	unsigned long v;

	switch (c) {
	case 'd':
		if (!strcasecmp(optarg, "unlimited"))
			o->duration = 0;
		else if (parse_seconds(optarg, &o->duration))
			return usage_error("invalid duration '%s': a positive number of seconds "
					   "or 'unlimited'", optarg);
		break;
	case 'f':
		if (output__parse_format(optarg, &o->out.format))
			return usage_error("unknown format '%s'", optarg);
		r->format_set = true;
		break;
	case 'o':
		if (!*optarg)
			return usage_error("empty output file name%s", "");
		o->output = optarg;
		break;
	case 't':
		o->out.threads = true;
		break;
	case 'F':
		o->function = true;
		break;
	case OPT_NATIVE_ALL:
		o->native = o->native_all = true;
		break;
	case OPT_NOLINENO:
		o->out.nolineno = true;
		break;
	case OPT_INTERVAL:
		if (parse_seconds(optarg, &o->interval) || o->interval < 0.5)
			return usage_error("invalid interval '%s': at least 0.5 seconds", optarg);
		break;
	case OPT_KEEP:
		if (parse_ulong(optarg, 1, 1000000, &v))
			return usage_error("invalid --keep '%s': a positive count", optarg);
		o->keep = v;
		break;
	case OPT_UPLOAD:
		if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
			return usage_error("invalid --upload '%s': an http:// or https:// URL",
					   optarg);
		o->upload_url = optarg;
		break;
	case OPT_APP_NAME:
		if (upload__check_name(optarg))
			return usage_error("invalid --app-name '%s': letters, digits and _ . - /",
					   optarg);
		o->app_name = optarg;
		break;
	case OPT_TAG:
		if (upload__check_label(optarg))
			return usage_error("invalid --tag '%s': KEY=VALUE, KEY of letters, "
					   "digits, _ and ., VALUE without ',' or '}'", optarg);
		if (o->ntags == MAX_TAGS)
			return usage_error("too many --tag (at most %s)", "32");
		o->tags[o->ntags++] = optarg;
		break;
	case OPT_HIDEPROGRESS:
		o->hide_progress = true;
		break;
	case OPT_CAPTURE:
		o->capture = true;
		break;
	case OPT_RINGBUF:
		if (parse_ulong(optarg, 4096, 1UL << 30, &v) || (v & (v - 1)))
			return usage_error("invalid ring buffer size '%s': a power of two from 4096", optarg);
		o->ringbuf_bytes = v;
		break;
	default:
		return OPT_NOT_MINE;
	}
	return OPT_TAKEN;
}

/* record and top read the common options from one structure. */
static void record_common(struct record_opts *o, const struct common_opts *co)
{
	memcpy(o->pids, co->pids, sizeof(o->pids));
	o->npids = co->npids;
	o->rate = co->rate;
	o->subprocesses = co->subprocesses;
	o->gil_only = co->gil_only;
	o->idle = co->idle;
	o->out.full_filenames = co->full_filenames;
	o->native |= co->native;
	o->async_tasks = co->async_tasks;
	o->btf_path = co->btf_path;
}

/* What record and top refuse alike. */
static int record_common_check(const struct record_opts *o)
{
	if (o->native && o->async_tasks)
		return usage_error("--async shows Python frames only: not with %s", "--native");
	return 0;
}

/* Continuous mode writes into a folder that must be there and writable
 * now, not found wanting at the end of the first interval. */
static int check_interval_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pyspy-bpf: --interval writes into a folder: '%s' is not one\n", dir);
		return EXIT_OUTPUT;
	}
	if (access(dir, W_OK)) {
		fprintf(stderr, "pyspy-bpf: cannot write into '%s': %s\n", dir, strerror(errno));
		return EXIT_OUTPUT;
	}
	return 0;
}

/* The options that only make sense together, and continuous mode's
 * defaults (pprof, the current folder, an interval for --upload). */
static int record_check(struct record_ctx *r)
{
	struct record_opts *o = &r->o;

	if (o->keep && !o->interval)
		return usage_error("--keep needs --interval%s", "");
	if (o->capture && !o->command)
		return usage_error("--capture goes with a command to start (-- COMMAND)%s", "");
	if ((o->app_name || o->ntags) && !o->upload_url)
		return usage_error("--app-name and --tag go with --upload%s", "");
	if (o->upload_url) {
		if (r->format_set && o->out.format != FMT_PPROF && !o->output)
			return usage_error("--upload sends pprof: -f %s needs -o for the files",
					   output__name(o->out.format));
		if (!o->interval)
			o->interval = 60;
	}
	if (o->interval) {
		if (o->command)
			return usage_error("--interval profiles running processes, not a command%s", "");
		if (!r->format_set)
			o->out.format = FMT_PPROF;
		/* Uploading alone writes no files: a service would fill its folder. */
		o->interval_dir = o->output ? o->output : o->upload_url ? NULL : ".";
	}
	if (o->interval_dir)
		return check_interval_dir(o->interval_dir);
	return 0;
}

static int do_record(const struct cmd *cmd, const struct cmd_args *a)
{
	static char command[4096];
	struct record_ctx r = {
		.o = {
			.out = { .format = FMT_FLAMEGRAPH },
			.argc = a->line_argc,
			.argv = a->line_argv,
		},
	};
	struct common_opts co = { .rate = 100 };
	struct record_opts *o = &r.o;
	int err;

	if ((err = parse_options(cmd, a, &co, record_option, &r)) != OPT_TAKEN)
		return err;
	record_common(o, &co);
	/* What is left is a command to start and profile (after "--"). */
	if (optind < a->argc) {
		if (o->npids)
			return usage_error("give either --pid or a command, not both%s", "");
		o->command = a->argv + optind;
	}
	if ((err = record_check(&r)) || (err = record_common_check(o)))
		return err;
	if (o->function && o->out.nolineno)
		return usage_error("--function and --nolineno %s", "cannot be combined");
	o->out.process_roots = (o->npids == 0 && !o->command) || o->subprocesses;
	o->out.command = join_args(o->argc, o->argv, command, sizeof(command));
	if ((err = check_btf(o->btf_path)) || (err = need_privileges()))
		return err;
	return cmd_record(o);
}

static int top_option(int c, void *ctx)
{
	struct record_opts *o = ctx;

	if (c != OPT_DELAY)
		return OPT_NOT_MINE;
	if (parse_seconds(optarg, &o->delay) || o->delay < 0.05 || o->delay > 3600)
		return usage_error("invalid delay '%s': 0.05 to 3600 seconds", optarg);
	return OPT_TAKEN;
}

/* top is record drawing a live table instead of writing a file. */
static int do_top(const struct cmd *cmd, const struct cmd_args *a)
{
	struct record_opts o = {
		.top = true,
		.delay = 1.0,
		.argc = a->argc,
		.argv = a->argv,
	};
	struct common_opts co = { .rate = 100 };
	int err;

	if ((err = parse_options(cmd, a, &co, top_option, &o)) != OPT_TAKEN)
		return err;
	record_common(&o, &co);
	/* What is left is a command to start and watch (after "--"). */
	if (optind < a->argc) {
		if (o.npids)
			return usage_error("give either --pid or a command, not both%s", "");
		o.command = a->argv + optind;
	}
	if ((err = record_common_check(&o)))
		return err;
	if ((err = check_btf(o.btf_path)) || (err = need_privileges()))
		return err;
	return cmd_record(&o);
}

static int dump_option(int c, void *ctx)
{
	struct dump_opts *o = ctx;

	switch (c) {
	case 'j':
		o->json = true;
		break;
	case 'l':
		o->locals++;
		break;
	case OPT_CORE:
		o->core = optarg;
		break;
	default:
		return OPT_NOT_MINE;
	}
	return OPT_TAKEN;
}

static int do_dump(const struct cmd *cmd, const struct cmd_args *a)
{
	struct dump_opts o = { 0 };
	struct common_opts co = { 0 };
	int err;

	if ((err = parse_options(cmd, a, &co, dump_option, &o)) != OPT_TAKEN)
		return err;
	o.pid = co.npids ? co.pids[0] : 0;
	o.subprocesses = co.subprocesses;
	o.full_filenames = co.full_filenames;
	o.native = co.native;
	o.async_tasks = co.async_tasks;
	o.btf_path = co.btf_path;
	if (optind < a->argc)
		return usage_error("unexpected argument '%s'", a->argv[optind]);
	/* A core is read from its file alone: no BPF, no privileges. */
	if (o.core && (o.pid || o.subprocesses || o.native || o.async_tasks))
		return usage_error("--core reads a core dump: not with %s",
				   "--pid, -s, --native or --async");
	if (o.native && o.async_tasks)
		return usage_error("--async shows Python frames only: not with %s", "--native");
	if (o.core)
		return cmd_dump(&o);
	if (!o.pid)
		return usage_error("dump needs a process: --pid PID or --core FILE%s", "");
	if ((err = check_btf(o.btf_path)) || (err = need_privileges()))
		return err;
	return cmd_dump(&o);
}

/* completions SHELL: the script, made from cmds[] (see completions.h). */
static int do_completions(const struct cmd *cmd, const struct cmd_args *a)
{
	struct compl_cmd table[NR_CMDS];
	struct common_opts co = { 0 };
	int err;

	if ((err = parse_options(cmd, a, &co, NULL, NULL)) != OPT_TAKEN)
		return err;
	if (optind != a->argc - 1)
		return usage_error("completions needs one shell: bash, zsh or fish%s", "");
	for (int i = 0; i < NR_CMDS; i++)
		table[i] = (struct compl_cmd){ cmds[i].name, cmds[i].summary, cmds[i].longopts,
					       cmds[i].help, strstr(cmds[i].synopsis, "COMMAND") };
	if (completions__write(stdout, a->argv[optind], table, NR_CMDS, common_help))
		return usage_error("unknown shell '%s': bash, zsh or fish", a->argv[optind]);
	return fflush(stdout) ? EXIT_FAILURE_ : EXIT_OK;
}

/*
 * record first: it is the command when none is named. Its optstring starts
 * with '+' so that parsing stops at the profiled command's name and leaves
 * that command's options alone; top and dump take options after stray
 * arguments too, and then name the stray one. The ':' makes getopt_long
 * silent and tell a missing value (':') from an unknown option ('?').
 */
static const struct cmd cmds[NR_CMDS + 1] = {
	{ "record", "sample Python stacks and write a profile", do_record,
	  "[record] [options] [-- COMMAND [ARG...]]", record_help,
	  "+:p:d:r:f:o:stgiFnvhV", record_longopts, true },
	{ "top", "a live table of the functions taking the most time", do_top,
	  "top [--pid PID] [options] [-- COMMAND [ARG...]]", top_help,
	  ":p:r:sginvhV", top_longopts, true },
	{ "dump", "print every Python thread's stack", do_dump,
	  "dump --pid PID [options]", dump_help,
	  ":p:sjlnvhV", dump_longopts, false },
	{ "completions", "a completion script for a shell", do_completions,
	  "completions SHELL", completions_help, ":hV", completions_longopts, false },
	{}
};

/* A prefix of a command's name ("r", "rec", "d", ...); the first command in
 * cmds[] that it starts wins, the names' first letters differ today. */
static bool is_command(const char *arg, const char *cmd)
{
	return arg[0] && !strncmp(arg, cmd, strlen(arg));
}

/* No subcommand (no argument, or an option first) means record. */
static int cmd_select(int argc, char **argv)
{
	struct cmd_args a = { argc, argv, false, argc, argv };
	const struct cmd *cmd;

	if (argc < 2 || argv[1][0] == '-')
		return cmds[0].func(&cmds[0], &a);
	for (cmd = cmds; cmd->name; cmd++) {
		if (is_command(argv[1], cmd->name)) {
			a.argc = argc - 1;
			a.argv = argv + 1;
			a.named = true;
			return cmd->func(cmd, &a);
		}
	}
	return usage_error("unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
	opterr = 0;
	return cmd_select(argc, argv);
}
