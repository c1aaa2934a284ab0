/*
 * storage.c - the local storage driver (see storage.h): objects under
 * storage_root, each written atomically, directories 0750 and files 0640
 * (nginx's worker user reads them through the group, or as root); with
 * storage_backend = s3 the objects go to the bucket through s3.c and the
 * disk keeps the publish state and staged uploads.
 */
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ids.h"
#include "s3.h"

char *storage_file_dir(arena_t *a, const char *tenant, const char *file_id)
{
	return arena_printf(a, "%s/files/%s", tenant, file_id);
}

char *storage_version_key(arena_t *a, const char *tenant, const char *file_id, int version)
{
	return arena_printf(a, "%s/files/%s/%d", tenant, file_id, version);
}

char *storage_path(arena_t *a, const char *key)
{
	return arena_printf(a, "%s/%s", g_config.storage_root, key);
}

/* mkdir -p for the directory part of path (which lies under the root). */
static int mkdirs_for(arena_t *a, const char *path)
{
	char *p = arena_strdup(a, path);
	size_t rootlen = strlen(g_config.storage_root);
	for (char *s = p + rootlen + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		int rc = mkdir(p, 0750);
		*s = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fsync_dir_of(arena_t *a, const char *path)
{
	char *d = arena_strdup(a, path);
	char *slash = strrchr(d, '/');
	if (!slash)
		return;
	*slash = '\0';
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* A temp name next to path, unique to this process and call. */
static char *temp_next_to(arena_t *a, const char *path)
{
	char id[48];
	id_new(id, sizeof(id), "");
	return arena_printf(a, "%s.tmp-%d-%s", path, (int)getpid(), id);
}

bool storage_is_s3(void)
{
	return g_config.storage_backend && !strcmp(g_config.storage_backend, "s3");
}

int storage_put(arena_t *a, const char *key, const void *data, size_t len)
{
	return storage_is_s3() ? s3_put(a, key, data, len) : storage_put_local(a, key, data, len);
}

int storage_put_local(arena_t *a, const char *key, const void *data, size_t len)
{
	char *path = storage_path(a, key);
	if (mkdirs_for(a, path) != 0)
		return -1;
	char *tmp = temp_next_to(a, path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	if (rc == 0)
		rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc != 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	fsync_dir_of(a, path);
	return 0;
}

int storage_promote(arena_t *a, const char *key)
{
	if (!storage_is_s3())
		return 0;
	char *path = storage_path(a, key);
	if (s3_put_file(a, key, path))
		return -1;
	unlink(path);
	return 0;
}

static void temp_release(void *data)
{
	unlink(data);
}

int storage_fetch(arena_t *a, const char *key, char **path)
{
	if (!storage_is_s3()) {
		*path = storage_path(a, key);
		return access(*path, R_OK) == 0 ? 0 : errno == ENOENT ? 1 : -1;
	}
	*path = temp_next_to(a, storage_path(a, ".fetch/object"));
	if (mkdirs_for(a, *path))
		return -1;
	int rc = s3_get_file(a, key, *path);
	if (rc == 0)
		arena_defer(a, temp_release, *path);
	return rc;
}

char *storage_accel_uri(arena_t *a, const char *key)
{
	if (!storage_is_s3())
		return arena_printf(a, "/_tessera/filedata/%s", key);
	char *url = s3_presign(a, s3_config_target(), "GET", key, NULL, g_config.s3_presign_ttl,
			       time(NULL));
	const char *q = url ? strchr(url, '?') : NULL;
	/* (No URL only with an endpoint config.c refuses: then a JSON 404.) */
	return q ? arena_printf(a, "/_tessera/s3data/%s%s", key, q)
		 : arena_strdup(a, "/_tessera/files/missing");
}

bool storage_exists(arena_t *a, const char *key)
{
	if (storage_is_s3())
		return s3_exists(a, key) == 1;
	struct stat sb;
	return stat(storage_path(a, key), &sb) == 0;
}

int storage_remove(arena_t *a, const char *key)
{
	int rc = unlink(storage_path(a, key)) == 0 || errno == ENOENT ? 0 : -1;
	return storage_is_s3() ? s3_delete(a, key) | rc : rc;
}

/* Points link (a name in dir) at target, replacing it atomically. */
static int link_replace(arena_t *a, const char *dir, const char *name, const char *target)
{
	char *path = arena_printf(a, "%s/%s", dir, name);
	char *tmp = temp_next_to(a, path);
	if (symlink(target, tmp) != 0)
		return -1;
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int storage_publish(arena_t *a, const char *tenant, const char *file_id, int version,
		    const char *meta, bool is_public)
{
	char *dir_key = storage_file_dir(a, tenant, file_id);
	char *dir = storage_path(a, dir_key);
	/* The version's number ends the meta text: njs names the bucket's
	 * object by it (the `current` link points at no local file there). */
	char *text = arena_printf(a, "%s%d\n", meta, version);
	if (storage_put_local(a, arena_printf(a, "%s/meta", dir_key), text, strlen(text)) != 0 ||
	    link_replace(a, dir, "current", arena_printf(a, "%d", version)) != 0)
		return -1;
	char *pub = arena_printf(a, "%s/public", dir);
	if (is_public)
		return link_replace(a, dir, "public", "current");
	return unlink(pub) == 0 || errno == ENOENT ? 0 : -1;
}

void storage_unpublish(arena_t *a, const char *tenant, const char *file_id)
{
	char *dir = storage_path(a, storage_file_dir(a, tenant, file_id));
	static const char *const names[] = { "public", "current", "meta" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(arena_printf(a, "%s/%s", dir, names[i]));
}

/* Removes every entry of dir (one level; subdirectories recursively). */
static int remove_tree(arena_t *a, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = arena_printf(a, "%s/%s", dir, e->d_name);
		struct stat sb;
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			rc |= remove_tree(a, p);
		else if (unlink(p) != 0 && errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	if (rmdir(dir) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

/* Removes the directory key on disk and, with S3, every object under it. */
static int remove_prefix(arena_t *a, const char *key)
{
	int rc = remove_tree(a, storage_path(a, key));
	return storage_is_s3() ? s3_delete_prefix(a, arena_printf(a, "%s/", key)) | rc : rc;
}

int storage_remove_file(arena_t *a, const char *tenant, const char *file_id)
{
	return remove_prefix(a, storage_file_dir(a, tenant, file_id));
}

void storage_remove_variants(arena_t *a, const char *tenant, const char *file_id)
{
	remove_prefix(a, arena_printf(a, "%s/variants", storage_file_dir(a, tenant, file_id)));
}

struct mapping {
	void *addr;
	size_t len;
};

static void mapping_release(void *data)
{
	struct mapping *m = data;
	munmap(m->addr, m->len);
}

int storage_map(arena_t *a, const char *path, const unsigned char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -1;
	}
	*len = (size_t)sb.st_size;
	*data = (const unsigned char *)"";
	if (*len == 0) {
		close(fd);
		return 0;
	}
	void *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	struct mapping *m = arena_alloc(a, sizeof(*m));
	m->addr = p;
	m->len = *len;
	arena_defer(a, mapping_release, m);
	*data = p;
	return 0;
}
