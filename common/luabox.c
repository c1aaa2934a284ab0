/*
 * luabox.c - the Lua sandbox of luabox.h: the forked child (limits,
 * seccomp, a fresh lua_State with the safe libraries and the `tessera`
 * table) and the parent's side of the conversation (calls, logs, the
 * deadline).
 */
#include "luabox.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "schema.h"

#define CHUNK_NAME "=function"
#define HOOK_EVERY 1000
#define JSON_NEST_MAX 32
/* The parent waits this long past the deadline for the child's own report. */
#define GRACE_MS 1000

const char *const luabox_calls[] = {
	"objects.get", "objects.list", "objects.create", "objects.update", "objects.delete",
	"http.fetch", "emit", NULL,
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *luabox_status_name(enum luabox_status s)
{
	static const char *const names[] = { "ok", "error", "timeout", "memory" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "error";
}

/* --- frames ----------------------------------------------------------------- */

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int frame_send(int fd, const char *s, size_t n)
{
	unsigned char h[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n };
	return send_all(fd, h, 4) || send_all(fd, s, n) ? -1 : 0;
}

static int frame_send_json(int fd, const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	int rc = s ? frame_send(fd, s, strlen(s)) : -1;
	free(s);
	return rc;
}

/* Reads n bytes before deadline (a monotonic ms; < 0: none): 0, -1 on end
 * or error, -2 past the deadline. */
static int recv_all(int fd, void *p, size_t n, long long deadline)
{
	char *c = p;
	while (n) {
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (left <= 0)
				return -2;
			int pr = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return -1;
			if (pr == 0)
				continue;
		}
		ssize_t got = recv(fd, c, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		c += got;
		n -= (size_t)got;
	}
	return 0;
}

/* One frame as parsed JSON, or NULL with *rc as recv_all's (-3: too large
 * or not JSON). */
static cJSON *frame_recv(int fd, long long deadline, int *rc)
{
	unsigned char h[4];
	if ((*rc = recv_all(fd, h, 4, deadline)))
		return NULL;
	size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (n > LUABOX_FRAME_MAX) {
		*rc = -3;
		return NULL;
	}
	char *buf = malloc(n + 1);
	if (!buf || (*rc = recv_all(fd, buf, n, deadline))) {
		free(buf);
		if (!buf)
			*rc = -1;
		return NULL;
	}
	buf[n] = '\0';
	cJSON *j = cJSON_ParseWithLength(buf, n);
	free(buf);
	if (!j)
		*rc = -3;
	return j;
}

/* --- the child's state: allocator and hook ------------------------------------ */

typedef struct box {
	size_t used, cap;
	bool oom;
	long long count, instr_max, deadline, start;
	int fd;
	int logs;
} box_t;

static box_t *g_box;  /* the child's one box (the hook and the exit need it) */

static void *box_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	box_t *b = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		b->used -= old;
		return NULL;
	}
	if (nsize > old && b->used - old + nsize > b->cap) {
		b->oom = true;
		return NULL;
	}
	void *p = realloc(ptr, nsize);
	if (!p) {
		b->oom = true;
		return NULL;
	}
	b->used = b->used - old + nsize;
	return p;
}

/* Reports how the run ended and leaves (the child only). */
static void __attribute__((noreturn)) child_done(enum luabox_status st, cJSON *value,
						 const char *error, int line)
{
	cJSON *f = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(f, "done");
	cJSON_AddStringToObject(d, "status", luabox_status_name(st));
	if (value)
		cJSON_AddItemToObject(d, "value", value);
	cJSON_AddStringToObject(d, "error", error ? error : "");
	cJSON_AddNumberToObject(d, "line", line);
	frame_send_json(g_box->fd, f);
	_exit(0);
}

static void box_hook(lua_State *L, lua_Debug *ar)
{
	(void)L;
	(void)ar;
	box_t *b = g_box;
	b->count += HOOK_EVERY;
	if (b->oom)
		child_done(LUABOX_MEMORY, NULL, "The function used more memory than its limit", 0);
	if (b->instr_max > 0 && b->count > b->instr_max)
		child_done(LUABOX_TIMEOUT, NULL, "The function ran past its instruction budget", 0);
	if (now_ms() > b->deadline)
		child_done(LUABOX_TIMEOUT, NULL, "The function ran past its time limit", 0);
}

