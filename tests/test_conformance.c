/* SPDX-License-Identifier: MIT */
/* Documents as Go marshalled them (tests/conformance: the ContainerConfig
 * and ProcessConfig of Docker's Windows daemon and of hcsshim v0.1 to
 * v0.7) are accepted and mean what Go meant: null is a nil map, slice or
 * pointer (absent), Go's zero value of a field it always wrote is absent
 * too, and what hcs gives back reads back to itself. The fields of those
 * structs that hcs has no meaning for are accepted null or zero and
 * refused naming the field otherwise. hcsshim v0.7's pipe keys are
 * honoured; a console size without a console is dropped, as HCS did. */
#include "hcs/hns/hns_json.h"
#include "hcs/system/config.h"
#include "test_hcs_util.h"

#include <fcntl.h>
#include <jansson.h>

/* tests/conformance/SUB, next to this file. */
static void corpus_dir(const char *sub, char *out, size_t cap) {
  char here[PATH_MAX];
  snprintf(here, sizeof(here), "%s", __FILE__);
  snprintf(out, cap, "%s/conformance/%s", dirname(here), sub);
}

/* The names of the *.json files of dir, sorted; NULL-terminated. */
static char **corpus_files(const char *dir) {
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  cr_assert_gt(n, 0, "%s: %s", dir, n < 0 ? strerror(errno) : "empty");
  char **v = calloc((size_t)n + 1, sizeof(char *));
  cr_assert_not_null(v);
  size_t k = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(names[i]->d_name);
    if (len > 5 && strcmp(names[i]->d_name + len - 5, ".json") == 0) {
      v[k++] = strdup(names[i]->d_name);
    }
    free(names[i]);
  }
  free(names);
  cr_assert_gt(k, 0, "%s holds no documents", dir);
  return v;
}

static void strv_free(char **v) {
  for (char **p = v; *p != NULL; p++) {
    free(*p);
  }
  free(v);
}

static char *slurp(const char *dir, const char *name) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  th_buf_t b = {0};
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    th_buf_add(&b, buf, (size_t)n);
  }
  close(fd);
  cr_assert_not_null(b.p, "%s is empty", path);
  return b.p;
}

/* Go's zero value: what an unset field marshals to. */
static bool go_zero(json_t *v) {
  switch (json_typeof(v)) {
  case JSON_NULL:
  case JSON_FALSE:
    return true;
  case JSON_STRING:
    return json_string_length(v) == 0;
  case JSON_INTEGER:
    return json_integer_value(v) == 0;
  case JSON_ARRAY:
    return json_array_size(v) == 0;
  case JSON_OBJECT:
    return json_object_size(v) == 0;
  default:
    return false;
  }
}

/* Every member of want that carries a value is in got, the same (objects
 * member by member, arrays item by item); members that are null or zero
 * may be left out, or be there as they were. */
static void expect_kept(json_t *want, json_t *got, const char *doc,
                        const char *path) {
  if (json_is_object(want)) {
    cr_assert(json_is_object(got), "%s: %s is no object", doc, path);
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) {
      char sub[256];
      snprintf(sub, sizeof(sub), "%s.%s", path, k);
      json_t *g = json_object_get(got, k);
      if (g == NULL) {
        cr_assert(go_zero(v), "%s: %s was dropped", doc, sub);
        continue;
      }
      if (json_is_null(v)) {
        continue;
      }
      expect_kept(v, g, doc, sub);
    }
    return;
  }
  if (json_is_array(want)) {
    cr_assert(json_is_array(got), "%s: %s is no array", doc, path);
    cr_assert_eq(json_array_size(want), json_array_size(got),
                 "%s: %s has %zu items, not %zu", doc, path,
                 json_array_size(got), json_array_size(want));
    for (size_t i = 0; i < json_array_size(want); i++) {
      char sub[256];
      snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
      expect_kept(json_array_get(want, i), json_array_get(got, i), doc, sub);
    }
    return;
  }
  cr_assert(json_equal(want, got), "%s: %s changed", doc, path);
}

static json_t *parse(const char *text, const char *what) {
  json_error_t je;
  json_t *v = json_loads(text, 0, &je);
  cr_assert_not_null(v, "%s: %s", what, je.text);
  return v;
}

static void need_root(void) {
  if (geteuid() != 0) {
    cr_skip_test("a compute system with isolation needs root");
  }
}

