# Builds and installs Sidetap on a Linux host (see docs/operations.md).
#
#   make                      release build (.build/release/sidetap)
#   sudo make install         binary, systemd unit, example config and rules
#   sudo make uninstall       removes the binary and the unit; keeps /etc/sidetap and /var/lib/sidetap
#
# DESTDIR stages an install (packaging, tests); PREFIX, SYSCONFDIR and UNITDIR move it.
# An existing config or rules file is never overwritten: the new example is installed next to
# it as *.example instead.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DOCDIR     ?= $(PREFIX)/share/doc/sidetap
SYSCONFDIR ?= /etc/sidetap
UNITDIR    ?= /etc/systemd/system
SYSUSERSDIR ?= /etc/sysusers.d
SWIFT      ?= swift
# e.g. --static-swift-stdlib: a binary that needs no Swift toolchain on the host
SWIFT_BUILD_FLAGS ?=
INSTALL    ?= install

BINARY  = .build/release/sidetap
FILTERS = $(wildcard filters/*.rules)
DOCS    = README.md docs/operations.md docs/configuration.md docs/rules.md docs/ports.md \
          docs/live-capture.md docs/control.md docs/grafana/sidetap.json

.PHONY: all build install uninstall

all: build

build:
	$(SWIFT) build -c release --product sidetap $(SWIFT_BUILD_FLAGS)

# Reuses an existing release build; `make build` first to rebuild.
$(BINARY):
	$(SWIFT) build -c release --product sidetap $(SWIFT_BUILD_FLAGS)

install: $(BINARY)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/filters $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BINARY) $(DESTDIR)$(BINDIR)/sidetap
	sed -e 's#/usr/local/bin/sidetap#$(BINDIR)/sidetap#g' \
	    -e 's#/etc/sidetap/#$(SYSCONFDIR)/#g' \
	    -e 's#/usr/local/share/doc/sidetap#$(DOCDIR)#g' \
	    dist/systemd/sidetap.service > $(DESTDIR)$(UNITDIR)/sidetap.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sidetap.service
	$(INSTALL) -d $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 0644 dist/sysusers.d/sidetap.conf $(DESTDIR)$(SYSUSERSDIR)/sidetap.conf
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/sidetap.conf; fi
	@set -e; for f in dist/sidetap.yaml $(FILTERS); do \
	  case $$f in dist/*) target=$(DESTDIR)$(SYSCONFDIR)/$${f#dist/} ;; *) target=$(DESTDIR)$(SYSCONFDIR)/$$f ;; esac; \
	  if [ -e "$$target" ]; then \
	    echo "keeping $$target (new example: $$target.example)"; \
	    $(INSTALL) -m 0640 "$$f" "$$target.example"; \
	  else \
	    $(INSTALL) -m 0640 "$$f" "$$target"; \
	  fi; \
	done
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	@echo "installed; next: edit $(SYSCONFDIR)/sidetap.yaml, then systemctl daemon-reload && systemctl enable --now sidetap"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sidetap $(DESTDIR)$(UNITDIR)/sidetap.service $(DESTDIR)$(SYSUSERSDIR)/sidetap.conf
	rm -rf $(DESTDIR)$(DOCDIR)
	@echo "kept $(SYSCONFDIR) and /var/lib/sidetap (config, rules, captures, audit log); remove them by hand if wanted"