/* --- JSON and Lua values ------------------------------------------------------- */

/* Pushes j: objects and arrays as tables; a null member is left out of
 * its table, a null element of an array is tessera.null. */
static void push_json(lua_State *L, const cJSON *j, bool in_array)
{
	luaL_checkstack(L, 4, "JSON nests too deep");
	if (cJSON_IsNull(j) || !j) {
		if (in_array)
			lua_pushlightuserdata(L, NULL);
		else
			lua_pushnil(L);
	} else if (cJSON_IsBool(j)) {
		lua_pushboolean(L, cJSON_IsTrue(j));
	} else if (cJSON_IsNumber(j)) {
		double v = j->valuedouble;
		if (v == floor(v) && fabs(v) < 9007199254740992.0)
			lua_pushinteger(L, (lua_Integer)v);
		else
			lua_pushnumber(L, v);
	} else if (cJSON_IsString(j)) {
		lua_pushstring(L, j->valuestring);
	} else if (cJSON_IsArray(j)) {
		lua_createtable(L, cJSON_GetArraySize(j), 0);
		lua_Integer i = 1;
		const cJSON *it;
		cJSON_ArrayForEach(it, j) {
			push_json(L, it, true);
			lua_rawseti(L, -2, i++);
		}
	} else {
		lua_createtable(L, 0, cJSON_GetArraySize(j));
		const cJSON *it;
		cJSON_ArrayForEach(it, j) {
			if (cJSON_IsNull(it))
				continue;
			push_json(L, it, false);
			lua_setfield(L, -2, it->string);
		}
	}
}

static cJSON *to_json(lua_State *L, int idx, int depth, char *err, size_t errlen);

/* A table as a JSON array (keys 1..n, n > 0) or object (string keys). */
static cJSON *table_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	lua_Unsigned n = lua_rawlen(L, idx);
	lua_Unsigned keys = 0;
	bool seq = n > 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		keys++;
		if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 ||
		    (lua_Unsigned)lua_tointeger(L, -2) > n)
			seq = false;
		lua_pop(L, 1);
	}
	seq = seq && keys == n;
	cJSON *out = seq ? cJSON_CreateArray() : cJSON_CreateObject();
	if (seq) {
		for (lua_Unsigned i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i);
			cJSON *v = to_json(L, lua_gettop(L), depth + 1, err, errlen);
			lua_pop(L, 1);
			if (!v)
				goto fail;
			cJSON_AddItemToArray(out, v);
		}
		return out;
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		int kt = lua_type(L, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
			snprintf(err, errlen, "a table key of type %s cannot be JSON", lua_typename(L, kt));
			lua_pop(L, 2);
			goto fail;
		}
		lua_pushvalue(L, -2);
		const char *k = lua_tostring(L, -1);
		cJSON *v = to_json(L, lua_gettop(L) - 1, depth + 1, err, errlen);
		if (!v) {
			lua_pop(L, 3);
			goto fail;
		}
		cJSON_AddItemToObject(out, k, v);
		lua_pop(L, 2);
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

/* The Lua value at idx as JSON, or NULL with the reason in err. */
static cJSON *to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	if (depth > JSON_NEST_MAX) {
		snprintf(err, errlen, "the value nests deeper than %d levels", JSON_NEST_MAX);
		return NULL;
	}
	luaL_checkstack(L, 6, "the value nests too deep");
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
	case LUA_TNONE:
		return cJSON_CreateNull();
	case LUA_TBOOLEAN:
		return cJSON_CreateBool(lua_toboolean(L, idx));
	case LUA_TNUMBER: {
		double v = lua_isinteger(L, idx) ? (double)lua_tointeger(L, idx) : lua_tonumber(L, idx);
		if (!isfinite(v)) {
			snprintf(err, errlen, "a number that is not finite cannot be JSON");
			return NULL;
		}
		return cJSON_CreateNumber(v);
	}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		if (utf8_bad_at((const unsigned char *)s, n) < n || strlen(s) != n) {
			snprintf(err, errlen, "a string that is not UTF-8 text cannot be JSON");
			return NULL;
		}
		return cJSON_CreateString(s);
	}
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, idx))
			return cJSON_CreateNull();
		break;
	case LUA_TTABLE:
		return table_json(L, idx, depth, err, errlen);
	default:
		break;
	}
	snprintf(err, errlen, "a %s cannot be JSON", luaL_typename(L, idx));
	return NULL;
}

