// SPDX-License-Identifier: GPL-2.0-only
#include "metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct series {
	char *key; /* label values joined by '\x1f': the sort and lookup key */
	char **values;
	double value;	   /* counter / gauge */
	uint64_t *buckets; /* histogram: per-bucket counts, nr_bounds + 1 (last is +Inf) */
	double sum;
};

struct metric_family {
	char *name;
	char *help;
	enum metric_type type;
	char *labels[METRICS_MAX_LABELS];
	size_t nr_labels;
	double bounds[METRICS_MAX_BUCKETS];
	size_t nr_bounds;
	struct series **series; /* sorted by key */
	size_t nr_series, cap_series;
};

struct metrics {
	struct metric_family **families; /* sorted by name */
	size_t nr, cap;
};

struct metrics *metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

static void series_free(struct series *s, size_t nr_labels)
{
	for (size_t i = 0; i < nr_labels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->buckets);
	free(s->key);
	free(s);
}

void metric_family_clear(struct metric_family *f)
{
	for (size_t i = 0; i < f->nr_series; i++)
		series_free(f->series[i], f->nr_labels);
	f->nr_series = 0;
}

size_t metric_family_series(const struct metric_family *f)
{
	return f->nr_series;
}

static void family_free(struct metric_family *f)
{
	metric_family_clear(f);
	free(f->series);
	for (size_t i = 0; i < f->nr_labels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	free(f);
}

void metrics_free(struct metrics *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->nr; i++)
		family_free(reg->families[i]);
	free(reg->families);
	free(reg);
}

static bool valid_name(const char *s, bool is_label)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  (*s >= '0' && *s <= '9') || *s == '_' || (!is_label && *s == ':');
		if (!ok)
			return false;
	}
	return true;
}

/*
 * Families and series are kept in arrays of pointers sorted by a string member (@key_offset: where
 * it sits in the pointed-to struct). The index of @key when *found, else where it belongs.
 */
