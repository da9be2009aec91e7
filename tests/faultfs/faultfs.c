/*
 * faultfs: an LD_PRELOAD shim that injects file-system errors into a dynamically linked
 * program, for evidentia's fault-injection tests (tests/cli/faults.rs). It interposes the libc
 * calls that write, create, sync, rename and link files; each call it does not fail is passed
 * to the real libc function unchanged.
 *
 * Driven by environment variables (read once, at load):
 *   FAULTFS_OP     write | fsync | rename | open-create | mkdir | read   (which calls to fail)
 *   FAULTFS_PATH   a substring of the target path, or with a final '$' its end; for calls on
 *                  a file descriptor the path is read from /proc/self/fd/N; for rename and
 *                  link either name may match
 *   FAULTFS_ERRNO  EIO | ENOSPC | EACCES | EROFS | EDQUOT | EPERM   (default EIO)
 *   FAULTFS_NTH    fail the k-th matching call and every one after it (default 1)
 *   FAULTFS_SHORT  1: (write only) the k-th matching write writes half of what it was given
 *                  and reports that; the next matching write fails with ENOSPC
 *   FAULTFS_LOG    a file; "loaded" is appended when the shim starts, and one line per
 *                  injected fault, so a test can prove the fault really happened
 *   FAULTFS_TRACE  set: also log every call of kind FAULTFS_OP, matching or not (to find
 *                  which paths a command writes)
 *
 * Build: cc -shared -fPIC -O1 -o libfaultfs.so faultfs.c -ldl
 * A statically linked program bypasses LD_PRELOAD: tests check the log for "loaded" and for
 * the injection, so such a program fails the test instead of passing silently.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum op { OP_NONE, OP_WRITE, OP_FSYNC, OP_RENAME, OP_OPEN_CREATE, OP_MKDIR, OP_READ };

static enum op fault_op = OP_NONE;
static const char *fault_path = "";
static int fault_errno = EIO;
static long fault_nth = 1;
static int fault_short = 0;
static int fault_trace = 0;
static const char *fault_log = NULL;
static long matched = 0;       /* matching calls so far */
static int short_done = 0;     /* the short write has happened */

