// SPDX-License-Identifier: GPL-2.0-only
/*
 * make bench only: the other data path issue 18 asked to measure. The real classifier (the whole
 * of bpf/sip.bpf.c, compiled in) plus what extracting the transaction fields in the kernel takes at
 * the least: the message's first SIP_MSG_COPY bytes into per-CPU scratch, then one pass over them
 * finding each header line and telling Via/v, CSeq, Call-ID/i, From/f, To/t, Contact/m and Expires
 * apart (their offsets recorded). A real extractor would also split the Via parameters, parse the
 * CSeq number and bound every value, so this is a lower bound of option (b); docs/sip-harm.md
 * compares it with the copy that was chosen.
 */
#include "../../bpf/sip.bpf.c"

struct extract_scratch {
	__u8 buf[SIP_MSG_COPY];
	__u16 off[8]; /* where each wanted header's value starts; 0 = absent */
	__u32 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct extract_scratch);
} extract_scratch SEC(".maps");

struct extract_ctx {
	struct extract_scratch *s;
	bool line_start;
};

static __always_inline __u8 lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Header name at @i (a line start): index 1..7 of the wanted ones, 0 for any other. */
static __always_inline int header_at(const struct extract_scratch *s, __u32 i)
{
	__u8 c0, c1, c2;

	if (i + 8 > SIP_MSG_COPY)
		return 0;
	c0 = lower(s->buf[i & (SIP_MSG_COPY - 1)]);
	c1 = lower(s->buf[(i + 1) & (SIP_MSG_COPY - 1)]);
	c2 = lower(s->buf[(i + 2) & (SIP_MSG_COPY - 1)]);
	if (c1 == ':' || c1 == ' ') { /* compact forms */
		switch (c0) {
		case 'v':
			return 1;
		case 'i':
			return 3;
		case 'f':
			return 4;
		case 't':
			return 5;
		case 'm':
			return 6;
		}
		return 0;
	}
	if (c0 == 'v' && c1 == 'i' && c2 == 'a')
		return 1;
	if (c0 == 'c' && c1 == 's')
		return 2;
	if (c0 == 'c' && c1 == 'a' && c2 == 'l')
		return 3;
	if (c0 == 'f' && c1 == 'r')
		return 4;
	if (c0 == 't' && c1 == 'o')
		return 5;
	if (c0 == 'c' && c1 == 'o' && c2 == 'n')
		return 6;
	if (c0 == 'e' && c1 == 'x' && c2 == 'p')
		return 7;
	return 0;
}

static long scan_byte(__u64 i, void *data)
{
	struct extract_ctx *x = data;
	struct extract_scratch *s = x->s;
	__u8 c;
	int h;

	if (i >= s->len || i >= SIP_MSG_COPY)
		return 1;
	c = s->buf[i & (SIP_MSG_COPY - 1)];
	if (x->line_start) {
		if (c == '\r' || c == '\n')
			return 1; /* the blank line: the headers end */
		h = header_at(s, i);
		if (h > 0 && h < 8 && !s->off[h])
			s->off[h] = i;
	}
	x->line_start = c == '\n';
	return 0;
}

SEC("tc")
int sip_tc_extract(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct sip_window w = {};
	struct sip_pkt p;
	struct extract_ctx x = {};
	__u32 zero = 0, n;
	int kind;

	if (sip_headers(data, data_end, skb->len, &p) || !p.payload_len)
		return TC_ACT_UNSPEC;
	/* the window as sip_tc() fills it (frames of a test run are linear) */
	if (p.payload + SIP_WINDOW > data_end && p.payload + p.payload_len > data_end)
		return TC_ACT_UNSPEC;
	sip_window_fill(&w, p.payload, data_end);
	kind = sip_account(&p, data_end, &w, SIP_DIR_TX, skb->ifindex);
	if (kind < SIP_FIRST_REQUEST || kind >= SIP_FIRST_KEEPALIVE)
		return TC_ACT_UNSPEC;
	x.s = bpf_map_lookup_elem(&extract_scratch, &zero);
	if (!x.s)
		return TC_ACT_UNSPEC;
	n = sip_msg_copy_len(p.payload_len);
	if (bpf_skb_load_bytes(skb, p.payload_off, x.s->buf, n))
		return TC_ACT_UNSPEC;
	x.s->len = n;
	__builtin_memset(x.s->off, 0, sizeof(x.s->off));
	x.line_start = false;
	bpf_loop(SIP_MSG_COPY, scan_byte, &x, 0);
	return TC_ACT_UNSPEC;
}
