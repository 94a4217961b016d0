# Installs the udev rule and the systemd unit; the top Makefile's `install` target calls this
# (make -f udev/install.mk DESTDIR=... PREFIX=... BINDIR=...), from the top directory.
#   UDEVRULESDIR=/etc/udev/rules.d   for a local rule instead of the distribution's directory
DESTDIR ?=
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UDEVRULESDIR ?= /lib/udev/rules.d
SYSTEMDUNITDIR ?= /lib/systemd/system

.PHONY: install
install:
	install -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0644 udev/80-uptane-install.rules $(DESTDIR)$(UDEVRULESDIR)/80-uptane-install.rules
	sed 's|@BINDIR@|$(BINDIR)|g' udev/uptane-install@.service >$(DESTDIR)$(SYSTEMDUNITDIR)/uptane-install@.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/uptane-install@.service.tmp
	mv $(DESTDIR)$(SYSTEMDUNITDIR)/uptane-install@.service.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/uptane-install@.service
	@echo "installed the udev rule and uptane-install@.service; on the target run:"
	@echo "  systemctl daemon-reload && udevadm control --reload"
