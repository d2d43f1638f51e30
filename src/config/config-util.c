/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config/config-util.h"
#include "shared/log.h"

bool config_name_is_valid(const char *name) {
        size_t n;

        if (isempty(name) || name[0] == '.')
                return false;
        n = strnlen(name, CONFIG_NAME_MAX + 1);
        if (n > CONFIG_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!ascii_isalpha(name[i]) && !ascii_isdigit(name[i]) && !strchr("_.@-", name[i]))
                        return false;
        return true;
}

/* Keys that can be written as "$.key" in a JSON path. */
static bool key_is_identifier(const char *key) {
        if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z') || *key == '_'))
                return false;
        for (const char *p = key; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return strlen(key) <= 64;
}

int config_verror(char **ret_error, const char *source, const char *path, const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!ret_error)
                return -EINVAL;
        r = vasprintf_safe(&msg, fmt, ap);
        if (r < 0)
                return r;
        if (source)
                r = asprintf_safe(ret_error, "%s: %s: %s", source, path, msg);
        else
                r = asprintf_safe(ret_error, "%s: %s", path, msg);
        return r < 0 ? r : -EINVAL;
}

int config_error(char **ret_error, const char *source, const char *path, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = config_verror(ret_error, source, path, fmt, ap);
        va_end(ap);
        return r;
}

char *config_path_key(const char *parent, const char *key) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (key_is_identifier(key)) {
                if (asprintf_safe(&buf, "%s.%s", parent, key) < 0)
                        return NULL;
                return buf;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        fprintf(f, "%s[\"", parent);
        for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputs("\"]", f);
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return NULL;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int config_check_keys(json_t *obj, const char *const *allowed, const char *source, const char *path,
                      char **ret_error) {
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v) {
                _cleanup_free_ char *kp = NULL, *list = NULL;
                bool found = false;
                size_t n = 0;

                for (const char *const *a = allowed; *a; a++)
                        if (streq(*a, key)) {
                                found = true;
                                break;
                        }
                if (found)
                        continue;

                for (const char *const *a = allowed; *a; a++)
                        n += strlen(*a) + 2;
                list = malloc(n + 1);
                kp = config_path_key(path, key);
                if (!list || !kp)
                        return -ENOMEM;
                list[0] = 0;
                for (const char *const *a = allowed; *a; a++) {
                        if (a != allowed)
                                strcat(list, ", ");
                        strcat(list, *a);
                }
                return config_error(ret_error, source, kp, "unknown key (allowed: %s)", list);
        }
        return 0;
}

const char *config_json_string(json_t *v) {
        const char *s;

        if (!json_is_string(v))
                return NULL;
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return NULL;
        return s;
}

/* Whether 'path' is dir/NAME, comparing runs of slashes as one. */
static bool path_is_in_dir(const char *path, const char *dir, const char *name) {
        for (;;) {
                if (*dir == '/') {
                        if (*path != '/')
                                return false;
                        dir += strspn(dir, "/");
                        path += strspn(path, "/");
                        if (*dir == 0)
                                return streq(path, name);
                } else if (*dir == 0)
                        return *path == '/' && streq(path + strspn(path, "/"), name);
                else if (*dir++ != *path++)
                        return false;
        }
}

bool config_json_uses_credential(json_t *doc, const char *name) {
        const char *key, *v, *dir;
        json_t *x;
        size_t i;

        if ((v = config_json_string(doc))) {
                if (strncmp(v, "cred:", 5) == 0)
                        return streq(v + 5, name);
                dir = getenv("CREDENTIALS_DIRECTORY");
                return v[0] == '/' && dir && dir[0] == '/' && path_is_in_dir(v, dir, name);
        }
        if (json_is_object(doc)) {
                json_object_foreach(doc, key, x)
                        if (config_json_uses_credential(x, name))
                                return true;
        } else if (json_is_array(doc))
                json_array_foreach(doc, i, x)
                        if (config_json_uses_credential(x, name))
                                return true;
        return false;
}

