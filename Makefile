# sipwatch — build, test and install.
#
#   make            build BPF objects, skeletons and the sipwatch binary into $(BUILD)/
#   make run        install Debian deps, build, run the agent in the foreground with defaults
#   make test       install Debian deps, build, run every test layer (root)
#   make test-kernels  the bpf + integration tests in QEMU guests on Debian's 6.1 and 6.12 kernels
#   make lint       clang-format check + cppcheck
#   make install    PREFIX/DESTDIR honoured
#   make docs       docs/sipwatch.8 and the README's flag table from the option table
#   make deb        Debian package $(BUILD)/deb/sipwatch_<version>_<arch>.deb (debian/, dpkg-buildpackage)
#   make version    print the version `sipwatch --version` and the package carry
#   make clean      remove $(BUILD)/ (the tree is left as checked out)

BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=
# The one version: `sipwatch --version`, build_info and the Debian package all carry it. It must be
# a valid Debian version (starts with a digit, no '-' in a native package) and grow commit by commit:
#   tag v1.2.0 on HEAD            -> 1.2.0            (v1.2.0-rc1 -> 1.2.0~rc1, sorting before 1.2.0)
#   5 commits after tag v1.2.0    -> 1.2.0+git5.<hash>
#   no tag                        -> $(BASE_VERSION)+git<commits in history>.<hash>
#   uncommitted changes           -> the above + .dirty;  no git at all -> $(BASE_VERSION)
BASE_VERSION := 0.1.0
ifndef VERSION
VERSION    := $(shell d=$$(git describe --tags --long --always --dirty --match 'v[0-9]*' 2>/dev/null); \
	case "$$d" in \
	('') echo $(BASE_VERSION) ;; \
	(v[0-9]*) echo "$$d" | sed -e 's/^v//' -e 's/-dirty$$/.dirty/' -e 's/-0-g[0-9a-f]*//' \
		-e 's/-\([0-9]*\)-g\([0-9a-f]*\)/+git\1.\2/' -e 's/-/~/g' ;; \
	(*) echo "$(BASE_VERSION)+git$$(git rev-list --count HEAD).$$d" | sed 's/-dirty$$/.dirty/' ;; \
	esac)
endif

CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
PKG_CONFIG ?= pkg-config

ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
LIBS_PC    := libbpf libmnl libmicrohttpd yaml-0.1 libxcrypt
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -I$(BUILD) \
              -DSIPWATCH_VERSION='"$(VERSION)"' -D_GNU_SOURCE
