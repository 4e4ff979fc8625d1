# vcrun: hand-written, non-recursive. `make` runs ./configure itself when needed.
#   make            bin/vcrun, bin/vcrun-agent, the guest image in share/vcrun/
#   make check      every test (unit, ASan/UBSan unit, integration); ends "N passed, N failed"
#   make guest-kernel  the lean guest kernel (guest/lean.config) beside the image; vcrun
#                   then boots it instead of Debian's (guest/README.md)
#   make demo       install missing packages, build, run a busybox container in a VM
#   make install    vcrun, guest image, man pages, completion, configs (DESTDIR, prefix)
#   make uninstall  removes what install put there (a changed /etc/vcrun/config.json stays)
#   make man        the man pages, build/man/*.[58] from man/*.md (go-md2man)
#   make deb        the Debian package, build/deb/vcrun_VERSION_ARCH.deb (debian/README.md)
#   make SAN=1      the ASan/UBSan build, in build-asan/
#   make fuzz       the libFuzzer targets, in build/fuzz/ (clang; tests/fuzz/README.md)

.DEFAULT_GOAL := all
SHELL := /bin/bash

# check, demo and deps install packages first and then run sub-makes: they must not
# need configure (nor autoconf) before the packages are there.
ifeq ($(filter distclean format deps check demo,$(MAKECMDGOALS)),)
-include config.mk
endif

config.mk config.h &: configure config.mk.in
	./configure $(CONFIGURE_FLAGS)
	@touch config.mk config.h # config.status keeps an unchanged config.h's old time
configure: configure.ac
	autoreconf -fi

SAN ?=
ifeq ($(SAN),1)
B ?= build-asan
BINDIR_OUT := $(B)/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# The test build also has the fault points of lib/fault.h.
SANFLAGS += -DVC_FAULT_HOOKS
else
B ?= build
BINDIR_OUT := bin
SANFLAGS :=
endif

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Ulinux $(WARN) $(CFLAGS) $(SANFLAGS) -I. -include config.h \
	$(YAJL_CFLAGS) $(LIBCAP_CFLAGS) $(LIBNL_CFLAGS) $(SECCOMP_CFLAGS) $(YAML_CFLAGS) -MMD -MP
HOST_LIBS := $(YAJL_LIBS) $(LIBCAP_LIBS) $(LIBNL_LIBS) $(SECCOMP_LIBS) $(YAML_LIBS)

