/* SPDX-License-Identifier: MIT */
/* The bodies of container create and exec create decoded into the
 * model's structs, and the error a model call reports: plain calls over
 * bytes, with no request in sight (the fuzz targets reach them). */
#ifndef HCSD_MODEL_SPEC_H
#define HCSD_MODEL_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A model call's failure: an HTTP status class (400 bad input, 404 no
 * such object, 409 conflict, 500 the host failed) and what to tell. */
typedef struct hcsd_err_s {
  int status;
  char msg[512];
} hcsd_err_t;

void hcsd_err_set(hcsd_err_t *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A container create body. config is the body less HostConfig and
 * NetworkingConfig (kept for inspect), host_config never NULL; the other
 * fields point into them. */
typedef struct hcsd_ctr_spec_s {
  json_t *config;
  json_t *host_config;
  const char *image;
  const char *hostname; /* NULL or "" when not given */
  const char *net_mode; /* "default" when not given */
  json_t *aliases;      /* its endpoint's Aliases (--network-alias), or NULL */
  json_t *networks;     /* EndpointsConfig of its other networks (a second
                           --network), or NULL */
  bool tty, open_stdin, stdin_once, auto_remove;
  uint16_t rows, cols;
} hcsd_ctr_spec_t;

/* Decodes body[0..len): 0, or -1 with e set (400 and the field that is
 * wrong). On success the spec owns its JSON: hcsd_ctr_spec_clear. */
/* Every documented field is honoured or refused (400 "hcsd does not
 * support --flag (field)"); see spec.c for which and why. */
int hcsd_ctr_spec_decode(const char *body, size_t len, hcsd_ctr_spec_t *spec,
                         hcsd_err_t *e);
/* Adds to sys, a compute-system config, the limits a decoded HostConfig
 * hc asks for (Memory, NanoCpus, CpuShares, PidsLimit) in libhcs's
 * fields: MemoryMaximumInMB, ProcessorMaximum, ProcessorWeight,
 * PidsMaximum. */
void hcsd_spec_system_limits(json_t *hc, json_t *sys);
/* An endpoint's settings (EndpointsConfig.<network>, or the
 * EndpointConfig of docker network connect) with every field hcsd cannot
 * give at its default: 0, or -1 with e (400 naming the flag and where,
 * the field's path prefix). */
int hcsd_spec_endpoint_check(json_t *ep, const char *where, hcsd_err_t *e);
/* The resource fields of a HostConfig (the limits above, MemorySwap,
 * MemoryReservation, ShmSize, CpusetCpus/Mems, CapAdd/CapDrop, Ulimits)
 * checked as dockerd checks them at create and update: 0, or -1 with e
 * (400). hcsd_spec_system_limits adds them to a config in libhcs's
 * fields too: SwapMaximumInMB, MemoryReservationInMB, ShmSizeInBytes,
 * CapAdd, CapDrop, Ulimits, CpusetCpus, CpusetMems. */
int hcsd_spec_limits_check(json_t *hc, hcsd_err_t *e);
/* mounts.c: HostConfig's Binds (host paths), Mounts (bind, tmpfs),
 * Tmpfs, ReadonlyRootfs and ExtraHosts checked as dockerd checks them
 * at create: 0, or -1 with e (400 naming what is wrong or refused). */
int hcsd_spec_mounts_check(json_t *hc, hcsd_err_t *e);
/* Config.Volumes of create body b: each key an absolute path, or 400; a
 * key that is the destination of one of the HostConfig's mounts asks for no
 * volume (the Python SDK and docker-compose name their mounts' destinations
 * there too), any other for an anonymous one (hcsd_spec_anon_volumes). */
int hcsd_spec_volumes_check(json_t *b, hcsd_err_t *e);
/* The anonymous volumes of a create: each key of vols (Config.Volumes,
 * -v /path) that no mount of hc covers, and each --mount type=volume
 * without a source, become Mounts of hc naming a fresh volume marked
 * anonymous (made at start, removed by docker rm -v and --rm). */
void hcsd_spec_anon_volumes(json_t *vols, json_t *hc);
/* The container's hosts file: where, and what it says of the container. */
typedef struct hcsd_hosts_s {
  const char *path;
  bool host_net;    /* the host's network: the host's file to start from */
  const char *ip;   /* its address, or NULL / "" without a network */
  const char *name; /* its host name */
} hcsd_hosts_t;
/* At start (off the engine thread): adds to sys libhcs's
 * MappedDirectories, Tmpfs and ReadOnlyRoot for hc, making a missing -v
 * source directory; writes the container's hosts file (loopback names,
 * or the host's file, then ExtraHosts, then "ip name") and maps it at
 * /etc/hosts. 0, or -1 with e (500). */
int hcsd_spec_system_mounts(json_t *hc, const hcsd_hosts_t *hosts, json_t *sys,
                            hcsd_err_t *e);
/* The ?platform= of a create: "", "linux" or the host's "linux/<arch>"
 * (hcsd's images are the host's): 0, or -1 with e (400). */
int hcsd_platform_check(const char *platform, hcsd_err_t *e);
void hcsd_ctr_spec_clear(hcsd_ctr_spec_t *spec);

/* An exec create body; strings NULL or "" when not given (the
 * container's own then apply). */
typedef struct hcsd_exec_spec_s {
  char **argv; /* at least one */
  char **env;
  char *user;
  char *cwd;
  bool tty, in, out, err, detach;
  uint16_t rows, cols;
} hcsd_exec_spec_t;

int hcsd_exec_spec_decode(const char *body, size_t len, hcsd_exec_spec_t *spec,
                          hcsd_err_t *e);
void hcsd_exec_spec_clear(hcsd_exec_spec_t *spec);

/* An exec start body: what hcsd_exec_start takes besides the id. */
typedef struct hcsd_exec_start_opts_s {
  bool detach;
  uint16_t rows, cols; /* 0: as created */
} hcsd_exec_start_opts_t;
/* A console size is rows and cols of 0-65535: 0, or -1 with e (400). */
int hcsd_size_check(int rows, int cols, hcsd_err_t *e);

/* Decodes an exec start body (Detach, ConsoleSize); bad JSON is empty. */
void hcsd_exec_start_decode(const char *body, size_t len,
                            hcsd_exec_start_opts_t *o);

#endif
