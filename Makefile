# vcrun: hand-written, non-recursive. `make` runs ./configure itself when needed.
#   make            bin/vcrun, bin/vcrun-agent, the guest image in share/vcrun/
#   make check      every test (unit, ASan/UBSan unit, integration); ends "N passed, N failed"
#   make demo       install missing packages, build, run a busybox container in a VM
#   make install    vcrun to $(prefix)/bin, guest image to $(prefix)/share/vcrun
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

GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
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
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(VCRUN_OBJ) -Wl,--start-group $(HOST_ARCHIVES) -Wl,--end-group $(VCRUN_LINK)

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

GUEST_DIR := share/vcrun
GUEST_IMAGE := $(GUEST_DIR)/vmlinuz $(GUEST_DIR)/initramfs.img

ifeq ($(SAN),1)
all: $(BINDIR_OUT)/vcrun unit-bin
	@ln -sfn ../share $(B)/share
else
all: $(BINDIR_OUT)/vcrun $(BINDIR_OUT)/vcrun-agent guest unit-bin
endif

unit-bin: $(UNIT_BIN)

guest: $(GUEST_IMAGE)
$(GUEST_IMAGE) &: $(BINDIR_OUT)/vcrun-agent guest/build-image.sh guest/modules.list
	guest/build-image.sh --agent $(BINDIR_OUT)/vcrun-agent --out $(GUEST_DIR)

deps:
	scripts/install-deps.sh

check: deps
	$(MAKE) all
	$(MAKE) SAN=1 all
	tests/run-all.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

install: all
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(datadir)/vcrun $(DESTDIR)/etc/containers/containers.conf.d
	install -m 0755 bin/vcrun $(DESTDIR)$(bindir)/vcrun
	install -m 0644 $(GUEST_IMAGE) $(DESTDIR)$(datadir)/vcrun/
	install -m 0644 contrib/containers.conf.d/vcrun.conf $(DESTDIR)/etc/containers/containers.conf.d/vcrun.conf

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan bin share/vcrun

distclean: clean
	rm -rf config.mk config.h config.log config.status configure autom4te.cache aclocal.m4 config.h.in config.h.in~

.PHONY: all unit-bin fuzz guest deps check demo install format clean distclean

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# libFuzzer target for the CDI spec parser: clang only, so it is built with `make`
# (not SAN=1) when clang is installed; tests/integration/50-cdi.bats runs it.
FUZZ_CDI_SRC := tests/fuzz/fuzz-cdi.c $(call room_src,cdi) oci/json.c common/error.c common/util.c
$(B)/fuzz/fuzz-cdi: $(FUZZ_CDI_SRC) $(wildcard cdi/*.h) config.h
	@mkdir -p $(@D)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I. -include config.h $(YAJL_CFLAGS) $(YAML_CFLAGS) $(FUZZ_CDI_SRC) \
		$(YAJL_LIBS) $(YAML_LIBS) -o $@

# The same for the monitor protocol's typed messages (agent-proto/monitor-msg.c).
FUZZ_MONITOR_SRC := tests/fuzz/fuzz-monitor.c agent-proto/monitor-msg.c agent-proto/message.c \
	agent-proto/frame.c oci/json.c common/error.c common/util.c
$(B)/fuzz/fuzz-monitor: $(FUZZ_MONITOR_SRC) $(wildcard agent-proto/*.h) config.h
	@mkdir -p $(@D)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I. -include config.h $(YAJL_CFLAGS) $(FUZZ_MONITOR_SRC) $(YAJL_LIBS) -o $@
# The same for the guest agent's typed answers (agent-proto/agent-msg.c).
FUZZ_AGENT_MSG_SRC := tests/fuzz/fuzz-agent-msg.c agent-proto/agent-msg.c agent-proto/message.c \
	agent-proto/frame.c oci/json.c common/error.c common/util.c
$(B)/fuzz/fuzz-agent-msg: $(FUZZ_AGENT_MSG_SRC) $(wildcard agent-proto/*.h) config.h
	@mkdir -p $(@D)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I. -include config.h $(YAJL_CFLAGS) $(FUZZ_AGENT_MSG_SRC) $(YAJL_LIBS) -o $@

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
