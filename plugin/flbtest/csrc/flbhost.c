/*
 * flbhost: loads a Fluent Bit Go output plugin (a .so built with
 * `go build -buildmode=c-shared`) the way Fluent Bit 5.1 does and drives it
 * with chunks read from a chunk stream.
 *
 * "§n" refers to /work/shared/reference/fluent-bit-go-abi.md. Where this file
 * does something differently from Fluent Bit, the comment says so, and
 * ../README.md lists all of those places.
 *
 * Chunk stream: records of
 *     u32le tag_len | tag | u32le chunk_len | chunk (msgpack events, §6)
 * that end at EOF on a record boundary. The input may be a regular file, a
 * FIFO or stdin ("-"), so a test can keep feeding it.
 *
 * stdout carries only machine-readable JSON lines (per-route outcomes with
 * -v, per-flush lines with -vv, and always one final "summary" line). The
 * host moves fd 1 to fd 2 before it loads the plugin, so whatever the plugin
 * prints goes to stderr and cannot corrupt the results.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define HOST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOST_ASAN 1
#endif
#endif
#ifdef HOST_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* ------------------------------------------------------------------------
 * §3: the structs shared with the plugin, byte for byte (64-bit).
 * ---------------------------------------------------------------------- */

#define FLB_ERROR 0
#define FLB_OK    1
#define FLB_RETRY 2

#define FLB_PROXY_OUTPUT_PLUGIN 2
#define FLB_PROXY_GOLANG        11

#define FLB_OUT_RETRY_UNLIMITED -1
#define FLB_OUT_RETRY_NONE       0

struct flb_config_map;
struct flb_input_instance;
struct flb_custom_instance;
struct flb_output_instance;
struct flb_plugin_proxy;

struct flb_plugin_proxy_def {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
    int event_type;
    struct flb_config_map *config_map; /* 5.x; fluent-bit-go never writes it */
};

struct flb_api {
    const char *(*output_get_property)(const char *, struct flb_output_instance *);
    const char *(*input_get_property)(const char *, struct flb_input_instance *);
    void *(*output_get_cmt_instance)(struct flb_output_instance *);
    void *(*input_get_cmt_instance)(struct flb_input_instance *);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(struct flb_input_instance *, int);
    int (*output_log_check)(struct flb_output_instance *, int);
    const char *(*custom_get_property)(const char *, struct flb_custom_instance *);
    int (*custom_log_check)(struct flb_custom_instance *, int);
};

struct flb_plugin_proxy_context {
    void *remote_context; /* FLBPluginSetContext writes field 0 */
    struct flb_plugin_proxy *proxy;
};

/* §2: the host's C types, not the cgo-generated prototypes. */
typedef int (*pre_register_fn)(int hot_reloading);
typedef int (*register_fn)(struct flb_plugin_proxy_def *);
typedef int (*pre_run_fn)(int enable_hot_reload);
typedef void (*pre_exit_fn)(int shutdown_by_hot_reloading);
typedef void (*unregister_fn)(struct flb_plugin_proxy_def *);

struct flbgo_output_plugin {
    char *name;
    void *api;
    void *o_ins;
    struct flb_plugin_proxy_context *context;
    int (*cb_init)(struct flbgo_output_plugin *);
    int (*cb_flush)(const void *, size_t, const char *);
    int (*cb_flush_ctx)(void *, const void *, size_t, char *);
    int (*cb_exit)(void);
    int (*cb_exit_ctx)(void *);
};

_Static_assert(sizeof(void *) == 8, "flbhost models the 64-bit ABI only");
_Static_assert(offsetof(struct flb_plugin_proxy_def, name) == 16, "def.name");
_Static_assert(offsetof(struct flb_plugin_proxy_def, event_type) == 32, "def.event_type");
_Static_assert(offsetof(struct flb_plugin_proxy_def, config_map) == 40, "def.config_map");
_Static_assert(sizeof(struct flb_plugin_proxy_def) == 48, "def size");
_Static_assert(sizeof(struct flb_api) == 9 * sizeof(void *), "flb_api size");
_Static_assert(offsetof(struct flbgo_output_plugin, context) == 24, "plugin.context");
_Static_assert(sizeof(struct flbgo_output_plugin) == 72, "plugin size");

/* One loaded .so: Fluent Bit's flb_plugin_proxy plus proxy->data. */
struct flb_plugin_proxy {
    void *dso;
    struct flb_plugin_proxy_def *def;
    struct flbgo_output_plugin plugin; /* one per .so, re-pointed per Init (§8) */
};

/* ------------------------------------------------------------------------
 * Host state
 * ---------------------------------------------------------------------- */

enum exit_code {
    EXIT_USAGE = 1,       /* bad arguments, host setup or input I/O failure */
    EXIT_LOAD = 2,        /* dlopen, registration, symbols, unknown output name */
    EXIT_INIT = 3,        /* an FLBPluginInit returned <= 0 */
    EXIT_STREAM = 4,      /* chunk stream truncated or corrupt */
};

enum stack_mode { STACK_ALTERNATE, STACK_THREAD, STACK_CORO };

enum outcome { OUT_DELIVERED, OUT_ERROR, OUT_RETRY_LIMIT, OUT_NO_RETRIES, OUT_ABANDONED };

static const char *const outcome_names[] = {
    "delivered", "error", "retry_limit", "no_retries", "abandoned",
};

struct prop {
    char *key;
    char *val; /* NULL when the value is empty (§5) */
    struct prop *next;
};

struct counts {
    uint64_t flush_calls, ok, retry, error, invalid_rc, mutated_buffers;
    uint64_t routes, outcomes[5], max_attempts, flush_ns;
};

struct latencies {
    uint64_t *ns;
    size_t len, cap;
};

/* The host's [OUTPUT] instance; Go only passes its address back (§4, §5). */
struct flb_output_instance {
    int id;
    char *requested_name; /* -o NAME ("" = whatever the plugin registered) */
    char *name;           /* alias, or "<plugin>.<id>" as Fluent Bit names it */
    char *alias;
    struct prop *props, **props_tail;
    int retry_limit;
    bool retry_limit_set;
    int log_level;
    struct flb_plugin_proxy_context *context;
    /* guarded by E.mu */
    struct counts c;
    struct latencies lat;
    int inflight, max_inflight;
};

struct chunk {
    uint64_t seq;
    char *tag;
    uint32_t tag_len;
    unsigned char *data;
    uint32_t size;
    int pending; /* routes not finished yet */
};

struct job {
    struct chunk *ch;
    struct flb_output_instance *ins;
    int retries;  /* Fluent Bit's flb_task_retry.attempts */
    int attempts; /* flush calls made */
    uint64_t due_ns;
    struct job *next;
};

struct worker {
    int id;
    pthread_t th;
    void *altstack;
    char *co_map; /* guard page + coroutine stack */
    size_t co_map_len;
    char *co_stack;
    size_t co_size;
    ucontext_t home, co;
    /* the call in progress */
    struct job *job;
    unsigned char *buf;
    char *tag;
    int rc;
    uint64_t ns;
    uint64_t flushes, coro_flushes;
#ifdef HOST_ASAN
    void *fake_stack;
    const void *home_bottom;
    size_t home_size;
#endif
};

static struct {
    const char *plugin_path;
    const char *input_path;
    int workers;
    enum stack_mode stack;
    bool stack_set;
    size_t coro_stack;
    const char *retry_limit;
    long retry_base_ms, retry_cap_ms;
    long interval_ms, grace_ms, queue_limit;
    bool hot_reload;
    long reload_every;
    int verbose;
} O = {
    .input_path = "-",
    .coro_stack = 64 * 1024,   /* §8: coro_stack_size default at HEAD */
    .retry_limit = "1",        /* §7: default retry_limit */
    .retry_base_ms = 5000,     /* §7: scheduler.base 5 s */
    .retry_cap_ms = 2000000,   /* §7: scheduler.cap 2000 s */
    .grace_ms = 5000,          /* [SERVICE] grace default */
    .queue_limit = 256,
};

