/* SPDX-License-Identifier: MIT */
/* hcs_PauseComputeSystem / hcs_ResumeComputeSystem on systems with
 * isolation: a counter in the system stops while it is paused and goes
 * on once resumed, Inspect says "Paused", no process starts in a paused
 * system, Terminate and Shutdown of a paused system stop it, and each
 * call refuses the states it is not for. */
#include <criterion/criterion.h>
#include <errno.h>
#include <hcs.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_ct_util.h"

TestSuite(pause_api, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The system's state as Inspect tells it. */
static char *state_of(hcs_t *h, const char *id) {
  char *json = NULL;
  cr_assert_eq(hcs_InspectComputeSystem(h, id, &json, NULL), HCS_OK);
  json_t *j = json_loads(json, 0, NULL);
  char *st = strdup(json_string_value(json_object_get(j, "State")));
  json_decref(j);
  hcs_free(json);
  return st;
}

static void assert_state(hcs_t *h, const char *id, const char *want) {
  char *st = state_of(h, id);
  cr_assert_str_eq(st, want);
  free(st);
}

/* A system whose /data is base/data, with a counter writing to
 * /data/cnt every 20 ms. */
static void start_counter(hcs_t *h, const char *id) {
  char data[512], extra[1024];
  snprintf(data, sizeof(data), "%s/data", base);
  mkdir(data, 0755);
  snprintf(extra, sizeof(extra),
           ",\"MappedDirectories\":[{\"HostPath\":\"%s\",\"ContainerPath\":"
           "\"/data\"}]",
           data);
  start_system(h, id, extra);
  const char *args[] = {"sh", "-c",
                        "i=0; while :; do i=$((i+1)); echo $i > /data/cnt.t; "
                        "mv /data/cnt.t /data/cnt; sleep 0.02; done",
                        NULL};
  hcs_process_params_t pp = {.args = args};
  uint32_t pid;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, id, false, false, false, &pp,
                                                &pid, NULL, NULL, NULL, &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
}

static long counter(void) {
  char path[512];
  snprintf(path, sizeof(path), "%s/data/cnt", base);
  long n = -1;
  for (int i = 0; i < 200 && n < 0; i++) {
    FILE *f = fopen(path, "re");
    if (f != NULL) {
      if (fscanf(f, "%ld", &n) != 1) {
        n = -1;
      }
      fclose(f);
    }
    if (n < 0) {
      sleep_ms(10);
    }
  }
  cr_assert_geq(n, 0, "the counter never wrote %s", path);
  return n;
}

Test(pause_api, counter_stops_while_paused) {
  hcs_t *h = open_hcs(NULL);
  start_counter(h, "pz");
  long a = counter();
  sleep_ms(200);
  cr_assert_gt(counter(), a, "the counter does not run");
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_PauseComputeSystem(h, "pz", &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
  assert_state(h, "pz", "Paused");
  long p1 = counter();
  sleep_ms(400);
  cr_assert_eq(counter(), p1, "the counter went on while paused");
  /* Nothing starts in a paused system, and a second pause is refused. */
  const char *args[] = {"true", NULL};
  hcs_process_params_t pp = {.args = args};
  uint32_t pid;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "pz", false, false, false,
                                                &pp, &pid, NULL, NULL, NULL,
                                                &err),
               HCS_E_INVALID_STATE);
  cr_assert_not_null(strstr(hcs_error_message(err), "paused"), "%s",
                     hcs_error_message(err));
  hcs_error_free(err);
  err = NULL;
  cr_assert_eq(hcs_PauseComputeSystem(h, "pz", &err), HCS_E_INVALID_STATE);
  hcs_error_free(err);
  err = NULL;
  cr_assert_eq(hcs_ResumeComputeSystem(h, "pz", &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
  assert_state(h, "pz", "Running");
  sleep_ms(300);
  cr_assert_gt(counter(), p1, "the counter did not go on once resumed");
  cr_assert_eq(hcs_ResumeComputeSystem(h, "pz", &err), HCS_E_INVALID_STATE);
  hcs_error_free(err);
  out_t o;
  run_in(h, "pz", "echo alive", NULL, &o);
  cr_assert_str_eq(o.text, "alive\n");
  stop_system(h, "pz");
  hcs_close(h);
}

Test(pause_api, terminate_and_shutdown_of_a_paused_system) {
  hcs_t *h = open_hcs(NULL);
  start_counter(h, "pt");
  cr_assert_eq(hcs_PauseComputeSystem(h, "pt", NULL), HCS_OK);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_TerminateComputeSystem(h, "pt", 10000, NULL, &err), HCS_OK,
               "%s", err ? hcs_error_message(err) : "");
  assert_state(h, "pt", "Stopped");
  cr_assert_eq(hcs_DeleteComputeSystem(h, "pt", NULL), HCS_OK);

  start_counter(h, "ps");
  cr_assert_eq(hcs_PauseComputeSystem(h, "ps", NULL), HCS_OK);
  cr_assert_eq(hcs_ShutdownComputeSystem(h, "ps", 10000, NULL, &err), HCS_OK,
               "%s", err ? hcs_error_message(err) : "");
  assert_state(h, "ps", "Stopped");
  cr_assert_eq(hcs_PauseComputeSystem(h, "ps", &err), HCS_E_INVALID_STATE);
  hcs_error_free(err);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "ps", NULL), HCS_OK);
  hcs_close(h);
}

Test(pause_api, refused_states) {
  hcs_t *h = open_hcs(NULL);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_PauseComputeSystem(h, "nope", &err), HCS_E_SYSTEM_NOT_FOUND);
  hcs_error_free(err);
  err = NULL;
  char cfg[1024];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\"}", base);
  cr_assert_eq(hcs_CreateComputeSystem(h, "cr", cfg, NULL), HCS_OK);
  cr_assert_eq(hcs_PauseComputeSystem(h, "cr", &err), HCS_E_INVALID_STATE);
  cr_assert_not_null(strstr(hcs_error_message(err), "not started"), "%s",
                     hcs_error_message(err));
  hcs_error_free(err);
  err = NULL;
  cr_assert_eq(hcs_ResumeComputeSystem(h, "cr", &err), HCS_E_INVALID_STATE);
  hcs_error_free(err);
  err = NULL;
  cr_assert_eq(
      hcs_CreateComputeSystem(
          h, "dm", "{\"SystemType\":\"Container\",\"IsDummy\":true}", NULL),
      HCS_OK);
  cr_assert_eq(hcs_StartComputeSystem(h, "dm", NULL), HCS_OK);
  cr_assert_eq(hcs_PauseComputeSystem(h, "dm", &err), HCS_ERROR_NOT_SUPPORTED);
  hcs_error_free(err);
  assert_state(h, "dm", "Running");
  hcs_close(h);
}
