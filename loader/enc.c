// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records to JSON lines. igfs_enc__new walks the BTF of a data source's
 * struct once and compiles a flat list of ops (constant text + one value
 * each); igfs_enc__line replays them over a record. Pure: no I/O, no locks,
 * no mutable globals. Knows nothing about maps, programs or FUSE.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/btf.h>
#include <linux/btf.h>

#include "enc.h"
#include "enc_syscalls.h"

/* What an op writes for its value. */
enum enc_kind {
	ENC_INT,     /* integer of 1/2/4/8 bytes or a bitfield */
	ENC_INT128,  /* __int128 */
	ENC_BOOL,    /* true iff the value is 1 (IG's accessor.Bool) */
	ENC_FLOAT,   /* float or double */
	ENC_STR,     /* char[count] up to the first NUL */
	ENC_ARR,     /* count integers of size bytes: [a,b] */
	ENC_ENUM,    /* plain enum: name, or the number when unknown (SPEC §3) */
	ENC_DERIVED, /* derived string and/or the raw number, fmt says which */
	ENC_IPADDR,  /* endpoint address string; aux = offset of version */
	ENC_USTACK,  /* "addresses","buildid","symbols" of a user stack struct */
};

/* The derived-string formatters (GADGET-FORMAT §9, research/ig-json.md). */
enum enc_fmt {
	ENC_D_EMPTY, /* formatter applies but the type is wrong: IG leaves "" */
	ENC_D_TIMESTAMP,
	ENC_D_ERRNO,
	ENC_D_SIGNAL,
	ENC_D_SYSCALL,
	ENC_D_UID,
	ENC_D_GID,
	ENC_D_FLAGS,
	ENC_D_MODE,
	ENC_D_BYTES,
	ENC_D_DURATION,
	ENC_D_KSTACK,
	ENC_D_ENUM, /* aux = enum index; "UNKNOWN" or joined set */
	ENC_D_PROTO,
	ENC_D_NONE, /* not well-known */
};

#define ENC_F_SIGNED 0x01
#define ENC_F_BITS   0x02 /* bitfield: shift and count = width */
#define ENC_F_RAW    0x04 /* derived op: emit the raw number */
#define ENC_F_DER    0x08 /* derived op: emit the derived string */
#define ENC_F_DFIRST 0x10 /* derived op: derived string before the raw number */

#define ENC_SLACK 32 /* spare bytes for enc_put_text's 16-byte moves */

struct enc_op {
	uint8_t kind;
	uint8_t fmt;
	uint8_t size; /* bytes of the scalar, or of one array element */
	uint8_t flags;
	uint8_t shift;	       /* bitfield: bits to shift right after loading size bytes */
	uint32_t off;	       /* byte offset in the record */
	uint32_t count;	       /* STR bytes, ARR elements, bitfield width, ustack size */
	uint32_t aux;	       /* enum index, version offset */
	uint32_t pre, pre_len; /* text before the (first) value */
	uint32_t mid, mid_len; /* text between the two values of a derived op */
	size_t rest;	       /* bytes from the end of this op to the end of the line */
};

struct enc_enumval {
	uint64_t val;
	uint32_t name, name_len; /* escaped JSON string body in the etext pool */
};

struct enc_enum {
	uint32_t first, n; /* values in declaration order */
	uint32_t sorted;   /* index of n value indexes sorted by (value, order) */
	uint32_t sep, sep_len;
	bool is_set;
	bool is_signed;
	uint32_t worst; /* longest rendering */
};

/* A named field for sorting: the op holding its value. */
struct enc_sortable {
	uint32_t name; /* dotted name, NUL-terminated, in the names pool */
	uint32_t op;
};

struct igfs_enc {
	size_t size;
	size_t key_size;
	struct enc_op *ops;
	size_t n_ops, cap_ops;
	struct igfs_buf text;  /* keys and constant text, referenced by ops */
	struct igfs_buf etext; /* enumerator names and separators, escaped */
	struct igfs_buf names; /* dotted field names for sorting */
	struct enc_sortable *sortable;
	size_t n_sortable, cap_sortable;
	struct enc_enum *enums;
	size_t n_enums, cap_enums;
	struct enc_enumval *evals;
	size_t n_evals, cap_evals;
	uint32_t *eidx;
	size_t n_eidx, cap_eidx;
	uint32_t tail, tail_len; /* closing braces and '\n' */
	int64_t mntns_off;	 /* the first gadget_mntns_id (u64), -1 if none */
	int64_t pid_off;	 /* the first gadget_pid (u32), -1 if none */
	size_t worst;		 /* bytes of a line at most, dynamic parts excluded */
	json_t *fields;		 /* schema field list */
};

/* ------------------------------------------------------------------ */
/* Constant tables                                                      */

/* golang.org/x/sys/unix errorList (linux/amd64): what IG prints. */
static const char *const enc_errnos[] = {
	[1] = "EPERM",
	[2] = "ENOENT",
	[3] = "ESRCH",
	[4] = "EINTR",
	[5] = "EIO",
	[6] = "ENXIO",
	[7] = "E2BIG",
	[8] = "ENOEXEC",
	[9] = "EBADF",
	[10] = "ECHILD",
	[11] = "EAGAIN",
	[12] = "ENOMEM",
	[13] = "EACCES",
	[14] = "EFAULT",
	[15] = "ENOTBLK",
	[16] = "EBUSY",
	[17] = "EEXIST",
	[18] = "EXDEV",
	[19] = "ENODEV",
	[20] = "ENOTDIR",
	[21] = "EISDIR",
	[22] = "EINVAL",
	[23] = "ENFILE",
	[24] = "EMFILE",
	[25] = "ENOTTY",
	[26] = "ETXTBSY",
	[27] = "EFBIG",
	[28] = "ENOSPC",
	[29] = "ESPIPE",
	[30] = "EROFS",
	[31] = "EMLINK",
	[32] = "EPIPE",
	[33] = "EDOM",
	[34] = "ERANGE",
	[35] = "EDEADLK",
	[36] = "ENAMETOOLONG",
	[37] = "ENOLCK",
	[38] = "ENOSYS",
	[39] = "ENOTEMPTY",
	[40] = "ELOOP",
	[42] = "ENOMSG",
	[43] = "EIDRM",
	[44] = "ECHRNG",
	[45] = "EL2NSYNC",
	[46] = "EL3HLT",
	[47] = "EL3RST",
	[48] = "ELNRNG",
	[49] = "EUNATCH",
	[50] = "ENOCSI",
	[51] = "EL2HLT",
	[52] = "EBADE",
	[53] = "EBADR",
	[54] = "EXFULL",
	[55] = "ENOANO",
	[56] = "EBADRQC",
	[57] = "EBADSLT",
	[59] = "EBFONT",
	[60] = "ENOSTR",
	[61] = "ENODATA",
	[62] = "ETIME",
	[63] = "ENOSR",
	[64] = "ENONET",
	[65] = "ENOPKG",
	[66] = "EREMOTE",
	[67] = "ENOLINK",
	[68] = "EADV",
	[69] = "ESRMNT",
	[70] = "ECOMM",
	[71] = "EPROTO",
	[72] = "EMULTIHOP",
	[73] = "EDOTDOT",
	[74] = "EBADMSG",
	[75] = "EOVERFLOW",
	[76] = "ENOTUNIQ",
	[77] = "EBADFD",
	[78] = "EREMCHG",
	[79] = "ELIBACC",
	[80] = "ELIBBAD",
	[81] = "ELIBSCN",
	[82] = "ELIBMAX",
	[83] = "ELIBEXEC",
	[84] = "EILSEQ",
	[85] = "ERESTART",
	[86] = "ESTRPIPE",
	[87] = "EUSERS",
	[88] = "ENOTSOCK",
	[89] = "EDESTADDRREQ",
	[90] = "EMSGSIZE",
	[91] = "EPROTOTYPE",
	[92] = "ENOPROTOOPT",
	[93] = "EPROTONOSUPPORT",
	[94] = "ESOCKTNOSUPPORT",
	[95] = "ENOTSUP",
	[96] = "EPFNOSUPPORT",
	[97] = "EAFNOSUPPORT",
	[98] = "EADDRINUSE",
	[99] = "EADDRNOTAVAIL",
	[100] = "ENETDOWN",
	[101] = "ENETUNREACH",
	[102] = "ENETRESET",
	[103] = "ECONNABORTED",
	[104] = "ECONNRESET",
	[105] = "ENOBUFS",
	[106] = "EISCONN",
	[107] = "ENOTCONN",
	[108] = "ESHUTDOWN",
	[109] = "ETOOMANYREFS",
	[110] = "ETIMEDOUT",
	[111] = "ECONNREFUSED",
	[112] = "EHOSTDOWN",
	[113] = "EHOSTUNREACH",
	[114] = "EALREADY",
	[115] = "EINPROGRESS",
	[116] = "ESTALE",
	[117] = "EUCLEAN",
	[118] = "ENOTNAM",
	[119] = "ENAVAIL",
	[120] = "EISNAM",
	[121] = "EREMOTEIO",
	[122] = "EDQUOT",
	[123] = "ENOMEDIUM",
	[124] = "EMEDIUMTYPE",
	[125] = "ECANCELED",
	[126] = "ENOKEY",
	[127] = "EKEYEXPIRED",
	[128] = "EKEYREVOKED",
	[129] = "EKEYREJECTED",
	[130] = "EOWNERDEAD",
	[131] = "ENOTRECOVERABLE",
	[132] = "ERFKILL",
	[133] = "EHWPOISON",
};