Test(conformance, configurations_as_go_marshalled_them) {
  need_root();
  char dir[PATH_MAX];
  corpus_dir("config", dir, sizeof(dir));
  char **files = corpus_files(dir);
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  for (size_t i = 0; files[i] != NULL; i++) {
    char *text = slurp(dir, files[i]);
    hcs__config_t cfg;
    cr_assert_eq(hcs__config_parse(text, &cfg, "", &err), HCS_OK, "%s: %s",
                 files[i], err != NULL ? hcs_error_message(err) : "");
    char *norm = hcs__config_json(&cfg);
    cr_assert_not_null(norm);
    hcs__config_free(&cfg);
    json_t *want = parse(text, files[i]);
    json_t *got = parse(norm, files[i]);
    expect_kept(want, got, files[i], "");
    /* The form hcs gives back is a fixed point. */
    cr_assert_eq(hcs__config_parse(norm, &cfg, "", NULL), HCS_OK);
    char *again = hcs__config_json(&cfg);
    cr_assert_str_eq(again, norm, "%s", files[i]);
    hcs__config_free(&cfg);
    hcs_free(again);

    /* The public call takes it, and keeps that form. */
    char id[32];
    snprintf(id, sizeof(id), "conf%zu", i);
    th_expect_ok(hcs_CreateComputeSystem(h, id, text, &err), err);
    char *inspect = NULL;
    th_expect_ok(hcs_InspectComputeSystem(h, id, &inspect, &err), err);
    json_t *o = parse(inspect, "inspect");
    cr_assert(json_equal(json_object_get(o, "Configuration"), got),
              "%s: the system keeps %s", files[i], inspect);
    json_decref(o);
    hcs_free(inspect);
    th_expect_ok(hcs_DeleteComputeSystem(h, id, &err), err);
    json_decref(want);
    json_decref(got);
    hcs_free(norm);
    free(text);
  }
  hcs_close(h);
  strv_free(files);
}

/* What a process document should come back as: itself, with a console
 * size only under a console (HCS zeroed it otherwise) and CommandArgs as
 * hcs's Args. */
static json_t *process_want(const char *text, const char *name) {
  json_t *want = parse(text, name);
  if (!json_is_true(json_object_get(want, "EmulateConsole"))) {
    json_object_del(want, "ConsoleSize");
  }
  json_t *cargs = json_object_get(want, "CommandArgs");
  if (cargs != NULL) {
    json_object_set(want, "Args", cargs);
    json_object_del(want, "CommandArgs");
  }
  return want;
}

Test(conformance, process_documents_as_go_marshalled_them) {
  char dir[PATH_MAX];
  corpus_dir("process", dir, sizeof(dir));
  char **files = corpus_files(dir);
  for (size_t i = 0; files[i] != NULL; i++) {
    char *text = slurp(dir, files[i]);
    hcs_process_params_t *p = NULL;
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs_process_params_from_json(text, &p, &err), HCS_OK, "%s: %s",
                 files[i], err != NULL ? hcs_error_message(err) : "");
    char *norm = hcs_process_params_json(p);
    cr_assert_not_null(norm);
    json_t *want = process_want(text, files[i]);
    json_t *got = parse(norm, files[i]);
    expect_kept(want, got, files[i], "");
    hcs_process_params_t *q = NULL;
    cr_assert_eq(hcs_process_params_from_json(norm, &q, NULL), HCS_OK);
    char *again = hcs_process_params_json(q);
    cr_assert_str_eq(again, norm, "%s", files[i]);
    hcs_free(again);
    hcs_process_params_free(q);
    json_decref(want);
    json_decref(got);
    hcs_free(norm);
    hcs_process_params_free(p);
    free(text);
  }
  strv_free(files);
}

/* The nulls Go wrote for nil maps and slices, one at a time: each is the
 * field left out. */
