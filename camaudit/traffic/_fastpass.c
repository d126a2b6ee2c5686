/*
 * camaudit.traffic._fastpass: the one compiled pass over a capture's records.
 *
 * Walks pcap records (and plain pcapng Enhanced Packet Blocks), decodes the common
 * headers (Ethernet with up to two VLAN tags, Linux SLL/SLL2, raw IP, BSD NULL/LOOP;
 * IPv4/IPv6; TCP/UDP) and folds each packet into its flow, all in one loop.
 *
 * It never guesses: any frame it does not fully understand, and every frame whose
 * content Python must look at (DNS, the first payload bytes of each flow side, ICMP,
 * fragments, IPv6 extension headers, short or malformed headers, other link types or
 * encapsulations), is handed over to the Python decoder untouched, and counted there.
 * The aggregate it keeps is the same as camaudit.traffic.flows.FlowAcc (counts, bytes,
 * flag bits, earliest/latest frame, earliest SYN and SYN-ACK); flows.py turns both into
 * flow records with one finishing function.
 *
 * Order of frames: "ord" = segment << 40 | frame, where a segment is a file (or a
 * range of one, under --jobs) in reading order. Earliest/latest are by ord.
 *
 * Bounded: past max_flows flows, later flows are pooled per address pair (no ports); past
 * max_pairs pairs, per source address and destination network (/24, IPv6 /64), so that a
 * scan of millions of addresses keeps a few entries per network; past max_networks of those
 * (a flood from millions of spoofed sources), in one entry per protocol and address family,
 * so that memory is bounded whatever the addresses (flows.py does the same).
 * The host table (source address -> earliest MAC) keeps max_hosts addresses, the first
 * seen; a later address's frames are only counted, with the first few ords (engine.py's
 * HostTable does the same, and holds the merged tables to the limit).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define MAX_RECORD (1u << 20)
#define TLS_KEEP 16384u
#define KEEP_CHUNKS 64u

enum { B_SYN = 1, B_SYNACK = 2, B_ACK = 4, B_FIN = 8, B_RST = 16, B_DATA = 32 };
/* What a table entry holds: one flow, one address pair's pooled flows, one source address's
 * pooled flows to one network, or the flows that spilled past those, per protocol and address
 * family (flows.py: PAIR, NETWORK and SPILL, shifted into the key's protocol; one bit each). */
enum { P_FLOW = 0, P_PAIR = 1, P_NETWORK = 2, P_SPILL = 4 };
enum { F_CREATE = 0, F_FORCE = 1, F_FIND = 2 };

typedef struct {
    uint64_t ahi, alo, bhi, blo;
    uint16_t ap, bp;
    uint8_t proto;
    uint8_t pool; /* P_FLOW, P_PAIR, P_NETWORK, P_SPILL: part of the key */
    uint8_t first_dir;
    int8_t syn_dir, synack_dir; /* -1: none seen */
    int32_t vlan;               /* VLAN of the earliest frame, -1 none */
    uint8_t bits[2];
    uint8_t kept_n[2];
    uint32_t kept[2]; /* payload bytes of each side already handed to Python */
    uint64_t packets[2], octets[2];
    double first_ts, last_ts, syn_ts, synack_ts;
    int64_t first_ord, last_ord, syn_ord, synack_ord;
} Flow;

typedef struct {
    uint64_t hi, lo;
    int64_t mac, ord, frames;
} Host;

#define DROPPED_FIRST 10 /* engine._FIRST_FRAMES */

/* Frames handed over: copied out, so that Python can take them in large batches. */
typedef struct {
    int64_t *off, *cap, *orig, *frame, *lt;
    double *ts;
    Py_ssize_t n, size;
    uint8_t *data;
    Py_ssize_t dlen, dsize;
} Handed;

typedef struct {
    PyObject_HEAD
    Flow *flows;
    Py_ssize_t nflows, flow_alloc;
    uint32_t *fidx; /* open addressing: index+1 into flows, 0 = empty */
    size_t fmask;
    Host *hosts;
    Py_ssize_t nhosts, host_alloc;
    uint32_t *hidx;
    size_t hmask;
    Py_ssize_t max_hosts;       /* 0: unbounded */
    long long hosts_dropped;    /* frames whose source address found the host table full */
    int64_t dropped_first[DROPPED_FIRST]; /* the smallest ords of them, ascending */
    int ndropped_first;
    Handed h;
    Py_ssize_t max_flows; /* 0: unbounded */
    Py_ssize_t max_pairs; /* address pairs pooled before pooling per network; 0: unbounded */
    Py_ssize_t npairs;
    Py_ssize_t max_networks; /* network entries before spilling; 0: unbounded */
    Py_ssize_t nnetworks;
    long long folded;     /* frames decoded and folded here (not handed over) */
    long long summarised; /* packets counted per address pair once the table was full */
    int upto; /* -1 index every frame (CaptureFile.batches); bench only: 0 walk, 1 decode; 2 all */
    long long bad_ts;     /* frames whose time is outside years 1-9999 (capfile.TS_RANGE) */
    long long first_bad_ts;
} Pass;