/* The job queue, shared by the reader (main thread) and the workers. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* a job became ready, or the pool stops */
    pthread_cond_t done_cv;  /* a chunk finished or a call returned */
    struct job *ready, *ready_tail;
    struct job *delayed;     /* retries, sorted by due_ns */
    size_t outstanding;      /* chunks with unfinished routes */
    int inflight;
    bool shutting_down;      /* retries are due at once (flb_sched) */
    bool discard;            /* a RETRY now abandons the route */
    bool stopping;           /* the pool exits */
    uint64_t rng;
    uint64_t coro_flushes, thread_flushes;
} E = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
};

static struct flb_output_instance *instances;
static int n_instances;
static struct flb_plugin_proxy *proxy;
static char *plugin_name; /* copy of def->name; Go frees its own at Unregister */
static struct worker *workers;
static int n_threads;
static FILE *results;
static struct flb_api api;
static _Atomic bool in_init; /* property lookups are only meaningful during Init (§5) */
static _Atomic uint64_t lookups_outside_init;
static _Thread_local struct worker *tls_worker;

static uint64_t chunks_read, bytes_read, reloads;
static const char *exit_reason = "eof";
static char input_error[256];
static const char *failed_instance;
static int failed_rc;

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t reload_requested;
static int sigpipe_fds[2] = {-1, -1};

/* ------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------- */

static void logmsg(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logmsg(const char *level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n = snprintf(line, sizeof(line), "[flbhost] [%s] ", level);

    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        logmsg("error", "out of memory");
        abort();
    }
    return p;
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p) {
        logmsg("error", "out of memory");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static struct timespec to_timespec(uint64_t ns)
{
    struct timespec ts = {
        .tv_sec = (time_t) (ns / 1000000000u),
        .tv_nsec = (long) (ns % 1000000000u),
    };
    return ts;
}

static void wait_until(pthread_cond_t *cv, uint64_t deadline_ns)
{
    struct timespec ts = to_timespec(deadline_ns);

    pthread_cond_timedwait(cv, &E.mu, &ts);
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* xorshift64*; only used for retry jitter, under E.mu */
static uint64_t next_random(void)
{
    E.rng ^= E.rng >> 12;
    E.rng ^= E.rng << 25;
    E.rng ^= E.rng >> 27;
    return E.rng * 2685821657736338717ull;
}

static void json_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        }
        else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        }
        else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    if (s) {
        json_string(f, s, strlen(s));
    }
    else {
        fputs("null", f);
    }
}

/* ------------------------------------------------------------------------
 * Signals (§1): installed before dlopen, with SA_ONSTACK, for the set
 * Fluent Bit's flb_signal_init() covers (SIGCONT's state dump is left out).
 * ---------------------------------------------------------------------- */

static void wake_main(void)
{
    ssize_t r = write(sigpipe_fds[1], "", 1);

    (void) r; /* a full pipe already holds a wake-up */
}

static void on_async_signal(int sig)
{
    int saved = errno;

    if (sig == SIGHUP) {
        reload_requested = 1;
    }
    else {
        stop_signal = sig;
    }
    wake_main();
    errno = saved;
}

static void on_fatal_signal(int sig)
{
    static const char segv[] = "[flbhost] [engine] caught signal (SIGSEGV)\n";
    static const char fpe[] = "[flbhost] [engine] caught signal (SIGFPE)\n";
    ssize_t r;

    if (sig == SIGSEGV) {
        r = write(STDERR_FILENO, segv, sizeof(segv) - 1);
    }
    else {
        r = write(STDERR_FILENO, fpe, sizeof(fpe) - 1);
    }
    (void) r;
    /* Fluent Bit prints the signal and aborts, as here. */
    signal(SIGABRT, SIG_DFL);
    abort();
}

static int install_signals(void)
{
    static const int async_sigs[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM};
    static const int fatal_sigs[] = {SIGSEGV, SIGFPE};
    struct sigaction sa;

    if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        logmsg("error", "pipe: %s", strerror(errno));
        return -1;
    }

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    /* SA_RESTART matches glibc signal(), which Fluent Bit uses. */
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    sa.sa_handler = on_async_signal;
    for (size_t i = 0; i < sizeof(async_sigs) / sizeof(async_sigs[0]); i++) {
        if (sigaction(async_sigs[i], &sa, NULL) != 0) {
            return -1;
        }
    }
    sa.sa_handler = on_fatal_signal;
    for (size_t i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++) {
        if (sigaction(fatal_sigs[i], &sa, NULL) != 0) {
            return -1;
        }
    }
    return 0;
}

/* An alternate signal stack, so a coroutine stack overflow that hits the
 * guard page still reaches the SIGSEGV handler. */
#define ALTSTACK_SIZE (64 * 1024)

static int use_altstack(void *mem)
{
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};

    return sigaltstack(&ss, NULL);
}

static void disable_altstack(void)
{
    stack_t ss = {.ss_flags = SS_DISABLE};

    sigaltstack(&ss, NULL);
}

static void drain_sigpipe(void)
{
    char buf[64];

    while (read(sigpipe_fds[0], buf, sizeof(buf)) > 0) {
    }
}

/* Sleep up to ms, waking early for a stop signal. */
static void pause_ms(long ms)
{
    uint64_t deadline = now_ns() + (uint64_t) ms * 1000000u;

    while (!stop_signal) {
        uint64_t now = now_ns();
        struct pollfd pf = {.fd = sigpipe_fds[0], .events = POLLIN};

        if (now >= deadline) {
            return;
        }
        if (poll(&pf, 1, (int) ((deadline - now + 999999) / 1000000)) > 0) {
            drain_sigpipe();
        }
    }
}

/* ------------------------------------------------------------------------
 * struct flb_api (§3, §5)
 * ---------------------------------------------------------------------- */

/* flb_kv_get_key_value: case-insensitive, exact length, first match wins;
 * NULL for a missing key and for an empty value. */
static const char *host_output_get_property(const char *key, struct flb_output_instance *ins)
{
    size_t len;

    if (!in_init) {
        /* Go's FLBPluginConfigKey reads plugin->o_ins, which points at the
         * instance initialised last: a lookup now reads the wrong instance
         * as soon as there are two. */
        lookups_outside_init++;
    }
    if (!key || !ins) {
        return NULL;
    }
    len = strlen(key);
    if (len == 0) {
        return NULL;
    }
    for (struct prop *p = ins->props; p; p = p->next) {
        if (strlen(p->key) == len && strncasecmp(p->key, key, len) == 0) {
            return p->val;
        }
    }
    return NULL;
}

static const char *host_input_get_property(const char *key, struct flb_input_instance *ins)
{
    (void) key;
    (void) ins;
    return NULL;
}

static const char *host_custom_get_property(const char *key, struct flb_custom_instance *ins)
{
    (void) key;
    (void) ins;
    return NULL;
}

static void *host_output_get_cmt_instance(struct flb_output_instance *ins)
{
    (void) ins;
    return NULL;
}

static void *host_input_get_cmt_instance(struct flb_input_instance *ins)
{
    (void) ins;
    return NULL;
}

static const char *const level_names[] = {"off", "error", "warn", "info", "debug", "trace"};

static void host_log_print(int type, const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "[flbhost] [%s] %s (%s:%d)\n",
            type >= 1 && type <= 5 ? level_names[type] : "log", msg, file ? file : "?", line);
}

static int host_input_log_check(struct flb_input_instance *ins, int level)
{
    (void) ins;
    (void) level;
    return 0;
}

static int host_output_log_check(struct flb_output_instance *ins, int level)
{
    return ins && ins->log_level >= level;
}

static int host_custom_log_check(struct flb_custom_instance *ins, int level)
{
    (void) ins;
    (void) level;
    return 0;
}

/* ------------------------------------------------------------------------
 * Configuration: instances and their properties (§5)
 * ---------------------------------------------------------------------- */

static int log_level_from(const char *v)
{
    if (!strcasecmp(v, "warning")) {
        return 2;
    }
    for (int i = 0; i < 6; i++) {
        if (!strcasecmp(v, level_names[i])) {
            return i;
        }
    }
    return -1;
}

/* flb_output_set_property's retry_limit parsing (§7). */
static int retry_limit_from(const char *v)
{
    long n;

    if (!v) {
        return 1;
    }
    if (!strcasecmp(v, "no_limits") || !strcasecmp(v, "false") || !strcasecmp(v, "off")) {
        return FLB_OUT_RETRY_UNLIMITED;
    }
    if (!strcasecmp(v, "no_retries")) {
        return FLB_OUT_RETRY_NONE;
    }
    n = atol(v);
    if (n <= 0 || n > INT_MAX) {
        logmsg("warn", "[config] invalid retry_limit. set default.");
        return 1;
    }
    return (int) n;
}

