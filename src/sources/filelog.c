/*
 * filelog.c - owns the log-file source (fb_source_logfile, a poller): an
 * open descriptor per file, its (device, inode, offset), the partial last
 * line, and the PCRE2 pattern that picks the lines worth an incident.
 * Runs on the poller thread ingest.c starts for it.  Batches go to the
 * engine, which commits incidents and cursors together (source.h).
 *
 * Rotation by rename: the path names a new inode; the old descriptor is
 * read to its end first, so lines written just before the rename are not
 * lost, then the new file is read from its start.  Truncation: the file is
 * shorter than the offset; reading starts again at 0.  A file seen for the
 * first time is read from its end (its history is not news); after that
 * the committed cursor decides.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "firebreak/buf.h"
#include "firebreak/filelog.h"
#include "firebreak/json.h"
#include "firebreak/log.h"
#include "source_int.h"

#define READ_MAX (1024u * 1024u) /* per file per look */
#define LINE_MAX_LEN (64u * 1024u)
#define SIGNAL_TEXT_MAX (64u * 1024u)

typedef struct {
	char path[FB_CFG_STR];
	char cursor_name[64];
	int fd;
	dev_t dev;
	ino_t ino;
	off_t off; /* the next byte to read */
	fb_buf partial;
	int have_cursor, warned;
	off_t saved_off;
	unsigned long long saved_dev, saved_ino;
} follow;

typedef struct {
	follow f[FB_LOGFILE_PATHS];
	size_t n;
	long interval;
	pcre2_code *re;
	pcre2_match_data *md;
} fb_filelog;

void fb_filelog_cursor_name(const char *path, char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[25] = "";
	EVP_Digest(path, strlen(path), md, &n, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 12 && i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, 64, "file:%s", hex);
}

static char *cursor_json(const follow *f)
{
	char *s = NULL;
	cJSON *j = cJSON_CreateObject();
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)f->dev);
	cJSON_AddStringToObject(j, "dev", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)f->ino);
	cJSON_AddStringToObject(j, "ino", num);
	/* the partial line is read again after a restart */
	snprintf(num, sizeof(num), "%lld", (long long)(f->off - (off_t)f->partial.len));
	cJSON_AddStringToObject(j, "off", num);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static void cursor_load(follow *f, const char *json)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	if (j) {
		f->have_cursor = 1;
		f->saved_dev = strtoull(fb_json_str(j, "dev"), NULL, 10);
		f->saved_ino = strtoull(fb_json_str(j, "ino"), NULL, 10);
		f->saved_off = (off_t)strtoll(fb_json_str(j, "off"), NULL, 10);
	}
	cJSON_Delete(j);
}

/* Opens the path; where to start depends on what was committed. */
static int open_file(follow *f, int rotated)
{
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (!f->warned)
			fb_log(FB_LOG_WARN, "logfile.unreadable", "path=%s error=\"%s\"", f->path,
			       strerror(errno));
		f->warned = 1;
		return 0;
	}
	f->warned = 0;
	fstat(fd, &st);
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	fb_buf_reset(&f->partial);
	if (rotated)
		f->off = 0;
	else if (f->have_cursor && f->saved_dev == (unsigned long long)st.st_dev &&
	         f->saved_ino == (unsigned long long)st.st_ino && f->saved_off <= st.st_size)
		f->off = f->saved_off; /* the same file: carry on */
	else if (f->have_cursor)
		f->off = 0; /* rotated while we were down: the new file from its start */
	else
		f->off = st.st_size; /* first sight: history is not news */
	f->have_cursor = 0;
	return 1;
}

static void take_line(fb_filelog *l, const char *line, size_t len, fb_buf *text)
{
	if (pcre2_match(l->re, (PCRE2_SPTR)line, len, 0, 0, l->md, NULL) < 0)
		return;
	if (text->len + len + 1 > SIGNAL_TEXT_MAX)
		return;
	fb_buf_add(text, line, len);
	fb_buf_addc(text, '\n');
}

/* Reads what is new in fd from f->off; complete lines that match go to text. */
static size_t read_new(fb_filelog *l, follow *f, fb_buf *text)
{
	char *buf = malloc(READ_MAX);
	ssize_t n;
	size_t total = 0;

	if (!buf)
		return 0;
	while (total < READ_MAX && (n = pread(f->fd, buf, READ_MAX - total, f->off)) > 0) {
		f->off += n;
		total += (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (f->partial.len < LINE_MAX_LEN)
					fb_buf_addc(&f->partial, buf[i]);
				continue;
			}
			take_line(l, fb_buf_str(&f->partial) ? fb_buf_str(&f->partial) : "",
			          f->partial.len, text);
			fb_buf_reset(&f->partial);
		}
	}
	free(buf);
	return total;
}

/* What one look read: the matching lines as one signal (none is fine:
 * the cursor still moves) and the cursor after them. */
