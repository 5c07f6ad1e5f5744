/* SPDX-License-Identifier: MIT */
/* rtnetlink through libmnl: links (bridges, veth pairs), addresses and
 * routes, in the network namespace a socket was opened in. Every call
 * returns 0 (or a positive answer) or -errno as the kernel gave it. A
 * socket is used by one thread at a time. */
#ifndef HCS_HCS_NETLINK_H
#define HCS_HCS_NETLINK_H

#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

#define HCS__IFNAMSIZ 16 /* IFNAMSIZ, without <net/if.h> */

typedef struct hcs__nl_s hcs__nl_t;

/* A socket in the calling thread's network namespace. */
int hcs__nl_open(hcs__nl_t **out);
/* A socket in the namespace of nsfd (an open /proc/PID/ns/net). The
 * socket is made on a short-lived thread that setns(2)es itself there, so
 * that no thread of the host, the engine's above all, ever changes
 * namespace; a socket keeps the namespace it was made in. */
int hcs__nl_open_in(int nsfd, hcs__nl_t **out);
void hcs__nl_close(hcs__nl_t *nl);

/* A request header of type and flags (NLM_F_REQUEST | NLM_F_ACK added)
 * in nl's buffer; add to it with libmnl, then send it with talk. */
struct nlmsghdr *hcs__nl_request(hcs__nl_t *nl, uint16_t type, uint16_t flags);
/* Sends the request and reads the answer up to its ack (or the end of a
 * dump), handing each answering message to cb (a libmnl mnl_cb_t; NULL
 * for none). */
typedef int (*hcs__nl_cb)(const struct nlmsghdr *nlh, void *data);
int hcs__nl_talk(hcs__nl_t *nl, struct nlmsghdr *req, hcs__nl_cb cb,
                 void *data);

/* The index of a link by name: > 0, or -ENODEV. */
int hcs__nl_ifindex(hcs__nl_t *nl, const char *name);
/* The index of the link's master (its bridge): > 0, 0 for none, or
 * -ENODEV when there is no such link. */
int hcs__nl_link_master(hcs__nl_t *nl, const char *name);
int hcs__nl_bridge_add(hcs__nl_t *nl, const char *name);
/* A veth pair name <-> peer; the peer gets the MAC (6 bytes). */
int hcs__nl_veth_add(hcs__nl_t *nl, const char *name, const char *peer,
                     const uint8_t mac[6]);
/* Deletes a link (a veth takes its peer along, wherever that is). */
int hcs__nl_link_del(hcs__nl_t *nl, const char *name);
/* Makes link name a port of master and sets it up. */
int hcs__nl_link_enslave(hcs__nl_t *nl, const char *name, const char *master);
int hcs__nl_link_up(hcs__nl_t *nl, const char *name);
/* Moves link name into the namespace of nsfd, renamed newname there. */
int hcs__nl_link_move(hcs__nl_t *nl, const char *name, int nsfd,
                      const char *newname);
/* Adds addr/len to a link; -EEXIST when it is there. */
int hcs__nl_addr_add(hcs__nl_t *nl, const char *name, uint32_t addr,
                     unsigned len);
/* A default route via gw (host byte order) in the main table. */
int hcs__nl_route_default(hcs__nl_t *nl, uint32_t gw);
/* Whether a route of the main table (other than the default route)
 * overlaps net/len: 1 with the link it goes through in dev (or "" when
 * unnamed), 0, or -errno. */
int hcs__nl_route_overlap(hcs__nl_t *nl, uint32_t net, unsigned len,
                          char dev[HCS__IFNAMSIZ]);

#endif