static void log_line(const char *what, const char *path)
{
    if (!fault_log)
        return;
    /* The log is opened with the real open: it must never match a fault itself. */
    static int (*real_open)(const char *, int, ...);
    if (!real_open)
        real_open = dlsym(RTLD_NEXT, "open");
    static ssize_t (*real_write)(int, const void *, size_t);
    if (!real_write)
        real_write = dlsym(RTLD_NEXT, "write");
    int fd = real_open(fault_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    char line[4200];
    int n = snprintf(line, sizeof line, "%s %s\n", what, path ? path : "");
    if (n > (int)sizeof line - 1)
        n = sizeof line - 1;
    if (n > 0)
        real_write(fd, line, (size_t)n);
    close(fd);
}

static const struct { const char *name; int value; } errno_names[] = {
    {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EACCES", EACCES},
    {"EROFS", EROFS}, {"EDQUOT", EDQUOT}, {"EPERM", EPERM},
};
#define ERRNO_NAMES (sizeof errno_names / sizeof errno_names[0])

static int errno_named(const char *name)
{
    for (size_t i = 0; i < ERRNO_NAMES; i++)
        if (strcmp(name, errno_names[i].name) == 0)
            return errno_names[i].value;
    return 0;
}

static const char *errno_name(int value)
{
    for (size_t i = 0; i < ERRNO_NAMES; i++)
        if (errno_names[i].value == value)
            return errno_names[i].name;
    return "E?";
}

__attribute__((constructor)) static void faultfs_init(void)
{
    const char *op = getenv("FAULTFS_OP");
    const char *path = getenv("FAULTFS_PATH");
    const char *err = getenv("FAULTFS_ERRNO");
    const char *nth = getenv("FAULTFS_NTH");
    const char *shrt = getenv("FAULTFS_SHORT");
    fault_log = getenv("FAULTFS_LOG");
    if (op) {
        if (strcmp(op, "write") == 0) fault_op = OP_WRITE;
        else if (strcmp(op, "fsync") == 0) fault_op = OP_FSYNC;
        else if (strcmp(op, "rename") == 0) fault_op = OP_RENAME;
        else if (strcmp(op, "open-create") == 0) fault_op = OP_OPEN_CREATE;
        else if (strcmp(op, "mkdir") == 0) fault_op = OP_MKDIR;
        else if (strcmp(op, "read") == 0) fault_op = OP_READ;
        else {
            fprintf(stderr, "faultfs: unknown FAULTFS_OP %s\n", op);
            _exit(99);
        }
    }
    if (path) fault_path = path;
    if (err) {
        fault_errno = errno_named(err);
        if (!fault_errno) {
            fprintf(stderr, "faultfs: unknown FAULTFS_ERRNO %s\n", err);
            _exit(99);
        }
    }
    if (nth) fault_nth = atol(nth) > 0 ? atol(nth) : 1;
    fault_short = shrt && strcmp(shrt, "1") == 0;
    fault_trace = getenv("FAULTFS_TRACE") != NULL;
    log_line("loaded", "");
}

/* The path behind a file descriptor, or "" when it cannot be read. */
static void fd_path(int fd, char *out, size_t size)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
}

/* `path` as seen from directory `dirfd` (for the *at calls). */
static void at_path(int dirfd, const char *path, char *out, size_t size)
{
    if (path[0] == '/' || dirfd == AT_FDCWD) {
        snprintf(out, size, "%s", path);
        return;
    }
    char dir[4096];
    fd_path(dirfd, dir, sizeof dir);
    snprintf(out, size, "%s/%s", dir, path);
}

/* Whether `path` is one FAULTFS_PATH names. */
static int path_matches(const char *path)
{
    size_t want = strlen(fault_path);
    if (want > 0 && fault_path[want - 1] == '$') {
        size_t have = strlen(path);
        return have >= want - 1 && strncmp(path + have - (want - 1), fault_path, want - 1) == 0;
    }
    return strstr(path, fault_path) != NULL;
}

/* Whether this call (of kind `op` on `path`) is to fail; counts matching calls. */
static int should_fail(enum op op, const char *path)
{
    if (op == fault_op && fault_trace)
        log_line("call", path);
    if (op != fault_op || !path_matches(path))
        return 0;
    long n = __atomic_add_fetch(&matched, 1, __ATOMIC_SEQ_CST);
    return n >= fault_nth;
}

static int fail(const char *call, const char *path, int err)
{
    char what[64];
    snprintf(what, sizeof what, "injected %s %s", call, errno_name(err));
    log_line(what, path);
    errno = err;
    return -1;
}

#define REAL(name) \
    static __typeof__(name) *real_##name; \
    if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

/* ---- reads (a disk that returns EIO under verify, cat, export) ---- */

static int read_fault(int fd, char *path, size_t size)
{
    if (fault_op != OP_READ)
        return 0;
    fd_path(fd, path, size);
    return should_fail(OP_READ, path) ? fault_errno : 0;
}

ssize_t read(int fd, void *buf, size_t count)
{
    REAL(read);
    char path[4096];
    int err = read_fault(fd, path, sizeof path);
    if (err)
        return fail("read", path, err);
    return real_read(fd, buf, count);
}

ssize_t pread64(int fd, void *buf, size_t count, off_t offset)
{
    REAL(pread64);
    char path[4096];
    int err = read_fault(fd, path, sizeof path);
    if (err)
        return fail("pread64", path, err);
    return real_pread64(fd, buf, count, offset);
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
    REAL(pread);
    char path[4096];
    int err = read_fault(fd, path, sizeof path);
    if (err)
        return fail("pread", path, err);
    return real_pread(fd, buf, count, offset);
}

/* ---- writes ---- */

/* A matching write fails, or with FAULTFS_SHORT writes half once and then fails ENOSPC. */
static int write_fault(int fd, size_t *count, char *path, size_t size)
{
    if (fault_op != OP_WRITE)
        return 0;
    fd_path(fd, path, size);
    if (!should_fail(OP_WRITE, path))
        return 0;
    if (fault_short && !short_done && *count > 1) {
        short_done = 1;
        *count /= 2;
        log_line("injected write short", path);
        return 0;
    }
    return fault_short ? ENOSPC : fault_errno;
}

ssize_t write(int fd, const void *buf, size_t count)
{
    REAL(write);
    char path[4096];
    int err = write_fault(fd, &count, path, sizeof path);
    if (err)
        return fail("write", path, err);
    return real_write(fd, buf, count);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset)
{
    REAL(pwrite64);
    char path[4096];
    int err = write_fault(fd, &count, path, sizeof path);
    if (err)
        return fail("pwrite64", path, err);
    return real_pwrite64(fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    REAL(pwrite);
    char path[4096];
    int err = write_fault(fd, &count, path, sizeof path);
    if (err)
        return fail("pwrite", path, err);
    return real_pwrite(fd, buf, count, offset);
}

/* Vectored writes: a short write keeps only the first buffer, halved. */
static ssize_t vectored(int fd, const struct iovec *iov, int iovcnt, const char *call,
                        ssize_t (*real)(int, const struct iovec *, int))
{
    char path[4096];
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    size_t count = total;
    int err = write_fault(fd, &count, path, sizeof path);
    if (err)
        return fail(call, path, err);
    if (count < total && iovcnt > 0) {
        REAL(write);
        size_t first = iov[0].iov_len;
        return real_write(fd, iov[0].iov_base, first > 1 ? first / 2 : first);
    }
    return real(fd, iov, iovcnt);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    REAL(writev);
    return vectored(fd, iov, iovcnt, "writev", real_writev);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    REAL(pwritev);
    char path[4096];
    size_t count = 0;
    for (int i = 0; i < iovcnt; i++)
        count += iov[i].iov_len;
    int err = write_fault(fd, &count, path, sizeof path);
    if (err)
        return fail("pwritev", path, err);
    return real_pwritev(fd, iov, iovcnt, offset);
}

/* Copies between files (std::io::copy and fs::copy use these on Linux): fail on the target. */
ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t len,
                        unsigned flags)
{
    REAL(copy_file_range);
    char path[4096];
    int err = write_fault(out, &len, path, sizeof path);
    if (err)
        return fail("copy_file_range", path, err);
    return real_copy_file_range(in, in_off, out, out_off, len, flags);
}

ssize_t sendfile64(int out, int in, off_t *offset, size_t count)
{
    REAL(sendfile64);
    char path[4096];
    int err = write_fault(out, &count, path, sizeof path);
    if (err)
        return fail("sendfile", path, err);
    return real_sendfile64(out, in, offset, count);
}

ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    return sendfile64(out, in, offset, count);
}

