# libvcrun.so.0: include/vcrun.h's API (lib/libvcrun.c) over the host rooms, built
# again as position-independent code, exporting vcrun_* only (lib/libvcrun.map).
# The vcrun command links the same sources statically.
LIBVCRUN_SONAME := libvcrun.so.0
LIBVCRUN_VERSION := 0.1.0
SO := $(B)/so
PIC := $(B)/pic
LIBVCRUN_PIC_OBJ := $(patsubst %.c,$(PIC)/%.o,$(foreach r,$(HOST_ROOMS),$(call room_src,$(r))))
LIBVCRUN_FILES := $(SO)/libvcrun.so.$(LIBVCRUN_VERSION) $(SO)/$(LIBVCRUN_SONAME) $(SO)/libvcrun.so

$(PIC)/%.o: %.c config.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@
$(B)/lib/libvcrun.o $(PIC)/lib/libvcrun.o: ALL_CFLAGS += -DVC_BINDIR='"$(bindir)"'

$(SO)/libvcrun.so.$(LIBVCRUN_VERSION): $(LIBVCRUN_PIC_OBJ) lib/libvcrun.map config.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -shared -Wl,-soname,$(LIBVCRUN_SONAME) \
		-Wl,--version-script=lib/libvcrun.map -Wl,-z,defs -o $@ $(LIBVCRUN_PIC_OBJ) $(HOST_LIBS)
$(SO)/$(LIBVCRUN_SONAME) $(SO)/libvcrun.so: $(SO)/libvcrun.so.$(LIBVCRUN_VERSION)
	ln -sfn $(notdir $<) $@

libvcrun: $(LIBVCRUN_FILES)

# The ABI: what the exported functions look like, recorded in lib/libvcrun.abi
# (abidw); `make abi-check` fails when it changes under the same soname, and
# `make abi-baseline` records a change that came with a soname bump.
abi-check: $(SO)/libvcrun.so.$(LIBVCRUN_VERSION)
	abidiff --headers-dir1 include --headers-dir2 include \
		--exported-interfaces-only lib/libvcrun.abi $<
abi-baseline: $(SO)/libvcrun.so.$(LIBVCRUN_VERSION)
	abidw --headers-dir include --exported-interfaces-only \
		--no-corpus-path --no-comp-dir-path $< >lib/libvcrun.abi

install-lib: $(LIBVCRUN_FILES)
	install -d $(DESTDIR)$(libdir)/pkgconfig $(DESTDIR)$(includedir)
	install -m 0644 $(SO)/libvcrun.so.$(LIBVCRUN_VERSION) $(DESTDIR)$(libdir)/
	ln -sfn libvcrun.so.$(LIBVCRUN_VERSION) $(DESTDIR)$(libdir)/$(LIBVCRUN_SONAME)
	ln -sfn $(LIBVCRUN_SONAME) $(DESTDIR)$(libdir)/libvcrun.so
	# written here, not at build time: prefix and libdir may be given to install
	sed -e 's|@prefix@|$(prefix)|; s|@exec_prefix@|$(exec_prefix)|; s|@libdir@|$(libdir)|' \
	    -e 's|@includedir@|$(includedir)|; s|@version@|$(LIBVCRUN_VERSION)|' \
	    lib/vcrun.pc.in >$(DESTDIR)$(libdir)/pkgconfig/vcrun.pc
	install -m 0644 include/vcrun.h $(DESTDIR)$(includedir)/vcrun.h
uninstall-lib:
	rm -f $(DESTDIR)$(libdir)/libvcrun.so.$(LIBVCRUN_VERSION) $(DESTDIR)$(libdir)/$(LIBVCRUN_SONAME) \
		$(DESTDIR)$(libdir)/libvcrun.so $(DESTDIR)$(libdir)/pkgconfig/vcrun.pc \
		$(DESTDIR)$(includedir)/vcrun.h

.PHONY: libvcrun abi-check abi-baseline install-lib uninstall-lib
install: install-lib
uninstall: uninstall-lib