static void append(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *out = realloc(*out, *cap);
        if (!*out) {
            logmsg("error", "out of memory");
            abort();
        }
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

/*
 * ${VAR} and ${VAR:-default}, as flb_env_var_translate expands them. Unlike
 * Fluent Bit's parser this scans left to right without its quirks (it finds
 * the first '}' anywhere in the value), which only matters for odd values.
 */
static char *env_translate(const char *v)
{
    size_t cap = 0, len = 0;
    char *out = NULL;

    append(&out, &len, &cap, "", 0);
    while (*v) {
        const char *start = strstr(v, "${");
        const char *end = start ? strchr(start + 2, '}') : NULL;
        size_t name_len = end ? (size_t) (end - start - 2) : 0;
        char name[4096];
        char *sep;
        const char *def = NULL, *env;

        if (!end || name_len == 0 || name_len >= sizeof(name)) {
            append(&out, &len, &cap, v, strlen(v));
            break;
        }
        append(&out, &len, &cap, v, (size_t) (start - v));
        memcpy(name, start + 2, name_len);
        name[name_len] = '\0';
        sep = strchr(name, ':');
        if (sep && sep[1] == '-') {
            def = sep + 2;
            *sep = '\0';
        }
        env = getenv(name);
        if (env && !(def && *env == '\0')) {
            append(&out, &len, &cap, env, strlen(env));
        }
        else if (def) {
            append(&out, &len, &cap, def, strlen(def));
        }
        v = end + 1;
    }
    return out;
}

/* Keys flb_output_set_property consumes itself: they never reach the
 * plugin's property list (§5). */
static bool core_key(const char *k)
{
    static const char *const keys[] = {
        "match", "match_regex", "alias", "log_level", "log_suppress_interval",
        "host", "port", "ipv6", "retry_limit", "tls", "tls.verify",
        "tls.verify_hostname", "tls.debug", "tls.vhost", "tls.ca_path",
        "tls.ca_file", "tls.crt_file", "tls.key_file", "tls.key_passwd",
        "tls.min_version", "tls.max_version", "tls.ciphers", "tls.proxy.verify",
        "tls.proxy.verify_hostname", "tls.proxy.ca_path", "tls.proxy.ca_file",
        "tls.windows.certstore_name", "tls.windows.use_enterprise_store",
        "tls.windows.client_thumbprints", "storage.total_limit_size", "workers",
    };

    if (!strncasecmp(k, "net.", 4) || !strncasecmp(k, "oauth2", 6)) {
        return true;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!strcasecmp(k, keys[i])) {
            return true;
        }
    }
    return false;
}

static int set_property(struct flb_output_instance *ins, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char *key, *val;

    if (!eq || eq == kv) {
        logmsg("error", "property %s: want KEY=VALUE", kv);
        return -1;
    }
    key = strndup(kv, (size_t) (eq - kv));
    val = env_translate(eq + 1);
    if (!key) {
        abort();
    }
    if (*val == '\0') {
        free(val);
        val = NULL;
    }

    if (!core_key(key)) {
        struct prop *p = xcalloc(1, sizeof(*p));

        p->key = key;
        p->val = val;
        *ins->props_tail = p;
        ins->props_tail = &p->next;
        return 0;
    }

    if (!strcasecmp(key, "alias") && val) {
        free(ins->alias);
        ins->alias = xstrdup(val);
    }
    else if (!strcasecmp(key, "retry_limit")) {
        ins->retry_limit = retry_limit_from(val);
        ins->retry_limit_set = true;
    }
    else if (!strcasecmp(key, "log_level") && val) {
        ins->log_level = log_level_from(val);
        if (ins->log_level < 0) {
            logmsg("error", "[config] invalid log_level '%s'", val);
            free(key);
            free(val);
            return -1;
        }
    }
    else if (!strcasecmp(key, "workers")) {
        /* Simplification: one pool (-w) serves every instance. */
        logmsg("warn", "[config] workers=%s is consumed by the core; flbhost uses -w for all instances",
               val ? val : "");
    }
    free(key);
    free(val);
    return 0;
}

static struct flb_output_instance *add_instance(const char *name)
{
    struct flb_output_instance *ins;

    instances = realloc(instances, sizeof(*instances) * (size_t) (n_instances + 1));
    if (!instances) {
        abort();
    }
    ins = &instances[n_instances];
    memset(ins, 0, sizeof(*ins));
    ins->id = n_instances++;
    ins->requested_name = xstrdup(name);
    ins->props_tail = &ins->props;
    ins->log_level = 3; /* info */
    return ins;
}

/* ------------------------------------------------------------------------
 * Plugin lifecycle (§1, §2, §4)
 * ---------------------------------------------------------------------- */

static void *proxy_symbol(struct flb_plugin_proxy *p, const char *symbol)
{
    void *s;

    dlerror();
    s = dlsym(p->dso, symbol);
    if (dlerror() != NULL) {
        return NULL;
    }
    return s;
}

/* dlopen, PreRegister, Register and the symbol lookups of
 * flb_plugin_proxy_create/register and proxy_go_output_register. */
static struct flb_plugin_proxy *plugin_load(int hot_reloading)
{
    struct flb_plugin_proxy *p;
    const char *base = strrchr(O.plugin_path, '/');
    pre_register_fn pre_register;
    register_fn reg;
    int ret;

    /* flb_plugin_load_router sends flb-*.so to the C plugin loader (§1) */
    if (strncmp(base ? base + 1 : O.plugin_path, "flb-", 4) == 0) {
        logmsg("error", "[plugin] %s: Fluent Bit loads flb-*.so as a C plugin, not a Go proxy", O.plugin_path);
        return NULL;
    }
    p = xcalloc(1, sizeof(*p));
    p->dso = dlopen(O.plugin_path, RTLD_LAZY);
    if (!p->dso) {
        logmsg("error", "[proxy] error opening plugin %s: '%s'", O.plugin_path, dlerror());
        free(p);
        return NULL;
    }
    p->def = xcalloc(1, sizeof(*p->def));

    pre_register = (pre_register_fn) proxy_symbol(p, "FLBPluginPreRegister");
    if (pre_register && pre_register(hot_reloading) == -1) {
        logmsg("error", "[proxy] FLBPluginPreRegister(%d) returned -1", hot_reloading);
        goto fail;
    }
    reg = (register_fn) proxy_symbol(p, "FLBPluginRegister");
    if (!reg) {
        logmsg("error", "[proxy] %s does not export FLBPluginRegister", O.plugin_path);
        goto fail;
    }
    ret = reg(p->def);
    if (ret == -1) {
        logmsg("error", "[proxy] FLBPluginRegister returned -1");
        goto fail;
    }
    /* Fluent Bit silently skips a def it cannot use, which then surfaces as
     * an unknown output name; saying why is more useful here. */
    if (p->def->type != FLB_PROXY_OUTPUT_PLUGIN || p->def->proxy != FLB_PROXY_GOLANG) {
        logmsg("error", "[proxy] FLBPluginRegister wrote type=%d proxy=%d, want type=%d proxy=%d",
               p->def->type, p->def->proxy, FLB_PROXY_OUTPUT_PLUGIN, FLB_PROXY_GOLANG);
        goto fail;
    }
    if (!p->def->name) {
        logmsg("error", "[proxy] FLBPluginRegister left def->name NULL");
        goto fail;
    }
    if (p->def->event_type != 0 && p->def->event_type != 1) {
        logmsg("warn", "[proxy] def->event_type=%d: flbhost only delivers log chunks", p->def->event_type);
    }