/* ------------------------------------------------------------------ helpers */

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }
static inline uint32_t rd32(const uint8_t *p, int big) {
    return big ? be32(p) : ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline uint16_t rd16(const uint8_t *p, int big) {
    return big ? be16(p) : (uint16_t)((p[1] << 8) | p[0]);
}

static inline uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    return h;
}

/* Frames are ordered as read (segment, then frame number), as Wireshark numbers them:
 * the time is carried along, never compared (interfaces and files may disagree on it). */
static inline int earlier(double ta, int64_t oa, double tb, int64_t ob) {
    (void)ta;
    (void)tb;
    return oa < ob;
}

/* ``bytes`` NULL: record ``index_off`` (an offset into the caller's buffer), copy nothing. */
static int handed_push(Handed *h, const uint8_t *bytes, int64_t index_off, int64_t cap, int64_t orig,
                       double ts, int64_t frame, int64_t lt) {
    if (bytes && h->dlen + cap > h->dsize) {
        Py_ssize_t size = h->dsize ? h->dsize : 1 << 16;
        while (size < h->dlen + cap) size *= 2;
        uint8_t *p = PyMem_Realloc(h->data, (size_t)size);
        if (!p) return -1;
        h->data = p;
        h->dsize = size;
    }
    int64_t off = index_off;
    if (bytes) {
        off = h->dlen;
        if (cap) memcpy(h->data + off, bytes, (size_t)cap);
        h->dlen += cap;
    }
    if (h->n == h->size) {
        Py_ssize_t size = h->size ? h->size * 2 : 1024;
        int64_t **cols[5] = {&h->off, &h->cap, &h->orig, &h->frame, &h->lt};
        for (int i = 0; i < 5; i++) {
            int64_t *p = PyMem_Realloc(*cols[i], (size_t)size * sizeof(int64_t));
            if (!p) return -1;
            *cols[i] = p;
        }
        double *t = PyMem_Realloc(h->ts, (size_t)size * sizeof(double));
        if (!t) return -1;
        h->ts = t;
        h->size = size;
    }
    h->off[h->n] = off;
    h->cap[h->n] = cap;
    h->orig[h->n] = orig;
    h->ts[h->n] = ts;
    h->frame[h->n] = frame;
    h->lt[h->n] = lt;
    h->n++;
    return 0;
}

/* ------------------------------------------------------------------ tables */

static int flow_grow(Pass *s) {
    size_t cap = s->fmask ? (s->fmask + 1) * 2 : 4096;
    uint32_t *idx = PyMem_Calloc(cap, sizeof(uint32_t));
    if (!idx) return -1;
    for (Py_ssize_t i = 0; i < s->nflows; i++) {
        Flow *f = &s->flows[i];
        uint64_t h = mix(mix(mix(mix(mix(mix(f->proto | f->pool << 8, f->ahi), f->alo), f->ap), f->bhi), f->blo), f->bp);
        size_t j = h & (cap - 1);
        while (idx[j]) j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)(i + 1);
    }
    PyMem_Free(s->fidx);
    s->fidx = idx;
    s->fmask = cap - 1;
    return 0;
}

/* Find or create; NULL with no exception when the table is full (F_CREATE) or the entry is
 * not there (F_FIND), NULL with one on error. */
static Flow *flow_get(Pass *s, uint8_t pool, uint8_t proto, uint64_t ahi, uint64_t alo, uint16_t ap,
                      uint64_t bhi, uint64_t blo, uint16_t bp, int mode) {
    if ((size_t)(s->nflows + 1) * 2 > s->fmask + 1 || !s->fidx) {
        if (flow_grow(s) < 0) {
            PyErr_NoMemory();
            return NULL;
        }
    }
    uint64_t h = mix(mix(mix(mix(mix(mix(proto | pool << 8, ahi), alo), ap), bhi), blo), bp);
    size_t j = h & s->fmask;
    while (s->fidx[j]) {
        Flow *f = &s->flows[s->fidx[j] - 1];
        if (f->alo == alo && f->blo == blo && f->ap == ap && f->bp == bp && f->proto == proto &&
            f->pool == pool && f->ahi == ahi && f->bhi == bhi)
            return f;
        j = (j + 1) & s->fmask;
    }
    if (mode == F_FIND || (mode == F_CREATE && s->max_flows && s->nflows >= s->max_flows)) return NULL;
    if (s->nflows == s->flow_alloc) {
        Py_ssize_t n = s->flow_alloc ? s->flow_alloc * 2 : 2048;
        Flow *p = PyMem_Realloc(s->flows, (size_t)n * sizeof(Flow));
        if (!p) {
            PyErr_NoMemory();
            return NULL;
        }
        s->flows = p;
        s->flow_alloc = n;
    }
    Flow *f = &s->flows[s->nflows];
    memset(f, 0, sizeof(Flow));
    f->proto = proto;
    f->pool = pool;
    f->ahi = ahi;
    f->alo = alo;
    f->ap = ap;
    f->bhi = bhi;
    f->blo = blo;
    f->bp = bp;
    f->syn_dir = f->synack_dir = -1;
    f->vlan = -1;
    f->first_ts = 1e300;
    f->first_ord = INT64_MAX;
    f->last_ts = -1e300;
    f->last_ord = INT64_MIN;
    s->nflows++;
    s->fidx[j] = (uint32_t)s->nflows;
    return f;
}