/* rustix issues copy_file_range through libc's syscall(): interpose that one number and pass
 * every other system call through unchanged (six register-sized arguments, as the x86-64 and
 * aarch64 calling conventions allow). */
long syscall(long number, ...)
{
    REAL(syscall);
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_copy_file_range) {
        char path[4096];
        size_t len = (size_t)a[4];
        int err = write_fault((int)a[2], &len, path, sizeof path);
        if (err)
            return fail("copy_file_range", path, err);
        a[4] = (long)len;
    }
    return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t len, unsigned flags)
{
    REAL(splice);
    char path[4096];
    int err = write_fault(out, &len, path, sizeof path);
    if (err)
        return fail("splice", path, err);
    return real_splice(in, in_off, out, out_off, len, flags);
}

/* ---- durability ---- */

static int sync_fault(int fd, char *path, size_t size)
{
    if (fault_op != OP_FSYNC)
        return 0;
    fd_path(fd, path, size);
    return should_fail(OP_FSYNC, path);
}

int fsync(int fd)
{
    REAL(fsync);
    char path[4096];
    if (sync_fault(fd, path, sizeof path))
        return fail("fsync", path, fault_errno);
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    char path[4096];
    if (sync_fault(fd, path, sizeof path))
        return fail("fdatasync", path, fault_errno);
    return real_fdatasync(fd);
}

int syncfs(int fd)
{
    REAL(syncfs);
    char path[4096];
    if (sync_fault(fd, path, sizeof path))
        return fail("syncfs", path, fault_errno);
    return real_syncfs(fd);
}

/* ---- renames and links (either name may match) ---- */

