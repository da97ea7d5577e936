# SPDX-License-Identifier: BSD-2-Clause
# pyspy-bpf: BPF objects -> skeletons -> collector. `make V=1` for full commands.

OUTPUT ?= .output
ARCH ?= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PREFIX ?= /usr/local
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PYTHON ?= /usr/bin/python3
VERSION := 0.1.0

VMLINUX := vmlinux/$(ARCH)/vmlinux.h
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/user/main.o,$(USER_OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

CFLAGS := -std=gnu11 -g -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
	-D_GNU_SOURCE -DPYSPY_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
INCLUDES := -I$(OUTPUT) -Ibpf -Iuser
# liblzma: MiniDebugInfo; libdl: libstdc++'s demangler, opened at run time
# (in libc itself since glibc 2.34).
LDLIBS := -lbpf -lelf -lz -llzma -ldl
LDFLAGS := $(EXTRA_LDFLAGS)
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
# A report is a crash (SIGABRT) the tests see, leaks included.
export ASAN_OPTIONS ?= abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS ?= halt_on_error=1:abort_on_error=1:print_stacktrace=1
endif
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	-I$(OUTPUT) -Ibpf -Ivmlinux/$(ARCH)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
# Keep the BPF objects: they are inputs of the skeletons, not throwaways.
.SECONDARY: $(BPF_OBJS)
.PHONY: all clean install install-service test unit e2e vmlinux interpreters check-sizes fuzz fuzz-quick bench soak kernel-test check-sanitized sanitized-pass \
	replay-check replay-update

all: pyspy-bpf

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests:
	$(Q)mkdir -p $@

# Objects are rebuilt when the compiler flags change (SANITIZE=1 and back).
FLAGS_STAMP := $(OUTPUT)/flags.$(shell echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cksum | cut -d' ' -f1)
$(FLAGS_STAMP): | $(OUTPUT)
	$(Q)rm -f $(OUTPUT)/flags.*; touch $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# The skeletons exist before any collector object is compiled; which object
# includes one (sampler.o) is in the compiler's dependency files, so a BPF
# edit recompiles that object alone.
$(USER_OBJS): | $(SKELS)

$(OUTPUT)/user/%.o: user/%.c $(FLAGS_STAMP) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

pyspy-bpf: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The unit tests link against an archive of the collector's objects: each
# takes from it only the objects it calls into, and what those call.
LIB_A := $(OUTPUT)/libpyspy.a
$(LIB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@; $(AR) rcs $@ $^

# tests/common: what the unit tests share with the fuzz targets.
$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_A) $(FLAGS_STAMP) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -Itests/unit -Itests/common -MMD -MP $(LDFLAGS) $< \
		$(LIB_A) $(LDLIBS) -lcmocka -o $@

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

install: pyspy-bpf
	install -D -m 0755 pyspy-bpf $(DESTDIR)$(PREFIX)/bin/pyspy-bpf

# The systemd service of continuous mode and the account it runs as.
SYSTEMD_DIR ?= /etc/systemd/system
SYSUSERS_DIR ?= /etc/sysusers.d
install-service: install
	install -D -m 0644 packaging/pyspy-bpf.service $(DESTDIR)$(SYSTEMD_DIR)/pyspy-bpf.service
	install -D -m 0644 packaging/pyspy-bpf.sysusers $(DESTDIR)$(SYSUSERS_DIR)/pyspy-bpf.conf
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERS_DIR)/pyspy-bpf.conf; \
		echo "start it with: systemctl enable --now pyspy-bpf"; fi

# Interpreters from other Debian suites, and the free-threaded and debug
# builds of Debian's 3.13 source, for the end-to-end tests: installed once
# (a stamp in their folder; `make interpreters` checks them again).
PYTHONS_STAMP := tests/.work/pythons/.installed
interpreters:
	scripts/install-debian-pythons
	scripts/build-source-pythons
	$(Q)touch $(PYTHONS_STAMP)

$(PYTHONS_STAMP): scripts/install-debian-pythons scripts/build-source-pythons
	$(Q)$(MAKE) --no-print-directory interpreters

unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# The end-to-end tests on E2E_JOBS workers (pytest-xdist, one file per
# worker at a time), then the tests marked `serial` alone: they count or
# namespace every process on the host. E2E_JOBS=0 runs all in one process.
E2E_JOBS ?= 2
define run_e2e
	$(PYTHON) -m pytest -ra -p xdist -n $(E2E_JOBS) --dist loadfile -m "not serial" $(1) $(PYTEST_ARGS)
	$(PYTHON) -m pytest -ra -m serial $(1) $(PYTEST_ARGS) || [ $$? -eq 5 ]
endef

e2e: pyspy-bpf
	$(call run_e2e,tests/e2e)

# The committed captures (tests/replay/) replayed in every format and
# compared byte for byte with their expected outputs: no root, no BPF.
# replay-update rewrites the expected outputs, for a deliberate change.
replay-check: pyspy-bpf
	$(PYTHON) tests/replay/check

replay-update: pyspy-bpf
	$(PYTHON) tests/replay/check --update

# Function and file sizes (Universal Ctags): within 100 and 800 lines.
check-sizes:
	$(Q)scripts/check-sizes

# The interpreters first: the unit tests' live checks use every one of them.
test: pyspy-bpf $(PYTHONS_STAMP)
	$(Q)scripts/check-sizes
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)tests/fuzz/run --replay-only
	$(Q)$(MAKE) --no-print-directory replay-check
	$(call run_e2e,tests/e2e)

# CI's second pass: the collector built with ASan + LSan + UBSan, run by the
# unit tests and by the end-to-end tests that feed it hostile, racing or
# churning input. `make test` ran the whole suite on the plain build; the
# fuzz targets (fuzz_uwalk: the collector's own walker for old kernels) are
# sanitized builds already.
SANITIZED_E2E ?= tests/e2e/test_faults.py tests/e2e/test_hostile.py \
	tests/e2e/test_escape.py tests/e2e/test_async.py
check-sanitized:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 sanitized-pass

sanitized-pass: pyspy-bpf $(PYTHONS_STAMP)
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory replay-check
	$(call run_e2e,$(SANITIZED_E2E))

# libFuzzer targets: each for FUZZ_SECONDS (default 60); fuzz-quick is CI's
# short pass over the committed corpus.
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

fuzz-quick:
	tests/fuzz/run --corpus-only --seconds 5

# The long versions of the churn and continuous-mode tests (PYSPY_SOAK=1):
# 2000 short-lived processes, 30 s of thread churn, a longer RSS soak.
soak: pyspy-bpf interpreters
	PYSPY_SOAK=1 $(PYTHON) -m pytest -ra tests/e2e/test_faults.py tests/e2e/test_continuous.py \
		-k "churn or soak" $(PYTEST_ARGS)

# Debian kernels booted under qemu (TCG), the real binary run inside each;
# KERNELS="5.10 6.1 ..." for a subset. Minutes; CI runs it, `make test`
# does not.
kernel-test: pyspy-bpf
	OUTPUT=$(OUTPUT) KERNELS="$(KERNELS)" scripts/kernel-test $(KERNEL_TEST_ARGS)

# Overhead benchmarks (minutes; never part of `make test`).
bench: pyspy-bpf
	scripts/bench $(BENCH_ARGS)

clean:
	rm -rf $(OUTPUT) pyspy-bpf

-include $(wildcard $(OUTPUT)/user/*.d $(OUTPUT)/tests/*.d)