static void host_drop(Pass *s, int64_t ord) {
    s->hosts_dropped++;
    int n = s->ndropped_first;
    if (n == DROPPED_FIRST && ord >= s->dropped_first[n - 1]) return;
    if (n < DROPPED_FIRST) s->ndropped_first = ++n;
    int i = n - 1;
    for (; i > 0 && s->dropped_first[i - 1] > ord; i--) s->dropped_first[i] = s->dropped_first[i - 1];
    s->dropped_first[i] = ord;
}

static int host_note(Pass *s, uint64_t hi, uint64_t lo, int64_t mac, int64_t ord) {
    size_t j = 0;
    if (s->hidx) {
        j = mix(hi, lo) & s->hmask;
        while (s->hidx[j]) {
            Host *x = &s->hosts[s->hidx[j] - 1];
            if (x->hi == hi && x->lo == lo) {
                if (ord < x->ord) {
                    x->ord = ord;
                    x->mac = mac;
                }
                x->frames++;
                return 0;
            }
            j = (j + 1) & s->hmask;
        }
    }
    if (s->max_hosts && s->nhosts >= s->max_hosts) {
        host_drop(s, ord); /* a new address, the table full: its MAC is not kept */
        return 0;
    }
    if ((size_t)(s->nhosts + 1) * 2 > s->hmask + 1 || !s->hidx) {
        size_t cap = s->hmask ? (s->hmask + 1) * 2 : 1024;
        uint32_t *idx = PyMem_Calloc(cap, sizeof(uint32_t));
        if (!idx) return -1;
        for (Py_ssize_t i = 0; i < s->nhosts; i++) {
            size_t k = mix(s->hosts[i].hi, s->hosts[i].lo) & (cap - 1);
            while (idx[k]) k = (k + 1) & (cap - 1);
            idx[k] = (uint32_t)(i + 1);
        }
        PyMem_Free(s->hidx);
        s->hidx = idx;
        s->hmask = cap - 1;
        j = mix(hi, lo) & s->hmask;
        while (s->hidx[j]) j = (j + 1) & s->hmask;
    }
    if (s->nhosts == s->host_alloc) {
        Py_ssize_t n = s->host_alloc ? s->host_alloc * 2 : 512;
        Host *p = PyMem_Realloc(s->hosts, (size_t)n * sizeof(Host));
        if (!p) return -1;
        s->hosts = p;
        s->host_alloc = n;
    }
    Host *x = &s->hosts[s->nhosts++];
    x->hi = hi;
    x->lo = lo;
    x->mac = mac;
    x->ord = ord;
    x->frames = 1;
    s->hidx[j] = (uint32_t)s->nhosts;
    return 0;
}

/* ------------------------------------------------------------------ one frame */

#define V4_MAPPED 0xFFFF00000000ull

/* The ports of traffic/passive.py's PASSIVE_PORTS (a test keeps the two lists equal). */
static int is_passive_port(uint16_t port) {
    return port == 67 || port == 68 || port == 5353 || port == 1900;
}

/* The network an address is pooled in: its /24 (IPv4, held IPv4-mapped), else its /64. */
static void network_of(uint64_t hi, uint64_t lo, uint64_t *nhi, uint64_t *nlo) {
    *nhi = hi;
    *nlo = (hi == 0 && (lo >> 32) == 0xFFFF) ? lo & ~0xFFull : 0;
}

/* The entry a flow past the table's limit is counted in (``dir``: which end sent it): its
 * address pair's, or past max_pairs pairs, per source address and destination network. A
 * network entry's first end is the address, its second the network; a packet the other way
 * (a reply) is counted in the entry of its destination if there is one. Past max_networks
 * network entries, a packet none of them holds spills into its protocol and address family's
 * entry (both ends the family's unspecified address, every packet on side 0). */
