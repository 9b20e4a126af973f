# Installs dockgate as a system service: the binary, the systemd units, the example config, the
# service user (sysusers.d), the README and the Prometheus alert rules. Honours DESTDIR and PREFIX:
#   sudo make install                       # PREFIX=/usr/local, creates the user, reloads systemd
#   make install DESTDIR=/tmp/root PREFIX=/usr   # staged install, touches nothing else
# BIN picks the binary to install (default: a release build, made if missing).

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR ?= $(PREFIX)/share/doc/dockgate
BIN ?= target/release/dockgate

.PHONY: install uninstall

target/release/dockgate:
	cargo build --release --locked

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/dockgate
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's#/usr/bin/dockgate#$(BINDIR)/dockgate#g' \
	    -e 's#/etc/dockgate/#$(SYSCONFDIR)/dockgate/#g' \
	    -e 's#/usr/share/doc/dockgate/#$(DOCDIR)/#g' \
	    systemd/dockgate.service > $(DESTDIR)$(UNITDIR)/dockgate.service
	sed -e 's#/usr/share/doc/dockgate/#$(DOCDIR)/#g' \
	    systemd/dockgate.socket > $(DESTDIR)$(UNITDIR)/dockgate.socket
	chmod 0644 $(DESTDIR)$(UNITDIR)/dockgate.service $(DESTDIR)$(UNITDIR)/dockgate.socket
	install -D -m 0644 systemd/dockgate.sysusers $(DESTDIR)$(SYSUSERSDIR)/dockgate.conf
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 0644 config/prometheus/dockgate-alerts.yml $(DESTDIR)$(DOCDIR)/prometheus/dockgate-alerts.yml
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/dockgate
	test -e $(DESTDIR)$(SYSCONFDIR)/dockgate/dockgate.toml || \
	    install -m 0640 config/dockgate.toml $(DESTDIR)$(SYSCONFDIR)/dockgate/dockgate.toml
	if [ -z "$(DESTDIR)" ]; then \
	    systemd-sysusers $(SYSUSERSDIR)/dockgate.conf && \
	    chgrp dockgate $(SYSCONFDIR)/dockgate $(SYSCONFDIR)/dockgate/dockgate.toml && \
	    { systemctl daemon-reload 2>/dev/null || true; }; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dockgate $(DESTDIR)$(UNITDIR)/dockgate.service \
	    $(DESTDIR)$(UNITDIR)/dockgate.socket $(DESTDIR)$(SYSUSERSDIR)/dockgate.conf
	rm -rf $(DESTDIR)$(DOCDIR)