/* --- the library the function sees -------------------------------------------------- */

static int l_json_encode(lua_State *L)
{
	char err[200];
	cJSON *j = to_json(L, 1, 0, err, sizeof(err));
	if (!j)
		return luaL_error(L, "json.encode: %s", err);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		return luaL_error(L, "json.encode: out of memory");
	lua_pushstring(L, s);
	free(s);
	return 1;
}

static int l_json_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	cJSON *j = cJSON_ParseWithLength(s, n);
	if (!j)
		return luaL_error(L, "json.decode: the text is not JSON");
	push_json(L, j, false);
	cJSON_Delete(j);
	return 1;
}

/* tessera.log(level, ...) and print(...): one line to the run's log. */
static int log_line(lua_State *L, const char *level, int first)
{
	box_t *b = g_box;
	if (b->logs >= LUABOX_LOG_LINES)
		return 0;
	b->logs++;
	int n = lua_gettop(L);
	luaL_Buffer buf;
	luaL_buffinit(L, &buf);
	for (int i = first; i <= n; i++) {
		if (i > first)
			luaL_addchar(&buf, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&buf);
	}
	luaL_pushresult(&buf);
	size_t len;
	const char *msg = lua_tolstring(L, -1, &len);
	char line[LUABOX_LOG_LINE_MAX + 1];
	snprintf(line, sizeof(line), "%.*s", (int)(len > LUABOX_LOG_LINE_MAX ? LUABOX_LOG_LINE_MAX : len), msg);
	if (utf8_bad_at((const unsigned char *)line, strlen(line)) < strlen(line))
		snprintf(line, sizeof(line), "(a line that is not UTF-8 text)");
	cJSON *f = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(f, "log");
	cJSON_AddStringToObject(o, "level", level);
	cJSON_AddStringToObject(o, "message", line);
	cJSON_AddNumberToObject(o, "at_ms", (double)(now_ms() - b->start));
	frame_send_json(b->fd, f);
	cJSON_Delete(f);
	return 0;
}

static int l_log(lua_State *L)
{
	static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
	int lv = luaL_checkoption(L, 1, NULL, levels);
	return log_line(L, levels[lv], 2);
}

static int l_print(lua_State *L)
{
	return log_line(L, "info", 1);
}

/* A call served by the parent; the name is the first upvalue. */
static int l_call(lua_State *L)
{
	const char *name = lua_tostring(L, lua_upvalueindex(1));
	char err[1024];
	cJSON *f = cJSON_CreateObject(), *args = cJSON_CreateArray();
	cJSON_AddStringToObject(f, "call", name);
	cJSON_AddItemToObject(f, "args", args);
	for (int i = 1, n = lua_gettop(L); i <= n; i++) {
		cJSON *v = to_json(L, i, 1, err, sizeof(err));
		if (!v) {
			cJSON_Delete(f);
			return luaL_error(L, "%s: argument %d: %s", name, i, err);
		}
		cJSON_AddItemToArray(args, v);
	}
	char *text = cJSON_PrintUnformatted(f);
	cJSON_Delete(f);
	size_t len = text ? strlen(text) : 0;
	if (len > LUABOX_FRAME_MAX) {
		free(text);
		return luaL_error(L, "%s: the arguments are over %d bytes as JSON", name, LUABOX_FRAME_MAX);
	}
	int rc = text ? frame_send(g_box->fd, text, len) : -1;
	free(text);
	cJSON *reply = rc ? NULL : frame_recv(g_box->fd, -1, &rc);
	if (!reply)
		_exit(1);  /* the parent has gone or given up */
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
		snprintf(err, sizeof(err), "%s", cJSON_IsString(e) ? e->valuestring : "the call failed");
		cJSON_Delete(reply);
		return luaL_error(L, "%s: %s", name, err);
	}
	push_json(L, cJSON_GetObjectItemCaseSensitive(reply, "value"), false);
	cJSON_Delete(reply);
	return 1;
}