static int rename_fault(int olddir, const char *old, int newdir, const char *new, char *path,
                        size_t size)
{
    if (fault_op != OP_RENAME)
        return 0;
    char from[4096];
    at_path(olddir, old, from, sizeof from);
    at_path(newdir, new, path, size);
    if (!path_matches(path))
        snprintf(path, size, "%s", from);
    return should_fail(OP_RENAME, path);
}

int rename(const char *old, const char *new)
{
    REAL(rename);
    char path[4096];
    if (rename_fault(AT_FDCWD, old, AT_FDCWD, new, path, sizeof path))
        return fail("rename", path, fault_errno);
    return real_rename(old, new);
}

int renameat(int olddir, const char *old, int newdir, const char *new)
{
    REAL(renameat);
    char path[4096];
    if (rename_fault(olddir, old, newdir, new, path, sizeof path))
        return fail("renameat", path, fault_errno);
    return real_renameat(olddir, old, newdir, new);
}

int renameat2(int olddir, const char *old, int newdir, const char *new, unsigned flags)
{
    REAL(renameat2);
    char path[4096];
    if (rename_fault(olddir, old, newdir, new, path, sizeof path))
        return fail("renameat2", path, fault_errno);
    return real_renameat2(olddir, old, newdir, new, flags);
}

int link(const char *old, const char *new)
{
    REAL(link);
    char path[4096];
    if (rename_fault(AT_FDCWD, old, AT_FDCWD, new, path, sizeof path))
        return fail("link", path, fault_errno);
    return real_link(old, new);
}

int linkat(int olddir, const char *old, int newdir, const char *new, int flags)
{
    REAL(linkat);
    char path[4096];
    if (rename_fault(olddir, old, newdir, new, path, sizeof path))
        return fail("linkat", path, fault_errno);
    return real_linkat(olddir, old, newdir, new, flags);
}

/* ---- creating files and directories ---- */

/* O_TMPFILE includes O_DIRECTORY's bit, so it is tested whole. */
static int creates(int flags)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

static int create_fault(int dirfd, const char *name, int flags, char *path, size_t size)
{
    if (fault_op != OP_OPEN_CREATE || !creates(flags))
        return 0;
    at_path(dirfd, name, path, size);
    return should_fail(OP_OPEN_CREATE, path);
}

static mode_t mode_arg(int flags, va_list args)
{
    return creates(flags) ? (mode_t)va_arg(args, int) : 0;
}

#define OPEN_AT(name, dirfd_expr)                                                   \
    int name(OPEN_PARAMS_##name, int flags, ...)                                   \
    {                                                                             \
        REAL(name);                                                               \
        va_list args;                                                             \
        va_start(args, flags);                                                    \
        mode_t mode = mode_arg(flags, args);                                      \
        va_end(args);                                                             \
        char target[4096];                                                        \
        if (create_fault(dirfd_expr, path, flags, target, sizeof target))         \
            return fail(#name, target, fault_errno);                              \
        return OPEN_CALL_##name;                                                  \
    }

#define OPEN_PARAMS_open const char *path
#define OPEN_CALL_open real_open(path, flags, mode)
#define OPEN_PARAMS_open64 const char *path
#define OPEN_CALL_open64 real_open64(path, flags, mode)
#define OPEN_PARAMS_openat int dirfd, const char *path
#define OPEN_CALL_openat real_openat(dirfd, path, flags, mode)
#define OPEN_PARAMS_openat64 int dirfd, const char *path
#define OPEN_CALL_openat64 real_openat64(dirfd, path, flags, mode)

OPEN_AT(open, AT_FDCWD)
OPEN_AT(open64, AT_FDCWD)
OPEN_AT(openat, dirfd)
OPEN_AT(openat64, dirfd)

int creat(const char *path, mode_t mode)
{
    return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
    return open64(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int mkdir(const char *path, mode_t mode)
{
    REAL(mkdir);
    if (fault_op == OP_MKDIR && should_fail(OP_MKDIR, path))
        return fail("mkdir", path, fault_errno);
    return real_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
    REAL(mkdirat);
    char target[4096];
    if (fault_op == OP_MKDIR) {
        at_path(dirfd, path, target, sizeof target);
        if (should_fail(OP_MKDIR, target))
            return fail("mkdirat", target, fault_errno);
    }
    return real_mkdirat(dirfd, path, mode);
}