Test(conformance, null_is_an_absent_field) {
  static const char *const configs[] = {
      "{\"SystemType\":\"Container\",\"IsDummy\":true,\"Layers\":null}",
      "{\"SystemType\":\"Container\",\"IsDummy\":true,\"EndpointList\":null}",
      "{\"SystemType\":\"Container\",\"IsDummy\":true,"
      "\"MappedDirectories\":null}",
      "{\"SystemType\":\"Container\",\"IsDummy\":true,\"Devices\":null}",
      "{\"SystemType\":\"Container\",\"IsDummy\":true,\"HvRuntime\":null}",
      "{\"SystemType\":\"Container\",\"IsDummy\":true,\"Environment\":null}",
      "{\"SystemType\":\"Container\",\"IsDummy\":true,\"Name\":\"\","
      "\"HostName\":\"\",\"VolumePath\":\"\",\"LayerFolderPath\":\"\","
      "\"SandboxPath\":\"\"}",
  };
  for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
    hcs__config_t cfg;
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs__config_parse(configs[i], &cfg, "", &err), HCS_OK,
                 "%s: %s", configs[i],
                 err != NULL ? hcs_error_message(err) : "");
    char *text = hcs__config_json(&cfg);
    cr_assert_str_eq(text, "{\"IsDummy\":true,\"SystemType\":\"Container\"}",
                     "%s", configs[i]);
    hcs_free(text);
    hcs__config_free(&cfg);
  }
  /* Go never wrote a string as null. */
  hcs__config_t cfg;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs__config_parse("{\"SystemType\":null}", &cfg, "", &err),
               HCS_WSAEINVAL);
  cr_assert_not_null(
      strstr(hcs_error_cause(err), "SystemType: must be a string"));
  hcs_error_free(err);

  /* hcsshim's HNS structs: a nil Policies, MacPools or Subnets. */
  hcs_hns_endpoint_t *e = NULL;
  cr_assert_eq(hcs__hns_endpoint_parse("{\"Name\":\"e\",\"Policies\":null}",
                                       "op", "", &e, &err),
               HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  cr_assert_null(e->policies);
  hcs_hns_endpoint_free(e);
  hcs_hns_network_t *n = NULL;
  cr_assert_eq(hcs__hns_network_parse("{\"Name\":\"n\",\"Policies\":null,"
                                      "\"MacPools\":null,\"Subnets\":null}",
                                      "op", "", &n, &err),
               HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  cr_assert_eq(n->n_subnets, 0);
  hcs_hns_network_free(n);

  hcs_process_params_t *p = NULL;
  cr_assert_eq(hcs_process_params_from_json(
                   "{\"CommandLine\":\"true\",\"Environment\":null,"
                   "\"ApplicationName\":\"\",\"WorkingDirectory\":\"\","
                   "\"User\":\"\",\"CommandArgs\":null,\"Args\":null}",
                   &p, &err),
               HCS_OK, "%s", err != NULL ? hcs_error_message(err) : "");
  cr_assert_null(p->environment);
  cr_assert_null(p->application_name);
  cr_assert_null(p->working_directory);
  cr_assert_null(p->user);
  cr_assert_null(p->args);
  hcs_process_params_free(p);
}

typedef struct unsupported_s {
  const char *field; /* named by the refusal */
  const char *zero;  /* a member accepted: null or Go's zero value */
  const char *value; /* a member refused */
} unsupported_t;

/* The fields of hcsshim's and Docker's ContainerConfig that hcs has no
 * meaning for. */
static const unsupported_t config_unsupported[] = {
    {"Devices", "\"Devices\":[]",
     "\"Devices\":[{\"DeviceType\":\"Network\",\"Connection\":{},"
     "\"Settings\":{}}]"},
    {"HvRuntime", "\"HvRuntime\":{}", "\"HvRuntime\":{\"ImagePath\":\"/uvm\"}"},
    {"MappedPipes", "\"MappedPipes\":[]",
     "\"MappedPipes\":[{\"HostPath\":\"\\\\\\\\.\\\\pipe\\\\a\","
     "\"ContainerPipeName\":\"a\"}]"},
    {"MappedVirtualDisks", "\"MappedVirtualDisks\":null",
     "\"MappedVirtualDisks\":[{\"HostPath\":\"/d.vhdx\",\"ContainerPath\":"
     "\"/d\",\"AttachOnly\":false}]"},
    {"AssignedDevices", "\"AssignedDevices\":[]",
     "\"AssignedDevices\":[{\"InterfaceClassGuid\":"
     "\"5b45201d-f2f2-4f3b-85bb-30ff1f953599\"}]"},
    {"NetworkSharedContainerName", "\"NetworkSharedContainerName\":\"\"",
     "\"NetworkSharedContainerName\":\"other\""},
    {"ContainerType", "\"ContainerType\":\"\"", "\"ContainerType\":\"Linux\""},
    {"TerminateOnLastHandleClosed", "\"TerminateOnLastHandleClosed\":false",
     "\"TerminateOnLastHandleClosed\":true"},
    {"MappedDirectories[0].BandwidthMaximum",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"ReadOnly\":false,\"BandwidthMaximum\":0}]",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"ReadOnly\":false,\"BandwidthMaximum\":1000}]"},
    {"MappedDirectories[0].IOPSMaximum",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"IOPSMaximum\":0}]",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"IOPSMaximum\":5}]"},
    {"MappedDirectories[0].CreateInUtilityVM",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"CreateInUtilityVM\":false}]",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"CreateInUtilityVM\":true}]"},
    {"MappedDirectories[0].LinuxMetadata",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"LinuxMetadata\":false}]",
     "\"MappedDirectories\":[{\"HostPath\":\"/a\",\"ContainerPath\":\"/b\","
     "\"LinuxMetadata\":true}]"},
};

Test(conformance, fields_hcs_cannot_honour_are_refused_by_name) {
  for (size_t i = 0;
       i < sizeof(config_unsupported) / sizeof(config_unsupported[0]); i++) {
    const unsupported_t *u = &config_unsupported[i];
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"SystemType\":\"Container\",\"IsDummy\":true,%s}", u->zero);
    hcs__config_t cfg;
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs__config_parse(doc, &cfg, "", &err), HCS_OK, "%s: %s", doc,
                 err != NULL ? hcs_error_message(err) : "");
    /* Accepted, and not kept: hcs has nothing to keep it for. */
    char *text = hcs__config_json(&cfg);
    const char *key = strrchr(u->field, '.');
    cr_assert_null(strstr(text, key != NULL ? key + 1 : u->field),
                   "%s kept: %s", u->field, text);
    hcs_free(text);
    hcs__config_free(&cfg);

    snprintf(doc, sizeof(doc),
             "{\"SystemType\":\"Container\",\"IsDummy\":true,%s}", u->value);
    cr_assert_eq(hcs__config_parse(doc, &cfg, "", &err),
                 HCS_ERROR_NOT_SUPPORTED, "%s accepted", doc);
    char want[128];
    snprintf(want, sizeof(want), "%s: hcs cannot honour it", u->field);
    cr_assert_not_null(strstr(hcs_error_cause(err), want), "%s: %s", doc,
                       hcs_error_cause(err));
    cr_assert(hcs_is_not_supported(hcs_error_code(err)));
    hcs_error_free(err);
  }
  /* The same through the public call, which makes nothing. */
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  cr_assert_eq(hcs_CreateComputeSystem(h, "x",
                                       "{\"SystemType\":\"Container\","
                                       "\"IsDummy\":true,\"MappedPipes\":[{"
                                       "\"HostPath\":\"p\","
                                       "\"ContainerPipeName\":\"p\"}]}",
                                       &err),
               HCS_ERROR_NOT_SUPPORTED);
  hcs_error_free(err);
  char *json = NULL;
  cr_assert_neq(hcs_InspectComputeSystem(h, "x", &json, NULL), HCS_OK);
  hcs_close(h);

  /* ProcessConfig's utility-VM keys. */
  static const char *const params[][2] = {
      {"{\"CreateInUtilityVm\":false,\"OCISpecification\":null}", NULL},
      {"{\"CreateInUtilityVm\":true}", "CreateInUtilityVm"},
      {"{\"OCISpecification\":{\"ociVersion\":\"1.0.0\"}}", "OCISpecification"},
  };
  for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
    hcs_process_params_t *p = NULL;
    hcs_result_t r = hcs_process_params_from_json(params[i][0], &p, &err);
    if (params[i][1] == NULL) {
      cr_assert_eq(r, HCS_OK, "%s", params[i][0]);
      hcs_process_params_free(p);
      continue;
    }
    cr_assert_eq(r, HCS_ERROR_NOT_SUPPORTED, "%s", params[i][0]);
    cr_assert_null(p);
    cr_assert_not_null(strstr(hcs_error_cause(err), params[i][1]));
    hcs_error_free(err);
  }
}