static Flow *pooled(Pass *s, uint8_t proto, uint64_t shi, uint64_t slo, uint64_t dhi, uint64_t dlo, int *dir) {
    int d = (shi > dhi) || (shi == dhi && slo > dlo);
    int room = !s->max_pairs || s->npairs < s->max_pairs;
    Flow *f = d ? flow_get(s, P_PAIR, proto, dhi, dlo, 0, shi, slo, 0, room ? F_FORCE : F_FIND)
                : flow_get(s, P_PAIR, proto, shi, slo, 0, dhi, dlo, 0, room ? F_FORCE : F_FIND);
    if (f) {
        if (f->packets[0] + f->packets[1] == 0) s->npairs++;
        *dir = d;
        return f;
    }
    if (PyErr_Occurred()) return NULL;
    uint64_t nhi, nlo;
    network_of(shi, slo, &nhi, &nlo);
    f = flow_get(s, P_NETWORK, proto, dhi, dlo, 0, nhi, nlo, 0, F_FIND);
    if (f) {
        *dir = 1;
        return f;
    }
    if (PyErr_Occurred()) return NULL;
    network_of(dhi, dlo, &nhi, &nlo);
    *dir = 0;
    room = !s->max_networks || s->nnetworks < s->max_networks;
    f = flow_get(s, P_NETWORK, proto, shi, slo, 0, nhi, nlo, 0, room ? F_FORCE : F_FIND);
    if (f) {
        if (f->packets[0] + f->packets[1] == 0) s->nnetworks++;
        return f;
    }
    if (PyErr_Occurred()) return NULL;
    uint64_t family = (shi == 0 && (slo >> 32) == 0xFFFF) ? V4_MAPPED : 0;
    return flow_get(s, P_SPILL, proto, 0, family, 0, 0, family, 0, F_FORCE);
}

