# Tessera — build, run, test, bench.  See README.md.
#   make            build/tessera
#   make run        the whole stack on 127.0.0.1:8080 with state in ./var
#   make test       unit + integration tests (also under ASan/UBSan)
#   make bench      wrk against a running stack

VERSION  := 0.1.0
CC       ?= cc
PKGS     := libmariadb hiredis libcjson libsodium libcurl libqrencode libmagic zlib libcrypto libcbor xlsxwriter lua5.4 libseccomp lasso gobject-2.0
# libvips only in tessera-media, the image helper the workers spawn (fcgi/media.c)
MEDIA_CFLAGS := $(shell pkg-config --cflags vips 2>/dev/null)
MEDIA_LIBS   := $(shell pkg-config --libs vips 2>/dev/null) -lm
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Members left out of a positional initializer are zero (C11 6.7.9): the
# schema rows list only what they set, as CPython and the kernel allow.
WARN     := -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral -Wvla -Wno-missing-field-initializers
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -DTESSERA_VERSION=\"$(VERSION)\" $(PKG_CFLAGS) $(CFLAGS)
LIBS     := -lfcgi $(PKG_LIBS) -lm
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := $(filter-out fcgi/media.c,$(wildcard common/*.c) $(wildcard handlers/*.c) $(wildcard fcgi/*.c))
LIB_SRC  := $(filter-out fcgi/main.c,$(SRC))
OBJ      := $(patsubst %.c,build/obj/%.o,$(SRC)) build/obj/sql_embed.o
LIB_OBJ  := $(patsubst %.c,build/obj/%.o,$(LIB_SRC)) build/obj/sql_embed.o
SAN_OBJ  := $(patsubst %.c,build/san/%.o,$(SRC)) build/san/sql_embed.o
SAN_LIB_OBJ := $(patsubst %.c,build/san/%.o,$(LIB_SRC)) build/san/sql_embed.o
UNIT_SRC := $(wildcard tests/unit/*.c)
INT_SRC  := $(wildcard tests/integration/*.c)
SQL      := $(wildcard sql/control/*.sql sql/tenant/*.sql)
HDR      := $(wildcard common/*.h common/*.def handlers/*.h fcgi/*.h)

.PHONY: all deps run test check-layers test-unit test-integration bench bench-ai docs clean

all: build/tessera build/tessera-media

build/sql_embed.c: $(SQL) tools/embed-sql
	@mkdir -p build
	tools/embed-sql sql $@

build/obj/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/obj/sql_embed.o: build/sql_embed.c common/migrate.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/san/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -c $< -o $@

build/san/sql_embed.o: build/sql_embed.c common/migrate.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -c $< -o $@

build/tessera: $(OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJ) $(LIBS)

build/san/tessera: $(SAN_OBJ) build/san/tessera-media
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -o $@ $(SAN_OBJ) $(LIBS)

build/tessera-media: fcgi/media.c fcgi/media.h
	@mkdir -p build
	$(CC) $(ALL_CFLAGS) $(MEDIA_CFLAGS) -o $@ fcgi/media.c $(MEDIA_LIBS)

build/san/tessera-media: fcgi/media.c fcgi/media.h
	@mkdir -p build/san
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) $(MEDIA_CFLAGS) -o $@ fcgi/media.c $(MEDIA_LIBS)

build/unit_tests: $(UNIT_SRC) $(LIB_OBJ) $(wildcard tests/unit/*.h)
	$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -o $@ $(UNIT_SRC) $(LIB_OBJ) $(LIBS) $(shell pkg-config --cflags --libs check)

build/san/unit_tests: $(UNIT_SRC) $(SAN_LIB_OBJ) $(wildcard tests/unit/*.h)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -Wno-unused-parameter -o $@ $(UNIT_SRC) $(SAN_LIB_OBJ) $(LIBS) $(shell pkg-config --cflags --libs check)

build/integration_tests: $(INT_SRC) $(wildcard tests/integration/*.h)
	$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -o $@ $(INT_SRC) $(LIBS) $(shell pkg-config --cflags --libs check)

build/docs/index.html: build/tessera tools/build-docs tools/openapi.py tools/spec/endpoints.json
	tools/build-docs build/tessera build/docs $(VERSION)

docs: build/docs/index.html

deps:
	@bash tools/deps

run: deps
	$(MAKE) all docs
	tools/run

test: deps
	$(MAKE) all docs build/san/tessera build/unit_tests build/san/unit_tests build/integration_tests
	tools/check-layers
	tools/test-run

# Fails on an include or call against the layering (common <- fcgi <- handlers).
check-layers: all
	tools/check-layers

bench: deps
	$(MAKE) all docs build/bench-ai
	tools/bench

# The built-in AI's embedding and exact search, in process (tools/bench-ai.c).
build/bench-ai: tools/bench-ai.c common/ailocal.c common/ailocal.h
	@mkdir -p build
	$(CC) $(ALL_CFLAGS) -o $@ tools/bench-ai.c common/ailocal.c common/arena.c -lm

bench-ai: build/bench-ai
	build/bench-ai

clean:
	rm -rf build
