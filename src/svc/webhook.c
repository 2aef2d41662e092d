/*
** webhook.c -- delivery of one completion webhook with libcurl: a JSON
** POST with a 5 s timeout to an http(s) URL whose host was resolved and
** checked here first.  Server-side request forgery is the risk (a job
** submitter naming http://127.0.0.1:... or a cloud metadata address), so
** unless loopback targets are allowed every address is checked, the one
** used is pinned with CURLOPT_RESOLVE (no second lookup that a rebinding
** DNS server could answer differently), redirects are not followed and
** proxies from the environment are ignored.
*/
#define _GNU_SOURCE
#include "svc_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/base_int.h"

/* --------------------------------------------------------- address check */

static int v4_private(uint32_t a) /* host byte order */
{
	uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);
	return b0 == 0                              /* 0.0.0.0/8 "this network" */
	       || b0 == 10                          /* RFC 1918 */
	       || b0 == 127                         /* loopback */
	       || (b0 == 100 && (b1 & 0xc0) == 64)  /* 100.64/10 carrier-grade NAT */
	       || (b0 == 169 && b1 == 254)          /* link-local, cloud metadata */
	       || (b0 == 172 && (b1 & 0xf0) == 16)  /* RFC 1918 */
	       || (b0 == 192 && b1 == 168)          /* RFC 1918 */
	       || (b0 == 192 && b1 == 0 && (uint8_t)(a >> 8) == 0) /* 192.0.0/24 IETF */
	       || (b0 == 198 && (b1 & 0xfe) == 18)  /* 198.18/15 benchmarking */
	       || b0 >= 224;                        /* multicast, reserved, broadcast */
}

int fl__addr_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return 1;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) {
		uint32_t a = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
		return v4_private(a);
	}
	int zero = 1;
	for (int i = 0; i < 15; i++)
		zero &= b[i] == 0;
	if (zero && (b[15] == 0 || b[15] == 1)) /* :: and ::1 */
		return 1;
	if ((b[0] & 0xfe) == 0xfc)                   /* fc00::/7 unique local */
		return 1;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)  /* fe80::/10 link-local */
		return 1;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)  /* fec0::/10 old site-local */
		return 1;
	if (b[0] == 0xff)                            /* multicast */
		return 1;
	return 0;
}

/* ---------------------------------------------------------------- POST */

static size_t discard(char *p, size_t size, size_t n, void *opaque)
{
	(void)p;
	(void)opaque;
	return size * n;
}

static int abort_check(void *opaque, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const volatile int *stop = opaque;
	return stop && __atomic_load_n(stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* The URL's scheme, host (IPv6 without brackets) and port. */
struct target {
	char scheme[16];
	char host[256];
	char port[8];
	int literal; /* the host is an IP address */
};

static int parse_url(const char *url, struct target *t, char *err, size_t err_size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int r = 0;
	if (!u) {
		fl__errf(err, err_size, "out of memory");
		return FL_ENOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		fl__errf(err, err_size, "webhook \"%.200s\": not a URL", url);
		r = FL_EINVAL;
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		fl__errf(err, err_size, "webhook \"%.200s\": scheme \"%s\" refused (http or https expected)", url, scheme);
		r = FL_EINVAL;
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		fl__errf(err, err_size, "webhook \"%.200s\": not a URL with a host", url);
		r = FL_EINVAL;
		goto out;
	}
	size_t hl = strlen(host);
	const char *h = host;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		h = host + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(t->host) || strlen(port) >= sizeof(t->port)) {
		fl__errf(err, err_size, "webhook \"%.200s\": bad host or port", url);
		r = FL_EINVAL;
		goto out;
	}
	snprintf(t->scheme, sizeof(t->scheme), "%s", scheme);
	memcpy(t->host, h, hl);
	t->host[hl] = 0;
	snprintf(t->port, sizeof(t->port), "%s", port);
	struct in6_addr a6;
	t->literal = inet_pton(AF_INET, t->host, &a6) == 1 || inet_pton(AF_INET6, t->host, &a6) == 1;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

/* Resolve the host and pick the first permitted address, as text for
** CURLOPT_RESOLVE ("[v6]" bracketed). */
static int pick_address(const char *url, const struct target *t, int allow_private, char *addr, size_t addr_size,
                        char *err, size_t err_size)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int gr = getaddrinfo(t->host, t->port, &hints, &res);
	if (gr != 0) {
		fl__errf(err, err_size, "webhook \"%.200s\": cannot resolve \"%s\": %s", url, t->host, gai_strerror(gr));
		return FL_EIO;
	}
	int r = FL_EACCES;
	char refused[INET6_ADDRSTRLEN] = "";
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		char txt[INET6_ADDRSTRLEN];
		const void *src = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
		                                            : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    !inet_ntop(ai->ai_family, src, txt, sizeof(txt)))
			continue;
		if (!allow_private && fl__addr_is_private(ai->ai_addr)) {
			if (!refused[0])
				snprintf(refused, sizeof(refused), "%s", txt);
			continue;
		}
		snprintf(addr, addr_size, ai->ai_family == AF_INET6 ? "[%s]" : "%s", txt);
		r = 0;
		break;
	}
	freeaddrinfo(res);
	if (r < 0)
		fl__errf(err, err_size,
		         "webhook \"%.200s\": target %s is a loopback or private address (refused; the service allows "
		         "such webhooks only when configured to)",
		         url, refused[0] ? refused : t->host);
	return r;
}

int fl__webhook_post(const char *url, const char *body, int allow_private, const volatile int *stop, char *err,
                     size_t err_size)
{
	struct target t;
	char addr[INET6_ADDRSTRLEN + 2], pin[512];
	struct curl_slist *resolve = NULL, *headers = NULL;
	CURL *c = NULL;
	int r;

	if (!url || !body) {
		fl__errf(err, err_size, "no webhook URL or body");
		return FL_EINVAL;
	}
	if ((r = parse_url(url, &t, err, err_size)) < 0)
		return r;
	if ((r = pick_address(url, &t, allow_private, addr, sizeof(addr), err, err_size)) < 0)
		return r;
	c = curl_easy_init();
	if (!c) {
		fl__errf(err, err_size, "webhook: cannot create a libcurl handle");
		return FL_ENOMEM;
	}
	if (!t.literal) {
		snprintf(pin, sizeof(pin), "%s:%s:%s", t.host, t.port, addr);
		resolve = curl_slist_append(NULL, pin);
	}
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if ((!t.literal && !resolve) || !headers) {
		fl__errf(err, err_size, "out of memory");
		r = FL_ENOMEM;
		goto out;
	}
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)FL__WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)FL__WEBHOOK_TIMEOUT_S);
	if (resolve)
		curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "faceline-webhook/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_check);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop);
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		fl__errf(err, err_size, "webhook \"%.200s\" (%s): %s", url, addr, ebuf[0] ? ebuf : curl_easy_strerror(cr));
		r = FL_EIO;
		goto out;
	}
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		fl__errf(err, err_size, "webhook \"%.200s\": HTTP status %ld", url, code);
		r = FL_EIO;
		goto out;
	}
	r = 0;
out:
	curl_slist_free_all(resolve);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return r;
}