static size_t sorted_index(void *const *items, size_t nr, size_t key_offset, const char *key,
			   bool *found)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(*(char *const *)((const char *)items[mid] + key_offset), key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/*
 * @item put at @at of such an array of *@nr pointers with room for *@cap (doubled when full,
 * @first_cap at first). Returns the array, perhaps moved, or NULL without memory (unchanged).
 */
static void *sorted_insert(void *array, size_t *nr, size_t *cap, size_t first_cap, size_t at,
			   void *item)
{
	void **items = array;

	if (*nr == *cap) {
		size_t grown = *cap ? *cap * 2 : first_cap;

		items = realloc(items, grown * sizeof(*items));
		if (!items)
			return NULL;
		*cap = grown;
	}
	memmove(&items[at + 1], &items[at], (*nr - at) * sizeof(*items));
	items[at] = item;
	(*nr)++;
	return items;
}

static size_t family_index(struct metrics *reg, const char *name, bool *found)
{
	return sorted_index((void *const *)reg->families, reg->nr,
			    offsetof(struct metric_family, name), name, found);
}

struct metric_family *metrics_find(struct metrics *reg, const char *name)
{
	bool found;
	size_t i = family_index(reg, name, &found);

	return found ? reg->families[i] : NULL;
}

static struct metric_family *family_add(struct metrics *reg, const char *name, const char *help,
					enum metric_type type, const char *const *labels)
{
	struct metric_family *f, **families;
	bool found;
	size_t at;

	if (!valid_name(name, false)) {
		log_msg(LOG_ERROR, "metrics: invalid family name %s", name);
		return NULL;
	}
	at = family_index(reg, name, &found);
	if (found) {
		log_msg(LOG_ERROR, "metrics: family %s registered twice", name);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help);
	f->type = type;
	for (; labels && labels[f->nr_labels]; f->nr_labels++) {
		if (f->nr_labels == METRICS_MAX_LABELS || !valid_name(labels[f->nr_labels], true) ||
		    !strncmp(labels[f->nr_labels], "__", 2) ||
		    !strcmp(labels[f->nr_labels], "le")) {
			log_msg(LOG_ERROR, "metrics: bad label set for %s", name);
			family_free(f);
			return NULL;
		}
		f->labels[f->nr_labels] = strdup(labels[f->nr_labels]);
	}
	families = sorted_insert(reg->families, &reg->nr, &reg->cap, 32, at, f);
	if (!families) {
		family_free(f);
		return NULL;
	}
	reg->families = families;
	return f;
}

struct metric_family *metrics_counter(struct metrics *reg, const char *name, const char *help,
				      const char *const *labels)
{
	return family_add(reg, name, help, METRIC_COUNTER, labels);
}

struct metric_family *metrics_gauge(struct metrics *reg, const char *name, const char *help,
				    const char *const *labels)
{
	return family_add(reg, name, help, METRIC_GAUGE, labels);
}

struct metric_family *metrics_histogram(struct metrics *reg, const char *name, const char *help,
					const char *const *labels, const double *bounds,
					size_t nr_bounds)
{
	struct metric_family *f;

	if (nr_bounds == 0 || nr_bounds > METRICS_MAX_BUCKETS)
		return NULL;
	for (size_t i = 1; i < nr_bounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return NULL;
	f = family_add(reg, name, help, METRIC_HISTOGRAM, labels);
	if (!f)
		return NULL;
	memcpy(f->bounds, bounds, nr_bounds * sizeof(*bounds));
	f->nr_bounds = nr_bounds;
	return f;
}

static char *join_values(const struct metric_family *f, const char *const *values)
{
	struct strbuf sb;

	strbuf_init(&sb);
	for (size_t i = 0; i < f->nr_labels; i++) {
		if (i)
			strbuf_putc(&sb, '\x1f');
		strbuf_puts(&sb, values[i] ? values[i] : "");
	}
	return strbuf_detach(&sb, NULL);
}

static struct series *series_get(struct metric_family *f, const char *const *values, bool create)
{
	char *key = join_values(f, values);
	struct series *s, **series;
	bool found;
	size_t at;

	at = sorted_index((void *const *)f->series, f->nr_series, offsetof(struct series, key), key,
			  &found);
	if (found || !create) {
		free(key);
		return found ? f->series[at] : NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(key);
		return NULL;
	}
	s->key = key;
	s->values = calloc(f->nr_labels ? f->nr_labels : 1, sizeof(char *));
	for (size_t i = 0; i < f->nr_labels; i++)
		s->values[i] = strdup(values[i] ? values[i] : "");
	if (f->type == METRIC_HISTOGRAM)
		s->buckets = calloc(f->nr_bounds + 1, sizeof(uint64_t));
	series = sorted_insert(f->series, &f->nr_series, &f->cap_series, 8, at, s);
	if (!series) {
		series_free(s, f->nr_labels);
		return NULL;
	}
	f->series = series;
	return s;
}

/*
 * The series of @values, created if new, when @f holds histograms (@histogram) or plain values
 * (counter, gauge) as asked; NULL otherwise (no family, the other kind, no memory).
 */
static struct series *series_of_kind(struct metric_family *f, const char *const *values,
				     bool histogram)
{
	struct series *s;

	if (!f || (f->type == METRIC_HISTOGRAM) != histogram)
		return NULL;
	s = series_get(f, values, true);
	return s && (!histogram || s->buckets) ? s : NULL;
}

void metric_set(struct metric_family *f, const char *const *values, double v)
{
	struct series *s = series_of_kind(f, values, false);

	if (s)
		s->value = v;
}

void metric_add(struct metric_family *f, const char *const *values, double v)
{
	struct series *s = series_of_kind(f, values, false);

	if (s)
		s->value += v;
}

void metric_observe(struct metric_family *f, const char *const *values, double v)
{
	struct series *s = series_of_kind(f, values, true);
	size_t b = 0;

	if (!s)
		return;
	while (b < f->nr_bounds && v > f->bounds[b])
		b++;
	s->buckets[b]++;
	s->sum += v;
}

void metric_histogram_set(struct metric_family *f, const char *const *values,
			  const uint64_t *counts, double sum)
{
	struct series *s = series_of_kind(f, values, true);

	if (!s)
		return;
	memcpy(s->buckets, counts, (f->nr_bounds + 1) * sizeof(uint64_t));
	s->sum = sum;
}

double metric_value(struct metric_family *f, const char *const *values)
{
	struct series *s = f ? series_get(f, values, false) : NULL;

	return s ? s->value : NAN;
}

void metrics_format_value(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, len, "%.0f", v);
	} else {
		/* The shortest form that reads back as the same double. */
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

/*
 * The text format escapes backslash and newline, double quotes only inside label values, and must
 * be UTF-8: an interface named with a byte that is not (ip link add $'v\xff' ...) would make
 * Prometheus reject the whole scrape. strbuf_text() writes such a byte as \xNN.
 */
void metrics_escape_label(struct strbuf *out, const char *v)
{
	strbuf_text(out, v, TEXT_METRIC_LABEL);
}

void metrics_escape_help(struct strbuf *out, const char *v)
{
	strbuf_text(out, v, TEXT_METRIC_HELP);
}

/* name{l1="v1",...,extra_key="extra_val"} value */
static void render_sample(struct strbuf *out, const struct metric_family *f, const struct series *s,
			  const char *suffix, const char *extra_key, const char *extra_val,
			  double v)
{
	bool any = f->nr_labels || extra_key;
	char num[64];

	strbuf_puts(out, f->name);
	strbuf_puts(out, suffix);
	if (any) {
		strbuf_putc(out, '{');
		for (size_t i = 0; i < f->nr_labels; i++) {
			if (i)
				strbuf_putc(out, ',');
			strbuf_printf(out, "%s=\"", f->labels[i]);
			metrics_escape_label(out, s->values[i]);
			strbuf_putc(out, '"');
		}
		if (extra_key)
			strbuf_printf(out, "%s%s=\"%s\"", f->nr_labels ? "," : "", extra_key,
				      extra_val);
		strbuf_putc(out, '}');
	}
	metrics_format_value(num, sizeof(num), v);
	strbuf_printf(out, " %s\n", num);
}

static const char *type_name(enum metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

void metrics_render(struct metrics *reg, struct strbuf *out)
{
	for (size_t i = 0; i < reg->nr; i++) {
		const struct metric_family *f = reg->families[i];

		strbuf_printf(out, "# HELP %s ", f->name);
		metrics_escape_help(out, f->help);
		strbuf_printf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
		for (size_t j = 0; j < f->nr_series; j++) {
			const struct series *s = f->series[j];
			uint64_t cumulative = 0;
			char le[64];

			if (f->type != METRIC_HISTOGRAM) {
				render_sample(out, f, s, "", NULL, NULL, s->value);
				continue;
			}
			for (size_t b = 0; b <= f->nr_bounds; b++) {
				cumulative += s->buckets[b];
				if (b < f->nr_bounds)
					metrics_format_value(le, sizeof(le), f->bounds[b]);
				else
					snprintf(le, sizeof(le), "+Inf");
				render_sample(out, f, s, "_bucket", "le", le, (double)cumulative);
			}
			render_sample(out, f, s, "_sum", NULL, NULL, s->sum);
			render_sample(out, f, s, "_count", NULL, NULL, (double)cumulative);
		}
	}
}