LDLIBS     += $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null) -lelf -lz -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -I$(BUILD) -Wall -Werror

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
AGENT_SRCS := $(wildcard agent/*.c)
AGENT_OBJS := $(patsubst agent/%.c,$(BUILD)/agent/%.o,$(AGENT_SRCS))
# Everything but main.o links into the unit tests too.
LIB_OBJS   := $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_ASAN  := $(patsubst tests/unit/%.c,$(BUILD)/tests-asan/%,$(UNIT_SRCS))
# BPF layer: cmocka programs that load the real BPF objects and drive them with BPF_PROG_TEST_RUN.
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
# make bench: BPF baselines and measuring programs of tests/bench/ (not built by make all).
BENCH_BPF  := $(patsubst tests/bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(wildcard tests/bench/*.bpf.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(filter-out %.bpf.c,$(wildcard tests/bench/*.c)))
TOOL_SRCS  := $(wildcard tests/tools/*.c docs/*.c)
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
LINT_SRCS  := $(wildcard agent/*.[ch] include/*.h bpf/*.[ch] tests/unit/*.c tests/bpf/*.[ch] tests/tools/*.c docs/*.c)
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all deps run test test-asan soak test-kernels unit bpftests bench lint install deb version clean tools
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/sipwatch tools $(BUILD)/layers.ok

# The include graph of agent/ points one way (tests/check_layers.sh names the layers): checked
# again whenever a file of agent/ changes, and the check's own self-test whenever the check does.
$(BUILD)/layers.ok: tests/check_layers.sh $(wildcard agent/*.c agent/*.h) $(BUILD)/layers-selftest.ok
	@mkdir -p $(BUILD)
	./tests/check_layers.sh
	@touch $@

$(BUILD)/layers-selftest.ok: tests/check_layers.sh
	@mkdir -p $(BUILD)
	./tests/check_layers.sh --self-test
	@touch $@

deps:
	@./tests/deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.bpf.h) $(wildcard include/*.h)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(BPFTOOL) gen object $@ $@.tmp.o
	@rm -f $@.tmp.o

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Every skeleton's embedded object in one table (agent/probe_catalog.c: the probe names).
$(BUILD)/skeletons.h: $(SKELS) Makefile
	@{ for h in $(notdir $(wildcard include/*.h)) $(notdir $(SKELS)); do echo "#include \"$$h\""; done; \
	  echo "static const void *(*const skeleton_objects[])(size_t *) = {"; \
	  for s in $(subst -,_,$(notdir $(SKELS:.skel.h=))); do echo "	$${s}_bpf__elf_bytes,"; done; \
	  echo "};"; } > $@

$(BUILD)/agent/%.o: agent/%.c $(SKELS) $(BUILD)/skeletons.h $(wildcard agent/*.h) $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The status page is embedded with .incbin (agent/status.c): rebuild when the page changes.
$(BUILD)/agent/status.o $(BUILD)/asan/agent/status.o: agent/status.html

# The agent's objects once more under ASan/UBSan, for the sanitized unit tests.
ASAN_OBJS  := $(patsubst $(BUILD)/agent/%,$(BUILD)/asan/agent/%,$(LIB_OBJS))
$(BUILD)/asan/agent/%.o: agent/%.c $(SKELS) $(BUILD)/skeletons.h $(wildcard agent/*.h) $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -c $< -o $@

# CPPFLAGS and LDFLAGS: empty here, the hardening flags (dpkg-buildflags) in the Debian package.
$(BUILD)/sipwatch: $(AGENT_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

tools: $(TOOL_BINS)
$(BUILD)/tools/%: tests/tools/%.c $(wildcard tests/tools/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iagent $< $(LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

# The unit tests once more, with the agent sources rebuilt under ASan/UBSan.
$(BUILD)/tests-asan/%: tests/unit/%.c $(ASAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -Iagent $< $(ASAN_OBJS) -o $@ $(LDLIBS) -lcmocka

unit: $(UNIT_BINS) $(UNIT_ASAN)

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iagent -Itests/bpf $< $(LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

bpftests: $(BPFT_BINS)

# deps first, then a fresh make: pkg-config and bpftool answers are only right once deps ran.
run: deps
	$(MAKE) --no-print-directory all
	./$(BUILD)/sipwatch

test: deps
	$(MAKE) --no-print-directory all unit bpftests
	./tests/run.sh

$(BUILD)/bench/%.bpf.o: tests/bench/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(BPFTOOL) gen object $@ $@.tmp.o
	@rm -f $@.tmp.o

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/bench/%: tests/bench/%.c $(BENCH_BPF) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(BUILD)/bench -Itests/bpf $< -o $@ $(LDLIBS)

bench-bins: $(BENCH_BINS)

# Not part of make test: speed and memory targets, measured side by side (tests/bench/run.sh).
bench: deps
	$(MAKE) --no-print-directory all bench-bins
	./tests/bench/run.sh

test-kernels: deps
	$(MAKE) --no-print-directory all bpftests
	./tests/run.sh kernels

# The agent and test tools built with ASan/UBSan into build-asan/, every integration scenario run
# with them (any sanitizer report fails), then valgrind on a short scenario (tests/asan.sh).
test-asan: deps
	$(MAKE) --no-print-directory all
	CFLAGS="-O1 -g $(ASAN_FLAGS)" $(MAKE) --no-print-directory BUILD=build-asan all
	./tests/asan.sh

# 10 minutes of churn with RSS and open fds sampled (tests/soak.sh); not part of make test.
soak: deps
	$(MAKE) --no-print-directory all
	./tests/soak.sh

lint:
	clang-format --dry-run --Werror $(LINT_SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr -Iinclude -Iagent -D__linux__ agent $(wildcard tests/tools)

# The man page and the README's flag table, printed from the option table (agent/options.c) by
# docs/gen_docs.c; both are committed, and tests/unit/test_options.c fails when they are stale.
.PHONY: docs
$(BUILD)/gen_docs: docs/gen_docs.c $(LIB_OBJS)
	$(CC) $(CFLAGS) -Iagent $< $(LIB_OBJS) -o $@ $(LDLIBS)

docs: $(BUILD)/gen_docs
	./$(BUILD)/gen_docs man > docs/sipwatch.8.tmp
	mv docs/sipwatch.8.tmp docs/sipwatch.8
	./$(BUILD)/gen_docs readme README.md

install: $(BUILD)/sipwatch
	install -D -m 0755 $(BUILD)/sipwatch $(DESTDIR)$(PREFIX)/sbin/sipwatch
	install -d $(DESTDIR)/lib/systemd/system
	sed 's|/usr/local/sbin/sipwatch|$(PREFIX)/sbin/sipwatch|' agent/sipwatch.service \
		> $(DESTDIR)/lib/systemd/system/sipwatch.service
	chmod 0644 $(DESTDIR)/lib/systemd/system/sipwatch.service
	install -D -m 0644 agent/sipwatch.default $(DESTDIR)/etc/default/sipwatch
	install -d $(DESTDIR)$(PREFIX)/share/sipwatch/dashboards
	install -m 0644 dashboards/* $(DESTDIR)$(PREFIX)/share/sipwatch/dashboards/
	install -D -m 0644 docs/sipwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/sipwatch.8

# The Debian package, built by dpkg-buildpackage in a copy of the tree under $(DEB_DIR) (the
# checkout stays clean, so `git describe --dirty` and VERSION do not change under the build).
# debian/changelog is written here: its version is VERSION, which debian/rules compiles in.
DEB_DIR    := $(BUILD)/deb
DEB_SRC    := $(DEB_DIR)/sipwatch-$(VERSION)
DEB_JOBS   ?= 2
DEB_COMMIT  = $(shell git rev-parse --short=12 HEAD 2>/dev/null)
DEB_DATE    = $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	tar -c --exclude-vcs --exclude=./build --exclude='./build-*' --exclude=./$(BUILD) . | \
		tar -x -C $(DEB_SRC)
	{ printf 'sipwatch (%s) unstable; urgency=medium\n\n' '$(VERSION)'; \
	  printf '  * Built by make deb from %s.\n\n' '$(if $(DEB_COMMIT),git commit $(DEB_COMMIT)$(if $(filter %.dirty,$(VERSION)), with uncommitted changes),a tree without git)'; \
	  printf ' -- %s  %s\n' "$$(sed -n 's/^Maintainer: //p' debian/control)" "$$(date -R -u -d @$(DEB_DATE))"; \
	} > $(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc -J$(DEB_JOBS)
	lintian --fail-on error $(DEB_DIR)/sipwatch_$(VERSION)_*.deb
	@ls $(DEB_DIR)/sipwatch_$(VERSION)_*.deb

# The version this tree builds (what `sipwatch --version` prints and the package carries).
version:
	@echo $(VERSION)

clean:
	rm -rf $(BUILD) build-asan
