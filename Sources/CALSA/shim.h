#pragma once
#include <alsa/asoundlib.h>

/* ALSA prints its own diagnostics ("ALSA lib pcm.c:...") to stderr by default. copilot
   reports failures as one line of its own, so the library's handler is replaced by a silent
   one. The handler is variadic, which Swift cannot define, hence this C helper. */
static void copilot_alsa_silent_handler(const char *file, int line, const char *function, int err,
                                        const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err; (void)fmt;
}

static inline void copilot_alsa_silence_errors(void) {
    snd_lib_error_set_handler(copilot_alsa_silent_handler);
}