/* string.rep, refusing results over LUABOX_REP_MAX (the original is the
 * first upvalue). */
static int l_rep(lua_State *L)
{
	size_t l, lsep = 0;
	luaL_checklstring(L, 1, &l);
	lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (n > 0 && (double)l * (double)n + (double)lsep * (double)(n - 1) > LUABOX_REP_MAX)
		return luaL_error(L, "string.rep: the result would be over %d bytes", LUABOX_REP_MAX);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static void open_safe_libs(lua_State *L)
{
	static const struct { const char *name; lua_CFunction open; } libs[] = {
		{ LUA_GNAME, luaopen_base },       { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 }, { LUA_COLIBNAME, luaopen_coroutine },
		{ LUA_OSLIBNAME, luaopen_os },
	};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		luaL_requiref(L, libs[i].name, libs[i].open, 1);
		lua_pop(L, 1);
	}
	static const char *const gone[] = { "dofile", "loadfile", "load", "require", "collectgarbage",
					    NULL };
	for (const char *const *g = gone; *g; g++) {
		lua_pushnil(L);
		lua_setglobal(L, *g);
	}
	lua_pushcfunction(L, l_print);
	lua_setglobal(L, "print");
	/* string: no dump; rep capped */
	lua_getglobal(L, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_getfield(L, -1, "rep");
	lua_pushcclosure(L, l_rep, 1);
	lua_setfield(L, -2, "rep");
	lua_pop(L, 1);
	/* os: time, clock and date alone */
	lua_getglobal(L, LUA_OSLIBNAME);
	lua_createtable(L, 0, 3);
	static const char *const keep[] = { "time", "clock", "date", NULL };
	for (const char *const *k = keep; *k; k++) {
		lua_getfield(L, -2, *k);
		lua_setfield(L, -2, *k);
	}
	lua_setglobal(L, LUA_OSLIBNAME);
	lua_pop(L, 1);
	/* no package table left behind by requiref */
	lua_pushnil(L);
	lua_setglobal(L, "package");
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
}

/* Sets t[path] (path "a.b": t.a.b, making t.a) to the closure for a call. */
static void add_call(lua_State *L, const char *path)
{
	const char *dot = strchr(path, '.');
	if (dot) {
		char head[32];
		snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
		if (lua_getfield(L, -1, head) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, -3, head);
		}
		lua_pushstring(L, path);
		lua_pushcclosure(L, l_call, 1);
		lua_setfield(L, -2, dot + 1);
		lua_pop(L, 1);
		return;
	}
	lua_pushstring(L, path);
	lua_pushcclosure(L, l_call, 1);
	lua_setfield(L, -2, path);
}

static void open_tessera(lua_State *L, const cJSON *input, const cJSON *env, const cJSON *config)
{
	lua_newtable(L);
	push_json(L, input, false);
	lua_setfield(L, -2, "input");
	push_json(L, env, false);
	lua_setfield(L, -2, "env");
	push_json(L, config, false);
	lua_setfield(L, -2, "config");
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	lua_pushcfunction(L, l_log);
	lua_setfield(L, -2, "log");
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, l_json_encode);
	lua_setfield(L, -2, "encode");
	lua_pushcfunction(L, l_json_decode);
	lua_setfield(L, -2, "decode");
	lua_setfield(L, -2, "json");
	for (const char *const *c = luabox_calls; *c; c++)
		add_call(L, *c);
	lua_setglobal(L, "tessera");
}

/* --- the child ------------------------------------------------------------------------- */

/* "function:12: message" -> 12 and "message". */
static int split_line(const char *msg, const char **rest)
{
	const char *p = "function:";
	int line = 0, n = 0;
	*rest = msg;
	if (!strncmp(msg, p, strlen(p)) && sscanf(msg + strlen(p), "%d:%n", &line, &n) == 1 && n > 0) {
		*rest = msg + strlen(p) + n;
		while (**rest == ' ')
			(*rest)++;
	}
	return line;
}