    p->plugin.cb_init = (int (*)(struct flbgo_output_plugin *)) proxy_symbol(p, "FLBPluginInit");
    if (!p->plugin.cb_init) {
        logmsg("error", "[go proxy]: could not load FLBPluginInit symbol");
        goto fail;
    }
    p->plugin.cb_flush = (int (*)(const void *, size_t, const char *)) proxy_symbol(p, "FLBPluginFlush");
    p->plugin.cb_flush_ctx =
        (int (*)(void *, const void *, size_t, char *)) proxy_symbol(p, "FLBPluginFlushCtx");
    p->plugin.cb_exit = (int (*)(void)) proxy_symbol(p, "FLBPluginExit");
    p->plugin.cb_exit_ctx = (int (*)(void *)) proxy_symbol(p, "FLBPluginExitCtx");
    if (!p->plugin.cb_flush && !p->plugin.cb_flush_ctx) {
        /* Fluent Bit does not check and crashes on the first flush. */
        logmsg("error", "[go proxy]: neither FLBPluginFlushCtx nor FLBPluginFlush is exported "
                        "(Fluent Bit would crash on the first flush)");
        goto fail;
    }
    p->plugin.name = xstrdup(p->def->name);
    p->plugin.api = &api;
    return p;

fail:
    /* Fluent Bit leaves the handle open here; the process exits anyway. */
    free(p->def);
    free(p);
    return NULL;
}

/* flb_proxy_output_cb_destroy: Unregister, free, dlclose (a no-op for a Go
 * .so, which is DF_1_NODELETE). */
static void plugin_destroy(struct flb_plugin_proxy *p)
{
    unregister_fn unregister = (unregister_fn) proxy_symbol(p, "FLBPluginUnregister");

    if (unregister) {
        unregister(p->def);
    }
    free(p->plugin.name);
    free(p->def);
    dlclose(p->dso);
    free(p);
}

static void name_instances(void)
{
    for (int i = 0; i < n_instances; i++) {
        struct flb_output_instance *ins = &instances[i];
        char buf[512];

        if (ins->name) {
            continue;
        }
        if (ins->alias) {
            ins->name = xstrdup(ins->alias);
        }
        else {
            snprintf(buf, sizeof(buf), "%s.%d", plugin_name, ins->id);
            ins->name = xstrdup(buf);
        }
    }
}

static int check_output_names(void)
{
    for (int i = 0; i < n_instances; i++) {
        const char *want = instances[i].requested_name;

        if (*want && strcasecmp(want, plugin_name) != 0) {
            logmsg("error", "[config] output %d: plugin '%s' does not exist (the .so registered '%s')", i,
                   want, plugin_name);
            return -1;
        }
    }
    return 0;
}

/* flb_output_new calloc()s one proxy context per instance at config time. */
static void create_contexts(void)
{
    for (int i = 0; i < n_instances; i++) {
        instances[i].context = xcalloc(1, sizeof(struct flb_plugin_proxy_context));
        instances[i].context->proxy = proxy;
    }
}

#ifdef HOST_ASAN
/* Sanitizer reports exit 23 (LeakSanitizer's own default), apart from the
 * host's exit codes 1-4. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "exitcode=23";
}
#endif

/*
 * FLBPluginSetContext malloc()s a one-byte key per Init that Go keeps only
 * in a sync.Map (§8). LeakSanitizer does not scan the Go heap, so it would
 * report those keys; keeping them reachable from here hides exactly that
 * known leak and still reports any other C memory a plugin loses.
 */
static void keep_remote_context(void *key)
{
#ifdef HOST_ASAN
    static void **keys;
    static size_t n, cap;

    if (!key) {
        return;
    }
    if (n == cap) {
        cap = cap ? cap * 2 : 16;
        keys = realloc(keys, cap * sizeof(*keys));
        if (!keys) {
            abort();
        }
    }
    keys[n++] = key;
#else
    (void) key;
#endif
}

/* flb_proxy_output_cb_exit for every live instance. Instances whose Init
 * never ran get ExitCtx(NULL), as in Fluent Bit after a failed startup. */
static void exit_instances(int by_hot_reload)
{
    for (int i = 0; i < n_instances; i++) {
        struct flb_output_instance *ins = &instances[i];
        struct flb_plugin_proxy_context *ctx = ins->context;
        pre_exit_fn pre_exit;

        if (!ctx) {
            continue;
        }
        pre_exit = (pre_exit_fn) proxy_symbol(ctx->proxy, "FLBPluginOutputPreExit");
        if (pre_exit) {
            pre_exit(by_hot_reload);
        }
        if (ctx->proxy->plugin.cb_exit_ctx) {
            ctx->proxy->plugin.cb_exit_ctx(ctx->remote_context);
        }
        else if (ctx->proxy->plugin.cb_exit) {
            ctx->proxy->plugin.cb_exit();
        }
        keep_remote_context(ctx->remote_context);
        free(ctx);
        ins->context = NULL;
    }
}

/* flb_output_init_all + flb_output_pre_run: sequential, one thread. */
static int init_instances(void)
{
    struct flbgo_output_plugin *plugin = &proxy->plugin;
    pre_run_fn pre_run;

    for (int i = 0; i < n_instances; i++) {
        struct flb_output_instance *ins = &instances[i];
        int ret;

        plugin->o_ins = ins;
        plugin->context = ins->context;
        in_init = true;
        ret = plugin->cb_init(plugin);
        in_init = false;
        if (ret <= 0) {
            logmsg("error", "[go proxy]: plugin '%s' failed to initialize", plugin->name);
            logmsg("error", "[output] failed to initialize '%s' plugin (instance %d '%s', FLBPluginInit returned %d)",
                   plugin->name, i, ins->name, ret);
            failed_instance = ins->name;
            failed_rc = ret;
            /* flb_output_instance_destroy drops the instance without calling
             * its exit callbacks (Fluent Bit also leaks the context). */
            keep_remote_context(ins->context->remote_context);
            free(ins->context);
            ins->context = NULL;
            return -1;
        }
    }

    pre_run = (pre_run_fn) proxy_symbol(proxy, "FLBPluginOutputPreRun");
    for (int i = 0; i < n_instances && pre_run; i++) {
        pre_run(O.hot_reload ? 1 : 0);
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Job queue and routes (§7)
 * ---------------------------------------------------------------------- */

static void lat_push(struct latencies *l, uint64_t ns)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->ns = realloc(l->ns, l->cap * sizeof(*l->ns));
        if (!l->ns) {
            abort();
        }
    }
    l->ns[l->len++] = ns;
}

static void emit_route_line(const struct job *j, enum outcome o)
{
    fprintf(results, "{\"event\":\"route\",\"seq\":%" PRIu64 ",\"tag\":", j->ch->seq);
    json_string(results, j->ch->tag, j->ch->tag_len);
    fputs(",\"instance\":", results);
    json_cstr(results, j->ins->name);
    fprintf(results, ",\"outcome\":\"%s\",\"attempts\":%d,\"bytes\":%" PRIu32 "}\n", outcome_names[o],
            j->attempts, j->ch->size);
}

static void free_chunk(struct chunk *ch)
{
    free(ch->tag);
    free(ch->data);
    free(ch);
}

/* Called with E.mu held. */
static void finish_route(struct job *j, enum outcome o)
{
    struct chunk *ch = j->ch;

    j->ins->c.outcomes[o]++;
    if (O.verbose >= 1) {
        emit_route_line(j, o);
    }
    free(j);
    if (--ch->pending == 0) {
        free_chunk(ch);
        E.outstanding--;
        pthread_cond_broadcast(&E.done_cv);
    }
}

/* flb_sched's backoff_full_jitter(base, cap, n), in milliseconds. Fluent Bit
 * adds one second and fires on a one-second timer; flbhost does neither. */
static uint64_t retry_delay_ns(int retries)
{
    uint64_t base = (uint64_t) O.retry_base_ms, cap = (uint64_t) O.retry_cap_ms;
    uint64_t top = base << (retries > 30 ? 30 : retries);

    if (top > cap) {
        top = cap;
    }
    if (top < base) {
        top = base;
    }
    return (base + next_random() % (top - base + 1)) * 1000000u;
}

static void push_ready(struct job *j)
{
    j->next = NULL;
    if (E.ready_tail) {
        E.ready_tail->next = j;
    }
    else {
        E.ready = j;
    }
    E.ready_tail = j;
}

static void push_delayed(struct job *j)
{
    struct job **pp = &E.delayed;

    while (*pp && (*pp)->due_ns <= j->due_ns) {
        pp = &(*pp)->next;
    }
    j->next = *pp;
    *pp = j;
}

static void promote_due(uint64_t now)
{
    while (E.delayed && (E.shutting_down || E.delayed->due_ns <= now)) {
        struct job *j = E.delayed;

        E.delayed = j->next;
        push_ready(j);
    }
}