/* 0: folded into a flow; 1: to be handed over; -1: error (exception set). */
static int frame_fast(Pass *s, const uint8_t *p, int64_t caplen, int64_t origlen, double ts,
                      int64_t ord, int linktype) {
    int64_t l3;
    int et;
    int32_t vlan = -1;
    int64_t smac = -1;
    switch (linktype) {
    case 1: { /* Ethernet, up to two VLAN tags (deeper stacks: Python) */
        if (caplen < 15) return 1;
        et = be16(p + 12);
        l3 = 14;
        for (int depth = 0; depth < 2 && (et == 0x8100 || et == 0x88A8 || et == 0x9100); depth++) {
            if (caplen < l3 + 5) return 1;
            if (depth == 0) vlan = be16(p + l3) & 0x0FFF;
            et = be16(p + l3 + 2);
            l3 += 4;
        }
        smac = ((int64_t)be16(p + 6) << 32) | be32(p + 8);
        break;
    }
    case 113: /* Linux SLL (a netlink device, ARPHRD 824, carries no IP: Python) */
        if (caplen < 17 || be16(p + 2) == 824) return 1;
        et = be16(p + 14);
        l3 = 16;
        if (be16(p + 4) == 6) smac = ((int64_t)be16(p + 6) << 32) | be32(p + 8);
        break;
    case 276: /* Linux SLL2 */
        if (caplen < 21 || be16(p + 8) == 824) return 1;
        et = be16(p);
        l3 = 20;
        if (p[11] == 6) smac = ((int64_t)be16(p + 12) << 32) | be32(p + 14);
        break;
    case 12: case 14: case 101: case 228: case 229:
        if (caplen < 1) return 1;
        et = (p[0] >> 4) == 4 ? 0x0800 : (p[0] >> 4) == 6 ? 0x86DD : -2;
        l3 = 0;
        break;
    case 0: case 108: {
        if (caplen < 5) return 1;
        uint32_t be = be32(p);
        uint32_t le = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        uint32_t family = linktype == 108 ? be : (le <= 0xFFFF ? le : be);
        et = family == 2 ? 0x0800 : (family == 10 || family == 24 || family == 28 || family == 30) ? 0x86DD : -2;
        l3 = 4;
        break;
    }
    default:
        return 1;
    }
    uint8_t proto;
    uint64_t shi, slo, dhi, dlo;
    int64_t l4, ip_end;
    const uint8_t *ip = p + l3;
    if (et == 0x0800) {
        if (caplen < l3 + 20) return 1;
        int ihl = (ip[0] & 0x0F) * 4;
        int total = be16(ip + 2);
        if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl) return 1;
        if (be16(ip + 6) & 0x3FFF) return 1; /* fragment */
        proto = ip[9];
        shi = dhi = 0;
        slo = V4_MAPPED | be32(ip + 12);
        dlo = V4_MAPPED | be32(ip + 16);
        l4 = l3 + ihl;
        ip_end = l3 + total;
    } else if (et == 0x86DD) {
        if (caplen < l3 + 40) return 1;
        if ((ip[0] >> 4) != 6) return 1;
        proto = ip[6];
        shi = be64(ip + 8);
        slo = be64(ip + 16);
        dhi = be64(ip + 24);
        dlo = be64(ip + 32);
        l4 = l3 + 40;
        ip_end = l3 + 40 + be16(ip + 4);
    } else {
        return 1; /* ARP and everything not IP */
    }
    int flags = 0;
    int64_t pay;
    uint16_t sport, dport;
    if (proto == 6) {
        if (caplen < l4 + 20) return 1;
        int doff = (p[l4 + 12] >> 4) * 4;
        if (doff < 20) return 1;
        flags = p[l4 + 13];
        pay = l4 + doff;
    } else if (proto == 17) {
        if (caplen < l4 + 8) return 1;
        pay = l4 + 8;
    } else {
        return 1; /* ICMP, extension headers, other protocols */
    }
    sport = be16(p + l4);
    dport = be16(p + l4 + 2);
    if (sport == 53 || dport == 53) return 1;
    /* DHCP, mDNS, SSDP: hosts name themselves there (traffic/passive.py reads each one) */
    if (proto == 17 && (is_passive_port(sport) || is_passive_port(dport))) return 1;
    if (s->upto == 1) return 0; /* timing the decoder alone (bench) */
    int64_t cap_end = caplen < ip_end ? caplen : ip_end;
    int64_t pay_len = ip_end - pay > 0 ? ip_end - pay : 0;
    int64_t pay_cap = cap_end - pay > 0 ? cap_end - pay : 0;

    int dir = (shi > dhi) || (shi == dhi && (slo > dlo || (slo == dlo && sport > dport)));
    Flow *f = dir ? flow_get(s, P_FLOW, proto, dhi, dlo, dport, shi, slo, sport, F_CREATE)
                  : flow_get(s, P_FLOW, proto, shi, slo, sport, dhi, dlo, dport, F_CREATE);
    int summarised = 0;
    if (!f) {
        if (PyErr_Occurred()) return -1;
        /* The table is full (a scan, a flood): later flows are pooled, without ports, so that
         * memory stays bounded and no address or network is lost. */
        f = pooled(s, proto, shi, slo, dhi, dlo, &dir);
        if (!f) return -1;
        summarised = 1;
        s->summarised++;
    }
    if (!summarised && pay_cap > 0 && f->kept[dir] < TLS_KEEP && f->kept_n[dir] < KEEP_CHUNKS) {
        f->kept[dir] += (uint32_t)(pay_cap < TLS_KEEP ? pay_cap : TLS_KEEP);
        f->kept_n[dir]++;
        return 1; /* its first payload bytes: Python keeps them */
    }
    int bits = pay_len > 0 ? B_DATA : 0;
    if (proto == 6) {
        int sa = flags & 0x12;
        if (sa == 0x02) bits |= B_SYN;
        else if (sa == 0x12) bits |= B_SYNACK;
        else if (sa == 0x10) bits |= B_ACK;
        if (flags & 0x01) bits |= B_FIN;
        if (flags & 0x04) bits |= B_RST;
        if ((bits & B_SYN) && (f->syn_dir < 0 || earlier(ts, ord, f->syn_ts, f->syn_ord))) {
            f->syn_ts = ts;
            f->syn_ord = ord;
            f->syn_dir = (int8_t)dir;
        }
        if ((bits & B_SYNACK) && (f->synack_dir < 0 || earlier(ts, ord, f->synack_ts, f->synack_ord))) {
            f->synack_ts = ts;
            f->synack_ord = ord;
            f->synack_dir = (int8_t)dir;
        }
    }
    f->bits[dir] |= (uint8_t)bits;
    f->packets[dir]++;
    f->octets[dir] += (uint64_t)origlen;
    if (earlier(ts, ord, f->first_ts, f->first_ord)) {
        f->first_ts = ts;
        f->first_ord = ord;
        f->first_dir = (uint8_t)dir;
        f->vlan = vlan;
    }
    if (!earlier(ts, ord, f->last_ts, f->last_ord)) {
        f->last_ts = ts;
        f->last_ord = ord;
    }
    if (smac >= 0 && host_note(s, shi, slo, smac, ord) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

#define TS_MIN (-62135596800.0)
#define TS_MAX 253402300799.0

static int frame(Pass *s, const uint8_t *base, int64_t off, int64_t caplen, int64_t origlen,
                 double ts, int64_t seg, int64_t frameno, int linktype, int64_t *fast) {
    if (!(ts >= TS_MIN && ts <= TS_MAX)) { /* NaN too */
        if (!s->bad_ts) s->first_bad_ts = frameno;
        s->bad_ts++;
    }
    if (s->upto < 0) { /* index only: every frame, by its offset in the caller's buffer */
        if (handed_push(&s->h, NULL, off, caplen, origlen, ts, frameno, linktype) < 0) {
            PyErr_NoMemory();
            return -1;
        }
        return 0;
    }
    if (s->upto == 0) return 0; /* timing the record walk alone (bench) */
    int r = frame_fast(s, base + off, caplen, origlen, ts, (seg << 40) | frameno, linktype);
    if (r == 0) {
        (*fast)++;
        s->folded++;
        return 0;
    }
    if (r < 0) return -1;
    if (handed_push(&s->h, base + off, 0, caplen, origlen, ts, frameno, linktype) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ methods */

/* pcap(data, pos, big, scale, linktype, frame, seg, limit)
 * -> (pos, frames, fast, corrupt, first_ts, last_ts) */
static PyObject *Pass_pcap(Pass *s, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t pos;
    int big, linktype;
    double scale;
    long long frameno, seg, limit;
    if (!PyArg_ParseTuple(args, "y*npdiLLL", &buf, &pos, &big, &scale, &linktype, &frameno, &seg, &limit))
        return NULL;
    const uint8_t *d = buf.buf;
    Py_ssize_t n = buf.len;
    int64_t count = 0, fast = 0;
    int corrupt = 0;
    double first = 0.0, last = 0.0;
    while (pos + 16 <= n) {
        uint32_t incl = rd32(d + pos + 8, big);
        if (incl > MAX_RECORD) {
            corrupt = 1;
            break;
        }
        Py_ssize_t end = pos + 16 + (Py_ssize_t)incl;
        if (end > n) break;
        double ts = (double)rd32(d + pos, big) + (double)rd32(d + pos + 4, big) * scale;
        if (count == 0) first = ts;
        last = ts;
        count++;
        if (frame(s, d, pos + 16, incl, rd32(d + pos + 12, big), ts, seg, frameno + count, linktype, &fast) < 0) {
            PyBuffer_Release(&buf);
            return NULL;
        }
        pos = end;
        if (limit >= 0 && frameno + count >= limit) break;
    }
    PyBuffer_Release(&buf);
    return Py_BuildValue("nLLidd", pos, (long long)count, (long long)fast, corrupt, first, last);
}

/* pcapng(data, pos, big, ifaces [(linktype, scale, offset)], frame, seg, limit)
 * Walks Enhanced Packet Blocks without options for known interfaces and stops at the first
 * other block, which Python reads. -> (pos, frames, fast, first_ts, last_ts, per-iface counts) */
static PyObject *Pass_pcapng(Pass *s, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t pos;
    int big;
    PyObject *ifaces;
    long long frameno, seg, limit;
    if (!PyArg_ParseTuple(args, "y*npO!LLL", &buf, &pos, &big, &PyList_Type, &ifaces, &frameno, &seg, &limit))
        return NULL;
    Py_ssize_t ni = PyList_GET_SIZE(ifaces);
    int *lts = PyMem_Calloc((size_t)ni + 1, sizeof(int));
    double *scales = PyMem_Calloc((size_t)ni + 1, sizeof(double));
    long long *offsets = PyMem_Calloc((size_t)ni + 1, sizeof(long long));
    int64_t *counts = PyMem_Calloc((size_t)ni + 1, sizeof(int64_t));
    PyObject *result = NULL;
    if (!lts || !scales || !offsets || !counts) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < ni; i++) {
        if (!PyArg_ParseTuple(PyList_GET_ITEM(ifaces, i), "idL", &lts[i], &scales[i], &offsets[i])) goto done;
    }
    const uint8_t *d = buf.buf;
    Py_ssize_t n = buf.len;
    int64_t count = 0, fast = 0;
    double first = 0.0, last = 0.0;
    while (pos + 32 <= n) {
        const uint8_t *b = d + pos;
        if (rd32(b, big) != 6) break;
        uint32_t blen = rd32(b + 4, big);
        uint32_t iface = rd32(b + 8, big);
        uint32_t cap = rd32(b + 20, big);
        if (iface >= (uint32_t)ni || cap > MAX_RECORD || blen != 32 + ((cap + 3) & ~3u)) break;
        if (pos + (Py_ssize_t)blen > n) break;
        uint64_t stamp = ((uint64_t)rd32(b + 12, big) << 32) | rd32(b + 16, big);
        double ts = (double)stamp * scales[iface] + (double)offsets[iface];
        if (count == 0) first = ts;
        last = ts;
        count++;
        counts[iface]++;
        if (frame(s, d, pos + 28, cap, rd32(b + 24, big), ts, seg, frameno + count, lts[iface], &fast) < 0)
            goto done;
        pos += blen;
        if (limit >= 0 && frameno + count >= limit) break;
    }
    PyObject *per = PyList_New(ni);
    if (!per) goto done;
    for (Py_ssize_t i = 0; i < ni; i++) PyList_SET_ITEM(per, i, PyLong_FromLongLong(counts[i]));
    result = Py_BuildValue("nLLddN", pos, (long long)count, (long long)fast, first, last, per);
done:
    PyMem_Free(lts);
    PyMem_Free(scales);
    PyMem_Free(offsets);
    PyMem_Free(counts);
    PyBuffer_Release(&buf);
    return result;
}

/* one(data, off, caplen, origlen, ts, linktype, frame, seg) -> 1 if folded, 0 if handed over */
static PyObject *Pass_one(Pass *s, PyObject *args) {
    Py_buffer buf;
    long long off, cap, orig, frameno, seg;
    double ts;
    int linktype;
    if (!PyArg_ParseTuple(args, "y*LLLdiLL", &buf, &off, &cap, &orig, &ts, &linktype, &frameno, &seg))
        return NULL;
    int64_t fast = 0;
    int r = 0;
    if (off < 0 || cap < 0 || off + cap > buf.len) {
        PyErr_SetString(PyExc_ValueError, "frame outside the buffer");
        r = -1;
    } else {
        r = frame(s, buf.buf, off, cap, orig, ts, seg, frameno, linktype, &fast);
    }
    PyBuffer_Release(&buf);
    if (r < 0) return NULL;
    return PyLong_FromLongLong(fast);
}

/* take() -> None or (data, off, caplen, origlen, ts, frame, linktype): the frames' bytes, then
 * columns as bytes of int64 (float64 for ts) */
static PyObject *Pass_take(Pass *s, PyObject *Py_UNUSED(ignored)) {
    Handed *h = &s->h;
    if (!h->n) Py_RETURN_NONE;
    Py_ssize_t sz = h->n * 8;
    /* frames of caplen 0 only: no buffer yet, and y# would make NULL into None, not b"" */
    char *data = h->data ? (char *)h->data : "";
    PyObject *r = Py_BuildValue("y#y#y#y#y#y#y#", data, h->dlen, (char *)h->off, sz, (char *)h->cap, sz,
                                (char *)h->orig, sz, (char *)h->ts, sz, (char *)h->frame, sz, (char *)h->lt, sz);
    h->n = 0;
    h->dlen = 0;
    if (h->dsize > (8 << 20)) { /* do not keep a burst's buffer for the rest of the file */
        PyMem_Free(h->data);
        h->data = NULL;
        h->dsize = 0;
    }
    return r;
}

/* flows() -> list of tuples, one per flow that holds packets; empties the table */
static PyObject *Pass_flows(Pass *s, PyObject *Py_UNUSED(ignored)) {
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < s->nflows; i++) {
        Flow *f = &s->flows[i];
        if (!f->packets[0] && !f->packets[1]) continue;
        PyObject *syn = f->syn_dir < 0 ? Py_NewRef(Py_None) : Py_BuildValue("(dLi)", f->syn_ts, (long long)f->syn_ord, f->syn_dir);
        PyObject *synack = f->synack_dir < 0 ? Py_NewRef(Py_None)
                                             : Py_BuildValue("(dLi)", f->synack_ts, (long long)f->synack_ord, f->synack_dir);
        if (!syn || !synack) {
            Py_XDECREF(syn);
            Py_XDECREF(synack);
            Py_DECREF(out);
            return NULL;
        }
        PyObject *t = Py_BuildValue(
            "((iKKiKKi)(KK)(KK)(ii)(dLi)(dL)NNi)", f->proto | f->pool << 8, (unsigned long long)f->ahi, (unsigned long long)f->alo,
            f->ap, (unsigned long long)f->bhi, (unsigned long long)f->blo, f->bp, (unsigned long long)f->packets[0],
            (unsigned long long)f->packets[1], (unsigned long long)f->octets[0], (unsigned long long)f->octets[1],
            f->bits[0], f->bits[1], f->first_ts, (long long)f->first_ord, f->first_dir, f->last_ts,
            (long long)f->last_ord, syn, synack, f->vlan);
        if (!t || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(t);
    }
    PyMem_Free(s->flows);
    PyMem_Free(s->fidx);
    s->flows = NULL;
    s->fidx = NULL;
    s->nflows = s->flow_alloc = 0;
    s->npairs = 0;
    s->nnetworks = 0;
    s->fmask = 0;
    return out;
}

/* hosts() -> list of (hi, lo, mac, ord, frames) */
static PyObject *Pass_hosts(Pass *s, PyObject *Py_UNUSED(ignored)) {
    PyObject *out = PyList_New(s->nhosts);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < s->nhosts; i++) {
        Host *x = &s->hosts[i];
        PyObject *t = Py_BuildValue("(KKLLL)", (unsigned long long)x->hi, (unsigned long long)x->lo,
                                    (long long)x->mac, (long long)x->ord, (long long)x->frames);
        if (!t) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, t);
    }
    return out;
}

