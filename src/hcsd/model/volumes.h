/* SPDX-License-Identifier: MIT */
/* Named volumes: the "local" driver's store under the state dir, one
 * directory per volume, <state>/volumes/<name>/ with the data in _data/
 * and {"CreatedAt", "Labels"} in opts.json. A volume is in use while a
 * container that names it exists (its HostConfig's Binds or Mounts), so
 * in-use needs no record of its own. Engine thread, except
 * hcsd_volumes_system. Failures as model.h's (e set, -1 or NULL). */
#ifndef HCSD_MODEL_VOLUMES_H
#define HCSD_MODEL_VOLUMES_H

#include "hcsd/model/model.h"

/* Makes the store and clears what a removal left half done. 0, or -1
 * with a message in hcsd's log. */
int hcsd_volumes_open(hcsd_t *d);
/* POST /volumes/create's body: the volume's JSON (201), made or found;
 * NULL with e: 400 a bad name, a driver other than "local", driver
 * options; 500. */
json_t *hcsd_vol_create(hcsd_t *d, const char *body, hcsd_err_t *e);
/* {"Volumes": [...], "Warnings": []} by filters (name, label, dangling,
 * driver); NULL with e: 400. */
json_t *hcsd_vol_list(hcsd_t *d, const char *filters, hcsd_err_t *e);
/* NULL with e: 404 "get NAME: no such volume". */
json_t *hcsd_vol_inspect(hcsd_t *d, const char *name, hcsd_err_t *e);
/* 0, or -1 with e: 404 (not with force), 409 in use. */
int hcsd_vol_remove(hcsd_t *d, const char *name, bool force, hcsd_err_t *e);
/* Removes the volumes no container uses (only anonymous ones unless the
 * filter all=true; label filters too): HCSD_PENDING, then done with
 * {"VolumesDeleted", "SpaceReclaimed"} (the receiver's); -1 with e 400. */
typedef void (*hcsd_vol_pruned_cb)(json_t *report, void *data);
int hcsd_vol_prune(hcsd_t *d, const char *filters, hcsd_vol_pruned_cb done,
                   void *data, hcsd_err_t *e);
/* At a container's start (any thread): the named volumes of hc (Binds
 * "name:/path[:mode]" and Mounts of Type "volume"), made on first use as
 * dockerd does, appended to sys's MappedDirectories. 0, or -1 with e. */
int hcsd_volumes_system(hcsd_t *d, json_t *hc, json_t *sys, hcsd_err_t *e);

/* At create (mounts.c): a volume's name as Binds gives it, and a Mounts
 * entry of Type "volume" (a Source named; no driver options). 0, or -1
 * with e (400). */
int hcsd_vol_name_check(const char *name, hcsd_err_t *e);
int hcsd_vol_mount_check(json_t *mount, hcsd_err_t *e);
/* A Mounts entry of Type "volume" without a Source (an anonymous
 * volume) gets a random name and the label dockerd marks anonymous
 * volumes with; any other is left alone. */
void hcsd_vol_anon_source(json_t *mount);
/* Removes the anonymous volumes of hc's Mounts that no container uses
 * (docker rm -v, and a --rm container's end). Engine thread. */
void hcsd_volumes_anon_remove(hcsd_t *d, json_t *hc);
/* Whether the next removal of container ref takes its anonymous volumes
 * (DELETE /containers/{id}?v=). */
void hcsd_volumes_rm_with(hcsd_t *d, const char *ref, bool on);
/* Docker's inspect "Mounts" for the named volumes of hc (a new array). */
json_t *hcsd_volumes_mounts(hcsd_t *d, json_t *hc);

#endif