/* golang.org/x/sys/unix signalList (linux/amd64). */
static const char *const enc_signals[] = {
	[1] = "SIGHUP",	    [2] = "SIGINT",   [3] = "SIGQUIT",	 [4] = "SIGILL",   [5] = "SIGTRAP",
	[6] = "SIGABRT",    [7] = "SIGBUS",   [8] = "SIGFPE",	 [9] = "SIGKILL",  [10] = "SIGUSR1",
	[11] = "SIGSEGV",   [12] = "SIGUSR2", [13] = "SIGPIPE",	 [14] = "SIGALRM", [15] = "SIGTERM",
	[16] = "SIGSTKFLT", [17] = "SIGCHLD", [18] = "SIGCONT",	 [19] = "SIGSTOP", [20] = "SIGTSTP",
	[21] = "SIGTTIN",   [22] = "SIGTTOU", [23] = "SIGURG",	 [24] = "SIGXCPU", [25] = "SIGXFSZ",
	[26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH", [29] = "SIGIO",   [30] = "SIGPWR",
	[31] = "SIGSYS",
};

/* IANA protocol keywords, as IG's pkg/utils/protocols spells them. */
static const char *const enc_protos[256] = {
	[0] = "HOPOPT",
	[1] = "ICMP",
	[2] = "IGMP",
	[3] = "GGP",
	[4] = "IPv4",
	[5] = "ST",
	[6] = "TCP",
	[7] = "CBT",
	[8] = "EGP",
	[9] = "IGP",
	[10] = "BBN-RCC-MON",
	[11] = "NVP-II",
	[12] = "PUP",
	[13] = "ARGUS",
	[14] = "EMCON",
	[15] = "XNET",
	[16] = "CHAOS",
	[17] = "UDP",
	[18] = "MUX",
	[19] = "DCN-MEAS",
	[20] = "HMP",
	[21] = "PRM",
	[22] = "XNS-IDP",
	[23] = "TRUNK-1",
	[24] = "TRUNK-2",
	[25] = "LEAF-1",
	[26] = "LEAF-2",
	[27] = "RDP",
	[28] = "IRTP",
	[29] = "ISO-TP4",
	[30] = "NETBLT",
	[31] = "MFE-NSP",
	[32] = "MERIT-INP",
	[33] = "DCCP",
	[34] = "3PC",
	[35] = "IDPR",
	[36] = "XTP",
	[37] = "DDP",
	[38] = "IDPR-CMTP",
	[39] = "TP++",
	[40] = "IL",
	[41] = "IPv6",
	[42] = "SDRP",
	[43] = "IPv6-Route",
	[44] = "IPv6-Frag",
	[45] = "IDRP",
	[46] = "RSVP",
	[47] = "GRE",
	[48] = "DSR",
	[49] = "BNA",
	[50] = "ESP",
	[51] = "AH",
	[52] = "I-NLSP",
	[53] = "SWIPE",
	[54] = "NARP",
	[55] = "MOBILE",
	[56] = "TLSP",
	[57] = "SKIP",
	[58] = "IPv6-ICMP",
	[59] = "IPv6-NoNxt",
	[60] = "IPv6-Opts",
	[61] = "internal",
	[62] = "CFTP",
	[63] = "local",
	[64] = "SAT-EXPAK",
	[65] = "KRYPTOLAN",
	[66] = "RVD",
	[67] = "IPPC",
	[68] = "distributed",
	[69] = "SAT-MON",
	[70] = "VISA",
	[71] = "IPCU",
	[72] = "CPNX",
	[73] = "CPHB",
	[74] = "WSN",
	[75] = "PVP",
	[76] = "BR-SAT-MON",
	[77] = "SUN-ND",
	[78] = "WB-MON",
	[79] = "WB-EXPAK",
	[80] = "ISO-IP",
	[81] = "VMTP",
	[82] = "SECURE-VMTP",
	[83] = "VINES",
	[84] = "TTP",
	[85] = "NSFNET-IGP",
	[86] = "DGP",
	[87] = "TCF",
	[88] = "EIGRP",
	[89] = "OSPFIGP",
	[90] = "Sprite-RPC",
	[91] = "LARP",
	[92] = "MTP",
	[93] = "AX.25",
	[94] = "IPIP",
	[95] = "MICP",
	[96] = "SCC-SP",
	[97] = "ETHERIP",
	[98] = "ENCAP",
	[99] = "private",
	[100] = "GMTP",
	[101] = "IFMP",
	[102] = "PNNI",
	[103] = "PIM",
	[104] = "ARIS",
	[105] = "SCPS",
	[106] = "QNX",
	[107] = "A/N",
	[108] = "IPComp",
	[109] = "SNP",
	[110] = "Compaq-Peer",
	[111] = "IPX-in-IP",
	[112] = "VRRP",
	[113] = "PGM",
	[114] = "0-hop",
	[115] = "L2TP",
	[116] = "DDX",
	[117] = "IATP",
	[118] = "STP",
	[119] = "SRP",
	[120] = "UTI",
	[121] = "SMP",
	[122] = "SM",
	[123] = "PTP",
	[124] = "ISIS over IPv4",
	[125] = "FIRE",
	[126] = "CRTP",
	[127] = "CRUDP",
	[128] = "SSCOPMCE",
	[129] = "IPLT",
	[130] = "SPS",
	[131] = "PIPE",
	[132] = "SCTP",
	[133] = "FC",
	[134] = "RSVP-E2E-IGNORE",
	[135] = "Mobility Header",
	[136] = "UDPLite",
	[137] = "MPLS-in-IP",
	[138] = "manet",
	[139] = "HIP",
	[140] = "Shim6",
	[141] = "WESP",
	[142] = "ROHC",
	[143] = "Ethernet",
	[144] = "AGGFRAG",
	[145] = "NSH",
	[253] = "experimentation",
	[254] = "experimentation",
	[255] = "reserved",
};

/* open(2) flag bits in the order IG's trace_open formatter lists them. */
static const struct {
	uint32_t bit;
	const char *name;
} enc_oflags[] = {
	{0100, "O_CREAT"},	  {0200, "O_EXCL"},	    {0400, "O_NOCTTY"},
	{01000, "O_TRUNC"},	  {02000, "O_APPEND"},	    {04000, "O_NONBLOCK"},
	{010000, "O_DSYNC"},	  {020000, "O_FASYNC"},	    {040000, "O_DIRECT"},
	{0100000, "O_LARGEFILE"}, {0200000, "O_DIRECTORY"}, {0400000, "O_NOFOLLOW"},
	{01000000, "O_NOATIME"},  {02000000, "O_CLOEXEC"},
};

/* Well-known typedefs (GADGET-FORMAT §2) and the annotation naming their target. */
static const struct {
	const char *type;
	uint8_t fmt;
	const char *target;
} enc_wk[] = {
	{"gadget_timestamp", ENC_D_TIMESTAMP, "formatters.timestamp.target"},
	{"gadget_errno", ENC_D_ERRNO, "formatters.errno.target"},
	{"gadget_signal", ENC_D_SIGNAL, "formatters.signal.target"},
	{"gadget_syscall", ENC_D_SYSCALL, "formatters.syscall.target"},
	{"gadget_uid", ENC_D_UID, "uidgidresolver.target"},
	{"gadget_gid", ENC_D_GID, "uidgidresolver.target"},
	{"gadget_file_flags", ENC_D_FLAGS, "formatters.file_flags.target"},
	{"gadget_file_mode", ENC_D_MODE, "formatters.file_mode.target"},
	{"gadget_bytes", ENC_D_BYTES, "formatters.bytes.target"},
	{"gadget_duration", ENC_D_DURATION, "formatters.duration.target"},
	{"gadget_kernel_stack", ENC_D_KSTACK, "ebpf.formatter.kstack"},
};

#define ENC_ENUM_TARGET	 "ebpf.formatter.enum"
#define ENC_ENUM_SEP	 "ebpf.formatter.bitfield.separator"
#define ENC_TYPE_STEPS	 64   /* typedef/modifier chain longer than this is a loop */
#define ENC_MAX_UNROLL	 1024 /* elements of a non-scalar array */
#define ENC_MAX_RECORD	 IGFS_MAX_LINE
#define ENC_SMALL_RECORD 512

static const char enc_hex[] = "0123456789abcdef";

/* ------------------------------------------------------------------ */
/* Value formatting: unchecked writers into reserved space              */

static const char enc_digits2[] = "00010203040506070809"
				  "10111213141516171819"
				  "20212223242526272829"
				  "30313233343536373839"
				  "40414243444546474849"
				  "50515253545556575859"
				  "60616263646566676869"
				  "70717273747576777879"
				  "80818283848586878889"
				  "90919293949596979899";

static inline char *enc_put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/*
 * Constant text (keys, braces) from the plan's pool, which has ENC_SLACK
 * readable bytes after its end, into a line reserved with ENC_SLACK spare:
 * whole 16-byte moves that the compiler inlines, no call per key.
 */
static inline char *enc_put_text(char *p, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 16)
		__builtin_memcpy(p + i, s + i, 16);
	return p + n;
}

static inline unsigned int enc_ndigits(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 10000) {
		v /= 10000;
		n += 4;
	}
	return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* Decimal digits written straight into place, two at a time, from the end. */
static char *enc_put_u64(char *p, uint64_t v)
{
	unsigned int n = enc_ndigits(v);
	char *t = p + n;

	while (v >= 100) {
		unsigned int i = (unsigned int)(v % 100) * 2;

		v /= 100;
		*--t = enc_digits2[i + 1];
		*--t = enc_digits2[i];
	}
	if (v >= 10) {
		*--t = enc_digits2[v * 2 + 1];
		*--t = enc_digits2[v * 2];
	} else {
		*--t = (char)('0' + v);
	}
	return p + n;
}

static char *enc_put_s64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return enc_put_u64(p, 0 - (uint64_t)v);
	}
	return enc_put_u64(p, (uint64_t)v);
}

static char *enc_put_u128(char *p, unsigned __int128 v)
{
	const uint64_t e19 = 10000000000000000000ull;
	char tmp[40];
	char *t = tmp + sizeof(tmp);
	int i;

	if (v <= UINT64_MAX)
		return enc_put_u64(p, (uint64_t)v);
	while (v > UINT64_MAX) {
		uint64_t lo = (uint64_t)(v % e19);

		v /= e19;
		for (i = 0; i < 19; i++) {
			*--t = (char)('0' + lo % 10);
			lo /= 10;
		}
	}
	p = enc_put_u64(p, (uint64_t)v);
	return enc_put(p, t, (size_t)(tmp + sizeof(tmp) - t));
}