static void json_wipe_strings(json_t *v) {
        const char *key;
        json_t *x;
        size_t i;

        if (json_is_string(v))
                explicit_bzero((char *) json_string_value(v), json_string_length(v));
        else if (json_is_object(v)) {
                json_object_foreach(v, key, x)
                        json_wipe_strings(x);
        } else if (json_is_array(v))
                json_array_foreach(v, i, x)
                        json_wipe_strings(x);
}

void config_json_wipe_decref(json_t *v) {
        if (v && v->refcount == 1)
                json_wipe_strings(v);
        json_decref(v);
}

/* As sshd's StrictModes: what runbookd runs is decided by files only root or runbookd's own user
 * can change. 'st' describes 'path' (opened); its directory is checked too. 0 or -EPERM. */
int config_check_trusted(const char *path, const struct stat *st, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        struct stat dst;
        const char *what = "file";
        char *slash;

        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash)
                *(slash == dir ? slash + 1 : slash) = 0;
        else
                strcpy(dir, ".");

        for (int i = 0; i < 2; i++) {
                const struct stat *s = st;

                if (i == 1) {
                        if (stat(dir, &dst) < 0)
                                return 0;  /* the open succeeded: nothing more to learn */
                        s = &dst;
                        what = "directory";
                }
                if (s->st_uid != 0 && s->st_uid != geteuid()) {
                        if (ret_error && asprintf_safe(ret_error, "%s: refused: its %s%s%s is owned by uid %u; only root or "
                                                       "runbookd's own user (uid %u) may own it", path, what,
                                                       i == 1 ? " " : "", i == 1 ? dir : "", (unsigned) s->st_uid,
                                                       (unsigned) geteuid()) < 0)
                                return -ENOMEM;
                        return -EPERM;
                }
                if (s->st_mode & (S_IWGRP | S_IWOTH)) {
                        if (ret_error && asprintf_safe(ret_error, "%s: refused: its %s%s%s is writable by %s (mode %04o); "
                                                       "only root or runbookd's own user may be able to change it "
                                                       "(chmod go-w)", path, what, i == 1 ? " " : "", i == 1 ? dir : "",
                                                       (s->st_mode & S_IWOTH) ? "others" : "its group",
                                                       (unsigned) (s->st_mode & 07777)) < 0)
                                return -ENOMEM;
                        return -EPERM;
                }
        }
        return 0;
}

int config_json_load_file(const char *path, size_t max_size, json_t **ret, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        json_error_t e;
        struct stat st;
        size_t n = 0;
        json_t *j;
        int r;

        /* O_NONBLOCK: never hang on a FIFO someone left in the directory */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                if (ret_error && asprintf_safe(ret_error, "%s: cannot open: %s", path, strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                if (ret_error && asprintf_safe(ret_error, "%s: cannot stat: %s", path, strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                if (ret_error && asprintf_safe(ret_error, "%s: not a regular file", path) < 0)
                        return -ENOMEM;
                return -EBADFD;
        }
        r = config_check_trusted(path, &st, ret_error);
        if (r < 0)
                return r;
        if ((uint64_t) st.st_size > max_size)
                goto too_large;

        buf = malloc(max_size + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, max_size + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        if (ret_error && asprintf_safe(ret_error, "%s: cannot read: %s", path, strerror(-r)) < 0)
                                return -ENOMEM;
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max_size)
                        goto too_large;
        }

        j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &e);
        if (!j) {
                log_debug("Failed to parse '%s': %s", path, e.text);
                if (ret_error && asprintf_safe(ret_error, "%s: line %d column %d: %s", path, e.line, e.column,
                                               e.text) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        *ret = j;
        return 0;

too_large:
        if (ret_error && asprintf_safe(ret_error, "%s: file is too large (maximum %zu bytes)", path, max_size) < 0)
                return -ENOMEM;
        return -EFBIG;
}

static int files_add_dir(const char *dir, const char *subdir, ConfigFile **files, size_t *n) {
        _cleanup_free_ char *p = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!dir)
                return 0;
        if (asprintf_safe(&p, "%s/%s", dir, subdir) < 0)
                return -ENOMEM;
        d = opendir(p);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                r = negative_errno();
                return log_debug_errno(r, "Failed to open '%s': %m", p);
        }
        for (;;) {
                ConfigFile *c;
                size_t len;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = log_debug_errno(negative_errno(), "Failed to read '%s': %m", p);
                        break;
                }
                len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len <= 5 || !streq(de->d_name + len - 5, ".json"))
                        continue;

                c = realloc(*files, (*n + 2) * sizeof(ConfigFile));
                if (!c) {
                        r = -ENOMEM;
                        break;
                }
                *files = c;
                c[*n] = (ConfigFile) {};
                c[*n + 1] = (ConfigFile) {};
                c[*n].name = strndup(de->d_name, len - 5);
                if (!c[*n].name || asprintf_safe(&c[*n].path, "%s/%s", p, de->d_name) < 0) {
                        free(c[*n].name);
                        c[*n].name = NULL;
                        r = -ENOMEM;
                        break;
                }
                (*n)++;
        }
        closedir(d);
        return r;
}