static void hand_over(follow *f, const fb_buf *text, const fb_source_sink *sink)
{
	fb_source_batch *b = NULL;
	fb_source_signal s = {.status = FB_SIGNAL_FIRING};

	if (fb_source_batch_new("file", &b))
		return;
	fb_source_batch_set_cursor(b, f->cursor_name, cursor_json(f));
	snprintf(s.triggered_by, sizeof(s.triggered_by), "file");
	if (text->len && fb_source_batch_add(b, &s, fb_buf_str(text), text->len, NULL)) {
		fb_log(FB_LOG_WARN, "logfile.dropped", "path=%s error=\"%s\"", f->path,
		       fb_error_last());
		fb_source_batch_free(b); /* the cursor stays: read again next time */
		return;
	}
	sink->put(sink->ctx, b);
}

static void look(fb_filelog *l, follow *f, const fb_source_sink *sink)
{
	struct stat byname, open_st;
	fb_buf text;
	size_t got = 0;

	if (f->fd < 0 && !open_file(f, 0))
		return;
	fb_buf_init(&text, SIGNAL_TEXT_MAX);
	if (stat(f->path, &byname) == 0 && (byname.st_ino != f->ino || byname.st_dev != f->dev)) {
		got += read_new(l, f, &text); /* renamed away: finish the old file */
		close(f->fd);
		f->fd = -1;
		fb_log(FB_LOG_INFO, "logfile.rotated", "path=%s", f->path);
		if (!open_file(f, 1)) {
			fb_buf_free(&text);
			return;
		}
	} else if (fstat(f->fd, &open_st) == 0 && open_st.st_size < f->off) {
		fb_log(FB_LOG_INFO, "logfile.truncated", "path=%s", f->path);
		f->off = 0;
		fb_buf_reset(&f->partial);
	}
	got += read_new(l, f, &text);
	if (got)
		hand_over(f, &text, sink);
	fb_buf_free(&text);
}

static fb_err logfile_poll(void *inst, const fb_source_sink *sink, int64_t *next_wait_ms)
{
	fb_filelog *l = inst;
	for (size_t i = 0; i < l->n; i++)
		look(l, &l->f[i], sink);
	*next_wait_ms = l->interval * 1000LL;
	return FB_OK;
}

static int logfile_enabled(const fb_config *cfg)
{
	return cfg->logfile.n_paths > 0;
}

static size_t logfile_cursor_names(const fb_config *cfg, char names[][FB_SOURCE_NAME_MAX])
{
	size_t n =
	    cfg->logfile.n_paths < FB_SOURCE_CURSORS ? cfg->logfile.n_paths : FB_SOURCE_CURSORS;
	for (size_t i = 0; i < n; i++)
		fb_filelog_cursor_name(cfg->logfile.paths[i], names[i]);
	return n;
}

static void logfile_close(void *inst)
{
	fb_filelog *l = inst;
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if (l->f[i].fd >= 0)
			close(l->f[i].fd);
		fb_buf_free(&l->f[i].partial);
	}
	pcre2_match_data_free(l->md);
	pcre2_code_free(l->re);
	free(l);
}

/* FB_EINVAL for a bad logfile.pattern. */
static fb_err logfile_open(const fb_config *cfg, const char *const *cursors, void **out)
{
	fb_filelog *l;
	int err;
	PCRE2_SIZE at;

	*out = NULL;
	if (!(l = calloc(1, sizeof(*l))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	l->re = pcre2_compile((PCRE2_SPTR)cfg->logfile.pattern, PCRE2_ZERO_TERMINATED, 0, &err, &at,
	                      NULL);
	if (!l->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		free(l);
		return fb_error_set(FB_EINVAL, "logfile.pattern: %s at offset %zu", (char *)msg,
		                    (size_t)at);
	}
	l->md = pcre2_match_data_create_from_pattern(l->re, NULL);
	l->n = cfg->logfile.n_paths < FB_SOURCE_CURSORS ? cfg->logfile.n_paths : FB_SOURCE_CURSORS;
	l->interval = cfg->logfile.interval > 0 ? cfg->logfile.interval : 1;
	for (size_t i = 0; i < l->n; i++) {
		follow *f = &l->f[i];
		snprintf(f->path, sizeof(f->path), "%s", cfg->logfile.paths[i]);
		fb_filelog_cursor_name(f->path, f->cursor_name);
		f->fd = -1;
		fb_buf_init(&f->partial, LINE_MAX_LEN + 1);
		cursor_load(f, cursors ? cursors[i] : NULL);
	}
	fb_log(FB_LOG_INFO, "logfile.started", "files=%zu", l->n);
	*out = l;
	return FB_OK;
}

const fb_source_ops fb_source_logfile = {
    .version = FB_SOURCE_OPS_VERSION,
    .name = "logfile",
    .enabled = logfile_enabled,
    .cursor_names = logfile_cursor_names,
    .open = logfile_open,
    .poll = logfile_poll,
    .close = logfile_close,
};