Test(conformance, a_console_size_without_a_console_is_zero) {
  hcs_process_params_t *p = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_process_params_from_json(
                   "{\"CommandLine\":\"x\",\"EmulateConsole\":false,"
                   "\"ConsoleSize\":[30,100]}",
                   &p, &err),
               err);
  cr_assert_eq(p->console_size[0], 0);
  cr_assert_eq(p->console_size[1], 0);
  char *text = hcs_process_params_json(p);
  cr_assert_null(strstr(text, "ConsoleSize"), "%s", text);
  hcs_free(text);
  hcs_process_params_free(p);

  /* A struct filled by hand: its JSON drops the size as well. */
  hcs_process_params_t q;
  memset(&q, 0, sizeof(q));
  q.command_line = "x";
  q.console_size[0] = 30;
  q.console_size[1] = 100;
  text = hcs_process_params_json(&q);
  cr_assert_str_eq(text, "{\"CommandLine\":\"x\",\"EmulateConsole\":false}");
  hcs_free(text);
  q.emulate_console = true;
  text = hcs_process_params_json(&q);
  cr_assert_not_null(strstr(text, "\"ConsoleSize\":[30,100]"), "%s", text);
  hcs_free(text);

  th_expect_ok(
      hcs_process_params_from_json(
          "{\"EmulateConsole\":true,\"ConsoleSize\":[30,100]}", &p, &err),
      err);
  cr_assert_eq(p->console_size[0], 30);
  cr_assert_eq(p->console_size[1], 100);
  hcs_process_params_free(p);
}

