/*
** svc_int.h -- internals shared by the worker side of src/svc: webhook
** delivery (webhook.c) used by the worker pool (worker.c).  Not part of
** the API (svc.h is).
*/
#ifndef FL_SVC_INT_H
#define FL_SVC_INT_H

#include <stddef.h>
#include <sys/socket.h>

/* Seconds one webhook request may take (connect included). */
#define FL__WEBHOOK_TIMEOUT_S 5
/* Tries per webhook before giving up; the waits between them are 1, 2,
** 4, 8 ... seconds. */
#define FL__WEBHOOK_TRIES 5

/*
** 1 when sa is an address a webhook must not reach unless loopback and
** private targets are allowed: loopback, unspecified, RFC 1918 private,
** carrier-grade NAT, link-local, benchmark, multicast and reserved IPv4;
** ::1, ::, unique-local, link-local and multicast IPv6; and IPv4 ones
** mapped into IPv6 (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) by their IPv4 part.
*/
int fl__addr_is_private(const struct sockaddr *sa);

/*
** POST body (JSON text, borrowed) to url.  Only http and https URLs; the
** host is resolved here, each address checked with fl__addr_is_private
** (unless allow_private), and the connection pinned to the address
** checked (CURLOPT_RESOLVE), so a second DNS answer cannot redirect it;
** redirects are not followed and proxies are not used.  *stop (may be
** NULL) aborts a transfer in flight when it becomes nonzero.
** Returns 0 on a 2xx answer; FL_EINVAL (not an http(s) URL) or FL_EACCES
** (a refused target): do not retry; FL_EIO (DNS, connection, timeout, a
** non-2xx status): retry later.  Message in err.
*/
int fl__webhook_post(const char *url, const char *body, int allow_private, const volatile int *stop, char *err,
                     size_t err_size);

#endif /* FL_SVC_INT_H */