static int config_file_compare(const void *a, const void *b) {
        return strcmp(((const ConfigFile *) a)->name, ((const ConfigFile *) b)->name);
}

ConfigFile *config_files_free(ConfigFile *files) {
        if (!files)
                return NULL;
        for (ConfigFile *f = files; f->name; f++) {
                free(f->name);
                free(f->path);
        }
        free(files);
        return NULL;
}

int config_files_list(const char *vendor_dir, const char *config_dir, const char *subdir, ConfigFile **ret) {
        _cleanup_(config_files_freep) ConfigFile *vendor = NULL, *admin = NULL, *merged = NULL;
        size_t n_vendor = 0, n_admin = 0, i = 0, j = 0, k = 0;
        int r;

        r = files_add_dir(vendor_dir, subdir, &vendor, &n_vendor);
        if (r < 0)
                return r;
        r = files_add_dir(config_dir, subdir, &admin, &n_admin);
        if (r < 0)
                return r;
        if (n_vendor > 0)
                qsort(vendor, n_vendor, sizeof(ConfigFile), config_file_compare);
        if (n_admin > 0)
                qsort(admin, n_admin, sizeof(ConfigFile), config_file_compare);

        merged = calloc(n_vendor + n_admin + 1, sizeof(ConfigFile));
        if (!merged)
                return -ENOMEM;
        /* Merge the two sorted lists; on equal names the admin's file wins. Entries move over, so
         * that each list frees only what it still owns. */
        while (i < n_vendor || j < n_admin) {
                int c = i >= n_vendor ? 1 : j >= n_admin ? -1 : strcmp(vendor[i].name, admin[j].name);

                if (c < 0) {
                        merged[k++] = vendor[i];
                        vendor[i++].path = NULL;
                } else {
                        if (c == 0) {
                                log_debug("'%s' overrides '%s'.", admin[j].path, vendor[i].path);
                                i++;
                        }
                        merged[k++] = admin[j];
                        admin[j++].path = NULL;
                }
        }
        /* Free what was not moved: the vendor files that the admin's ones override. */
        for (size_t x = 0; x < n_vendor; x++)
                if (vendor[x].path) {
                        free(vendor[x].name);
                        free(vendor[x].path);
                }
        free(TAKE_PTR(vendor));
        free(TAKE_PTR(admin));
        *ret = TAKE_PTR(merged);
        return 0;
}