#if !defined(__SANITIZE_ADDRESS__)
/* Size of the address space now, in bytes (0 if unknown). */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

static int child_limits(const luabox_limits_t *lim)
{
	rlim_t cpu = (rlim_t)(lim->timeout_ms / 1000 + 2);
	struct rlimit rl = { cpu, cpu + 1 };
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CPU, &rl) || setrlimit(RLIMIT_CORE, &none))
		return -1;
#if !defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer reserves terabytes of address space: no cap there. */
	size_t vm = vm_size();
	if (vm) {
		struct rlimit as = { vm + lim->mem_bytes + 256u * 1024 * 1024,
				     vm + lim->mem_bytes + 256u * 1024 * 1024 };
		if (setrlimit(RLIMIT_AS, &as))
			return -1;
	}
#endif
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -1;
	static const int denied[] = {
		SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(creat),
		SCMP_SYS(open_by_handle_at), SCMP_SYS(execve), SCMP_SYS(execveat),
		SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind),
		SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(fork),
		SCMP_SYS(vfork), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ptrace),
		SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(process_vm_writev), SCMP_SYS(mount),
		SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat),
		SCMP_SYS(renameat2), SCMP_SYS(chmod), SCMP_SYS(fchmodat), SCMP_SYS(setrlimit),
		SCMP_SYS(prlimit64),
	};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	int rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc ? -1 : 0;
}

static void __attribute__((noreturn)) child_main(int fd, const char *code, size_t len,
						 const cJSON *input, const cJSON *env,
						 const cJSON *config, const luabox_limits_t *lim,
						 long long start)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	/* Nothing of the worker's stays open but stderr and the socket. */
	if (dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0U, 0);
	close(0);
	close(1);
	static box_t b;
	b = (box_t){ .cap = lim->mem_bytes, .instr_max = lim->instr_max, .fd = 3, .start = start,
		     .deadline = start + lim->timeout_ms };
	g_box = &b;
	if (child_limits(lim))
		child_done(LUABOX_ERROR, NULL, "The sandbox could not be set up", 0);
	lua_State *L = lua_newstate(box_alloc, &b);
	if (!L)
		child_done(LUABOX_MEMORY, NULL, "The function used more memory than its limit", 0);
	open_safe_libs(L);
	open_tessera(L, input, env, config);
	if (b.oom)
		child_done(LUABOX_MEMORY, NULL, "The function used more memory than its limit", 0);
	lua_sethook(L, box_hook, LUA_MASKCOUNT, HOOK_EVERY);
	int rc = luaL_loadbufferx(L, code, len, CHUNK_NAME, "t");
	if (rc == LUA_OK)
		rc = lua_pcall(L, 0, 1, 0);
	if (b.oom || rc == LUA_ERRMEM)
		child_done(LUABOX_MEMORY, NULL, "The function used more memory than its limit", 0);
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1), *rest;
		int line = split_line(msg ? msg : "(an error that is not a string)", &rest);
		child_done(LUABOX_ERROR, NULL, rest, line);
	}
	char err[256];
	cJSON *value = to_json(L, -1, 0, err, sizeof(err));
	if (!value) {
		char msg[320];
		snprintf(msg, sizeof(msg), "The return value cannot be JSON: %s", err);
		child_done(LUABOX_ERROR, NULL, msg, 0);
	}
	char *text = cJSON_PrintUnformatted(value);
	size_t n = text ? strlen(text) : 0;
	free(text);
	if (n > LUABOX_RESULT_MAX)
		child_done(LUABOX_ERROR, NULL, "The return value is over 1 MB as JSON", 0);
	child_done(LUABOX_OK, value, NULL, 0);
}

/* --- the parent ------------------------------------------------------------------------ */

/* Answers a call frame. */
static int serve_call(int fd, const cJSON *f, luabox_call_fn call, void *user)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "call");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(f, "args");
	char err[1024] = "UNAVAILABLE: this call is not available here";
	cJSON *v = NULL;
	bool known = false;
	for (const char *const *c = luabox_calls; cJSON_IsString(name) && *c; c++)
		known |= !strcmp(*c, name->valuestring);
	if (known && cJSON_IsArray(args) && call)
		v = call(user, name->valuestring, args, err, sizeof(err));
	cJSON *reply = cJSON_CreateObject();
	cJSON_AddBoolToObject(reply, "ok", v != NULL);
	if (v)
		cJSON_AddItemToObject(reply, "value", v);
	else
		cJSON_AddStringToObject(reply, "error", err);
	int rc = frame_send_json(fd, reply);
	cJSON_Delete(reply);
	return rc;
}

