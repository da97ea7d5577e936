// SPDX-License-Identifier: BSD-2-Clause
/* The command line's help texts: see help.h. */
#include "help.h"

const char record_help[] =
	"Samples Python call stacks from the kernel with BPF, without stopping or\n"
	"attaching to the target. Without -p or a command, every Python process on\n"
	"the host is profiled, including those that start during the run. With a\n"
	"command, it is started, profiled until it exits, and its exit status is\n"
	"pyspy-bpf's; a command still running when the recording ends (-d,\n"
	"Control-C) is killed, as py-spy does, and the status is 0.\n"
	"\n"
	"options:\n"
	"  -p, --pid PID           profile this process (repeatable; 0x... in hex)\n"
	"  -d, --duration SECONDS  stop after this long ('unlimited', the default:\n"
	"                          until Control-C)\n"
	"  -r, --rate HZ           samples per second per CPU, 1-10000 (default 100)\n"
	"  -f, --format FORMAT     flamegraph (default, SVG), speedscope, raw\n"
	"                          (collapsed stacks), chrometrace, pprof; any case\n"
	"  -o, --output FILE       output file, '-' for stdout\n"
	"                          (default: pyspy-bpf-<pid|all>-<time>.<ext>)\n"
	"  -s, --subprocesses      also profile the targets' descendants\n"
	"  -t, --threads           a root frame per thread\n"
	"  -g, --gil               only samples of the thread holding the GIL\n"
	"  -i, --idle              also sample threads that are not on a CPU\n"
	"  -F, --function          aggregate by function, not by line\n"
	"  -n, --native            C frames too (extensions, libraries), merged with\n"
	"                          the Python frames in call order; unwound in the\n"
	"                          kernel at each sample (Linux 5.18+)\n"
	"      --native-all        with --native: every C frame, the interpreter's\n"
	"                          own too, each eval loop followed by what it ran\n"
	"      --async             asyncio (3.11+): a running task's samples show the\n"
	"                          tasks awaiting it, root first, each with its\n"
	"                          coroutines, instead of the event loop's frames\n"
	"      --nolineno          no line numbers\n"
	"      --full-filenames    do not shorten file names\n"
	"      --interval SECONDS  continuous mode: one profile per interval, written\n"
	"                          into the folder given by -o (default: here),\n"
	"                          pprof unless -f says otherwise; runs until\n"
	"                          stopped without -d; SIGHUP writes early\n"
	"      --keep N            continuous mode: keep the newest N profiles\n"
	"      --upload URL        continuous mode: send each interval's pprof to a\n"
	"                          Pyroscope-compatible backend (POST URL/ingest);\n"
	"                          files are written too only with -o\n"
	"      --app-name NAME     the application name of uploads (default: one\n"
	"                          upload per process, named from its command line)\n"
	"      --tag KEY=VALUE     a label on every upload (repeatable); host and pid\n"
	"                          are added unless given\n"
	"      --hideprogress      no status line on the terminal\n"
	"      --capture           -- COMMAND: its output (and input) go to /dev/null,\n"
	"                          the terminal keeps the status line and summary\n"
	"      --ringbuf-size N    BPF ring buffer size in bytes (power of two; default\n"
	"                          8 MiB host-wide and with -s, else sized for the\n"
	"                          rate and CPUs, 256 KiB to 8 MiB)\n";

const char top_help[] =
	"top: a live table of the functions where the samples land, every Python\n"
	"process without -p; %Own, %Total, GIL and Active over the last refresh,\n"
	"OwnTime and TotalTime since the start (keys: 1-4 sort, L by line or by\n"
	"function, R reset, ? help, q quit):\n"
	"  -p, --pid PID           the process (repeatable)\n"
	"  -r, --rate HZ           samples per second per CPU (default 100)\n"
	"      --delay SECONDS     refresh interval (default 1)\n"
	"  -s, --subprocesses      also the targets' descendants\n"
	"  -g, --gil               only samples of the thread holding the GIL\n"
	"  -n, --native            C frames too, merged with the Python frames\n"
	"      --async             asyncio (3.11+): tasks instead of the event loop\n"
	"  -i, --idle              also threads that are not on a CPU\n"
	"      --full-filenames    do not shorten file names\n";

const char dump_help[] =
	"dump: print every Python thread of a process, running or sleeping,\n"
	"without stopping it:\n"
	"  -p, --pid PID           the process\n"
	"  -s, --subprocesses      also its descendants\n"
	"  -j, --json              a JSON list of stack traces\n"
	"  -l, --locals            arguments and locals of each frame (-ll: more)\n"
	"      --core FILE         an ELF core dump instead of a live process (from\n"
	"                          gcore or a crash); no privileges needed\n"
	"  -n, --native            C frames too, merged with the Python frames\n"
	"      --async             asyncio (3.11+): every task, running or waiting,\n"
	"                          in a tree of what awaits what, with its coroutines\n"
	"      --full-filenames    do not shorten file names\n";

const char completions_help[] =
	"completions: a completion script for SHELL (bash, zsh or fish), e.g.\n"
	"  pyspy-bpf completions bash > /etc/bash_completion.d/pyspy-bpf\n"
	"  pyspy-bpf completions zsh > \"${fpath[1]}/_pyspy-bpf\"\n"
	"  pyspy-bpf completions fish > ~/.config/fish/completions/pyspy-bpf.fish\n";

/* Accepted by every command (common_option). */
const char common_help[] =
	"      --nonblocking       accepted for py-spy's command lines: pyspy-bpf never\n"
	"                          stops a target, so it always is\n"
	"      --btf FILE          kernel BTF to use instead of the running kernel's\n"
	"  -v, --verbose           more messages (twice: libbpf's too)\n"
	"  -h, --help              this text\n"
	"  -V, --version           the version\n";

const char footer_help[] =
	"Needs root, or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (and\n"
	"CAP_DAC_READ_SEARCH for other users' processes).\n";
