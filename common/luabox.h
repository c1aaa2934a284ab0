/*
 * luabox.h - the sandbox that runs a tenant's Lua 5.4 function.
 *
 * A run never happens in the caller's address space: luabox_run forks a
 * child which closes every descriptor but its end of a socket pair, sets
 * resource limits (CPU seconds, address space, no core file), installs a
 * seccomp filter that refuses open, exec, socket and fork, and only then
 * makes a fresh lua_State with
 *   - an allocator capped at the run's memory limit,
 *   - a count hook that ends the run past its instruction budget or its
 *     wall-clock deadline,
 *   - the safe libraries only: base (without dofile, loadfile, load and
 *     print), string (without dump; rep capped), table, math, utf8,
 *     coroutine, and an os table with time, clock and date alone,
 *   - the `tessera` table: input, env, config, log(level, ...),
 *     json.encode/decode, null, and the calls the caller serves (objects,
 *     http.fetch, emit), each a message to the parent, which answers it.
 * The parent enforces the deadline too (SIGKILL), so a child that stops
 * answering cannot hold a worker.  A child that ends any other way than
 * with its result (a signal, a limit) is reported as such; the caller's
 * process is never harmed.
 *
 * Messages on the socket are frames: a 4-byte big-endian length and JSON.
 */
#ifndef TESSERA_LUABOX_H
#define TESSERA_LUABOX_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

/* Largest code, input, result or call message. */
#define LUABOX_CODE_MAX (256 * 1024)
#define LUABOX_FRAME_MAX (2 * 1024 * 1024)
#define LUABOX_RESULT_MAX (1024 * 1024)
/* At most this many log lines of at most this many bytes are kept. */
#define LUABOX_LOG_LINES 200
#define LUABOX_LOG_LINE_MAX 2000
/* string.rep makes at most this many bytes. */
#define LUABOX_REP_MAX (1024 * 1024)

enum luabox_status {
	LUABOX_OK,
	LUABOX_ERROR,    /* a runtime error (or a refused call not caught) */
	LUABOX_TIMEOUT,  /* the wall clock, the CPU limit or the instruction budget */
	LUABOX_MEMORY,   /* the allocator's cap */
};

typedef struct luabox_limits {
	size_t mem_bytes;     /* Lua allocator cap */
	long timeout_ms;      /* wall clock of the whole run */
	long long instr_max;  /* VM instructions; 0: no budget but the clock */
} luabox_limits_t;

/*
 * A call from the function (name: "objects.get", "http.fetch", …; args: a
 * JSON array).  Returns the value for the function (a new tree the sandbox
 * frees; NULL stands for an error), setting err ("CODE: message") on an
 * error.  Runs in the parent.
 */
typedef cJSON *(*luabox_call_fn)(void *user, const char *name, const cJSON *args, char *err,
				 size_t errlen);

/* What a run gives back; luabox_result_free releases its trees. */
typedef struct luabox_result {
	enum luabox_status status;
	cJSON *value;         /* the function's return value as JSON (LUABOX_OK) */
	cJSON *logs;          /* [{level, message, at_ms}] */
	char error[1024];     /* the error, "" on success */
	int line;             /* the code's line of a runtime error, 0 unknown */
	long duration_ms;
} luabox_result_t;

/* The names a call may have: those the `tessera` table exposes. */
extern const char *const luabox_calls[];

/*
 * Compiles code (text only: bytecode is refused) without running it.
 * Returns 0, or -1 with the message in err and its line in *line (0 when
 * unknown).
 */
int luabox_check(const char *code, size_t len, char *err, size_t errlen, int *line);

/*
 * Runs code in a forked, limited child with tessera.input = input,
 * tessera.env = env and tessera.config = config (each may be NULL: nil).
 * call serves the calls (NULL: every call fails).  Returns 0 with *out
 * filled (its status says how the function ended), or -1 when no child
 * could be started (out->error says why).
 */
int luabox_run(const char *code, size_t len, const cJSON *input, const cJSON *env,
	       const cJSON *config, const luabox_limits_t *lim, luabox_call_fn call, void *user,
	       luabox_result_t *out);

void luabox_result_free(luabox_result_t *res);

/* "ok", "error", "timeout", "memory". */
const char *luabox_status_name(enum luabox_status s);

#endif