Test(conformance, command_args_is_argv) {
  hcs_process_params_t *p = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_process_params_from_json("{\"CommandArgs\":[\"a b\",\"c\"]}",
                                            &p, &err),
               err);
  cr_assert_str_eq(p->args[0], "a b");
  cr_assert_str_eq(p->args[1], "c");
  cr_assert_null(p->args[2]);
  hcs_process_params_free(p);
  cr_assert_eq(hcs_process_params_from_json(
                   "{\"CommandArgs\":[\"a\"],\"Args\":[\"b\"]}", &p, &err),
               HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "CommandArgs"));
  hcs_error_free(err);
}

/* A v0.7 ProcessConfig asks for its pipes in the document: the streams
 * come back although the call's use_* flags are all false, and a pipe it
 * does not ask for stays /dev/null. */
Test(conformance, create_pipe_keys_are_honoured) {
  char dir[] = "/tmp/hcs-conf-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char report[64];
  snprintf(report, sizeof(report), "%s/report", dir);
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  th_expect_ok(hcs_CreateComputeSystem(h, "s", TH_DUMMY, &err), err);
  th_expect_ok(hcs_StartComputeSystem(h, "s", &err), err);
  for (int with_err = 0; with_err < 2; with_err++) {
    char doc[PATH_MAX + 512];
    snprintf(doc, sizeof(doc),
             "{\"CommandArgs\":[\"%s\",\"%s\"],\"CreateStdInPipe\":true,"
             "\"CreateStdOutPipe\":true,\"CreateStdErrPipe\":%s,"
             "\"ConsoleSize\":[0,0]}",
             TH_HELPER("cli_stdio"), report, with_err ? "true" : "false");
    hcs_process_params_t *p = NULL;
    th_expect_ok(hcs_process_params_from_json(doc, &p, &err), err);
    cr_assert(p->create_stdin_pipe && p->create_stdout_pipe);
    cr_assert_eq(p->create_stderr_pipe, with_err != 0);
    uint32_t pid = 0;
    int fd[3] = {-1, -1, -1};
    /* Without out-parameters for the pipes it asks for: refused. */
    cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "s", false, false, false,
                                                  p, &pid, NULL, NULL, NULL,
                                                  NULL),
                 HCS_WSAEINVAL);
    th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", false, false, false,
                                                  p, &pid, &fd[0], &fd[1],
                                                  &fd[2], &err),
                 err);
    cr_assert_geq(fd[0], 0);
    cr_assert_geq(fd[1], 0);
    cr_assert_eq(fd[2] >= 0, with_err != 0);
    th_write_all(fd[0], "abc", 3);
    close(fd[0]);
    th_buf_t out[2] = {{0}, {0}};
    th_read_all(fd + 1, out, 2, 30000);
    int32_t code = -1;
    th_expect_ok(
        hcs_WaitForProcessInComputeSystem(h, "s", pid, 30000, &code, &err),
        err);
    cr_assert_eq(code, 0);
    cr_assert_str_eq(out[0].p, "out:abc");
    if (with_err) {
      cr_assert_str_eq(out[1].p, "err:abc");
    } else {
      cr_assert_null(out[1].p);
    }
    char *rep = slurp(dir, "report");
    cr_assert_not_null(strstr(rep, "0=pipe:"), "%s", rep);
    cr_assert_not_null(strstr(rep, "1=pipe:"), "%s", rep);
    cr_assert_not_null(strstr(rep, with_err ? "2=pipe:" : "2=/dev/null"), "%s",
                       rep);
    free(rep);
    th_buf_free(&out[0]);
    th_buf_free(&out[1]);
    hcs_process_params_free(p);
  }
  th_expect_ok(hcs_TerminateComputeSystem(h, "s", 30000, NULL, &err), err);
  hcs_close(h);
  unlink(report);
  rmdir(dir);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0);
}