# One archive per room; dependencies point one way (see docs/ARCHITECTURE.md).
HOST_ROOMS := lib cdi vfio hv netns cgroup agent-proto oci common
AGENT_ROOMS := agent agent-proto oci common
room_src = $(sort $(wildcard $(1)/*.c))
room_obj = $(patsubst %.c,$(B)/%.o,$(call room_src,$(1)))
room_lib = $(B)/lib$(subst -,,$(1)).a

define ROOM_RULE
$(call room_lib,$(1)): $(call room_obj,$(1))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach r,$(sort $(HOST_ROOMS) $(AGENT_ROOMS)),$(eval $(call ROOM_RULE,$(r))))

HOST_ARCHIVES := $(foreach r,$(HOST_ROOMS),$(call room_lib,$(r)))
AGENT_ARCHIVES := $(foreach r,$(AGENT_ROOMS),$(call room_lib,$(r)))

$(B)/%.o: %.c config.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# `make deb` hands its commit to the package build, which runs in a copy of the tree.
GIT_COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
$(B)/cmd/vcrun/main.o: ALL_CFLAGS += -DVC_GIT_COMMIT='"$(GIT_COMMIT)"'

VCRUN_OBJ := $(patsubst %.c,$(B)/%.o,$(call room_src,cmd/vcrun))
AGENT_MAIN_OBJ := $(patsubst %.c,$(B)/%.o,$(call room_src,cmd/vcrun-agent))

# Static unless sanitized: the stand-in and monitor run as long as the container,
# and a static image needs half the memory (bench/start.sh measures it).
ifeq ($(SAN),1)
VCRUN_LINK := $(HOST_LIBS)
else
VCRUN_LINK := -static $(HOST_STATIC_LIBS)
endif
$(BINDIR_OUT)/vcrun: $(VCRUN_OBJ) $(HOST_ARCHIVES) config.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $(VCRUN_OBJ) -Wl,--start-group $(HOST_ARCHIVES) -Wl,--end-group $(VCRUN_LINK)

# The agent is /init in the guest: static, no sanitizers.
$(BINDIR_OUT)/vcrun-agent: $(AGENT_MAIN_OBJ) $(AGENT_ARCHIVES) config.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -o $@ $(AGENT_MAIN_OBJ) -Wl,--start-group $(AGENT_ARCHIVES) -Wl,--end-group $(AGENT_LIBS)

# Unit tests: one program per tests/unit/test-*.c, linked with every room.
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/utests/%,$(UNIT_SRC))
UNIT_ARCHIVES := $(HOST_ARCHIVES) $(call room_lib,agent)
$(B)/utests/%: $(B)/tests/unit/%.o $(B)/tests/unit/unit.o $(UNIT_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< $(B)/tests/unit/unit.o -Wl,--start-group $(UNIT_ARCHIVES) -Wl,--end-group $(HOST_LIBS)

include mk/libvcrun.mk

GUEST_DIR := share/vcrun
GUEST_IMAGE := $(GUEST_DIR)/vmlinuz $(GUEST_DIR)/initramfs.img

ifeq ($(SAN),1)
all: $(BINDIR_OUT)/vcrun unit-bin
	@ln -sfn ../share $(B)/share
else
all: $(BINDIR_OUT)/vcrun $(BINDIR_OUT)/vcrun-agent guest unit-bin libvcrun
endif

unit-bin: $(UNIT_BIN)

guest: $(GUEST_IMAGE)
# GUEST_PREBUILT=1 (the package build, debian/rules): the image is the one `make deb`
# copied in, never rebuilt: building it downloads Debian's kernel package, which a
# package build must not do.
ifeq ($(GUEST_PREBUILT),1)
$(GUEST_IMAGE):
	@test -f $@ || { echo "$@ is missing: GUEST_PREBUILT=1 installs an image built before (make guest)" >&2; exit 1; }
else
$(GUEST_IMAGE) &: $(BINDIR_OUT)/vcrun-agent guest/build-image.sh guest/lib.sh guest/modules.list
	guest/build-image.sh --agent $(BINDIR_OUT)/vcrun-agent --out $(GUEST_DIR)
endif

# Man pages: Markdown in man/, roff in build/man/ (man/README.md says why).
MAN_SRC := $(sort $(wildcard man/*.[158].md))
MAN_PAGES := $(patsubst man/%.md,build/man/%,$(MAN_SRC))
man: $(MAN_PAGES)
build/man/%: man/%.md
	@mkdir -p $(@D)
	go-md2man -in $< -out $@

# The lean kernel: built from Debian's linux-source (cached by the config's hash, so
# only the first build compiles), with an initramfs that has no modules. Niced: it
# keeps both cores busy for minutes. LEAN_OUT elsewhere leaves share/vcrun alone
# (tests/run-all.sh builds it into build/lean for 48-lean-kernel.bats).
LEAN_OUT ?= $(GUEST_DIR)
guest-kernel: $(BINDIR_OUT)/vcrun-agent
	nice -n 10 guest/build-kernel.sh --out $(LEAN_OUT)/vmlinux-lean
	guest/build-image.sh --lean --agent $(BINDIR_OUT)/vcrun-agent --out $(LEAN_OUT)

deps:
	scripts/install-deps.sh

check: deps
	$(MAKE) all
	$(MAKE) SAN=1 all
	tests/run-all.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

# vcrun reads /etc/vcrun/config.json and podman /etc/containers: these two live in
# /etc whatever the prefix.
ETCDIR := /etc
COMPLETIONSDIR := $(datadir)/bash-completion/completions
# The library (issue 13, libvcrun) adds its own files with `install: install-lib`
# and `uninstall: uninstall-lib` (mk/libvcrun.mk on main).
# Every file install writes, but config.json, as DESTDIR-less paths: uninstall's list.
INSTALLED := $(bindir)/vcrun $(addprefix $(datadir)/vcrun/,$(notdir $(GUEST_IMAGE))) \
	$(foreach p,$(MAN_PAGES),$(mandir)/man$(subst .,,$(suffix $(p)))/$(notdir $(p))) \
	$(COMPLETIONSDIR)/vcrun $(ETCDIR)/containers/containers.conf.d/vcrun.conf

# Not `all`: installing needs neither the unit tests nor, with GUEST_PREBUILT=1, the agent.
install: bin/vcrun guest man
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(datadir)/vcrun $(DESTDIR)$(COMPLETIONSDIR) \
		$(DESTDIR)$(ETCDIR)/vcrun $(DESTDIR)$(ETCDIR)/containers/containers.conf.d \
		$(sort $(foreach p,$(MAN_PAGES),$(DESTDIR)$(mandir)/man$(subst .,,$(suffix $(p)))))
	install -m 0755 bin/vcrun $(DESTDIR)$(bindir)/vcrun
	install -m 0644 $(GUEST_IMAGE) $(DESTDIR)$(datadir)/vcrun/
	for p in $(MAN_PAGES); do install -m 0644 $$p $(DESTDIR)$(mandir)/man$${p##*.}/ || exit 1; done
	install -m 0644 contrib/bash-completion/vcrun $(DESTDIR)$(COMPLETIONSDIR)/vcrun
	sed 's|"/usr/local/bin/vcrun"|"$(bindir)/vcrun"|' contrib/containers.conf.d/vcrun.conf \
		>$(DESTDIR)$(ETCDIR)/containers/containers.conf.d/vcrun.conf
	chmod 0644 $(DESTDIR)$(ETCDIR)/containers/containers.conf.d/vcrun.conf
	@# The example config holds only ignored "#key" entries; a config already there is the admin's.
	@if [ -e $(DESTDIR)$(ETCDIR)/vcrun/config.json ]; then \
		echo "install: keeping $(DESTDIR)$(ETCDIR)/vcrun/config.json"; \
	else \
		install -m 0644 contrib/config.json $(DESTDIR)$(ETCDIR)/vcrun/config.json; \
	fi

# Leaves shared directories (bin, man8, ...) and a config.json the admin changed.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@if [ -f $(DESTDIR)$(ETCDIR)/vcrun/config.json ] && \
		cmp -s contrib/config.json $(DESTDIR)$(ETCDIR)/vcrun/config.json; then \
		rm -f $(DESTDIR)$(ETCDIR)/vcrun/config.json; \
	fi
	-rmdir $(DESTDIR)$(datadir)/vcrun $(DESTDIR)$(ETCDIR)/vcrun 2>/dev/null

# The package is built in a copy of the tree (build/deb/vcrun-VERSION), with the guest
# image built here copied in: debian/README.md.
DEB_DIR ?= build/deb
deb: bin/vcrun guest
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/vcrun-$(VERSION)/share/vcrun
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 cp --parents -P -t $(DEB_DIR)/vcrun-$(VERSION)
	cp $(GUEST_IMAGE) $(DEB_DIR)/vcrun-$(VERSION)/share/vcrun/
	cd $(DEB_DIR)/vcrun-$(VERSION) && GIT_COMMIT=$(GIT_COMMIT) dpkg-buildpackage -us -uc -b \
		$(if $(wildcard include/vcrun.h),,-Ppkg.vcrun.nolib)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan bin share/vcrun

distclean: clean
	rm -rf config.mk config.h config.log config.status configure autom4te.cache aclocal.m4 config.h.in config.h.in~

.PHONY: all unit-bin fuzz guest guest-kernel man deps check demo install uninstall deb format clean distclean

# Not the package build's copy of the tree (build/deb), nor directories named *.d in it.
-include $(shell find $(B) -path build/deb -prune -o -name '*.d' -type f -print 2>/dev/null)

# libFuzzer target for the CDI spec parser: clang only, so it is built with `make`
# (not SAN=1) when clang is installed; tests/integration/50-cdi.bats runs it.
FUZZ_CDI_SRC := tests/fuzz/fuzz-cdi.c $(call room_src,cdi) oci/json.c common/error.c common/util.c
$(B)/fuzz/fuzz-cdi: $(FUZZ_CDI_SRC) $(wildcard cdi/*.h) config.h
	@mkdir -p $(@D)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I. -include config.h $(YAJL_CFLAGS) $(YAML_CFLAGS) $(FUZZ_CDI_SRC) \
		$(YAJL_LIBS) $(YAML_LIBS) -o $@

# The same for the protocols' typed messages: fuzz_proto NAME FILE builds
# tests/fuzz/NAME.c over agent-proto/FILE: the monitor protocol (monitor-msg.c), the
# agent's answers (agent-msg.c), the host's requests (agent-req.c, with clone-msg.c for
# CloneSetup) and CloneSetup alone (clone-msg.c).
define fuzz_proto
FUZZ_$(1)_SRC := tests/fuzz/$(1).c agent-proto/$(2) agent-proto/message.c \
	agent-proto/frame.c oci/json.c common/error.c common/util.c
$$(B)/fuzz/$(1): $$(FUZZ_$(1)_SRC) $$(wildcard agent-proto/*.h) config.h
	@mkdir -p $$(@D)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I. -include config.h $$(YAJL_CFLAGS) $$(FUZZ_$(1)_SRC) $$(YAJL_LIBS) -o $$@
endef
$(eval $(call fuzz_proto,fuzz-monitor,monitor-msg.c))
$(eval $(call fuzz_proto,fuzz-agent-msg,agent-msg.c))
$(eval $(call fuzz_proto,fuzz-agent-req,agent-req.c agent-proto/clone-msg.c))
$(eval $(call fuzz_proto,fuzz-clone-msg,clone-msg.c))
# `make fuzz`: one libFuzzer target per parser of outside input (tests/fuzz/README.md).
# The targets below link the host rooms compiled once more by clang with coverage
# and sanitizers (build/fuzz/obj/), so a parser deep in lib/ needs no file list.
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Ulinux -g -O1 -Wall -Wextra -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -I. -include config.h \
	$(YAJL_CFLAGS) $(LIBCAP_CFLAGS) $(LIBNL_CFLAGS) $(SECCOMP_CFLAGS) $(YAML_CFLAGS) -MMD -MP
FUZZ_HOST_OBJ := $(patsubst %.c,$(B)/fuzz/obj/%.o,$(foreach r,$(HOST_ROOMS),$(call room_src,$(r))))
$(B)/fuzz/obj/%.o: %.c config.h
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(B)/fuzz/libhost.a: $(FUZZ_HOST_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(B)/fuzz/libhost.a config.h
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -Wl,--start-group $(B)/fuzz/libhost.a \
		-Wl,--end-group $(HOST_LIBS) -o $@
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(sort $(wildcard tests/fuzz/fuzz-*.c)))
fuzz: $(FUZZ_TARGETS)

ifneq ($(SAN),1)
ifneq ($(shell command -v clang 2>/dev/null),)
unit-bin: $(FUZZ_TARGETS)
endif
endif