/* handle_output_event in flb_engine.c, with E.mu held. */
static void complete_flush(struct job *j, int rc, uint64_t ns, bool mutated)
{
    struct flb_output_instance *ins = j->ins;
    struct counts *c = &ins->c;

    c->flush_calls++;
    c->flush_ns += ns;
    lat_push(&ins->lat, ns);
    if (mutated) {
        c->mutated_buffers++;
    }
    if ((uint64_t) j->attempts > c->max_attempts) {
        c->max_attempts = (uint64_t) j->attempts;
    }

    if (rc != FLB_OK && rc != FLB_RETRY && rc != FLB_ERROR) {
        /* proxy_cb_flush maps anything else to FLB_ERROR */
        c->invalid_rc++;
        rc = FLB_ERROR;
    }
    if (rc == FLB_OK) {
        c->ok++;
        finish_route(j, OUT_DELIVERED);
        return;
    }
    if (rc == FLB_ERROR) {
        c->error++;
        finish_route(j, OUT_ERROR);
        return;
    }

    c->retry++;
    if (E.discard) {
        finish_route(j, OUT_ABANDONED);
    }
    else if (ins->retry_limit == FLB_OUT_RETRY_NONE) {
        finish_route(j, OUT_NO_RETRIES);
    }
    else if (ins->retry_limit != FLB_OUT_RETRY_UNLIMITED && j->retries >= ins->retry_limit) {
        finish_route(j, OUT_RETRY_LIMIT);
    }
    else {
        j->retries++;
        /* flb_sched_request_create: no backoff while shutting down */
        j->due_ns = now_ns() + (E.shutting_down ? 0 : retry_delay_ns(j->retries));
        push_delayed(j);
        pthread_cond_broadcast(&E.work_cv);
    }
}

/* With E.mu held: the next job for a worker, or NULL when the pool stops. */
static struct job *next_job(void)
{
    for (;;) {
        struct job *j;

        if (E.stopping) {
            return NULL;
        }
        promote_due(now_ns());
        j = E.ready;
        if (j) {
            E.ready = j->next;
            if (!E.ready) {
                E.ready_tail = NULL;
            }
            return j;
        }
        if (E.delayed) {
            wait_until(&E.work_cv, E.delayed->due_ns);
        }
        else {
            pthread_cond_wait(&E.work_cv, &E.mu);
        }
    }
}

/* ------------------------------------------------------------------------
 * Workers: the flush itself (§4.5, §8)
 * ---------------------------------------------------------------------- */

static void call_plugin(struct worker *w)
{
    struct flb_plugin_proxy_context *ctx = w->job->ins->context;
    struct flbgo_output_plugin *plugin = &ctx->proxy->plugin;
    size_t size = w->job->ch->size;
    uint64_t t0 = now_ns();

    if (plugin->cb_flush_ctx) {
        w->rc = plugin->cb_flush_ctx(ctx->remote_context, w->buf, size, w->tag);
    }
    else {
        w->rc = plugin->cb_flush(w->buf, size, w->tag);
    }
    w->ns = now_ns() - t0;
}

static void coro_entry(void)
{
    struct worker *w = tls_worker;

#ifdef HOST_ASAN
    __sanitizer_finish_switch_fiber(NULL, &w->home_bottom, &w->home_size);
#endif
    call_plugin(w);
#ifdef HOST_ASAN
    /* NULL: this fiber ends; uc_link switches back home. */
    __sanitizer_start_switch_fiber(NULL, w->home_bottom, w->home_size);
#endif
}

/* Fluent Bit runs every flush inside a libco coroutine with a small stack
 * (§8); a ucontext stack stands in for it. */
static void call_plugin_on_coro(struct worker *w)
{
    if (getcontext(&w->co) != 0) {
        logmsg("error", "getcontext: %s", strerror(errno));
        abort();
    }
    w->co.uc_stack.ss_sp = w->co_stack;
    w->co.uc_stack.ss_size = w->co_size;
    w->co.uc_link = &w->home;
    makecontext(&w->co, coro_entry, 0);
#ifdef HOST_ASAN
    __sanitizer_start_switch_fiber(&w->fake_stack, w->co_stack, w->co_size);
#endif
    if (swapcontext(&w->home, &w->co) != 0) {
        logmsg("error", "swapcontext: %s", strerror(errno));
        abort();
    }
#ifdef HOST_ASAN
    __sanitizer_finish_switch_fiber(w->fake_stack, NULL, NULL);
#endif
}

static void emit_flush_line(const struct worker *w, bool coro)
{
    fprintf(results, "{\"event\":\"flush\",\"seq\":%" PRIu64 ",\"instance\":", w->job->ch->seq);
    json_cstr(results, w->job->ins->name);
    fprintf(results, ",\"attempt\":%d,\"rc\":%d,\"ns\":%" PRIu64 ",\"worker\":%d,\"stack\":\"%s\"}\n",
            w->job->attempts, w->rc, w->ns, w->id, coro ? "coro" : "thread");
}

/*
 * One attempt. The data and the tag are private copies that are poisoned and
 * freed as soon as the call returns (§4.5: valid only during the call), so a
 * plugin that keeps either pointer reads garbage, and ASan (for instrumented
 * code) reports a use after free.
 */
static void flush_once(struct worker *w, bool coro)
{
    struct chunk *ch = w->job->ch;
    bool mutated;

    w->buf = xmalloc(ch->size);
    memcpy(w->buf, ch->data, ch->size);
    w->tag = xmalloc((size_t) ch->tag_len + 1);
    memcpy(w->tag, ch->tag, ch->tag_len);
    w->tag[ch->tag_len] = '\0';

    if (coro) {
        call_plugin_on_coro(w);
    }
    else {
        call_plugin(w);
    }

    /* the plugin gets `const void *data`: writing to it is a bug */
    mutated = memcmp(w->buf, ch->data, ch->size) != 0;
    memset(w->buf, 0xA5, ch->size);
    free(w->buf);
    memset(w->tag, 0xA5, ch->tag_len);
    free(w->tag);
    w->buf = NULL;
    w->tag = NULL;

    pthread_mutex_lock(&E.mu);
    if (O.verbose >= 2) {
        emit_flush_line(w, coro);
    }
    if (coro) {
        E.coro_flushes++;
    }
    else {
        E.thread_flushes++;
    }
    E.inflight--;
    w->job->ins->inflight--;
    complete_flush(w->job, w->rc, w->ns, mutated);
    pthread_cond_broadcast(&E.done_cv);
    w->job = NULL;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    tls_worker = w;
    if (use_altstack(w->altstack) != 0) {
        logmsg("warn", "worker %d: sigaltstack: %s", w->id, strerror(errno));
    }

    pthread_mutex_lock(&E.mu);
    for (;;) {
        bool coro;

        w->job = next_job();
        if (!w->job) {
            break;
        }
        w->job->attempts++;
        E.inflight++;
        if (++w->job->ins->inflight > w->job->ins->max_inflight) {
            w->job->ins->max_inflight = w->job->ins->inflight;
        }
        pthread_mutex_unlock(&E.mu);

        coro = O.stack == STACK_CORO || (O.stack == STACK_ALTERNATE && (w->flushes & 1));
        w->flushes++;
        if (coro) {
            w->coro_flushes++;
        }
        flush_once(w, coro); /* returns with E.mu held */
    }
    pthread_mutex_unlock(&E.mu);
    /* ASan's thread teardown unmaps whatever alternate stack is installed,
     * assuming it is its own; ours is freed after the join. */
    disable_altstack();
    return NULL;
}

/* On failure the threads already started keep running; stop_pool() joins
 * them. */
static int start_pool(void)
{
    long page = sysconf(_SC_PAGESIZE);
    int want = O.workers > 0 ? O.workers : 1;

    workers = xcalloc((size_t) want, sizeof(*workers));
    n_threads = 0;
    E.stopping = false;
    for (int i = 0; i < want; i++) {
        struct worker *w = &workers[i];

        w->id = i;
        w->altstack = xmalloc(ALTSTACK_SIZE);
        /* the lowest page is a guard: an overflow faults instead of
         * corrupting the heap (libco's malloc()ed stacks have no guard) */
        w->co_size = (O.coro_stack + (size_t) page - 1) / (size_t) page * (size_t) page;
        w->co_map_len = w->co_size + (size_t) page;
        w->co_map = mmap(NULL, w->co_map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (w->co_map == MAP_FAILED || mprotect(w->co_map, (size_t) page, PROT_NONE) != 0) {
            logmsg("error", "coroutine stack: %s", strerror(errno));
            return -1;
        }
        w->co_stack = w->co_map + page;
        if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
            logmsg("error", "pthread_create failed");
            return -1;
        }
        n_threads++;
    }
    return 0;
}