/* Takes the child's final report. */
static void take_done(const cJSON *d, luabox_result_t *out)
{
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
	out->status = LUABOX_ERROR;
	for (int s = LUABOX_OK; s <= LUABOX_MEMORY; s++)
		if (st && !strcmp(st, luabox_status_name((enum luabox_status)s)))
			out->status = (enum luabox_status)s;
	const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "error"));
	snprintf(out->error, sizeof(out->error), "%s", e ? e : "");
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(d, "line");
	out->line = cJSON_IsNumber(line) ? line->valueint : 0;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "value");
	out->value = out->status == LUABOX_OK ? (v ? cJSON_Duplicate(v, true) : cJSON_CreateNull())
					      : NULL;
}

/* The conversation with the child until it reports or the deadline passes:
 * true when it reported. */
static bool converse(int fd, long long deadline, luabox_call_fn call, void *user,
		     luabox_result_t *out, bool *late)
{
	for (;;) {
		int rc;
		cJSON *f = frame_recv(fd, deadline, &rc);
		if (!f) {
			*late = rc == -2;
			return false;
		}
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(f, "done");
		const cJSON *log = cJSON_GetObjectItemCaseSensitive(f, "log");
		if (d) {
			take_done(d, out);
			cJSON_Delete(f);
			return true;
		}
		if (cJSON_IsObject(log) && cJSON_GetArraySize(out->logs) < LUABOX_LOG_LINES)
			cJSON_AddItemToArray(out->logs, cJSON_Duplicate(log, true));
		else if (cJSON_GetObjectItemCaseSensitive(f, "call") && serve_call(fd, f, call, user)) {
			cJSON_Delete(f);
			return false;
		}
		cJSON_Delete(f);
	}
}

int luabox_run(const char *code, size_t len, const cJSON *input, const cJSON *env,
	       const cJSON *config, const luabox_limits_t *lim, luabox_call_fn call, void *user,
	       luabox_result_t *out)
{
	memset(out, 0, sizeof(*out));
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(out->error, sizeof(out->error), "socketpair: %s", strerror(errno));
		return -1;
	}
	long long start = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(out->error, sizeof(out->error), "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(sv[1], code, len, input, env, config, lim, start);
	}
	close(sv[1]);
	out->logs = cJSON_CreateArray();
	bool late = false;
	bool done = converse(sv[0], start + lim->timeout_ms + GRACE_MS, call, user, out, &late);
	close(sv[0]);
	if (!done)
		kill(pid, SIGKILL);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	out->duration_ms = (long)(now_ms() - start);
	if (done)
		return 0;
	int sig = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
	if (late || sig == SIGXCPU) {
		out->status = LUABOX_TIMEOUT;
		snprintf(out->error, sizeof(out->error), "The function ran past its time limit");
	} else {
		out->status = LUABOX_ERROR;
		if (sig)
			snprintf(out->error, sizeof(out->error), "The function's process ended on signal %d", sig);
		else
			snprintf(out->error, sizeof(out->error), "The function's process ended without a result");
	}
	return 0;
}

void luabox_result_free(luabox_result_t *res)
{
	cJSON_Delete(res->value);
	cJSON_Delete(res->logs);
	res->value = res->logs = NULL;
}

int luabox_check(const char *code, size_t len, char *err, size_t errlen, int *line)
{
	box_t b = { .cap = 64u * 1024 * 1024 };
	*line = 0;
	lua_State *L = lua_newstate(box_alloc, &b);
	if (!L) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = luaL_loadbufferx(L, code, len, CHUNK_NAME, "t");
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1), *rest;
		*line = split_line(msg ? msg : "the code does not compile", &rest);
		snprintf(err, errlen, "%s", rest);
	}
	lua_close(L);
	return rc == LUA_OK ? 0 : -1;
}
