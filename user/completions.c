// SPDX-License-Identifier: BSD-2-Clause
/* Shell completion scripts from the command table: see completions.h. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "completions.h"
#include "output.h"

const char *const completions_shells[] = { "bash", "zsh", "fish", NULL };

/* What an option's value is, for the shell to offer. */
enum value { V_NONE, V_PID, V_FORMAT, V_FILE, V_OTHER };

static enum value value_of(const struct option *o)
{
	static const char *const files[] = { "output", "btf", "core", NULL };

	if (o->has_arg == no_argument)
		return V_NONE;
	if (!strcmp(o->name, "pid"))
		return V_PID;
	if (!strcmp(o->name, "format"))
		return V_FORMAT;
	for (int i = 0; files[i]; i++)
		if (!strcmp(o->name, files[i]))
			return V_FILE;
	return V_OTHER;
}

/* The option's letter, when it has one (getopt's val is then the letter). */
static int short_of(const struct option *o)
{
	return o->val > 0 && o->val < 128 && isalpha(o->val) ? o->val : 0;
}

/* The text of a description from at (to the line's end), and of the lines
 * under it that go on with it (indented, not another option), in one line. */
static void join_desc(const char *at, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (;;) {
		const char *end = strchrnul(at, '\n');

		n += snprintf(buf + n, n < len ? len - n : 0, "%s%.*s", n ? " " : "",
			      (int)(end - at), at);
		if (!*end || n >= len || end[1 + strspn(end + 1, " ")] == '-' ||
		    strspn(end + 1, " ") < 10)
			return;
		at = end + 1 + strspn(end + 1, " ");
	}
}

/* The description of --name in a help text: what follows its spec on the
 * line that gives it, after the column gap of two spaces. */
static bool find_desc(const char *help, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);

	for (const char *p = help; (p = strstr(p, "--")); p += 2) {
		const char *line = p, *gap, *end;

		if (strncmp(p + 2, name, nl) || (p[2 + nl] != ' ' && p[2 + nl] != '\n'))
			continue;
		while (line > help && line[-1] != '\n')
			line--;
		/* The spec itself, at the line's start: not a mention in a text. */
		if (strspn(line, " ") + line > p || line[strspn(line, " ")] != '-')
			continue;
		gap = strstr(p, "  ");
		end = strchrnul(p, '\n');
		if (!gap || gap > end)
			return false;
		join_desc(gap + strspn(gap, " "), buf, len);
		return true;
	}
	return false;
}

static void describe(const struct compl_cmd *c, const char *common, const struct option *o,
		     char *buf, size_t len)
{
	if (!find_desc(c->help, o->name, buf, len) && !find_desc(common, o->name, buf, len))
		snprintf(buf, len, "%s", o->name);
}

/* Writes s between single quotes for a POSIX shell or zsh ('\'' for '). */
static void sh_quote(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	}
	fputc('\'', out);
}

static void formats_list(FILE *out)
{
	/* FMT_PPROF is the last of enum output_format. */
	for (int f = 0; f <= FMT_PPROF; f++)
		fprintf(out, "%s%s", f ? " " : "", output__name(f));
}

/* -- bash ------------------------------------------------------------------ */

/* Whether a command before cmds[i] has an option of o's name. */
static bool named_before(const struct compl_cmd *cmds, size_t i, const struct option *o)
{
	for (size_t k = 0; k < i; k++)
		for (const struct option *p = cmds[k].longopts; p->name; p++)
			if (!strcmp(p->name, o->name))
				return true;
	return false;
}

static void bash_values(FILE *out, const struct compl_cmd *cmds, size_t n)
{
	fputs("\tcase $prev in\n", out);
	fputs("\t-p|--pid)\n\t\tCOMPREPLY=($(compgen -W \"$(command ls /proc 2>/dev/null | "
	      "grep -E '^[0-9]+$')\" -- \"$cur\"))\n\t\treturn 0 ;;\n", out);
	fputs("\t-f|--format)\n\t\tCOMPREPLY=($(compgen -W '", out);
	formats_list(out);
	fputs("' -- \"$cur\"))\n\t\treturn 0 ;;\n", out);
	fputs("\t-o|--output|--btf|--core)\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\t\treturn 0 ;;\n", out);
	/* Any other option with a value: nothing to offer but the value. */
	for (size_t i = 0; i < n; i++)
		for (const struct option *o = cmds[i].longopts; o->name; o++)
			if (value_of(o) == V_OTHER && !named_before(cmds, i, o)) {
				if (short_of(o))
					fprintf(out, "\t-%c|--%s) return 0 ;;\n", short_of(o), o->name);
				else
					fprintf(out, "\t--%s) return 0 ;;\n", o->name);
			}
	fputs("\tesac\n", out);
}