static void stop_pool(void)
{
    pthread_mutex_lock(&E.mu);
    E.stopping = true;
    pthread_cond_broadcast(&E.work_cv);
    pthread_mutex_unlock(&E.mu);
    for (int i = 0; i < n_threads; i++) {
        pthread_join(workers[i].th, NULL);
        munmap(workers[i].co_map, workers[i].co_map_len);
        free(workers[i].altstack);
    }
}

static void free_pool(void)
{
    free(workers);
    workers = NULL;
    n_threads = 0;
}

/* With E.mu held: drop every queued route. */
static void abandon_queued(void)
{
    struct job *lists[2] = {E.ready, E.delayed};

    E.ready = E.ready_tail = E.delayed = NULL;
    for (int i = 0; i < 2; i++) {
        while (lists[i]) {
            struct job *j = lists[i];

            lists[i] = j->next;
            finish_route(j, OUT_ABANDONED);
        }
    }
}

/*
 * Wait until every chunk read so far is finished. With `shutdown`, retries
 * fire at once and whatever is left after --grace-ms is abandoned, as when
 * Fluent Bit stops (flb_engine_exit with its grace period). Without it (EOF),
 * retries keep their backoff and the wait is unbounded, until a stop signal
 * turns it into a shutdown.
 */
static void drain(bool shutdown)
{
    uint64_t deadline = 0;

    pthread_mutex_lock(&E.mu);
    while (E.outstanding > 0) {
        if (!shutdown && stop_signal) {
            shutdown = true;
        }
        if (shutdown && !E.shutting_down) {
            E.shutting_down = true;
            deadline = now_ns() + (uint64_t) O.grace_ms * 1000000u;
            pthread_cond_broadcast(&E.work_cv);
        }
        if (shutdown && now_ns() >= deadline) {
            break;
        }
        /* wake periodically to notice signals */
        wait_until(&E.done_cv, now_ns() + 50000000u);
    }
    if (E.outstanding > 0) {
        E.discard = true;
        abandon_queued();
        while (E.inflight > 0) {
            pthread_cond_wait(&E.done_cv, &E.mu);
        }
        E.discard = false;
    }
    E.shutting_down = false;
    pthread_mutex_unlock(&E.mu);
}

/* ------------------------------------------------------------------------
 * Chunk stream reader
 * ---------------------------------------------------------------------- */

enum rd { RD_OK, RD_EOF, RD_STOP, RD_RELOAD, RD_ERR };

static struct {
    int fd;
    unsigned char buf[1 << 16];
    size_t pos, len;
} R;

/* Refill R.buf; at a record boundary a reload request interrupts the wait. */
static enum rd refill(bool boundary)
{
    for (;;) {
        struct pollfd pf[2] = {
            {.fd = R.fd, .events = POLLIN},
            {.fd = sigpipe_fds[0], .events = POLLIN},
        };
        ssize_t n;

        if (stop_signal) {
            return RD_STOP;
        }
        if (boundary && reload_requested) {
            return RD_RELOAD;
        }
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(input_error, sizeof(input_error), "poll: %s", strerror(errno));
            return RD_ERR;
        }
        if (pf[1].revents) {
            drain_sigpipe();
            continue;
        }
        if (!pf[0].revents) {
            continue;
        }
        n = read(R.fd, R.buf, sizeof(R.buf));
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            snprintf(input_error, sizeof(input_error), "read %s: %s", O.input_path, strerror(errno));
            return RD_ERR;
        }
        R.pos = 0;
        R.len = (size_t) n;
        return n == 0 ? RD_EOF : RD_OK;
    }
}

/* Read exactly n bytes. RD_EOF only when nothing of a record was read. */
static enum rd read_exact(void *dst, size_t n, bool record_start)
{
    unsigned char *out = dst;
    size_t got = 0;

    while (got < n) {
        size_t take;

        if (R.pos == R.len) {
            enum rd r = refill(record_start && got == 0);

            if (r == RD_EOF && !(record_start && got == 0)) {
                snprintf(input_error, sizeof(input_error),
                         "chunk stream truncated after %" PRIu64 " complete chunks", chunks_read);
                return RD_ERR;
            }
            if (r != RD_OK) {
                return r;
            }
        }
        take = R.len - R.pos < n - got ? R.len - R.pos : n - got;
        memcpy(out + got, R.buf + R.pos, take);
        R.pos += take;
        got += take;
    }
    return RD_OK;
}

