/* SPDX-License-Identifier: MIT */
/* The tbf qdisc of an endpoint's egress cap (see qos.h for the choice).
 * Sizes: the bucket holds 20 ms of the rate (at least 32 KiB, so that a
 * full-size frame always fits and a slow cap still passes a burst), and
 * the queue behind it another 50 ms. The kernel segments GSO packets
 * larger than the bucket. Frames are counted with their Ethernet header
 * (linklayer ethernet), so the payload rate comes out a few percent under
 * the cap. */
#include "hcs/hns/qos.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#define QOS_MIN_BURST (32u * 1024)

int hcs__qos_set(hcs__nl_t *nl, const char *name, uint64_t rate) {
  if (rate == 0) {
    return -EINVAL;
  }
  int index = hcs__nl_ifindex(nl, name);
  if (index < 0) {
    return index;
  }
  uint64_t burst = rate / 50, limit = rate / 20;
  burst = burst < QOS_MIN_BURST ? QOS_MIN_BURST
          : burst > UINT32_MAX  ? UINT32_MAX
                                : burst;
  limit += burst;
  struct tc_tbf_qopt q;
  memset(&q, 0, sizeof(q));
  q.rate.linklayer = TC_LINKLAYER_ETHERNET;
  q.rate.rate = rate >= UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
  q.limit = limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;

  struct nlmsghdr *h =
      hcs__nl_request(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
  struct tcmsg *tc = mnl_nlmsg_put_extra_header(h, sizeof(*tc));
  tc->tcm_family = AF_UNSPEC;
  tc->tcm_ifindex = index;
  tc->tcm_handle = TC_H_MAKE(1u << 16, 0);
  tc->tcm_parent = TC_H_ROOT;
  mnl_attr_put_strz(h, TCA_KIND, "tbf");
  struct nlattr *opts = mnl_attr_nest_start(h, TCA_OPTIONS);
  mnl_attr_put(h, TCA_TBF_PARMS, sizeof(q), &q);
  if (rate >= UINT32_MAX) {
    mnl_attr_put_u64(h, TCA_TBF_RATE64, rate);
  }
  /* The bucket in bytes; the kernel turns it into time at the rate. */
  mnl_attr_put_u32(h, TCA_TBF_BURST, (uint32_t)burst);
  mnl_attr_nest_end(h, opts);
  return hcs__nl_talk(nl, h, NULL, NULL);
}