int config_dir_load(const char *vendor_dir, const char *config_dir, const char *subdir, const char *what,
                    ConfigLoadFunc load, void ***items, size_t *n_items, ConfigBroken **broken, size_t *n_broken) {
        _cleanup_(config_files_freep) ConfigFile *files = NULL;
        size_t n = 0;
        int r;

        r = config_files_list(vendor_dir, config_dir, subdir, &files);
        if (r < 0)
                return r;
        while (files[n].name)
                n++;

        *items = calloc(n + 1, sizeof(void *));
        *broken = calloc(n ?: 1, sizeof(ConfigBroken));
        if (!*items || !*broken)
                return -ENOMEM;

        /* 'files' is sorted by name, so both lists come out sorted. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *error = NULL;
                void *item = NULL;

                if (!config_name_is_valid(files[i].name))
                        r = config_error(&error, files[i].path, "$",
                                         "invalid %s name '%s' (allowed: letters, digits, '_', '.', '@', '-', "
                                         "at most %d, not starting with '.')", what, files[i].name, CONFIG_NAME_MAX);
                else
                        r = load(files[i].path, files[i].name, &item, &error);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        (*items)[(*n_items)++] = item;
                        continue;
                }

                log_debug_errno(r, "%c%s '%s' is broken: %s", toupper((unsigned char) what[0]), what + 1,
                                files[i].path, strna(error));
                if (config_broken_add(*broken, n_broken, files[i].name, files[i].path, r, &error) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int config_broken_add(ConfigBroken *broken, size_t *n, const char *name, const char *path, int r, char **error) {
        ConfigBroken *b = &broken[*n];

        if (!*error && asprintf_safe(error, "%s: %s", path, strerror(-r)) < 0)
                return -ENOMEM;
        b->name = strdup(name);
        b->file = strdup(path);
        b->error = TAKE_PTR(*error);
        (*n)++;
        return b->name && b->file ? 0 : -ENOMEM;
}

void config_broken_free_many(ConfigBroken *broken, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(broken[i].name);
                free(broken[i].file);
                free(broken[i].error);
        }
        free(broken);
}

const ConfigBroken *config_broken_find(const ConfigBroken *broken, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(broken[i].name, name))
                        return &broken[i];
        return NULL;
}

const void *config_find_by_name(void *const *items, size_t n, const char *name) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t m = lo + (hi - lo) / 2;
                int k = strcmp(name, *(char *const *) items[m]);

                if (k == 0)
                        return items[m];
                if (k < 0)
                        hi = m;
                else
                        lo = m + 1;
        }
        return NULL;
}

/* Reads $CREDENTIALS_DIRECTORY/NAME (NAME from "cred:NAME"). */
int config_read_credential(const char *ref, char **ret, size_t *ret_len, char **ret_error) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY"), *name = ref + strlen("cred:");
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        char *buf;
        size_t n = 0;

        if (!dir || !*dir) {
                (void) asprintf_safe(ret_error, "credential '%s' is not available: $CREDENTIALS_DIRECTORY is not set "
                                     "(give it to runbookd with LoadCredential=%s:PATH)", name, name);
                return -ENOKEY;
        }
        if (strchr(name, '/') || streq(name, "..") || streq(name, "."))
                return -EINVAL;
        if (asprintf_safe(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = -errno;
                (void) asprintf_safe(ret_error, "credential '%s' cannot be read from $CREDENTIALS_DIRECTORY: %s",
                                     name, strerror(-r));
                return r == -ENOENT ? -ENOKEY : r;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_CREDENTIAL_SIZE_MAX) {
                (void) asprintf_safe(ret_error, "credential '%s' is not a regular file of at most %d bytes",
                                     name, CONFIG_CREDENTIAL_SIZE_MAX);
                return -EFBIG;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        wipe_free(buf, (size_t) st.st_size + 1);
                        return k < 0 ? -errno : -EIO;
                }
                n += (size_t) k;
        }
        buf[n] = 0;
        *ret = buf;
        *ret_len = n;
        return 0;
}