static uint32_t le32(const unsigned char b[4])
{
    return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

#define MAX_TAG_LEN   (1u << 20)
#define MAX_CHUNK_LEN ((uint32_t) INT_MAX) /* Go receives C.int (§2) */

static enum rd read_chunk(struct chunk **out)
{
    unsigned char hdr[4];
    struct chunk *ch;
    uint32_t len;
    enum rd r;

    r = read_exact(hdr, 4, true);
    if (r != RD_OK) {
        return r;
    }
    len = le32(hdr);
    if (len > MAX_TAG_LEN) {
        snprintf(input_error, sizeof(input_error), "chunk %" PRIu64 ": tag length %" PRIu32 " is implausible",
                 chunks_read, len);
        return RD_ERR;
    }
    ch = xcalloc(1, sizeof(*ch));
    ch->tag_len = len;
    ch->tag = xmalloc((size_t) len + 1);
    ch->tag[len] = '\0';
    r = read_exact(ch->tag, len, false);
    if (r == RD_OK) {
        r = read_exact(hdr, 4, false);
    }
    if (r == RD_OK) {
        ch->size = le32(hdr);
        if (ch->size > MAX_CHUNK_LEN) {
            snprintf(input_error, sizeof(input_error), "chunk %" PRIu64 ": length %" PRIu32 " exceeds 2 GiB",
                     chunks_read, ch->size);
            r = RD_ERR;
        }
    }
    if (r == RD_OK) {
        ch->data = xmalloc(ch->size);
        r = read_exact(ch->data, ch->size, false);
    }
    if (r != RD_OK) {
        free_chunk(ch);
        return r;
    }
    ch->seq = chunks_read++;
    bytes_read += ch->size;
    *out = ch;
    return RD_OK;
}

/* Route a chunk to every instance (Match *), waiting for room first. */
static bool enqueue(struct chunk *ch)
{
    pthread_mutex_lock(&E.mu);
    while (E.outstanding >= (size_t) O.queue_limit && !stop_signal) {
        wait_until(&E.done_cv, now_ns() + 50000000u);
    }
    if (stop_signal) {
        pthread_mutex_unlock(&E.mu);
        free_chunk(ch);
        return false;
    }
    ch->pending = n_instances;
    for (int i = 0; i < n_instances; i++) {
        struct job *j = xcalloc(1, sizeof(*j));

        j->ch = ch;
        j->ins = &instances[i];
        instances[i].c.routes++;
        push_ready(j);
    }
    E.outstanding++;
    pthread_cond_broadcast(&E.work_cv);
    pthread_mutex_unlock(&E.mu);
    return true;
}

/* ------------------------------------------------------------------------
 * Hot reload (flb_reload): the new registration happens before the old
 * context stops, then the new instances start.
 * ---------------------------------------------------------------------- */

static int hot_reload(void)
{
    struct flb_plugin_proxy *next, *old = proxy;

    reload_requested = 0;
    if (!O.hot_reload) {
        logmsg("warn", "[reload] hot reloading is not enabled");
        return 0;
    }
    logmsg("info", "[reload] reloading %s", O.plugin_path);

    /* PreRegister(1) and Register run while the old instances may still be
     * flushing, as flb_reload_reinstantiate_external_plugins does. */
    next = plugin_load(1);
    if (!next) {
        logmsg("error", "[reload] reloaded plugin is invalid. Reloading is halted");
        return 0;
    }

    /* flb_stop(old): finish or abandon queued work, stop the workers, exit
     * the instances, destroy the plugin. */
    drain(true);
    stop_pool();
    free_pool();
    exit_instances(1);
    plugin_destroy(old);
    proxy = next;
    if (strcmp(plugin_name, next->def->name) != 0) {
        logmsg("warn", "[reload] the plugin now registers as '%s' (was '%s')", next->def->name, plugin_name);
    }

    /* flb_start(new) */
    create_contexts();
    if (init_instances() != 0) {
        logmsg("error", "[reload] loaded configuration contains error(s). Reloading is aborted");
        return -1;
    }
    reloads++;
    if (O.verbose >= 1) {
        pthread_mutex_lock(&E.mu);
        fprintf(results, "{\"event\":\"reload\",\"reloads\":%" PRIu64 ",\"seq\":%" PRIu64 "}\n", reloads,
                chunks_read);
        pthread_mutex_unlock(&E.mu);
    }
    return start_pool();
}

/* ------------------------------------------------------------------------
 * Summary
 * ---------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array, in microseconds */
static double percentile_us(const struct latencies *l, double p)
{
    size_t rank;

    if (l->len == 0) {
        return 0;
    }
    rank = (size_t) (p / 100.0 * (double) l->len + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > l->len) {
        rank = l->len;
    }
    return (double) l->ns[rank - 1] / 1000.0;
}

static void add_counts(struct counts *dst, const struct counts *src)
{
    dst->flush_calls += src->flush_calls;
    dst->ok += src->ok;
    dst->retry += src->retry;
    dst->error += src->error;
    dst->invalid_rc += src->invalid_rc;
    dst->mutated_buffers += src->mutated_buffers;
    dst->routes += src->routes;
    for (int i = 0; i < 5; i++) {
        dst->outcomes[i] += src->outcomes[i];
    }
    if (src->max_attempts > dst->max_attempts) {
        dst->max_attempts = src->max_attempts;
    }
    dst->flush_ns += src->flush_ns;
}

static void print_counts(const struct counts *c)
{
    uint64_t dropped = c->outcomes[OUT_ERROR] + c->outcomes[OUT_RETRY_LIMIT] + c->outcomes[OUT_NO_RETRIES];

    fprintf(results,
            "\"routes\":%" PRIu64 ",\"flush_calls\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"retry\":%" PRIu64
            ",\"error\":%" PRIu64 ",\"invalid_rc\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"dropped\":%" PRIu64
            ",\"dropped_error\":%" PRIu64 ",\"dropped_retry_limit\":%" PRIu64 ",\"dropped_no_retries\":%" PRIu64
            ",\"abandoned\":%" PRIu64 ",\"max_attempts\":%" PRIu64 ",\"mutated_buffers\":%" PRIu64
            ",\"flush_time_ms\":%.3f",
            c->routes, c->flush_calls, c->ok, c->retry, c->error, c->invalid_rc, c->outcomes[OUT_DELIVERED],
            dropped, c->outcomes[OUT_ERROR], c->outcomes[OUT_RETRY_LIMIT], c->outcomes[OUT_NO_RETRIES],
            c->outcomes[OUT_ABANDONED], c->max_attempts, c->mutated_buffers, (double) c->flush_ns / 1e6);
}

static void print_summary(uint64_t wall_ns, int code)
{
    struct counts total = {0};

    fputs("{\"event\":\"summary\",\"plugin\":", results);
    json_cstr(results, plugin_name);
    fprintf(results, ",\"exit_code\":%d,\"exit_reason\":\"%s\"", code, exit_reason);
    fputs(",\"failed_instance\":", results);
    json_cstr(results, failed_instance);
    if (failed_instance) {
        fprintf(results, ",\"failed_rc\":%d", failed_rc);
    }
    fputs(",\"input_error\":", results);
    json_cstr(results, input_error[0] ? input_error : NULL);
    fprintf(results,
            ",\"chunks\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"instances_n\":%d,\"workers\":%d,\"stack\":\"%s\""
            ",\"coro_stack_size\":%zu,\"coro_flushes\":%" PRIu64 ",\"thread_flushes\":%" PRIu64
            ",\"reloads\":%" PRIu64 ",\"property_lookups_outside_init\":%" PRIu64 ",\"wall_ms\":%.3f,",
            chunks_read, bytes_read, n_instances, O.workers,
            O.stack == STACK_CORO ? "coro" : O.stack == STACK_THREAD ? "thread" : "alternate", O.coro_stack,
            E.coro_flushes, E.thread_flushes, reloads, (uint64_t) lookups_outside_init, (double) wall_ns / 1e6);
    for (int i = 0; i < n_instances; i++) {
        add_counts(&total, &instances[i].c);
    }
    print_counts(&total);
    fputs(",\"instances\":[", results);
    for (int i = 0; i < n_instances; i++) {
        struct flb_output_instance *ins = &instances[i];
        struct latencies *l = &ins->lat;

        qsort(l->ns, l->len, sizeof(*l->ns), cmp_u64);
        fprintf(results, "%s{\"index\":%d,\"name\":", i ? "," : "", i);
        json_cstr(results, ins->name);
        fprintf(results, ",\"retry_limit\":%d,", ins->retry_limit);
        print_counts(&ins->c);
        fprintf(results, ",\"flush_p50_us\":%.3f,\"flush_p99_us\":%.3f,\"flush_max_us\":%.3f,\"max_concurrent\":%d}",
                percentile_us(l, 50), percentile_us(l, 99), l->len ? (double) l->ns[l->len - 1] / 1000.0 : 0.0,
                ins->max_inflight);
    }
    fputs("]}\n", results);
    fflush(results);
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: flbhost -e PLUGIN.so -o NAME [-p KEY=VALUE]... [-o NAME [-p ...]]... [options]\n"
          "\n"
          "  -e, --plugin PATH        Go output plugin (.so built with -buildmode=c-shared)\n"
          "  -o, --output NAME        start an [OUTPUT] section; NAME must be the plugin's\n"
          "                           registered name, or \"\" for whatever it registers\n"
          "  -p, --prop KEY=VALUE     property of the last -o (${VAR} and ${VAR:-def} expand)\n"
          "  -i, --input PATH         chunk stream: file, FIFO, or - for stdin (default -)\n"
          "  -w, --workers N          flush threads; 0 = one engine thread with coroutine\n"
          "                           stacks, Fluent Bit's default for Go outputs (default 0)\n"
          "      --stack MODE         alternate | thread | coro (default: alternate with -w >= 1,\n"
          "                           coro with -w 0)\n"
          "      --coro-stack-size B  coroutine stack bytes (default 65536)\n"
          "      --retry-limit V      default retry_limit of every instance: N, no_limits,\n"
          "                           false, off, no_retries (default 1)\n"
          "      --retry-base-ms N    scheduler.base (default 5000)\n"
          "      --retry-cap-ms N     scheduler.cap (default 2000000)\n"
          "      --interval-ms N      pause before queuing each chunk after the first\n"
          "      --grace-ms N         on SIGTERM/SIGINT, time to finish queued work (default 5000)\n"
          "      --queue-limit N      chunks in flight before reading pauses (default 256)\n"
          "      --enable-hot-reload  [SERVICE] Hot_Reload On: PreRun(1), SIGHUP reloads\n"
          "      --reload-every N     hot reload after every N chunks read\n"
          "  -v                       one JSON line per finished route and per reload;\n"
          "                           -vv also one per flush call\n"
          "\n"
          "chunk stream record: u32le tag_len, tag, u32le chunk_len, chunk (msgpack)\n"
          "exit codes: 0 ok, 1 usage/setup, 2 plugin load/registration, 3 Init failed,\n"
          "            4 corrupt chunk stream, 23 sanitizer report (SANITIZE=1 build)\n",
          f);
}

enum {
    OPT_STACK = 256,
    OPT_CORO_STACK,
    OPT_RETRY_LIMIT,
    OPT_RETRY_BASE,
    OPT_RETRY_CAP,
    OPT_INTERVAL,
    OPT_GRACE,
    OPT_QUEUE_LIMIT,
    OPT_HOT_RELOAD,
    OPT_RELOAD_EVERY,
};