static void bash_script(FILE *out, const struct compl_cmd *cmds, size_t n)
{
	fputs("# bash completion for pyspy-bpf: pyspy-bpf completions bash\n"
	      "_pyspy_bpf()\n{\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tlocal cmd=", out);
	fprintf(out, "%s i opts\n", cmds[0].name);
	fputs("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n\t\tcase ${COMP_WORDS[i]} in\n"
	      "\t\t--) return 0 ;;\t# the profiled command: the shell's default\n\t\t", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? "|" : "", cmds[i].name);
	fputs(") ((i == 1)) && cmd=${COMP_WORDS[i]} ;;\n\t\tesac\n\tdone\n", out);
	bash_values(out, cmds, n);
	fputs("\tcase $cmd in\n", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\t%s) opts='", cmds[i].name);
		for (const struct option *o = cmds[i].longopts; o->name; o++) {
			if (short_of(o))
				fprintf(out, "-%c ", short_of(o));
			fprintf(out, "--%s%s", o->name, o[1].name ? " " : "");
		}
		fputs("' ;;\n", out);
	}
	fputs("\tesac\n\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "\telif ((COMP_CWORD == 1)); then\n\t\tCOMPREPLY=($(compgen -W '", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? " " : "", cmds[i].name);
	fputs("' -- \"$cur\"))\n\telif [[ $cmd == completions ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W '", out);
	for (int i = 0; completions_shells[i]; i++)
		fprintf(out, "%s%s", i ? " " : "", completions_shells[i]);
	fputs("' -- \"$cur\"))\n\tfi\n\treturn 0\n}\n"
	      "complete -o default -F _pyspy_bpf pyspy-bpf\n", out);
}

/* -- zsh ------------------------------------------------------------------- */

/* A description inside _arguments' [...]: its brackets and backslashes
 * escaped, then the whole spec single-quoted. */
static void zsh_desc(char *buf, size_t len)
{
	char tmp[512];
	size_t k = 0;

	for (const char *s = buf; *s && k + 2 < sizeof(tmp); s++) {
		if (*s == '[' || *s == ']' || *s == '\\')
			tmp[k++] = '\\';
		tmp[k++] = *s;
	}
	tmp[k] = 0;
	snprintf(buf, len, "%s", tmp);
}

static void zsh_option(FILE *out, const struct compl_cmd *c, const char *common,
		       const struct option *o)
{
	static const char *const actions[] = {
		[V_PID] = ":pid:_pids", [V_FILE] = ":file:_files", [V_OTHER] = ":value: ",
	};
	enum value v = value_of(o);
	char desc[512], spec[1024];
	int s = short_of(o);

	describe(c, common, o, desc, sizeof(desc));
	zsh_desc(desc, sizeof(desc));
	if (s)
		snprintf(spec, sizeof(spec), "(-%c --%s)", s, o->name);
	else
		spec[0] = 0;
	fputs("\t\t", out);
	if (s)
		sh_quote(out, spec);
	if (s)
		fprintf(out, "{-%c%s,--%s%s}", s, v ? "+" : "", o->name, v ? "=" : "");
	else
		fprintf(out, "'--%s%s'", o->name, v ? "=" : "");
	snprintf(spec, sizeof(spec), "[%s]%s", desc, v == V_FORMAT || v == V_NONE ? "" :
		 actions[v]);
	sh_quote(out, spec);
	if (v == V_FORMAT) {
		fputs("':format:(", out);
		formats_list(out);
		fputs(")'", out);
	}
	fputs(" \\\n", out);
}

static void zsh_script(FILE *out, const struct compl_cmd *cmds, size_t n, const char *common)
{
	fputs("#compdef pyspy-bpf\n# zsh completion for pyspy-bpf: pyspy-bpf completions zsh\n"
	      "_pyspy_bpf() {\n\tlocal -a cmds\n\tcmds=(", out);
	for (size_t i = 0; i < n; i++) {
		char d[512];

		snprintf(d, sizeof(d), "%s:%s", cmds[i].name, cmds[i].summary);
		fputs(i ? " " : "", out);
		sh_quote(out, d);
	}
	fprintf(out, ")\n\tlocal cmd=%s\n", cmds[0].name);
	fputs("\tif ((CURRENT == 2)) && [[ $PREFIX != -* ]]; then\n"
	      "\t\t_describe -t commands 'pyspy-bpf command' cmds\n\t\treturn\n\tfi\n"
	      "\tif [[ -n ${(M)cmds:#${words[2]}:*} ]]; then\n"
	      "\t\tcmd=$words[2]\n\t\tshift words\n\t\t((CURRENT--))\n\tfi\n"
	      "\tcase $cmd in\n", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\t%s)\n\t\t_arguments -s -S \\\n", cmds[i].name);
		for (const struct option *o = cmds[i].longopts; o->name; o++)
			zsh_option(out, &cmds[i], common, o);
		if (cmds[i].command) {
			fputs("\t\t'*::command:_normal' ;;\n", out);
		} else if (!strcmp(cmds[i].name, "completions")) {
			fputs("\t\t'1:shell:(", out);
			for (int k = 0; completions_shells[k]; k++)
				fprintf(out, "%s%s", k ? " " : "", completions_shells[k]);
			fputs(")' ;;\n", out);
		} else {
			fputs("\t\t;;\n", out);
		}
	}
	/* In $fpath (autoloaded): complete now; sourced: register. */
	fputs("\tesac\n}\nif [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
	      "\t_pyspy_bpf \"$@\"\nelse\n\tcompdef _pyspy_bpf pyspy-bpf\nfi\n", out);
}

/* -- fish ------------------------------------------------------------------ */

static void fish_quote(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('\'', out);
}

static void fish_option(FILE *out, const struct compl_cmd *c, const char *common,
			const struct option *o)
{
	enum value v = value_of(o);
	char desc[512];

	describe(c, common, o, desc, sizeof(desc));
	fprintf(out, "complete -c pyspy-bpf -n '__pyspy_bpf_is %s'", c->name);
	if (short_of(o))
		fprintf(out, " -s %c", short_of(o));
	fprintf(out, " -l %s -d ", o->name);
	fish_quote(out, desc);
	if (v == V_PID)
		fputs(" -x -a '(__fish_complete_pids)'", out);
	else if (v == V_FORMAT) {
		fputs(" -x -a '", out);
		formats_list(out);
		fputc('\'', out);
	} else if (v == V_FILE) {
		fputs(" -r -F", out);
	} else if (v == V_OTHER) {
		fputs(" -x", out);
	}
	fputc('\n', out);
}

static void fish_script(FILE *out, const struct compl_cmd *cmds, size_t n, const char *common)
{
	fputs("# fish completion for pyspy-bpf: pyspy-bpf completions fish\n"
	      "function __pyspy_bpf_is\n\tset -l w (commandline -opc)\n"
	      "\tif test (count $w) -ge 2; and contains -- $w[2]", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, " %s", cmds[i].name);
	fprintf(out, "\n\t\ttest $w[2] = $argv[1]\n\telse\n\t\ttest %s = $argv[1]\n\tend\nend\n"
		"complete -c pyspy-bpf -f\n", cmds[0].name);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "complete -c pyspy-bpf -n 'test (count (commandline -opc)) -eq 1' "
			"-a %s -d ", cmds[i].name);
		fish_quote(out, cmds[i].summary);
		fputc('\n', out);
	}
	for (size_t i = 0; i < n; i++)
		for (const struct option *o = cmds[i].longopts; o->name; o++)
			fish_option(out, &cmds[i], common, o);
	fputs("complete -c pyspy-bpf -n '__pyspy_bpf_is completions' -x -a '", out);
	for (int k = 0; completions_shells[k]; k++)
		fprintf(out, "%s%s", k ? " " : "", completions_shells[k]);
	fputs("'\n", out);
}

int completions__write(FILE *out, const char *shell, const struct compl_cmd *cmds, size_t n,
		       const char *common_help)
{
	if (!n)
		return -EINVAL;
	if (!strcmp(shell, "bash"))
		bash_script(out, cmds, n);
	else if (!strcmp(shell, "zsh"))
		zsh_script(out, cmds, n, common_help);
	else if (!strcmp(shell, "fish"))
		fish_script(out, cmds, n, common_help);
	else
		return -EINVAL;
	return 0;
}