/* Zero-padded decimal of exactly @width digits. */
static char *enc_put_pad(char *p, uint64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* Bytes that need more than a copy inside a JSON string (ASCII only). */
static const uint8_t enc_esc[128] = {
	[0 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
};

/*
 * Escape @n bytes as a JSON string body the way IG's json formatter does
 * (encoding/json's writeString without HTML escaping): \" \\ \n \r \t, other
 * controls as \u00xx, each byte of invalid UTF-8 as \ufffd, U+2028/U+2029
 * escaped. Writes at most 6 * n bytes.
 */
static char *enc_escape(char *p, const uint8_t *s, size_t n)
{
	size_t i = 0, start;

	while (i < n) {
		uint8_t c = s[i];
		size_t len;

		if (c < 0x80) {
			start = i;
			while (i < n && s[i] < 0x80 && !enc_esc[s[i]])
				i++;
			p = enc_put(p, s + start, i - start);
			if (i == n || s[i] >= 0x80)
				continue;
			c = s[i++];
			*p++ = '\\';
			switch (c) {
			case '"':
			case '\\':
				*p++ = (char)c;
				break;
			case '\n':
				*p++ = 'n';
				break;
			case '\r':
				*p++ = 'r';
				break;
			case '\t':
				*p++ = 't';
				break;
			default:
				*p++ = 'u';
				*p++ = '0';
				*p++ = '0';
				*p++ = enc_hex[c >> 4];
				*p++ = enc_hex[c & 0xf];
				break;
			}
			continue;
		}
		/* Go's utf8.DecodeRune: the shortest form only, no surrogates. */
		len = 0;
		if (c >= 0xc2 && c <= 0xdf) {
			if (i + 1 < n && (s[i + 1] & 0xc0) == 0x80)
				len = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			uint8_t lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

			if (i + 2 < n && s[i + 1] >= lo && s[i + 1] <= hi &&
			    (s[i + 2] & 0xc0) == 0x80)
				len = 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			uint8_t lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

			if (i + 3 < n && s[i + 1] >= lo && s[i + 1] <= hi &&
			    (s[i + 2] & 0xc0) == 0x80 && (s[i + 3] & 0xc0) == 0x80)
				len = 4;
		}
		if (!len) {
			p = enc_put(p, "\\ufffd", 6);
			i++;
		} else if (len == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			   (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			p = enc_put(p, "\\u202", 5);
			*p++ = s[i + 2] == 0xa8 ? '8' : '9';
			i += 3;
		} else {
			p = enc_put(p, s + i, len);
			i += len;
		}
	}
	return p;
}

int igfs_json_escape(struct igfs_buf *out, const char *s, size_t len)
{
	int err;

	if (len > (SIZE_MAX - 1) / 6)
		return -ENOMEM;
	err = igfs_buf_reserve(out, len * 6);
	if (err)
		return err;
	out->len = (size_t)(enc_escape(out->data + out->len, (const uint8_t *)s, len) - out->data);
	out->data[out->len] = '\0';
	return 0;
}

/* A quoted JSON string of a NUL-terminated ASCII constant. */
static char *enc_put_qstr(char *p, const char *s)
{
	size_t n = strlen(s);

	*p++ = '"';
	p = enc_put(p, s, n);
	*p++ = '"';
	return p;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Hinnant's civil_from_days). */
static void enc_civil(int64_t days, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	uint64_t doe = (uint64_t)(z - era * 146097);
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t enc_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Go's "2006-01-02T15:04:05.000000000Z07:00" of @ns at the fixed offset @tz. */
static char *enc_put_time(char *p, int64_t ns, long tz)
{
	int64_t sec = enc_floor_div(ns, 1000000000), y, days, sod;
	/* Modulo 2^64: sec * 10^9 leaves int64's range for ns near INT64_MIN. */
	uint64_t frac = (uint64_t)ns - (uint64_t)sec * 1000000000u;
	unsigned int m, d;
	long zone;

	sec += tz;
	days = enc_floor_div(sec, 86400);
	sod = sec - days * 86400;
	enc_civil(days, &y, &m, &d);
	*p++ = '"';
	if (y < 0) {
		*p++ = '-';
		y = -y;
	}
	p = enc_put_pad(p, (uint64_t)y, y > 9999 ? (y > 99999 ? 6 : 5) : 4);
	*p++ = '-';
	p = enc_put_pad(p, m, 2);
	*p++ = '-';
	p = enc_put_pad(p, d, 2);
	*p++ = 'T';
	p = enc_put_pad(p, (uint64_t)(sod / 3600), 2);
	*p++ = ':';
	p = enc_put_pad(p, (uint64_t)(sod / 60 % 60), 2);
	*p++ = ':';
	p = enc_put_pad(p, (uint64_t)(sod % 60), 2);
	*p++ = '.';
	p = enc_put_pad(p, frac, 9);
	if (tz == 0) {
		*p++ = 'Z';
	} else {
		/* Go: minutes truncated toward zero, sign taken from them. */
		zone = tz / 60;
		if (zone < 0) {
			*p++ = '-';
			zone = -zone;
		} else {
			*p++ = '+';
		}
		p = enc_put_pad(p, (uint64_t)(zone / 60), 2);
		*p++ = ':';
		p = enc_put_pad(p, (uint64_t)(zone % 60), 2);
	}
	*p++ = '"';
	return p;
}

static char *enc_put_errno(char *p, uint32_t v)
{
	const char *name = v < IGFS_ARRAY_SIZE(enc_errnos) ? enc_errnos[v] : NULL;

	if (v == 0)
		return enc_put(p, "\"\"", 2);
	if (name)
		return enc_put_qstr(p, name);
	p = enc_put(p, "\"error#", 7);
	p = enc_put_u64(p, v);
	*p++ = '"';
	return p;
}

static char *enc_put_signal(char *p, uint32_t v)
{
	const char *name = v < IGFS_ARRAY_SIZE(enc_signals) ? enc_signals[v] : NULL;

	if (name)
		return enc_put_qstr(p, name);
	p = enc_put(p, "\"signal#", 8);
	p = enc_put_u64(p, v);
	*p++ = '"';
	return p;
}

static char *enc_put_syscall(char *p, uint64_t v)
{
	const char *name = v < IGFS_ARRAY_SIZE(enc_syscall_names) ? enc_syscall_names[v] : NULL;

	return enc_put_qstr(p, name ? name : "SYS_UNKNOWN");
}

static char *enc_put_flags(char *p, uint32_t v)
{
	static const char *const acc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", NULL};
	bool first = true;
	size_t i;

	*p++ = '"';
	if (acc[v & 3]) {
		p = enc_put(p, acc[v & 3], strlen(acc[v & 3]));
		first = false;
	}
	for (i = 0; i < IGFS_ARRAY_SIZE(enc_oflags); i++) {
		if ((v & enc_oflags[i].bit) != enc_oflags[i].bit)
			continue;
		if (!first)
			*p++ = '|';
		p = enc_put(p, enc_oflags[i].name, strlen(enc_oflags[i].name));
		first = false;
	}
	*p++ = '"';
	return p;
}

/* Go's fs.FileMode(v).String(): type letters for bits 31..19, then rwxrwxrwx. */
static char *enc_put_mode(char *p, uint32_t v)
{
	static const char types[] = "dalTLDpSugct?";
	static const char rwx[] = "rwxrwxrwx";
	bool any = false;
	int i;

	*p++ = '"';
	for (i = 0; i < 13; i++) {
		if (v & (1u << (31 - i))) {
			*p++ = types[i];
			any = true;
		}
	}
	if (!any)
		*p++ = '-';
	for (i = 0; i < 9; i++)
		*p++ = v & (1u << (8 - i)) ? rwx[i] : '-';
	*p++ = '"';
	return p;
}

/*
 * go-humanize v1.0.1 Bytes(): e = floor(log(v)/log(1000)) in doubles. The
 * thresholds below are where glibc's log() makes that reach 1..6, found once
 * by bisection (no libm at run time): 999999999999996 already gives "1.0 PB"
 * as in IG. Go's own math.Log could differ by an ulp right at these edges.
 */
static char *enc_put_bytes(char *p, uint64_t v)
{
	static const double thresh[] = {0x1.f3ffffffffffbp+9,  0x1.e847ffffffff5p+19,
					0x1.dcd64ffffffecp+29, 0x1.d1a94a1ffffeap+39,
					0x1.c6bf52633ffdbp+49, 0x1.bc16d674ec7dap+59};
	static const double pow1000[] = {1e0, 1e3, 1e6, 1e9, 1e12, 1e15, 1e18};
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	double d = (double)v, t;
	uint64_t n, q, r;
	int e = 0;

	*p++ = '"';
	if (v < 10) {
		p = enc_put_u64(p, v);
		p = enc_put(p, " B\"", 3);
		return p;
	}
	while (e < 6 && d >= thresh[e])
		e++;
	t = d / pow1000[e];
	t = t * 10;
	t = t + 0.5;
	n = (uint64_t)t; /* floor: t is positive */
	q = n / 10;
	r = n % 10;
	if (n < 100) {
		/* "%.1f": n/10.0 has exactly one decimal */
		p = enc_put_u64(p, q);
		*p++ = '.';
		*p++ = (char)('0' + r);
	} else {
		/* "%.0f" of n/10.0, exact at .5: round half to even */
		if (r > 5 || (r == 5 && (q & 1)))
			q++;
		p = enc_put_u64(p, q);
	}
	*p++ = ' ';
	p = enc_put(p, units[e], strlen(units[e]));
	*p++ = '"';
	return p;
}

/*
 * Go's "%.2f" of the double nearest to v/div (div 1e3 or 1e6, v < 1000 div):
 * correctly rounded from the double's exact binary value, ties to even.
 */
static char *enc_put_fixed2(char *p, uint64_t v, uint64_t div)
{
	uint64_t unit = div / 100, q = v / unit, rem = v % unit, bits, m;
	double x = (double)v / (double)div;
	int exp;

	if (rem * 2 > unit) {
		q++;
	} else if (rem * 2 == unit) {
		/* The decimal value is a tie: the double decides. */
		unsigned __int128 lhs, rhs;

		memcpy(&bits, &x, sizeof(bits));
		exp = (int)((bits >> 52) & 0x7ff) - 1075;
		m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
		/* x = m * 2^exp with exp < 0 here; compare m * div with v * 2^-exp */
		lhs = (unsigned __int128)m * div;
		rhs = (unsigned __int128)v << -exp;
		if (lhs > rhs || (lhs == rhs && (q & 1)))
			q++;
	}
	p = enc_put_u64(p, q / 100);
	*p++ = '.';
	return enc_put_pad(p, q % 100, 2);
}

/* Decimal digits of @v written backwards, ending at @w. */
static char *enc_rev_u64(char *w, uint64_t v)
{
	do {
		*--w = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return w;
}

/* Go's time.Duration(v).String() for v >= 1s: [<h>h][<m>m]<s>[.<frac>]s. */
static char *enc_put_gosecs(char *p, uint64_t u)
{
	char buf[48];
	char *w = buf + sizeof(buf);
	uint64_t frac = u % 1000000000;
	bool print = false;
	int i;

	*--w = 's';
	for (i = 0; i < 9; i++) {
		uint64_t digit = frac % 10;

		print = print || digit != 0;
		if (print)
			*--w = (char)('0' + digit);
		frac /= 10;
	}
	if (print)
		*--w = '.';
	u /= 1000000000;
	w = enc_rev_u64(w, u % 60);
	u /= 60;
	if (u > 0) {
		*--w = 'm';
		w = enc_rev_u64(w, u % 60);
		u /= 60;
		if (u > 0) {
			*--w = 'h';
			w = enc_rev_u64(w, u);
		}
	}
	return enc_put(p, w, (size_t)(buf + sizeof(buf) - w));
}

/* IG's formatDuration of time.Duration(int64(v)). */
static char *enc_put_duration(char *p, uint64_t v)
{
	int64_t d = (int64_t)v;

	*p++ = '"';
	if (d < 1000) {
		p = enc_put_s64(p, d);
		p = enc_put(p, "ns", 2);
	} else if (d < 1000000) {
		p = enc_put_fixed2(p, v, 1000);
		p = enc_put(p, "\xc2\xb5s", 3);
	} else if (d < 1000000000) {
		p = enc_put_fixed2(p, v, 1000000);
		p = enc_put(p, "ms", 2);
	} else {
		p = enc_put_gosecs(p, v);
	}
	*p++ = '"';
	return p;
}

/* Go's net.IP.String(): dotted quad for v4 and v4-mapped, else RFC 5952. */
static char *enc_put_ip(char *p, const uint8_t *a, unsigned int version)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	int best = -1, best_len = 0, i, j;
	uint16_t g[8];

	*p++ = '"';
	if (version == 6 && !memcmp(a, mapped, sizeof(mapped))) {
		a += 12;
		version = 4;
	}
	if (version == 4) {
		for (i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p = enc_put_u64(p, a[i]);
		}
	} else if (version == 6) {
		for (i = 0; i < 8; i++)
			g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
		for (i = 0; i < 8; i = j + 1) {
			for (j = i; j < 8 && g[j] == 0; j++)
				;
			if (j - i >= 2 && j - i > best_len) {
				best = i;
				best_len = j - i;
			}
		}
		for (i = 0; i < 8; i++) {
			if (i == best) {
				*p++ = ':';
				*p++ = ':';
				i += best_len - 1;
				continue;
			}
			if (i && i != best + best_len)
				*p++ = ':';
			if (g[i] >= 0x1000)
				*p++ = enc_hex[g[i] >> 12];
			if (g[i] >= 0x100)
				*p++ = enc_hex[(g[i] >> 8) & 0xf];
			if (g[i] >= 0x10)
				*p++ = enc_hex[(g[i] >> 4) & 0xf];
			*p++ = enc_hex[g[i] & 0xf];
		}
	}
	/* version 0 (no address) and anything else: "" */
	*p++ = '"';
	return p;
}

/*
 * ES6 number formatting as encoding/json does it: the shortest digits that
 * read back to the same value, 'f' layout unless |x| < 1e-6 or >= 1e21.
 * Floats are rare in events, so snprintf is acceptable here. NaN and
 * infinities have no JSON form: null.
 */
static char *enc_put_float(char *p, double x, bool is32)
{
	char digits[40], tmp[48];
	int prec, exp10 = 0, nd = 0, i;
	double ax = x < 0 ? -x : x;
	char *e;

	if (x != x || ax > 1.7976931348623157e308 || (is32 && ax > 3.4028234663852886e38)) {
		return enc_put(p, "null", 4);
	}
	if (x == 0) {
		if (signbit(x))
			*p++ = '-';
		*p++ = '0';
		return p;
	}
	for (prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, ax);
		if (is32 ? strtof(tmp, NULL) == (float)ax : strtod(tmp, NULL) == ax)
			break;
	}
	/* tmp is d[.ddd]e±XX: collect digits and the exponent, locale-proof */
	for (e = tmp; *e && *e != 'e'; e++) {
		if (*e >= '0' && *e <= '9')
			digits[nd++] = *e;
	}
	if (*e == 'e')
		exp10 = (int)strtol(e + 1, NULL, 10);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (x < 0)
		*p++ = '-';
	/* encoding/json compares float32 values in float32 */
	if (is32 ? (float)ax < 1e-6f || (float)ax >= 1e21f : ax < 1e-6 || ax >= 1e21) {
		*p++ = digits[0];
		if (nd > 1) {
			*p++ = '.';
			p = enc_put(p, digits + 1, (size_t)nd - 1);
		}
		*p++ = 'e';
		*p++ = exp10 < 0 ? '-' : '+';
		p = enc_put_u64(p, (uint64_t)(exp10 < 0 ? -exp10 : exp10));
	} else if (exp10 < 0) {
		*p++ = '0';
		*p++ = '.';
		for (i = -1; i > exp10; i--)
			*p++ = '0';
		p = enc_put(p, digits, (size_t)nd);
	} else {
		for (i = 0; i <= exp10; i++)
			*p++ = i < nd ? digits[i] : '0';
		if (nd > exp10 + 1) {
			*p++ = '.';
			p = enc_put(p, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
		}
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* Reading values from a record (little or native endian, unaligned)    */

static inline uint64_t enc_load(const uint8_t *r, uint32_t size)
{
	uint8_t b1;
	uint16_t b2;
	uint32_t b4;
	uint64_t b8;

	switch (size) {
	case 1:
		b1 = r[0];
		return b1;
	case 2:
		memcpy(&b2, r, 2);
		return b2;
	case 4:
		memcpy(&b4, r, 4);
		return b4;
	default:
		memcpy(&b8, r, 8);
		return b8;
	}
}

/* The op's integer, zero- or sign-extended to 64 bits. */
static uint64_t enc_read_int(const struct enc_op *op, const uint8_t *r)
{
	uint64_t v;
	unsigned int width;

	if (op->flags & ENC_F_BITS) {
		unsigned __int128 w = 0;

		memcpy(&w, r + op->off, op->size);
		w >>= op->shift;
		width = op->count;
		v = (uint64_t)w;
		if (width < 64) {
			v &= (1ull << width) - 1;
			if ((op->flags & ENC_F_SIGNED) && (v >> (width - 1)))
				v |= ~0ull << width;
		}
		return v;
	}
	v = enc_load(r + op->off, op->size);
	width = op->size * 8u;
	if ((op->flags & ENC_F_SIGNED) && width < 64 && (v >> (width - 1)))
		v |= ~0ull << width;
	return v;
}

static inline char *enc_put_num(char *p, const struct enc_op *op, uint64_t v)
{
	return op->flags & ENC_F_SIGNED ? enc_put_s64(p, (int64_t)v) : enc_put_u64(p, v);
}

/* First enumerator (declaration order) with value @v, or NULL. */
static const struct enc_enumval *enc_enum_find(const struct igfs_enc *enc,
					       const struct enc_enum *en, uint64_t v)
{
	const uint32_t *idx;
	uint32_t lo = 0, hi = en->n;

	/* An enum without enumerators: eidx may still be NULL, and NULL + 0 is UB. */
	if (!en->n)
		return NULL;
	idx = enc->eidx + en->sorted;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (enc->evals[en->first + idx[mid]].val < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < en->n && enc->evals[en->first + idx[lo]].val == v)
		return &enc->evals[en->first + idx[lo]];
	return NULL;
}

static char *enc_put_enum_set(char *p, const struct igfs_enc *enc, const struct enc_enum *en,
			      uint64_t v)
{
	bool first = true;
	uint32_t i;

	*p++ = '"';
	for (i = 0; i < en->n; i++) {
		const struct enc_enumval *ev = &enc->evals[en->first + i];

		if ((v & ev->val) != ev->val)
			continue;
		if (!first)
			p = enc_put(p, enc->etext.data + en->sep, en->sep_len);
		p = enc_put(p, enc->etext.data + ev->name, ev->name_len);
		first = false;
	}
	*p++ = '"';
	return p;
}

static char *enc_put_enum(char *p, const struct igfs_enc *enc, const struct enc_op *op, uint64_t v,
			  bool derived)
{
	const struct enc_enum *en = &enc->enums[op->aux];
	const struct enc_enumval *ev;

	if (en->is_set)
		return enc_put_enum_set(p, enc, en, v);
	ev = enc_enum_find(enc, en, v);
	if (ev) {
		*p++ = '"';
		p = enc_put(p, enc->etext.data + ev->name, ev->name_len);
		*p++ = '"';
		return p;
	}
	if (derived)
		return enc_put(p, "\"UNKNOWN\"", 9);
	return enc_put_num(p, op, v);
}

static int64_t enc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The derived string of a static (non-callback) formatter. */
static char *enc_put_derived(char *p, const struct igfs_enc *enc, const struct enc_op *op,
			     uint64_t v, const struct igfs_enc_ctx *ctx)
{
	switch (op->fmt) {
	case ENC_D_TIMESTAMP:
		return enc_put_time(p, (int64_t)v, ctx ? ctx->tz_offset_s : 0);
	case ENC_D_ERRNO:
		return enc_put_errno(p, (uint32_t)v);
	case ENC_D_SIGNAL:
		return enc_put_signal(p, (uint32_t)v);
	case ENC_D_SYSCALL:
		return enc_put_syscall(p, v);
	case ENC_D_FLAGS:
		return enc_put_flags(p, (uint32_t)v);
	case ENC_D_MODE:
		return enc_put_mode(p, (uint32_t)v);
	case ENC_D_BYTES:
		return enc_put_bytes(p, v);
	case ENC_D_DURATION:
		return enc_put_duration(p, v);
	case ENC_D_ENUM:
		return enc_put_enum(p, enc, op, v, true);
	case ENC_D_PROTO:
		if (v < 256 && enc_protos[v])
			return enc_put_qstr(p, enc_protos[v]);
		p = enc_put(p, "\"proto#", 7);
		p = enc_put_u64(p, v);
		*p++ = '"';
		return p;
	default:
		return enc_put(p, "\"\"", 2);
	}
}

/* ------------------------------------------------------------------ */
/* Dynamic parts: names and stacks, appended through the buffer API     */

static int enc_append_esc(struct igfs_buf *out, const char *s, size_t n)
{
	int err;

	err = igfs_buf_append(out, "\"", 1);
	if (!err)
		err = igfs_json_escape(out, s, n);
	if (!err)
		err = igfs_buf_append(out, "\"", 1);
	return err;
}

/* Escape, in place, what a callback appended at [pos, out->len). */
static int enc_fix_callback_text(struct igfs_buf *out, size_t pos)
{
	size_t n = out->len - pos, i;
	char *copy;
	int err;

	for (i = pos; i < out->len; i++) {
		uint8_t c = (uint8_t)out->data[i];

		if (c >= 0x80 || enc_esc[c])
			break;
	}
	if (i == out->len)
		return 0;
	copy = malloc(n);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, out->data + pos, n);
	out->len = pos;
	err = igfs_json_escape(out, copy, n);
	free(copy);
	return err;
}

static int enc_append_kstack(struct igfs_buf *out, const struct igfs_enc_ctx *ctx, uint32_t id)
{
	size_t pos;
	int err;

	err = igfs_buf_append(out, "\"", 1);
	if (err)
		return err;
	pos = out->len;
	if (ctx && ctx->kstack) {
		/* A lost stack renders as "", as in IG. */
		if (ctx->kstack(ctx->stack_ctx, id, out) < 0)
			out->len = pos;
		else if (out->len < pos)
			out->len = pos;
		err = enc_fix_callback_text(out, pos);
		if (err)
			return err;
	}
	return igfs_buf_append(out, "\"", 1);
}

static int enc_append_ustack(struct igfs_buf *out, const struct igfs_enc *enc,
			     const struct enc_op *op, const uint8_t *r,
			     const struct igfs_enc_ctx *ctx)
{
	struct igfs_buf addrs = {}, syms = {};
	int err;

	if (ctx && ctx->ustack &&
	    ctx->ustack(ctx->stack_ctx, r + op->off, op->count, &addrs, &syms) < 0) {
		addrs.len = 0;
		syms.len = 0;
	}
	err = enc_append_esc(out, addrs.data ? addrs.data : "", addrs.len);
	if (!err)
		err = igfs_buf_append(out, enc->text.data + op->mid, op->mid_len);
	if (!err)
		err = enc_append_esc(out, syms.data ? syms.data : "", syms.len);
	igfs_buf_free(&addrs);
	igfs_buf_free(&syms);
	return err;
}

static int enc_append_name(struct igfs_buf *out, const struct enc_op *op,
			   const struct igfs_enc_ctx *ctx, uint32_t id)
{
	const char *name = NULL;
	char *p;
	int err;

	size_t len;

	if (ctx && ctx->names) {
		/* Names come quoted and escaped once, when the table is read. */
		name = op->fmt == ENC_D_UID ? igfs_names__user_json(ctx->names, id, &len)
					    : igfs_names__group_json(ctx->names, id, &len);
	}
	if (name)
		return igfs_buf_append(out, name, len);
	err = igfs_buf_reserve(out, 16);
	if (err)
		return err;
	p = out->data + out->len;
	p = enc_put(p, op->fmt == ENC_D_UID ? "\"uid:" : "\"gid:", 5);
	p = enc_put_u64(p, id);
	*p++ = '"';
	out->len = (size_t)(p - out->data);
	return 0;
}

static int enc_append_dynamic(struct igfs_buf *out, const struct igfs_enc *enc,
			      const struct enc_op *op, const uint8_t *r,
			      const struct igfs_enc_ctx *ctx)
{
	bool first = true;
	int err = 0, i;
	uint64_t v;

	if (op->kind == ENC_USTACK)
		return enc_append_ustack(out, enc, op, r, ctx);
	v = enc_read_int(op, r);
	for (i = 0; i < 2 && !err; i++) {
		bool derived = (i == 0) == !!(op->flags & ENC_F_DFIRST);

		if (derived ? !(op->flags & ENC_F_DER) : !(op->flags & ENC_F_RAW))
			continue;
		if (!first)
			err = igfs_buf_append(out, enc->text.data + op->mid, op->mid_len);
		first = false;
		if (err)
			break;
		if (!derived) {
			err = igfs_buf_reserve(out, 24);
			if (!err)
				out->len = (size_t)(enc_put_num(out->data + out->len, op, v) -
						    out->data);
		} else if (op->fmt == ENC_D_KSTACK) {
			err = enc_append_kstack(out, ctx, (uint32_t)v);
		} else {
			err = enc_append_name(out, op, ctx, (uint32_t)v);
		}
	}
	return err;
}

static inline bool enc_op_dynamic(const struct enc_op *op)
{
	return op->kind == ENC_USTACK ||
	       (op->kind == ENC_DERIVED && (op->flags & ENC_F_DER) &&
		(op->fmt == ENC_D_UID || op->fmt == ENC_D_GID || op->fmt == ENC_D_KSTACK));
}

/* ------------------------------------------------------------------ */
/* Encoding one record                                                  */

static char *enc_put_value(char *p, const struct igfs_enc *enc, const struct enc_op *op,
			   const uint8_t *r, const struct igfs_enc_ctx *ctx)
{
	const char *text = enc->text.data;
	uint64_t v;
	uint32_t i, n;

	switch (op->kind) {
	case ENC_INT:
		return enc_put_num(p, op, enc_read_int(op, r));
	case ENC_INT128: {
		unsigned __int128 u;

		memcpy(&u, r + op->off, 16);
		if ((op->flags & ENC_F_SIGNED) && (__int128)u < 0) {
			*p++ = '-';
			u = -u;
		}
		return enc_put_u128(p, u);
	}
	case ENC_BOOL:
		return enc_read_int(op, r) == 1 ? enc_put(p, "true", 4) : enc_put(p, "false", 5);
	case ENC_FLOAT:
		if (op->size == 4) {
			float f;

			memcpy(&f, r + op->off, 4);
			return enc_put_float(p, f, true);
		} else {
			double d;

			memcpy(&d, r + op->off, 8);
			return enc_put_float(p, d, false);
		}
	case ENC_STR: {
		const uint8_t *s = r + op->off;
		const uint8_t *nul = memchr(s, 0, op->count);

		*p++ = '"';
		p = enc_escape(p, s, nul ? (size_t)(nul - s) : op->count);
		*p++ = '"';
		return p;
	}
	case ENC_ARR:
		*p++ = '[';
		n = op->count;
		for (i = 0; i < n; i++) {
			v = enc_load(r + op->off + i * op->size, op->size);
			if ((op->flags & ENC_F_SIGNED) && op->size < 8 && (v >> (op->size * 8 - 1)))
				v |= ~0ull << (op->size * 8);
			if (i)
				*p++ = ',';
			p = enc_put_num(p, op, v);
		}
		*p++ = ']';
		return p;
	case ENC_ENUM:
		return enc_put_enum(p, enc, op, enc_read_int(op, r), false);
	case ENC_IPADDR:
		return enc_put_ip(p, r + op->off, r[op->aux]);
	case ENC_DERIVED: {
		bool first = true;
		int k;

		v = enc_read_int(op, r);
		if (op->fmt == ENC_D_TIMESTAMP) {
			/* IG rewrites the raw field to wall-clock ns; 0 means "now" */
			v = v ? v + (uint64_t)(ctx ? ctx->boot_to_real_ns : 0)
			      : (uint64_t)enc_now_ns();
		}
		for (k = 0; k < 2; k++) {
			bool derived = (k == 0) == !!(op->flags & ENC_F_DFIRST);

			if (derived ? !(op->flags & ENC_F_DER) : !(op->flags & ENC_F_RAW))
				continue;
			if (!first)
				p = enc_put(p, text + op->mid, op->mid_len);
			first = false;
			p = derived ? enc_put_derived(p, enc, op, v, ctx) : enc_put_num(p, op, v);
		}
		return p;
	}
	default:
		return p;
	}
}

int igfs_enc__line(const struct igfs_enc *enc, const struct igfs_enc_ctx *ctx, const void *rec,
		   size_t len, struct igfs_buf *out)
{
	uint8_t small[ENC_SMALL_RECORD];
	uint8_t *scratch = NULL;
	const uint8_t *r = rec;
	size_t start = out->len, i;
	char *p;
	int err;

	if (len < enc->size) {
		/* Short sample: zero-pad (GADGET-FORMAT §5); never read past len. */
		if (enc->size <= sizeof(small)) {
			memset(small, 0, enc->size);
			r = small;
		} else {
			scratch = calloc(1, enc->size);
			if (!scratch)
				return -ENOMEM;
			r = scratch;
		}
		if (len)
			memcpy((uint8_t *)r, rec, len);
	}
	err = igfs_buf_reserve(out, enc->worst + ENC_SLACK);
	if (err)
		goto out;
	p = out->data + out->len;
	for (i = 0; i < enc->n_ops; i++) {
		const struct enc_op *op = &enc->ops[i];

		p = enc_put_text(p, enc->text.data + op->pre, op->pre_len);
		if (!enc_op_dynamic(op)) {
			p = enc_put_value(p, enc, op, r, ctx);
			continue;
		}
		out->len = (size_t)(p - out->data);
		err = enc_append_dynamic(out, enc, op, r, ctx);
		if (!err)
			err = igfs_buf_reserve(out, op->rest + ENC_SLACK);
		if (err)
			goto out;
		p = out->data + out->len;
	}
	if (enc->mntns_off >= 0 && ctx && ctx->container) {
		__u64 mntns;
		__u32 pid = 0;

		/* The container objects go last inside the top-level object. */
		memcpy(&mntns, r + enc->mntns_off, sizeof(mntns));
		if (enc->pid_off >= 0)
			memcpy(&pid, r + enc->pid_off, sizeof(pid));
		p = enc_put_text(p, enc->text.data + enc->tail, enc->tail_len - 2);
		out->len = (size_t)(p - out->data);
		err = ctx->container(ctx->container_ctx, mntns, pid, out);
		if (!err)
			err = igfs_buf_reserve(out, 2 + ENC_SLACK);
		if (err)
			goto out;
		p = out->data + out->len;
		*p++ = '}';
		*p++ = '\n';
	} else {
		p = enc_put_text(p, enc->text.data + enc->tail, enc->tail_len);
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
out:
	if (err) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	free(scratch);
	return err;
}

size_t igfs_enc__size(const struct igfs_enc *enc)
{
	return enc->size;
}

size_t igfs_enc__key_size(const struct igfs_enc *enc)
{
	return enc->key_size;
}

json_t *igfs_enc__fields_json(const struct igfs_enc *enc)
{
	return json_deep_copy(enc->fields);
}

void igfs_enc__free(struct igfs_enc *enc)
{
	if (!enc)
		return;
	free(enc->ops);
	igfs_buf_free(&enc->text);
	igfs_buf_free(&enc->etext);
	igfs_buf_free(&enc->names);
	free(enc->sortable);
	free(enc->enums);
	free(enc->evals);
	free(enc->eidx);
	json_decref(enc->fields);
	free(enc);
}

/* ------------------------------------------------------------------ */
/* Planning                                                             */

/* One JSON object or array being planned. */
struct enc_ctr {
	bool is_array;
	bool has_items;
	size_t names_first; /* this object's names in planner.names */
};

/* The parts of an l3/l4 endpoint struct that IG formats. */
struct enc_endpoint {
	int addr;  /* member index of the gadget_ip_addr_t "<x>_raw" */
	int proto; /* member index of proto_raw, -1 if none */
	size_t version_off;
};

struct enc_member {
	const char *name;
	__u32 type_id;
	size_t bit_off;	   /* from the start of the record */
	__u32 bitfield;	   /* width, 0 if not a bitfield */
	uint8_t force_fmt; /* ENC_D_PROTO for an l4 proto_raw, else ENC_D_NONE */
};

struct enc_planner {
	const struct btf *btf;
	const struct igfs_meta_ds *meta;
	const struct btf *kbtf;
	struct igfs_enc *enc;
	struct igfs_diag *diag;
	size_t rec_size;
	size_t pend; /* start of the text not yet attached to an op */
	const char **names;
	size_t n_names, cap_names;
	char **owned; /* copies of derived names, freed when planning ends */
	size_t n_owned, cap_owned;
	bool in_value; /* planning a kv plan's value struct */
	int in_array;  /* > 0 inside an unrolled array: no schema entries, no derived fields */
	char path[512];
	size_t path_len;
};

/* Grow an array of plain structs to hold n + 1; 0 or -ENOMEM. */
static int enc_grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = igfs_reallocarray(*arr, ncap, size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static const char *enc_path(const struct enc_planner *p)
{
	return p->path_len ? p->path : "(record)";
}

/* Append ".name" to the dotted path; returns the old length for enc_path_pop. */
static size_t enc_path_push(struct enc_planner *p, const char *name)
{
	size_t old = p->path_len;
	int n;

	n = snprintf(p->path + old, sizeof(p->path) - old, "%s%s", old ? "." : "", name);
	if (n < 0 || (size_t)n >= sizeof(p->path) - old)
		p->path_len = sizeof(p->path) - 1;
	else
		p->path_len = old + (size_t)n;
	return old;
}

static void enc_path_pop(struct enc_planner *p, size_t old)
{
	p->path_len = old;
	p->path[old] = '\0';
}

/* The dotted name of a sibling @name of the current member @member. */
static void enc_sibling(const struct enc_planner *p, const char *member, const char *name,
			char *buf, size_t len)
{
	size_t ml = strlen(member), parent = p->path_len >= ml ? p->path_len - ml : 0;

	snprintf(buf, len, "%.*s%s", (int)parent, p->path, name);
}

static bool enc_skipped(const struct igfs_meta_field *mf)
{
	const char *v = mf ? igfs_kvlist_get(&mf->annotations, "json.skip") : NULL;

	return v && !strcmp(v, "true");
}

/* Append a JSON key ("name":) to the pending text, with the comma if needed. */
static int enc_text_key(struct enc_planner *p, struct enc_ctr *c, const char *key)
{
	struct igfs_buf *t = &p->enc->text;
	int err = 0;

	if (c->has_items)
		err = igfs_buf_append(t, ",", 1);
	c->has_items = true;
	if (c->is_array || err)
		return err;
	err = igfs_buf_append(t, "\"", 1);
	if (!err)
		err = igfs_json_escape(t, key, strlen(key));
	if (!err)
		err = igfs_buf_append(t, "\":", 2);
	return err;
}

/* Turn the pending text into a new op's prefix; NULL with errno on failure. */
static struct enc_op *enc_op_new(struct enc_planner *p, uint8_t kind)
{
	struct igfs_enc *enc = p->enc;
	struct enc_op *op;

	if (enc->n_ops >= IGFS_MAX_FIELDS) {
		igfs_diag_set(p->diag, "field '%s': more than %d values in one record", enc_path(p),
			      IGFS_MAX_FIELDS);
		errno = E2BIG;
		return NULL;
	}
	if (enc_grow((void **)&enc->ops, &enc->cap_ops, enc->n_ops, sizeof(*op))) {
		errno = ENOMEM;
		return NULL;
	}
	op = &enc->ops[enc->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->fmt = ENC_D_NONE;
	op->pre = (uint32_t)p->pend;
	op->pre_len = (uint32_t)(enc->text.len - p->pend);
	p->pend = enc->text.len;
	return op;
}

/* Everything appended to the text since @from becomes the op's mid text. */
static void enc_op_mid(struct enc_planner *p, struct enc_op *op, size_t from)
{
	op->mid = (uint32_t)from;
	op->mid_len = (uint32_t)(p->enc->text.len - from);
	p->pend = p->enc->text.len;
}

static bool enc_name_taken(const struct enc_planner *p, const struct enc_ctr *c, const char *name)
{
	size_t i;

	for (i = c->names_first; i < p->n_names; i++) {
		if (!strcmp(p->names[i], name))
			return true;
	}
	return false;
}

/* @name must stay valid until planning ends (BTF strings, meta, constants). */
static int enc_name_add(struct enc_planner *p, const char *name)
{
	if (enc_grow((void **)&p->names, &p->cap_names, p->n_names, sizeof(*p->names)))
		return -ENOMEM;
	p->names[p->n_names++] = name;
	return 0;
}

/* Same for a name in a temporary buffer: the planner keeps a copy. */
static int enc_name_add_copy(struct enc_planner *p, const char *name)
{
	char *copy;

	if (enc_grow((void **)&p->owned, &p->cap_owned, p->n_owned, sizeof(*p->owned)))
		return -ENOMEM;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	p->owned[p->n_owned++] = copy;
	return enc_name_add(p, copy);
}

static void enc_planner_free(struct enc_planner *p)
{
	size_t i;

	for (i = 0; i < p->n_owned; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->names);
}

/* The schema entry of one field; @op_idx >= 0 also makes it a sort key. */
static int enc_field_add(struct enc_planner *p, const char *dotted, const char *jtype,
			 const char *ctype, int op_idx)
{
	const struct igfs_meta_field *mf = igfs_meta__field(p->meta, dotted);
	struct igfs_enc *enc = p->enc;
	const char *desc;
	json_t *f, *ann;
	size_t i;
	int err = -ENOMEM;

	if (p->in_array)
		return 0;
	desc = mf ? igfs_kvlist_get(&mf->annotations, "description") : NULL;
	ann = json_object();
	if (!ann)
		return -ENOMEM;
	for (i = 0; mf && i < mf->annotations.n; i++) {
		const struct igfs_kv *kv = &mf->annotations.v[i];

		if (kv->key && kv->value &&
		    json_object_set_new(ann, kv->key, json_string(kv->value)))
			goto out;
	}
	f = json_pack("{s:s, s:s, s:s, s:s, s:O}", "name", dotted, "type", jtype, "ctype", ctype,
		      "description", desc ? desc : "", "annotations", ann);
	if (!f || json_array_append_new(enc->fields, f))
		goto out;
	if (op_idx >= 0) {
		if (enc_grow((void **)&enc->sortable, &enc->cap_sortable, enc->n_sortable,
			     sizeof(*enc->sortable)))
			goto out;
		enc->sortable[enc->n_sortable].name = (uint32_t)enc->names.len;
		enc->sortable[enc->n_sortable].op = (uint32_t)op_idx;
		if (igfs_buf_append(&enc->names, dotted, strlen(dotted) + 1))
			goto out;
		enc->n_sortable++;
	}
	err = 0;
out:
	json_decref(ann);
	return err;
}

/* C spelling of a BTF type for the schema: "__u32", "char[16]", "struct x". */
static void enc_ctype(const struct btf *btf, __u32 id, char *buf, size_t len, int depth)
{
	char dims[64] = "", base[128];
	size_t dl = 0;
	int steps;

	for (steps = 0; steps < ENC_TYPE_STEPS && depth < 8; steps++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name, *kw = NULL;

		if (!t)
			break;
		name = btf__name_by_offset(btf, t->name_off);
		if (!name)
			name = "";
		switch (btf_kind(t)) {
		case BTF_KIND_ARRAY: {
			int n = snprintf(dims + dl, sizeof(dims) - dl, "[%u]",
					 btf_array(t)->nelems);

			dl = n > 0 && (size_t)n < sizeof(dims) - dl ? dl + (size_t)n : dl;
			id = btf_array(t)->type;
			continue;
		}
		case BTF_KIND_CONST:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			continue;
		case BTF_KIND_PTR:
			enc_ctype(btf, t->type, base, sizeof(base), depth + 1);
			snprintf(buf, len, "%s *%s", base, dims);
			return;
		case BTF_KIND_UNKN:
			snprintf(buf, len, "void%s", dims);
			return;
		case BTF_KIND_STRUCT:
			kw = "struct";
			break;
		case BTF_KIND_UNION:
			kw = "union";
			break;
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
			kw = "enum";
			break;
		case BTF_KIND_FWD:
			kw = btf_kflag(t) ? "union" : "struct";
			break;
		default:
			break;
		}
		if (kw)
			snprintf(buf, len, "%s%s%s%s", kw, *name ? " " : "", name, dims);
		else
			snprintf(buf, len, "%s%s", *name ? name : "?", dims);
		return;
	}
	snprintf(buf, len, "?");
}

/* Follow modifiers and typedefs; *ret_wk = the first well-known typedef seen. */
static int enc_strip(struct enc_planner *p, __u32 id, __u32 *ret_id, int *ret_wk)
{
	int steps, i;

	*ret_wk = -1;
	for (steps = 0; steps < ENC_TYPE_STEPS; steps++) {
		const struct btf_type *t = btf__type_by_id(p->btf, id);

		if (!t) {
			igfs_diag_set(p->diag, "field '%s': bad BTF type id %u", enc_path(p), id);
			return -EINVAL;
		}
		if (btf_is_typedef(t)) {
			const char *name = btf__name_by_offset(p->btf, t->name_off);

			for (i = 0; *ret_wk < 0 && name && i < (int)IGFS_ARRAY_SIZE(enc_wk); i++) {
				if (!strcmp(name, enc_wk[i].type))
					*ret_wk = i;
			}
		} else if (!btf_is_mod(t) && btf_kind(t) != BTF_KIND_TYPE_TAG) {
			*ret_id = id;
			return 0;
		}
		id = t->type;
	}
	igfs_diag_set(p->diag, "field '%s': type loop in BTF", enc_path(p));
	return -EINVAL;
}

/* Whether type @id is, through typedefs and modifiers, the typedef @name. */
static bool enc_is_typedef(const struct btf *btf, __u32 id, const char *name)
{
	int steps;

	for (steps = 0; steps < ENC_TYPE_STEPS; steps++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *tn;

		if (!t)
			return false;
		if (btf_is_typedef(t)) {
			tn = btf__name_by_offset(btf, t->name_off);
			if (tn && !strcmp(tn, name))
				return true;
		} else if (!btf_is_mod(t)) {
			return false;
		}
		id = t->type;
	}
	return false;
}

static const char *enc_type_name(const struct btf *btf, const struct btf_type *t)
{
	const char *name = btf__name_by_offset(btf, t->name_off);

	return name ? name : "";
}

/* Escaped copy of @s in the etext pool. */
static int enc_etext(struct igfs_enc *enc, const char *s, uint32_t *off, uint32_t *len)
{
	size_t start = enc->etext.len;

	if (igfs_json_escape(&enc->etext, s, strlen(s)))
		return -ENOMEM;
	*off = (uint32_t)start;
	*len = (uint32_t)(enc->etext.len - start);
	return 0;
}

/* Compile enum type @t of @btf into a table; its index in *ret. */
static int enc_enum_new(struct enc_planner *p, const struct btf *btf, const struct btf_type *t,
			const char *sep, uint32_t *ret)
{
	struct igfs_enc *enc = p->enc;
	const char *tname = enc_type_name(btf, t);
	size_t tl = strlen(tname), i, j, n = btf_vlen(t);
	uint32_t longest = 0, sum = 0;
	struct enc_enum *en;
	int err;

	if (enc_grow((void **)&enc->enums, &enc->cap_enums, enc->n_enums, sizeof(*en)))
		return -ENOMEM;
	en = &enc->enums[enc->n_enums];
	memset(en, 0, sizeof(*en));
	en->first = (uint32_t)enc->n_evals;
	en->n = (uint32_t)n;
	en->is_signed = btf_kflag(t);
	en->is_set = tl >= 4 && !strcmp(tname + tl - 4, "_set");
	err = enc_etext(enc, sep ? sep : "|", &en->sep, &en->sep_len);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		struct enc_enumval *ev;
		const char *name;
		uint64_t v;

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;

			name = btf__name_by_offset(btf, e->name_off);
			v = en->is_signed ? (uint64_t)(int64_t)e->val : (uint64_t)(uint32_t)e->val;
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;

			name = btf__name_by_offset(btf, e->name_off);
			v = btf_enum64_value(e);
		}
		if (enc_grow((void **)&enc->evals, &enc->cap_evals, enc->n_evals, sizeof(*ev)))
			return -ENOMEM;
		ev = &enc->evals[enc->n_evals];
		ev->val = v;
		err = enc_etext(enc, name ? name : "", &ev->name, &ev->name_len);
		if (err)
			return err;
		enc->n_evals++;
		longest = IGFS_MAX(longest, ev->name_len);
		sum += ev->name_len + en->sep_len;
	}
	/* Index sorted by (value, declaration order): first match wins, as in IG. */
	en->sorted = (uint32_t)enc->n_eidx;
	for (i = 0; i < n; i++) {
		if (enc_grow((void **)&enc->eidx, &enc->cap_eidx, enc->n_eidx, sizeof(uint32_t)))
			return -ENOMEM;
		j = enc->n_eidx++;
		while (j > en->sorted && enc->evals[en->first + enc->eidx[j - 1]].val >
						 enc->evals[en->first + i].val) {
			enc->eidx[j] = enc->eidx[j - 1];
			j--;
		}
		enc->eidx[j] = (uint32_t)i;
	}
	en->worst = (en->is_set ? sum : IGFS_MAX(longest, 20u)) + 12;
	*ret = (uint32_t)enc->n_enums++;
	return 0;
}

/* The running kernel's enum of the same name wins (IG's ebpf operator). */
static const struct btf_type *enc_kernel_enum(const struct enc_planner *p, const struct btf_type *t,
					      const struct btf **ret_btf)
{
	const char *name = enc_type_name(p->btf, t);
	const struct btf_type *kt;
	__s32 id;

	*ret_btf = p->btf;
	if (!p->kbtf || !*name)
		return t;
	id = btf__find_by_name_kind(p->kbtf, name, BTF_KIND_ENUM);
	if (id <= 0)
		id = btf__find_by_name_kind(p->kbtf, name, BTF_KIND_ENUM64);
	kt = id > 0 ? btf__type_by_id(p->kbtf, (__u32)id) : NULL;
	if (!kt)
		return t;
	*ret_btf = p->kbtf;
	return kt;
}

/* Name of the derived field of a formatted member, or NULL (IG's GetTargetNameFromAnnotation). */
static const char *enc_target(const struct enc_planner *p, const char *member,
			      const char *annotation, uint8_t fmt, char *buf, size_t len)
{
	const struct igfs_meta_field *mf = igfs_meta__field(p->meta, p->path);
	const char *v = mf && annotation ? igfs_kvlist_get(&mf->annotations, annotation) : NULL;
	size_t n = strlen(member);

	if (v)
		return v;
	if (n >= 4 && !strcmp(member + n - 4, "_raw")) {
		snprintf(buf, len, "%.*s", (int)(n - 4), member);
		return buf;
	}
	if (fmt == ENC_D_UID)
		return "user";
	if (fmt == ENC_D_GID)
		return "group";
	return NULL;
}

static bool enc_is_bool(const struct btf_type *t)
{
	return btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_BOOL);
}

/* The derived formatter a well-known typedef gets for this member's type. */
static uint8_t enc_wk_fmt(int wk, uint32_t size, bool is_signed)
{
	uint8_t want = enc_wk[wk].fmt;
	bool u32 = size == 4 && !is_signed, u64 = size == 8 && !is_signed;

	/* research/ig-json.md: "" when the kind is wrong, or no field at all */
	switch (want) {
	case ENC_D_TIMESTAMP:
		return size == 8 ? want : ENC_D_EMPTY;
	case ENC_D_SIGNAL:
		return size == 4 ? want : ENC_D_EMPTY;
	case ENC_D_ERRNO:
		return u32 ? want : ENC_D_EMPTY;
	case ENC_D_BYTES:
	case ENC_D_DURATION:
		return u64 ? want : ENC_D_EMPTY;
	case ENC_D_SYSCALL:
		return u64 ? want : ENC_D_NONE;
	case ENC_D_FLAGS:
	case ENC_D_MODE:
		return u32 ? want : ENC_D_NONE;
	default: /* uid, gid, kstack: read as u32 */
		return size == 4 ? want : ENC_D_NONE;
	}
}

/* Plan an integer, bool, enum or pointer member, with its derived field if any. */
static int enc_plan_scalar(struct enc_planner *p, struct enc_ctr *c, const struct enc_member *m,
			   const struct btf_type *t, int wk)
{
	const struct igfs_meta_field *mf = igfs_meta__field(p->meta, p->path);
	char tbuf[256], ctype[256], dotted[600];
	const char *target = NULL, *first_key, *second_key;
	uint32_t size, shift = 0, width, enum_idx = 0;
	uint8_t fmt = ENC_D_NONE, flags = 0;
	bool is_enum = btf_is_any_enum(t), raw_shown, der_shown, dfirst = false;
	struct enc_op *op;
	size_t from;
	int err, op_idx;

	size = btf_is_ptr(t) ? 8 : t->size;
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		igfs_diag_set(p->diag, "field '%s': unsupported %u-byte integer", enc_path(p),
			      size);
		return -ENOTSUP;
	}
	width = size * 8;
	if (btf_is_int(t)) {
		if (btf_int_encoding(t) & BTF_INT_SIGNED)
			flags |= ENC_F_SIGNED;
		width = btf_int_bits(t);
		shift = btf_int_offset(t);
	} else if (is_enum && btf_kflag(t)) {
		flags |= ENC_F_SIGNED;
	}
	if (m->bitfield)
		width = m->bitfield;
	shift += (uint32_t)(m->bit_off % 8);
	/* The event's process, for its container (igfs_enc_ctx.container). */
	if (!p->in_array && !m->bitfield && !shift && width == size * 8) {
		if (size == 8 && p->enc->mntns_off < 0 &&
		    enc_is_typedef(p->btf, m->type_id, "gadget_mntns_id"))
			p->enc->mntns_off = (int64_t)(m->bit_off / 8);
		if (size == 4 && p->enc->pid_off < 0 && enc_is_typedef(p->btf, m->type_id, "gadget_pid"))
			p->enc->pid_off = (int64_t)(m->bit_off / 8);
	}
	if (width != size * 8 || shift) {
		/* A bitfield: load just the bytes that cover it. */
		uint32_t bytes = (shift + width + 7) / 8;

		if (!width || width > 64 || bytes > 16 || m->bit_off / 8 + bytes > p->rec_size) {
			igfs_diag_set(p->diag, "field '%s': bad bitfield layout", enc_path(p));
			return -EINVAL;
		}
		flags |= ENC_F_BITS;
		size = bytes;
	}

	if (is_enum) {
		const struct btf *ebtf;
		const struct btf_type *et = enc_kernel_enum(p, t, &ebtf);
		const char *sep = mf ? igfs_kvlist_get(&mf->annotations, ENC_ENUM_SEP) : NULL;

		err = enc_enum_new(p, ebtf, et, sep && *sep ? sep : NULL, &enum_idx);
		if (err)
			return err;
		if (p->enc->enums[enum_idx].is_signed)
			flags |= ENC_F_SIGNED;
		else
			flags &= (uint8_t)~ENC_F_SIGNED;
		target = enc_target(p, m->name, ENC_ENUM_TARGET, ENC_D_ENUM, tbuf, sizeof(tbuf));
		fmt = target ? ENC_D_ENUM : ENC_D_NONE;
	} else if (m->force_fmt != ENC_D_NONE) {
		fmt = m->force_fmt;
		target = enc_target(p, m->name, NULL, fmt, tbuf, sizeof(tbuf));
	} else if (wk >= 0 && btf_is_int(t) && !(flags & ENC_F_BITS) && !enc_is_bool(t)) {
		fmt = enc_wk_fmt(wk, size, flags & ENC_F_SIGNED);
		target = enc_target(p, m->name, enc_wk[wk].target, enc_wk[wk].fmt, tbuf,
				    sizeof(tbuf));
	}
	/* No derived field inside arrays, without a name, or on a name clash (IG's AddField fails). */
	if (!target || !*target || p->in_array || enc_name_taken(p, c, target))
		fmt = ENC_D_NONE;

	enc_ctype(p->btf, m->type_id, ctype, sizeof(ctype), 0);
	raw_shown = !enc_skipped(mf);
	if (fmt == ENC_D_NONE) {
		if (!raw_shown)
			return 0;
		err = enc_text_key(p, c, m->name);
		if (err)
			return err;
		op = enc_op_new(p, is_enum ? ENC_ENUM : enc_is_bool(t) ? ENC_BOOL : ENC_INT);
		if (!op)
			return -errno;
		op->size = (uint8_t)size;
		op->flags = flags;
		op->shift = (uint8_t)shift;
		op->off = (uint32_t)(m->bit_off / 8);
		op->count = width;
		op->aux = enum_idx;
		op_idx = (int)(op - p->enc->ops);
		return enc_field_add(p, p->path,
				     op->kind == ENC_BOOL   ? "boolean"
				     : op->kind == ENC_ENUM ? "string"
							    : "number",
				     ctype, op_idx);
	}

	/* A derived string sibling plus the raw number (GADGET-FORMAT §9). */
	err = enc_name_add_copy(p, target);
	if (err)
		return err;
	enc_sibling(p, m->name, target, dotted, sizeof(dotted));
	der_shown = !enc_skipped(igfs_meta__field(p->meta, dotted));
	if (!der_shown && !raw_shown)
		return 0;
	{
		size_t tl = strlen(target);

		/* "<x>" goes right before "<x>_raw"; other targets follow the member. */
		dfirst = !strncmp(m->name, target, tl) && !strcmp(m->name + tl, "_raw");
	}
	first_key = dfirst ? (der_shown ? target : m->name) : (raw_shown ? m->name : target);
	second_key = dfirst ? m->name : target;
	err = enc_text_key(p, c, first_key);
	if (err)
		return err;
	op = enc_op_new(p, ENC_DERIVED);
	if (!op)
		return -errno;
	op_idx = (int)(op - p->enc->ops);
	op->fmt = fmt;
	op->size = (uint8_t)size;
	op->flags = flags | (raw_shown ? ENC_F_RAW : 0) | (der_shown ? ENC_F_DER : 0) |
		    (dfirst ? ENC_F_DFIRST : 0);
	op->shift = (uint8_t)shift;
	op->off = (uint32_t)(m->bit_off / 8);
	op->count = width;
	op->aux = enum_idx;
	from = p->enc->text.len;
	if (der_shown && raw_shown) {
		err = enc_text_key(p, c, second_key);
		if (err)
			return err;
	}
	enc_op_mid(p, op, from);
	if (dfirst && der_shown)
		err = enc_field_add(p, dotted, "string", ctype, op_idx);
	if (!err && raw_shown)
		err = enc_field_add(p, p->path, "number", ctype, op_idx);
	if (!err && !dfirst && der_shown)
		err = enc_field_add(p, dotted, "string", ctype, op_idx);
	return err;
}

static int enc_plan_value(struct enc_planner *p, struct enc_ctr *c, const struct enc_member *m,
			  int depth);
static int enc_plan_members(struct enc_planner *p, struct enc_ctr *c, __u32 id, size_t bit_off,
			    int depth, const struct enc_endpoint *ep);

/* A plain op for one member: key, then a value of @kind. */
static struct enc_op *enc_plain_op(struct enc_planner *p, struct enc_ctr *c, const char *key,
				   uint8_t kind, size_t off)
{
	struct enc_op *op;

	if (enc_text_key(p, c, key)) {
		errno = ENOMEM;
		return NULL;
	}
	op = enc_op_new(p, kind);
	if (op)
		op->off = (uint32_t)off;
	return op;
}

static bool enc_is_text_char(const struct btf *btf, const struct btf_type *t)
{
	/* IG: arrays of "char" are strings; other byte arrays are numbers. */
	return btf_is_int(t) && t->size == 1 && !enc_is_bool(t) &&
	       ((btf_int_encoding(t) & BTF_INT_CHAR) || !strcmp(enc_type_name(btf, t), "char"));
}

static int enc_plan_array(struct enc_planner *p, struct enc_ctr *c, const struct enc_member *m,
			  const struct btf_type *t, int depth)
{
	const struct btf_array *a = btf_array(t);
	char ctype[256];
	const struct btf_type *et;
	struct enc_ctr child = {.is_array = true};
	struct enc_op *op;
	__u32 eid;
	__s64 esz;
	size_t off = m->bit_off / 8, i;
	int wk, err;

	err = enc_strip(p, a->type, &eid, &wk);
	if (err)
		return err;
	et = btf__type_by_id(p->btf, eid);
	esz = btf__resolve_size(p->btf, eid);
	if (esz < 0) {
		igfs_diag_set(p->diag, "field '%s': cannot size the array element", enc_path(p));
		return -EINVAL;
	}
	if (enc_skipped(igfs_meta__field(p->meta, p->path)))
		return 0;
	enc_ctype(p->btf, m->type_id, ctype, sizeof(ctype), 0);
	if (enc_is_text_char(p->btf, et)) {
		op = enc_plain_op(p, c, m->name, ENC_STR, off);
		if (!op)
			return -errno;
		op->count = a->nelems;
		return enc_field_add(p, p->path, "string", ctype, (int)(op - p->enc->ops));
	}
	if ((btf_is_int(et) && !enc_is_bool(et) && (esz == 1 || esz == 2 || esz == 4 || esz == 8) &&
	     btf_int_bits(et) == esz * 8 && !btf_int_offset(et)) ||
	    btf_is_ptr(et)) {
		op = enc_plain_op(p, c, m->name, ENC_ARR, off);
		if (!op)
			return -errno;
		op->size = (uint8_t)esz;
		op->count = a->nelems;
		if (btf_is_int(et) && (btf_int_encoding(et) & BTF_INT_SIGNED))
			op->flags |= ENC_F_SIGNED;
		return enc_field_add(p, p->path, "array", ctype, -1);
	}
	/* Anything else: one value per element, unrolled into the plan. */
	if (a->nelems > ENC_MAX_UNROLL) {
		igfs_diag_set(p->diag, "field '%s': array of %u elements is too long to unroll",
			      enc_path(p), a->nelems);
		return -E2BIG;
	}
	if (depth + 1 >= IGFS_MAX_NEST) {
		igfs_diag_set(p->diag, "field '%s': nested deeper than %d levels", enc_path(p),
			      IGFS_MAX_NEST);
		return -E2BIG;
	}
	err = enc_text_key(p, c, m->name);
	if (!err)
		err = enc_field_add(p, p->path, "array", ctype, -1);
	if (!err && igfs_buf_append(&p->enc->text, "[", 1))
		err = -ENOMEM;
	p->in_array++;
	for (i = 0; !err && i < a->nelems; i++) {
		struct enc_member em = {
			.name = m->name,
			.type_id = a->type,
			.bit_off = m->bit_off + i * (size_t)esz * 8,
			.force_fmt = ENC_D_NONE,
		};

		err = enc_plan_value(p, &child, &em, depth + 1);
	}
	p->in_array--;
	if (!err && igfs_buf_append(&p->enc->text, "]", 1))
		err = -ENOMEM;
	return err;
}

/* Member @name of struct @t (not through anonymous members), or -1. */
static int enc_member_idx(const struct btf *btf, const struct btf_type *t, const char *name)
{
	const struct btf_member *mm = btf_members(t);
	int i;

	for (i = 0; i < btf_vlen(t); i++) {
		const char *n = btf__name_by_offset(btf, mm[i].name_off);

		if (n && !strcmp(n, name))
			return i;
	}
	return -1;
}

/* Recognise IG's l3/l4 endpoint layout; false to render it as a plain struct. */
static bool enc_endpoint(struct enc_planner *p, const struct btf_type *t, size_t bit_off,
			 struct enc_endpoint *ep)
{
	const char *sname = enc_type_name(p->btf, t);
	const struct btf_member *mm = btf_members(t);
	bool l4 = !strcmp(sname, "gadget_l4endpoint_t");
	int i, v, port;

	if (!l4 && strcmp(sname, "gadget_l3endpoint_t"))
		return false;
	ep->addr = -1;
	ep->proto = -1;
	for (i = 0; i < btf_vlen(t); i++) {
		const char *n = btf__name_by_offset(p->btf, mm[i].name_off);
		__u32 id;
		int wk;
		size_t nl = n ? strlen(n) : 0;
		const struct btf_type *mt;

		if (enc_strip(p, mm[i].type, &id, &wk))
			return false;
		mt = btf__type_by_id(p->btf, id);
		if (nl > 4 && !strcmp(n + nl - 4, "_raw") && btf_is_union(mt) &&
		    !strcmp(enc_type_name(p->btf, mt), "gadget_ip_addr_t") && mt->size == 16 &&
		    !(btf_member_bit_offset(t, (__u32)i) % 8)) {
			if (ep->addr >= 0)
				return false;
			ep->addr = i;
		}
	}
	v = enc_member_idx(p->btf, t, "version");
	if (ep->addr < 0 || v < 0 || btf_member_bitfield_size(t, (__u32)v) ||
	    btf__resolve_size(p->btf, mm[v].type) != 1 || btf_member_bit_offset(t, (__u32)v) % 8)
		return false;
	ep->version_off = (bit_off + btf_member_bit_offset(t, (__u32)v)) / 8;
	if (l4) {
		port = enc_member_idx(p->btf, t, "port");
		if (port < 0 || btf__resolve_size(p->btf, mm[port].type) != 2)
			return false;
		ep->proto = enc_member_idx(p->btf, t, "proto_raw");
		if (ep->proto >= 0 && btf__resolve_size(p->btf, mm[ep->proto].type) != 2)
			ep->proto = -1;
	}
	return true;
}

/* Names of the members of struct/union @id (through anonymous ones) join @c. */
static int enc_prescan(struct enc_planner *p, struct enc_ctr *c, __u32 id, int depth)
{
	const struct btf_type *t = btf__type_by_id(p->btf, id);
	const struct btf_member *mm;
	int i, n, wk, err;

	if (depth >= IGFS_MAX_NEST) {
		igfs_diag_set(p->diag, "field '%s': nested deeper than %d levels", enc_path(p),
			      IGFS_MAX_NEST);
		return -E2BIG;
	}
	mm = btf_members(t);
	n = btf_is_union(t) ? IGFS_MIN(btf_vlen(t), 1) : btf_vlen(t);
	for (i = 0; i < n; i++) {
		const char *name = btf__name_by_offset(p->btf, mm[i].name_off);
		__u32 sid;

		if (!name || !*name) {
			err = enc_strip(p, mm[i].type, &sid, &wk);
			if (err)
				return err;
			if (btf_is_composite(btf__type_by_id(p->btf, sid))) {
				err = enc_prescan(p, c, sid, depth + 1);
				if (err)
					return err;
			}
			continue;
		}
		if (name[0] == '_' && name[1] == '_')
			continue;
		if (enc_name_taken(p, c, name)) {
			if (p->in_value && c->names_first == 0)
				igfs_diag_set(p->diag,
					      "field '%s' is in both the key and the value", name);
			else
				igfs_diag_set(p->diag, "field '%s%s%s' is defined twice", p->path,
					      p->path_len ? "." : "", name);
			return -EINVAL;
		}
		err = enc_name_add(p, name);
		if (err)
			return err;
	}
	return 0;
}

static int enc_plan_object(struct enc_planner *p, struct enc_ctr *c, const struct enc_member *m,
			   __u32 id, const struct btf_type *t, int depth)
{
	struct enc_ctr child = {.names_first = p->n_names};
	struct enc_endpoint ep;
	bool is_ep, is_ustack;
	char ctype[256], sub[600];
	struct enc_op *op;
	size_t from;
	int err;

	if (depth + 1 >= IGFS_MAX_NEST) {
		igfs_diag_set(p->diag, "field '%s': nested deeper than %d levels", enc_path(p),
			      IGFS_MAX_NEST);
		return -E2BIG;
	}
	if (enc_skipped(igfs_meta__field(p->meta, p->path)))
		return 0;
	enc_ctype(p->btf, m->type_id, ctype, sizeof(ctype), 0);
	err = enc_text_key(p, c, m->name);
	if (!err)
		err = enc_field_add(p, p->path, "object", ctype, -1);
	if (!err && igfs_buf_append(&p->enc->text, "{", 1))
		err = -ENOMEM;
	if (!err)
		err = enc_prescan(p, &child, id, depth + 1);
	if (err)
		return err;
	is_ep = enc_endpoint(p, t, m->bit_off, &ep);
	err = enc_plan_members(p, &child, id, m->bit_off, depth + 1, is_ep ? &ep : NULL);
	if (err)
		return err;
	is_ustack = btf_is_struct(t) && !strcmp(enc_type_name(p->btf, t), "gadget_user_stack");
	if (is_ustack && !enc_name_taken(p, &child, "addresses") &&
	    !enc_name_taken(p, &child, "buildid") && !enc_name_taken(p, &child, "symbols")) {
		/* IG's ustack operator adds three strings to the struct. */
		err = enc_text_key(p, &child, "addresses");
		if (err)
			return err;
		op = enc_op_new(p, ENC_USTACK);
		if (!op)
			return -errno;
		op->off = (uint32_t)(m->bit_off / 8);
		op->count = t->size;
		from = p->enc->text.len;
		if (enc_text_key(p, &child, "buildid") ||
		    igfs_buf_append(&p->enc->text, "\"\"", 2) || enc_text_key(p, &child, "symbols"))
			return -ENOMEM;
		enc_op_mid(p, op, from);
		snprintf(sub, sizeof(sub), "%s.addresses", p->path);
		err = enc_field_add(p, sub, "string", ctype, -1);
		snprintf(sub, sizeof(sub), "%s.buildid", p->path);
		if (!err)
			err = enc_field_add(p, sub, "string", ctype, -1);
		snprintf(sub, sizeof(sub), "%s.symbols", p->path);
		if (!err)
			err = enc_field_add(p, sub, "string", ctype, -1);
		if (err)
			return err;
	}
	p->n_names = child.names_first;
	return igfs_buf_append(&p->enc->text, "}", 1) ? -ENOMEM : 0;
}

/* Plan one value: a member of an object, or an element of an array. */
static int enc_plan_value(struct enc_planner *p, struct enc_ctr *c, const struct enc_member *m,
			  int depth)
{
	const struct btf_type *t;
	char ctype[256];
	struct enc_op *op;
	__u32 id;
	__s64 size;
	int wk, err;

	err = enc_strip(p, m->type_id, &id, &wk);
	if (err)
		return err;
	t = btf__type_by_id(p->btf, id);
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_PTR:
	case BTF_KIND_FLOAT:
	case BTF_KIND_ARRAY:
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		break;
	default:
		igfs_diag_set(p->diag, "field '%s': BTF kind %u has no JSON form", enc_path(p),
			      btf_kind(t));
		return -EINVAL;
	}
	size = btf__resolve_size(p->btf, id);
	if (size < 0 && !btf_is_ptr(t)) {
		igfs_diag_set(p->diag, "field '%s': cannot size its type", enc_path(p));
		return -EINVAL;
	}
	if (btf_is_ptr(t))
		size = 8;
	/* Only integers can be bitfields; the bounds check below trusts that. */
	if (m->bitfield && !btf_is_int(t) && !btf_is_any_enum(t)) {
		igfs_diag_set(p->diag, "field '%s': a bitfield that is not an integer", enc_path(p));
		return -EINVAL;
	}
	if (!m->bitfield && (m->bit_off % 8) && !btf_is_int(t) && !btf_is_any_enum(t)) {
		igfs_diag_set(p->diag, "field '%s': not byte aligned", enc_path(p));
		return -EINVAL;
	}
	if (!m->bitfield && (m->bit_off / 8 > p->rec_size || (size_t)size > p->rec_size ||
			     m->bit_off / 8 + (size_t)size > p->rec_size)) {
		igfs_diag_set(p->diag, "field '%s': lies outside the %zu-byte record", enc_path(p),
			      p->rec_size);
		return -EINVAL;
	}
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		if (t->size == 16 && !m->bitfield && btf_int_bits(t) == 128 && !btf_int_offset(t)) {
			if (enc_skipped(igfs_meta__field(p->meta, p->path)))
				return 0;
			op = enc_plain_op(p, c, m->name, ENC_INT128, m->bit_off / 8);
			if (!op)
				return -errno;
			if (btf_int_encoding(t) & BTF_INT_SIGNED)
				op->flags |= ENC_F_SIGNED;
			enc_ctype(p->btf, m->type_id, ctype, sizeof(ctype), 0);
			return enc_field_add(p, p->path, "number", ctype, (int)(op - p->enc->ops));
		}
		return enc_plan_scalar(p, c, m, t, wk);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_PTR:
		return enc_plan_scalar(p, c, m, t, wk);
	case BTF_KIND_FLOAT:
		if (t->size != 4 && t->size != 8) {
			igfs_diag_set(p->diag, "field '%s': unsupported %u-byte float", enc_path(p),
				      t->size);
			return -ENOTSUP;
		}
		if (enc_skipped(igfs_meta__field(p->meta, p->path)))
			return 0;
		op = enc_plain_op(p, c, m->name, ENC_FLOAT, m->bit_off / 8);
		if (!op)
			return -errno;
		op->size = (uint8_t)t->size;
		enc_ctype(p->btf, m->type_id, ctype, sizeof(ctype), 0);
		return enc_field_add(p, p->path, "number", ctype, (int)(op - p->enc->ops));
	case BTF_KIND_ARRAY:
		return enc_plan_array(p, c, m, t, depth);
	default:
		return enc_plan_object(p, c, m, id, t, depth);
	}
}

/* The members of struct/union @id at @bit_off, into object @c (C's flattening of anonymous members). */
static int enc_plan_members(struct enc_planner *p, struct enc_ctr *c, __u32 id, size_t bit_off,
			    int depth, const struct enc_endpoint *ep)
{
	const struct btf_type *t = btf__type_by_id(p->btf, id);
	const struct btf_member *mm = btf_members(t);
	char ctype[256], dotted[600];
	int i, n, err = 0;

	if (depth >= IGFS_MAX_NEST) {
		igfs_diag_set(p->diag, "field '%s': nested deeper than %d levels", enc_path(p),
			      IGFS_MAX_NEST);
		return -E2BIG;
	}
	/* A union shows its first member (SPEC §3). */
	n = btf_is_union(t) ? IGFS_MIN(btf_vlen(t), 1) : btf_vlen(t);
	for (i = 0; i < n && !err; i++) {
		const char *name = btf__name_by_offset(p->btf, mm[i].name_off);
		struct enc_member m = {
			.name = name,
			.type_id = mm[i].type,
			.bit_off = bit_off + btf_member_bit_offset(t, (__u32)i),
			.bitfield = btf_member_bitfield_size(t, (__u32)i),
			.force_fmt = ENC_D_NONE,
		};
		size_t old;

		if (!name || !*name) {
			__u32 sid;
			int wk;

			/* Anonymous struct/union: flattened; anonymous bitfields: padding. */
			err = enc_strip(p, mm[i].type, &sid, &wk);
			if (!err && !m.bitfield && btf_is_composite(btf__type_by_id(p->btf, sid)))
				err = enc_plan_members(p, c, sid, m.bit_off, depth + 1, NULL);
			continue;
		}
		if (name[0] == '_' && name[1] == '_')
			continue;
		old = enc_path_push(p, name);
		if (ep && i == ep->addr) {
			/* IG hides addr_raw and shows "<x>" (the address string) instead. */
			char tbuf[256];
			const char *target =
				enc_target(p, name, NULL, ENC_D_NONE, tbuf, sizeof(tbuf));
			struct enc_op *op;

			enc_sibling(p, name, target, dotted, sizeof(dotted));
			if (!enc_name_taken(p, c, target) &&
			    !enc_skipped(igfs_meta__field(p->meta, dotted))) {
				err = enc_name_add_copy(p, target);
				op = err ? NULL
					 : enc_plain_op(p, c, target, ENC_IPADDR, m.bit_off / 8);
				if (!err && !op)
					err = -errno;
				if (!err) {
					op->aux = (uint32_t)ep->version_off;
					enc_ctype(p->btf, m.type_id, ctype, sizeof(ctype), 0);
					err = enc_field_add(p, dotted, "string", ctype,
							    (int)(op - p->enc->ops));
				}
			}
		} else {
			if (ep && i == ep->proto)
				m.force_fmt = ENC_D_PROTO;
			err = enc_plan_value(p, c, &m, depth);
		}
		enc_path_pop(p, old);
	}
	return err;
}

/* The container objects igfs_enc_ctx.container adds, in the schema. */
static int enc_container_fields(struct igfs_enc *enc)
{
	static const char *const names[] = {
		"runtime.containerId",	"runtime.containerName", "runtime.containerImageName",
		"runtime.runtimeName",	"k8s.namespace",	 "k8s.podName",
		"k8s.containerName",	"k8s.podUID",
	};
	size_t i;

	for (i = 0; i < IGFS_ARRAY_SIZE(names); i++) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "name", names[i], "type",
				      "string", "ctype", "", "description",
				      i < 4 ? "present when the process is in a container"
					    : "present when the process is in a Kubernetes pod",
				      "annotations", "igfs.enrichment", "container");

		if (!f || json_array_append_new(enc->fields, f))
			return -ENOMEM;
	}
	return 0;
}

/* Worst-case sizes, so that encoding reserves once per line. */
static int enc_finish(struct enc_planner *p)
{
	struct igfs_enc *enc = p->enc;
	size_t i, rest;

	if (enc->mntns_off >= 0 && enc_container_fields(enc))
		return -ENOMEM;

	if (igfs_buf_append(&enc->text, "}\n", 2))
		return -ENOMEM;
	enc->tail = (uint32_t)p->pend;
	enc->tail_len = (uint32_t)(enc->text.len - p->pend);
	rest = enc->tail_len;
	for (i = enc->n_ops; i-- > 0;) {
		struct enc_op *op = &enc->ops[i];
		uint32_t w;

		switch (op->kind) {
		case ENC_INT:
			w = 20;
			break;
		case ENC_INT128:
			w = 41;
			break;
		case ENC_BOOL:
			w = 5;
			break;
		case ENC_FLOAT:
			w = 32;
			break;
		case ENC_STR:
			w = 2 + 6 * op->count;
			break;
		case ENC_ARR:
			w = 2 + 21 * op->count;
			break;
		case ENC_ENUM:
			w = enc->enums[op->aux].worst;
			break;
		case ENC_DERIVED:
			w = 20 + (op->fmt == ENC_D_ENUM ? enc->enums[op->aux].worst : 256);
			break;
		default:
			w = 64;
			break;
		}
		op->rest = rest;
		rest += op->pre_len + op->mid_len + w;
		if (rest > ENC_MAX_RECORD) {
			igfs_diag_set(p->diag,
				      "records of this type could encode to more than %u bytes",
				      ENC_MAX_RECORD);
			return -E2BIG;
		}
	}
	enc->worst = rest;
	/* Slack after the text pool and in every line: see enc_put_text. */
	if (igfs_buf_reserve(&enc->text, ENC_SLACK))
		return -ENOMEM;
	memset(enc->text.data + enc->text.len, 0, ENC_SLACK + 1);
	return 0;
}

static int enc_root(struct enc_planner *p, struct enc_ctr *root, __u32 type_id, size_t bit_off,
		    __u32 *ret_size)
{
	const struct btf_type *t;
	__u32 id;
	int wk, err;

	err = enc_strip(p, type_id, &id, &wk);
	if (err)
		return err;
	t = btf__type_by_id(p->btf, id);
	if (!btf_is_composite(t)) {
		igfs_diag_set(p->diag, "type %u is not a struct or union", type_id);
		return -EINVAL;
	}
	*ret_size = t->size;
	err = enc_prescan(p, root, id, 0);
	if (!err)
		err = enc_plan_members(p, root, id, bit_off, 0, NULL);
	return err;
}

static int enc_new(const struct btf *btf, __u32 key_id, __u32 value_id, bool kv,
		   const struct igfs_enc_opts *opts, struct igfs_enc **ret, struct igfs_diag *diag)
{
	struct enc_planner p = {
		.btf = btf,
		.meta = opts ? opts->meta : NULL,
		.kbtf = opts ? opts->kernel_btf : NULL,
		.diag = diag,
	};
	struct enc_ctr root = {};
	struct igfs_enc *enc;
	__u32 ksize = 0, vsize = 0;
	const struct btf_type *t;
	__u32 id;
	int wk, err;

	if (!btf) {
		igfs_diag_set(diag, "no BTF");
		return -EINVAL;
	}
	if (btf__endianness(btf) !=
	    (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? BTF_LITTLE_ENDIAN : BTF_BIG_ENDIAN)) {
		igfs_diag_set(diag, "BTF byte order differs from the host's");
		return -ENOTSUP;
	}
	enc = calloc(1, sizeof(*enc));
	if (!enc)
		return -ENOMEM;
	enc->mntns_off = -1;
	enc->pid_off = -1;
	enc->fields = json_array();
	if (!enc->fields) {
		err = -ENOMEM;
		goto err_out;
	}
	p.enc = enc;
	/* Sizes first: every member is bounds-checked against the record. */
	err = enc_strip(&p, key_id, &id, &wk);
	if (err)
		goto err_out;
	t = btf__type_by_id(btf, id);
	ksize = btf_is_composite(t) ? t->size : 0;
	if (kv) {
		err = enc_strip(&p, value_id, &id, &wk);
		if (err)
			goto err_out;
		t = btf__type_by_id(btf, id);
		vsize = btf_is_composite(t) ? t->size : 0;
	}
	p.rec_size = (size_t)ksize + vsize;
	if (p.rec_size > ENC_MAX_RECORD) {
		igfs_diag_set(diag, "record of %zu bytes is too large", p.rec_size);
		err = -E2BIG;
		goto err_out;
	}
	if (igfs_buf_append(&enc->text, "{", 1)) {
		err = -ENOMEM;
		goto err_out;
	}
	err = enc_root(&p, &root, key_id, 0, &ksize);
	if (!err && kv) {
		p.in_value = true;
		err = enc_root(&p, &root, value_id, (size_t)ksize * 8, &vsize);
	}
	if (!err)
		err = enc_finish(&p);
	if (err)
		goto err_out;
	enc->size = p.rec_size;
	enc->key_size = kv ? ksize : 0;
	enc_planner_free(&p);
	*ret = enc;
	return 0;
err_out:
	if (err == -ENOMEM)
		igfs_diag_set(diag, "out of memory");
	enc_planner_free(&p);
	igfs_enc__free(enc);
	return err;
}

int igfs_enc__new(const struct btf *btf, __u32 type_id, const struct igfs_enc_opts *opts,
		  struct igfs_enc **ret, struct igfs_diag *diag)
{
	return enc_new(btf, type_id, 0, false, opts, ret, diag);
}

int igfs_enc__new_kv(const struct btf *btf, __u32 key_id, __u32 value_id,
		     const struct igfs_enc_opts *opts, struct igfs_enc **ret,
		     struct igfs_diag *diag)
{
	return enc_new(btf, key_id, value_id, true, opts, ret, diag);
}

/* ------------------------------------------------------------------ */
/* Sorting                                                              */

struct enc_sort_key {
	struct enc_op op;
	bool desc;
};

struct igfs_enc_sort {
	size_t n;
	struct enc_sort_key keys[];
};

int igfs_enc__sort_new(const struct igfs_enc *enc, const char *spec, struct igfs_enc_sort **ret,
		       struct igfs_diag *diag)
{
	const char *s = spec ? spec : "", *end;
	struct igfs_enc_sort *sort;
	size_t n = 1, i, k = 0;

	for (i = 0; s[i]; i++)
		n += s[i] == ',';
	sort = calloc(1, sizeof(*sort) + n * sizeof(sort->keys[0]));
	if (!sort)
		return -ENOMEM;
	if (strspn(s, " \t\n") == strlen(s))
		goto out; /* no keys */
	for (;; s = end + 1) {
		size_t len;
		bool desc = false, found = false;

		end = strchr(s, ',');
		len = end ? (size_t)(end - s) : strlen(s);
		while (len && strchr(" \t\n", *s)) {
			s++;
			len--;
		}
		while (len && strchr(" \t\n", s[len - 1]))
			len--;
		if (len && (*s == '-' || *s == '+')) {
			desc = *s == '-';
			s++;
			len--;
		}
		if (!len) {
			igfs_diag_set(diag, "empty field name in sort spec '%.200s'", spec);
			free(sort);
			return -EINVAL;
		}
		for (i = 0; i < enc->n_sortable && !found; i++) {
			const char *name = enc->names.data + enc->sortable[i].name;

			if (strlen(name) == len && !memcmp(name, s, len)) {
				sort->keys[k].op = enc->ops[enc->sortable[i].op];
				sort->keys[k].desc = desc;
				k++;
				found = true;
			}
		}
		if (!found) {
			igfs_diag_set(diag, "unknown sort field '%.*s'", (int)IGFS_MIN(len, 200u),
				      s);
			free(sort);
			return -EINVAL;
		}
		if (!end)
			break;
	}
out:
	sort->n = k;
	*ret = sort;
	return 0;
}

/* IEEE 754 total order as an unsigned number: flip negatives, set positives' sign. */
static uint64_t enc_float_order(const struct enc_op *op, const uint8_t *r)
{
	double d;
	uint64_t u;

	if (op->size == 4) {
		float f;

		memcpy(&f, r + op->off, 4);
		d = f;
	} else {
		memcpy(&d, r + op->off, 8);
	}
	memcpy(&u, &d, 8);
	return (u >> 63) ? ~u : u | (1ull << 63);
}

static int enc_cmp_op(const struct enc_op *op, const uint8_t *a, const uint8_t *b)
{
	switch (op->kind) {
	case ENC_STR: {
		const uint8_t *sa = a + op->off, *sb = b + op->off;
		const uint8_t *na = memchr(sa, 0, op->count), *nb = memchr(sb, 0, op->count);
		size_t la = na ? (size_t)(na - sa) : op->count,
		       lb = nb ? (size_t)(nb - sb) : op->count;
		int c = memcmp(sa, sb, IGFS_MIN(la, lb));

		if (c)
			return c < 0 ? -1 : 1;
		return la < lb ? -1 : la > lb;
	}
	case ENC_IPADDR: {
		int c = memcmp(a + op->off, b + op->off, 16);

		return c < 0 ? -1 : c > 0;
	}
	case ENC_FLOAT: {
		/* The sort key's total order: with NaN, < and > order nothing consistently. */
		uint64_t x = enc_float_order(op, a), y = enc_float_order(op, b);

		return x < y ? -1 : x > y;
	}
	case ENC_INT128: {
		unsigned __int128 x, y;

		memcpy(&x, a + op->off, 16);
		memcpy(&y, b + op->off, 16);
		if (op->flags & ENC_F_SIGNED)
			return (__int128)x < (__int128)y ? -1 : (__int128)x > (__int128)y;
		return x < y ? -1 : x > y;
	}
	default: {
		uint64_t x = enc_read_int(op, a), y = enc_read_int(op, b);

		if (op->flags & ENC_F_SIGNED)
			return (int64_t)x < (int64_t)y ? -1 : (int64_t)x > (int64_t)y;
		return x < y ? -1 : x > y;
	}
	}
}

int igfs_enc__sort_cmp(const struct igfs_enc_sort *sort, const void *a, const void *b)
{
	size_t i;

	for (i = 0; i < sort->n; i++) {
		int c = enc_cmp_op(&sort->keys[i].op, a, b);

		if (c)
			return sort->keys[i].desc ? -c : c;
	}
	return 0;
}

void igfs_enc__sort_free(struct igfs_enc_sort *sort)
{
	free(sort);
}

int igfs_enc__sort_keys(const struct igfs_enc *enc, struct igfs_enc_sort **ret)
{
	struct igfs_enc_sort *sort;
	size_t i, k = 0;

	sort = calloc(1, sizeof(*sort) + (enc->n_sortable + 1) * sizeof(sort->keys[0]));
	if (!sort)
		return -ENOMEM;
	/* The key struct's fields, in struct order: "key order" of SPEC §8. */
	for (i = 0; i < enc->n_sortable; i++) {
		const struct enc_op *op = &enc->ops[enc->sortable[i].op];

		if (op->off >= enc->key_size)
			continue;
		sort->keys[k].op = *op;
		sort->keys[k].desc = false;
		k++;
	}
	sort->n = k;
	*ret = sort;
	return 0;
}

static size_t enc_sort_part_size(const struct enc_op *op)
{
	switch (op->kind) {
	case ENC_STR:
		return op->count;
	case ENC_IPADDR:
	case ENC_INT128:
		return 16;
	default:
		return 8;
	}
}

size_t igfs_enc__sort_key_size(const struct igfs_enc_sort *sort)
{
	size_t i, n = 0;

	for (i = 0; i < sort->n; i++)
		n += enc_sort_part_size(&sort->keys[i].op);
	return n;
}

static void enc_put_be(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

void igfs_enc__sort_key(const struct igfs_enc_sort *sort, const void *rec, uint8_t *out)
{
	const uint8_t *r = rec;
	size_t i, j, n;

	/* Byte strings that memcmp orders exactly as igfs_enc__sort_cmp does. */
	for (i = 0; i < sort->n; i++) {
		const struct enc_op *op = &sort->keys[i].op;

		n = enc_sort_part_size(op);
		switch (op->kind) {
		case ENC_STR: {
			const uint8_t *s = r + op->off, *nul = memchr(s, 0, op->count);
			size_t len = nul ? (size_t)(nul - s) : op->count;

			memcpy(out, s, len);
			memset(out + len, 0, n - len);
			break;
		}
		case ENC_IPADDR:
			memcpy(out, r + op->off, 16);
			break;
		case ENC_FLOAT:
			enc_put_be(out, enc_float_order(op, r));
			break;
		case ENC_INT128: {
			unsigned __int128 x;

			memcpy(&x, r + op->off, 16);
			if (op->flags & ENC_F_SIGNED)
				x ^= (unsigned __int128)1 << 127;
			enc_put_be(out, (uint64_t)(x >> 64));
			enc_put_be(out + 8, (uint64_t)x);
			break;
		}
		default: {
			uint64_t v = enc_read_int(op, r);

			if (op->flags & ENC_F_SIGNED)
				v ^= 1ull << 63;
			enc_put_be(out, v);
			break;
		}
		}
		if (sort->keys[i].desc)
			for (j = 0; j < n; j++)
				out[j] = (uint8_t)~out[j];
		out += n;
	}
}