static int parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"plugin", required_argument, NULL, 'e'},
        {"output", required_argument, NULL, 'o'},
        {"prop", required_argument, NULL, 'p'},
        {"input", required_argument, NULL, 'i'},
        {"workers", required_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"stack", required_argument, NULL, OPT_STACK},
        {"coro-stack-size", required_argument, NULL, OPT_CORO_STACK},
        {"retry-limit", required_argument, NULL, OPT_RETRY_LIMIT},
        {"retry-base-ms", required_argument, NULL, OPT_RETRY_BASE},
        {"retry-cap-ms", required_argument, NULL, OPT_RETRY_CAP},
        {"interval-ms", required_argument, NULL, OPT_INTERVAL},
        {"grace-ms", required_argument, NULL, OPT_GRACE},
        {"queue-limit", required_argument, NULL, OPT_QUEUE_LIMIT},
        {"enable-hot-reload", no_argument, NULL, OPT_HOT_RELOAD},
        {"reload-every", required_argument, NULL, OPT_RELOAD_EVERY},
        {0},
    };
    int c;
    long v;

    while ((c = getopt_long(argc, argv, "e:o:p:i:w:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            O.plugin_path = optarg;
            break;
        case 'o':
            add_instance(optarg);
            break;
        case 'p':
            if (n_instances == 0) {
                logmsg("error", "-p %s: no -o before it", optarg);
                return -1;
            }
            if (set_property(&instances[n_instances - 1], optarg) != 0) {
                return -1;
            }
            break;
        case 'i':
            O.input_path = optarg;
            break;
        case 'w':
            if (!parse_long(optarg, 0, 1024, &v)) {
                goto bad;
            }
            O.workers = (int) v;
            break;
        case 'v':
            O.verbose++;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case OPT_STACK:
            O.stack_set = true;
            if (!strcmp(optarg, "alternate")) {
                O.stack = STACK_ALTERNATE;
            }
            else if (!strcmp(optarg, "thread")) {
                O.stack = STACK_THREAD;
            }
            else if (!strcmp(optarg, "coro")) {
                O.stack = STACK_CORO;
            }
            else {
                goto bad;
            }
            break;
        case OPT_CORO_STACK:
            if (!parse_long(optarg, 16 * 1024, 64L * 1024 * 1024, &v)) {
                goto bad;
            }
            O.coro_stack = (size_t) v;
            break;
        case OPT_RETRY_LIMIT:
            O.retry_limit = optarg;
            break;
        case OPT_RETRY_BASE:
            if (!parse_long(optarg, 0, 86400000, &O.retry_base_ms)) {
                goto bad;
            }
            break;
        case OPT_RETRY_CAP:
            if (!parse_long(optarg, 0, 86400000, &O.retry_cap_ms)) {
                goto bad;
            }
            break;
        case OPT_INTERVAL:
            if (!parse_long(optarg, 0, 86400000, &O.interval_ms)) {
                goto bad;
            }
            break;
        case OPT_GRACE:
            if (!parse_long(optarg, 0, 86400000, &O.grace_ms)) {
                goto bad;
            }
            break;
        case OPT_QUEUE_LIMIT:
            if (!parse_long(optarg, 1, 1L << 30, &O.queue_limit)) {
                goto bad;
            }
            break;
        case OPT_HOT_RELOAD:
            O.hot_reload = true;
            break;
        case OPT_RELOAD_EVERY:
            if (!parse_long(optarg, 1, LONG_MAX, &O.reload_every)) {
                goto bad;
            }
            break;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        logmsg("error", "unexpected argument %s", argv[optind]);
        return -1;
    }
    if (!O.plugin_path || n_instances == 0) {
        usage(stderr);
        return -1;
    }
    if (!O.stack_set && O.workers == 0) {
        O.stack = STACK_CORO;
    }
    for (int i = 0; i < n_instances; i++) {
        if (!instances[i].retry_limit_set) {
            instances[i].retry_limit = retry_limit_from(O.retry_limit);
        }
    }
    return 0;

bad:
    logmsg("error", "invalid value '%s' for option %s", optarg, argv[optind - 1]);
    return -1;
}

static void free_instances(void)
{
    for (int i = 0; i < n_instances; i++) {
        struct flb_output_instance *ins = &instances[i];

        while (ins->props) {
            struct prop *p = ins->props;

            ins->props = p->next;
            free(p->key);
            free(p->val);
            free(p);
        }
        free(ins->requested_name);
        free(ins->name);
        free(ins->alias);
        free(ins->lat.ns);
    }
    free(instances);
}

static int run(void)
{
    static unsigned char main_altstack[ALTSTACK_SIZE];
    uint64_t t0 = now_ns();
    int code = 0;
    bool loaded = false, pool = false;

    api = (struct flb_api){
        .output_get_property = host_output_get_property,
        .input_get_property = host_input_get_property,
        .output_get_cmt_instance = host_output_get_cmt_instance,
        .input_get_cmt_instance = host_input_get_cmt_instance,
        .log_print = host_log_print,
        .input_log_check = host_input_log_check,
        .output_log_check = host_output_log_check,
        .custom_get_property = host_custom_get_property,
        .custom_log_check = host_custom_log_check,
    };
    E.rng = now_ns() | 1;

    if (use_altstack(main_altstack) != 0 || install_signals() != 0) {
        logmsg("error", "signal setup: %s", strerror(errno));
        return EXIT_USAGE;
    }

    proxy = plugin_load(0);
    if (!proxy) {
        exit_reason = "load_failed";
        code = EXIT_LOAD;
        goto out;
    }
    loaded = true;
    plugin_name = xstrdup(proxy->def->name);
    name_instances();
    if (check_output_names() != 0) {
        exit_reason = "load_failed";
        code = EXIT_LOAD;
        goto out;
    }
    create_contexts();
    if (init_instances() != 0) {
        exit_reason = "init_failed";
        code = EXIT_INIT;
        goto out;
    }

    if (strcmp(O.input_path, "-") == 0) {
        R.fd = STDIN_FILENO;
    }
    else {
        /* O_NONBLOCK: opening a FIFO must not block before a writer comes */
        R.fd = open(O.input_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (R.fd < 0) {
            snprintf(input_error, sizeof(input_error), "open %s: %s", O.input_path, strerror(errno));
            exit_reason = "input_error";
            code = EXIT_USAGE;
            goto out;
        }
    }

    pool = true;
    if (start_pool() != 0) {
        code = EXIT_USAGE;
        exit_reason = "setup_failed";
        goto out;
    }

    for (;;) {
        struct chunk *ch = NULL;
        enum rd r;

        if (reload_requested) {
            r = RD_RELOAD;
        }
        else {
            r = read_chunk(&ch);
        }
        if (r == RD_RELOAD) {
            if (hot_reload() != 0) {
                exit_reason = "reload_failed";
                code = EXIT_INIT;
                pool = workers != NULL; /* NULL when the new Init failed */
                goto out;
            }
            continue;
        }
        if (r == RD_STOP) {
            exit_reason = "signal";
            break;
        }
        if (r == RD_EOF) {
            break;
        }
        if (r == RD_ERR) {
            exit_reason = "input_error";
            code = EXIT_STREAM;
            break;
        }
        if (ch->seq > 0 && O.interval_ms > 0) {
            pause_ms(O.interval_ms);
        }
        if (!enqueue(ch)) {
            exit_reason = "signal";
            break;
        }
        if (O.reload_every > 0 && chunks_read % (uint64_t) O.reload_every == 0) {
            reload_requested = 1;
        }
    }
    drain(stop_signal != 0);

out:
    if (pool) {
        stop_pool();
        free_pool();
    }
    if (R.fd > 0) {
        close(R.fd);
    }
    if (loaded) {
        exit_instances(0);
        plugin_destroy(proxy);
    }
    print_summary(now_ns() - t0, code);
    return code;
}

int main(int argc, char **argv)
{
    int results_fd, code;

    if (parse_args(argc, argv) != 0) {
        return EXIT_USAGE;
    }

    /* Results keep the original stdout; the plugin's stdout joins stderr. */
    results_fd = dup(STDOUT_FILENO);
    if (results_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || !(results = fdopen(results_fd, "w"))) {
        logmsg("error", "redirecting stdout: %s", strerror(errno));
        return EXIT_USAGE;
    }
    setvbuf(results, NULL, _IOLBF, 0);

    code = run();
    fclose(results);
    free_instances();
    free(plugin_name);
    return code;
}
