/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metric registry: families (counter, gauge, histogram) with fixed label names, series keyed
 * by label values, rendered in the Prometheus text format 0.0.4. Every feature registers its
 * families once at start-up and then only sets, adds or observes.
 *
 * Families render in name order and series in label-value order, so an exposition is
 * deterministic. The agent is single-threaded: a scrape collects and renders in one go, which is
 * what makes each scrape a consistent snapshot.
 */
#ifndef SIPWATCH_METRICS_H
#define SIPWATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

#define METRICS_MAX_LABELS  6
#define METRICS_MAX_BUCKETS 32

struct metric_family;
struct metrics;

/* Label names and values are passed as arrays; these keep call sites short. */
#define LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_LABELS   ((const char *const[]){NULL})

struct metrics *metrics_new(void);
void metrics_free(struct metrics *reg);

/* @labels: NULL-terminated names. Returns NULL (and logs) on a name clash or bad name. */
struct metric_family *metrics_counter(struct metrics *reg, const char *name, const char *help,
				      const char *const *labels);
struct metric_family *metrics_gauge(struct metrics *reg, const char *name, const char *help,
				    const char *const *labels);
/* @bounds: strictly increasing upper bounds, +Inf implied. */
struct metric_family *metrics_histogram(struct metrics *reg, const char *name, const char *help,
					const char *const *labels, const double *bounds,
					size_t nr_bounds);
struct metric_family *metrics_find(struct metrics *reg, const char *name);

/* @values: one per label name, in order. Missing series are created on first use. */
void metric_set(struct metric_family *f, const char *const *values, double v);
void metric_add(struct metric_family *f, const char *const *values, double v);
void metric_observe(struct metric_family *f, const char *const *values, double v);
/* Replace a histogram series' state: @counts per bucket (not cumulative), nr_bounds + 1 of them. */
void metric_histogram_set(struct metric_family *f, const char *const *values,
			  const uint64_t *counts, double sum);
/* Value of a series (counter/gauge), or NAN if absent: for tests and derived values. */
double metric_value(struct metric_family *f, const char *const *values);
/* Drop every series: for gauges recomputed from scratch at each scrape. */
void metric_family_clear(struct metric_family *f);
size_t metric_family_series(const struct metric_family *f);

void metrics_render(struct metrics *reg, struct strbuf *out);

/* Exposed for tests: Prometheus text-format number and escaping rules. */
void metrics_format_value(char *buf, size_t len, double v);
void metrics_escape_label(struct strbuf *out, const char *v);
void metrics_escape_help(struct strbuf *out, const char *v);

#endif