/* hosts_dropped() -> (frames whose source address found the host table full, the smallest
 * ords of them); counts from zero again after each call (one call per file) */
static PyObject *Pass_hosts_dropped(Pass *s, PyObject *Py_UNUSED(ignored)) {
    PyObject *ords = PyList_New(s->ndropped_first);
    if (!ords) return NULL;
    for (int i = 0; i < s->ndropped_first; i++) {
        PyObject *o = PyLong_FromLongLong((long long)s->dropped_first[i]);
        if (!o) {
            Py_DECREF(ords);
            return NULL;
        }
        PyList_SET_ITEM(ords, i, o);
    }
    PyObject *r = Py_BuildValue("(LN)", s->hosts_dropped, ords);
    s->hosts_dropped = 0;
    s->ndropped_first = 0;
    return r;
}

/* bad_timestamps() -> (frames with a time outside years 1-9999, the first one's number);
 * counts from zero again after each call (one call per file) */
static PyObject *Pass_bad_timestamps(Pass *s, PyObject *Py_UNUSED(ignored)) {
    PyObject *r = Py_BuildValue("(LL)", s->bad_ts, s->bad_ts ? s->first_bad_ts : 0LL);
    s->bad_ts = s->first_bad_ts = 0;
    return r;
}

static PyObject *Pass_get_nflows(Pass *s, void *Py_UNUSED(c)) { return PyLong_FromSsize_t(s->nflows); }
static PyObject *Pass_get_folded(Pass *s, void *Py_UNUSED(c)) { return PyLong_FromLongLong(s->folded); }
static PyObject *Pass_get_summarised(Pass *s, void *Py_UNUSED(c)) { return PyLong_FromLongLong(s->summarised); }
static PyObject *Pass_get_pending(Pass *s, void *Py_UNUSED(c)) {
    return Py_BuildValue("(nn)", s->h.n, s->h.dlen);
}

static int Pass_init(Pass *s, PyObject *args, PyObject *kw) {
    static char *names[] = {"max_flows", "upto", "max_pairs", "max_hosts", "max_networks", NULL};
    Py_ssize_t max_flows = 0, max_pairs = 0, max_hosts = 0, max_networks = 0;
    int upto = 2;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|ninnn", names, &max_flows, &upto, &max_pairs,
                                     &max_hosts, &max_networks))
        return -1;
    s->max_flows = max_flows;
    s->max_pairs = max_pairs;
    s->max_networks = max_networks;
    s->max_hosts = max_hosts;
    s->upto = upto;
    return 0;
}

static void Pass_dealloc(Pass *s) {
    PyMem_Free(s->flows);
    PyMem_Free(s->fidx);
    PyMem_Free(s->hosts);
    PyMem_Free(s->hidx);
    PyMem_Free(s->h.off);
    PyMem_Free(s->h.cap);
    PyMem_Free(s->h.orig);
    PyMem_Free(s->h.ts);
    PyMem_Free(s->h.frame);
    PyMem_Free(s->h.lt);
    PyMem_Free(s->h.data);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMethodDef Pass_methods[] = {
    {"pcap", (PyCFunction)Pass_pcap, METH_VARARGS, "Walk, decode and fold pcap records."},
    {"pcapng", (PyCFunction)Pass_pcapng, METH_VARARGS, "Walk, decode and fold plain pcapng EPBs."},
    {"one", (PyCFunction)Pass_one, METH_VARARGS, "Decode and fold one frame Python walked."},
    {"take", (PyCFunction)Pass_take, METH_NOARGS, "The frames handed over since the last call."},
    {"flows", (PyCFunction)Pass_flows, METH_NOARGS, "Every flow's aggregate; empties the table."},
    {"hosts", (PyCFunction)Pass_hosts, METH_NOARGS, "Each source address's earliest MAC."},
    {"hosts_dropped", (PyCFunction)Pass_hosts_dropped, METH_NOARGS,
     "Frames of addresses past max_hosts, and the first ords of them."},
    {"bad_timestamps", (PyCFunction)Pass_bad_timestamps, METH_NOARGS, "Frames with an impossible time."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Pass_getset[] = {
    {"nflows", (getter)Pass_get_nflows, NULL, "flows in the table", NULL},
    {"folded", (getter)Pass_get_folded, NULL, "frames decoded and folded here", NULL},
    {"summarised", (getter)Pass_get_summarised, NULL, "packets counted per address pair (table full)", NULL},
    {"pending", (getter)Pass_get_pending, NULL, "(frames, bytes) handed over and not taken yet", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PassType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "camaudit.traffic._fastpass.Pass",
    .tp_basicsize = sizeof(Pass),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Flow aggregate of the frames the compiled pass understood.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Pass_init,
    .tp_dealloc = (destructor)Pass_dealloc,
    .tp_methods = Pass_methods,
    .tp_getset = Pass_getset,
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_fastpass", "The compiled pass over capture records.", -1,
                                    NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastpass(void) {
#ifdef __GLIBC__
    /* Captures are read in 4 MiB chunks, each a new bytes object. glibc raises its mmap
     * threshold after the first is freed and then serves them from the heap, which
     * fragments and keeps growing with the file; a fixed threshold keeps them mmap'd
     * and returned on free (measured: 128 -> 114 MB peak on a 4.6 GB capture). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    if (PyType_Ready(&PassType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Pass", (PyObject *)&PassType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "TLS_KEEP", TLS_KEEP);
    PyModule_AddIntConstant(m, "KEEP_CHUNKS", KEEP_CHUNKS);
    PyModule_AddIntConstant(m, "PAIR", P_PAIR << 8);
    PyModule_AddIntConstant(m, "NETWORK", P_NETWORK << 8);
    PyModule_AddIntConstant(m, "SPILL", P_SPILL << 8);
    return m;
}
