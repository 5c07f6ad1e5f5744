/* SPDX-License-Identifier: MIT */
/* The JSON documents: the compute-system configuration and
 * CreateProcessParams. Round trips, and one rejection per class of bad
 * input with the field named. */
#include "hcs/system/config.h"

#include <criterion/criterion.h>
#include <hcs.h>
#include <string.h>

static const char full_config[] =
    "{\"SystemType\":\"Container\",\"Name\":\"web\",\"Owner\":\"docker\","
    "\"IsDummy\":false,\"VolumePath\":\"/v\",\"IgnoreFlushesDuringBoot\":true,"
    "\"LayerFolderPath\":\"/l/sandbox\",\"Layers\":[{\"ID\":\"a\",\"Path\":"
    "\"/l/a\"},{\"ID\":\"b\",\"Path\":\"/l/b\"}],\"HostName\":\"web-1\","
    "\"MappedDirectories\":[{\"HostPath\":\"/srv\",\"ContainerPath\":\"/data\","
    "\"ReadOnly\":true}],\"SandboxPath\":\"/s\",\"HvPartition\":false,"
    "\"EndpointList\":[\"e1\",\"e2\"],\"ProcessorWeight\":500,"
    "\"ProcessorMaximum\":5000,\"ProcessorCount\":2,\"MemoryMaximumInMB\":256,"
    "\"StorageIOPSMaximum\":100,\"StorageBandwidthMaximum\":1000,"
    "\"StorageSandboxSize\":10,\"DNSSearchList\":\"example.com\","
    "\"AllowUnqualifiedDNSQuery\":true,\"Credentials\":\"c\",\"Servicing\":"
    "false,"
    "\"PidsMaximum\":64,\"Environment\":{\"A\":\"1\",\"B\":\"x=y\"},"
    "\"UidMap\":[{\"ContainerID\":0,\"HostID\":100000,\"Size\":65536}],"
    "\"GidMap\":[{\"ContainerID\":0,\"HostID\":100000,\"Size\":65536}]}";

Test(config, round_trip_every_field) {
  hcs__config_t cfg;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs__config_parse(full_config, &cfg, "id=x", &err), HCS_OK, "%s",
               err != NULL ? hcs_error_message(err) : "");
  cr_assert_eq(cfg.n_layers, 2);
  cr_assert_str_eq(cfg.layers[1].path, "/l/b");
  cr_assert(cfg.mapped_dirs[0].read_only);
  cr_assert_eq(cfg.memory_maximum_mb, 256);
  cr_assert_str_eq(cfg.environment[1], "B=x=y");
  char *text = hcs__config_json(&cfg);
  cr_assert_not_null(text);
  hcs__config_t again;
  cr_assert_eq(hcs__config_parse(text, &again, "id=x", NULL), HCS_OK);
  char *text2 = hcs__config_json(&again);
  cr_assert_str_eq(text, text2);
  /* Every field of the input survives. */
  json_t *a = json_loads(full_config, 0, NULL);
  json_t *b = json_loads(text, 0, NULL);
  cr_assert(json_equal(a, b), "round trip changed the document:\n%s", text);
  json_decref(a);
  json_decref(b);
  hcs_free(text);
  hcs_free(text2);
  hcs__config_free(&cfg);
  hcs__config_free(&again);
}

typedef struct reject_s {
  const char *doc;
  const char *needle; /* must appear in the cause */
} reject_t;

/* Text that is not a JSON object is HCS's "invalid JSON"; a document
 * that is one but breaks a field's rule is a bad argument. */
static hcs_result_t want_code(const reject_t *r) {
  return strstr(r->needle, "JSON") != NULL ? HCS_E_INVALID_JSON : HCS_WSAEINVAL;
}

static const reject_t config_rejects[] = {
    {"[1]", "must be a JSON object"},
    {"{\"SystemType\":\"Container\",", "not JSON"},
    {"{}", "SystemType: required field missing"},
    {"{\"SystemType\":\"VM\"}", "SystemType: must be \"Container\""},
    {"{\"SystemType\":7}", "SystemType: must be a string"},
    {"{\"SystemType\":\"Container\",\"Bogus\":1}", "Bogus: unknown field"},
    {"{\"SystemType\":\"Container\",\"IsDummy\":\"yes\"}",
     "IsDummy: must be a boolean"},
    {"{\"SystemType\":\"Container\",\"ProcessorWeight\":10001}",
     "ProcessorWeight: must be within 0-10000"},
    {"{\"SystemType\":\"Container\",\"MemoryMaximumInMB\":-1}",
     "MemoryMaximumInMB: must be within"},
    {"{\"SystemType\":\"Container\",\"ProcessorCount\":1.5}",
     "ProcessorCount: must be an integer"},
    {"{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":\"a\"}]}",
     "Layers[0].Path: required field missing"},
    {"{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":\"a\",\"Path\":"
     "\"rel\"}]}",
     "Layers[0].Path: must be an absolute path"},
    {"{\"SystemType\":\"Container\",\"Layers\":[7]}",
     "Layers[0]: must be an object"},
    {"{\"SystemType\":\"Container\",\"MappedDirectories\":[{\"HostPath\":"
     "\"/a\",\"ContainerPath\":\"/b\",\"ReadOnly\":1}]}",
     "MappedDirectories[0].ReadOnly: must be a boolean"},
    {"{\"SystemType\":\"Container\",\"MappedDirectories\":[{\"HostPath\":"
     "\"/a\",\"ContainerPath\":\"b\"}]}",
     "MappedDirectories[0].ContainerPath: must be an absolute path"},
    {"{\"SystemType\":\"Container\",\"EndpointList\":[1]}",
     "EndpointList: item 0 must be a string"},
    {"{\"SystemType\":\"Container\",\"HostName\":\"-bad\"}",
     "HostName: \"-bad\" is not a host name"},
    {"{\"SystemType\":\"Container\",\"Environment\":{\"A=B\":\"c\"}}",
     "Environment: \"A=B\" is not a variable name"},
    {"{\"SystemType\":\"Container\",\"UidMap\":[{\"ContainerID\":0,"
     "\"HostID\":1,\"Size\":0}]}",
     "UidMap[0].Size: must be within 1-"},
    {"{\"SystemType\":\"Container\",\"SystemType\":\"Container\"}", "not JSON"},
};

Test(config, rejections_name_the_field) {
  for (size_t i = 0; i < sizeof(config_rejects) / sizeof(config_rejects[0]);
       i++) {
    hcs__config_t cfg;
    hcs_error_t *err = NULL;
    hcs_result_t want = want_code(&config_rejects[i]);
    hcs_result_t r =
        hcs__config_parse(config_rejects[i].doc, &cfg, "id=x", &err);
    cr_assert_eq(r, want, "case %zu: got 0x%x: %s", i, (unsigned)r,
                 config_rejects[i].doc);
    cr_assert_not_null(strstr(hcs_error_cause(err), config_rejects[i].needle),
                       "case %zu: cause \"%s\" lacks \"%s\"", i,
                       hcs_error_cause(err), config_rejects[i].needle);
    cr_assert_eq(hcs_error_code(err), want);
    hcs_error_free(err);
  }
}

Test(params, round_trip) {
  const char *doc =
      "{\"ApplicationName\":\"/bin/sh\",\"CommandLine\":\"sh -c \\\"echo "
      "hi\\\"\",\"WorkingDirectory\":\"/tmp\",\"Environment\":{\"PATH\":"
      "\"/bin\",\"X\":\"1\"},\"EmulateConsole\":true,\"ConsoleSize\":[24,80],"
      "\"Args\":[\"sh\",\"-c\",\"true\"],\"User\":\"1000:1000\","
      "\"DrainTimeoutMs\":500}";
  hcs_process_params_t *p = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_process_params_from_json(doc, &p, &err), HCS_OK, "%s",
               err != NULL ? hcs_error_message(err) : "");
  cr_assert_str_eq(p->application_name, "/bin/sh");
  cr_assert_str_eq(p->args[2], "true");
  cr_assert_eq(p->console_size[0], 24);
  cr_assert_eq(p->console_size[1], 80);
  cr_assert(p->emulate_console);
  cr_assert_eq(p->drain_timeout_ms, 500);
  char *text = hcs_process_params_json(p);
  cr_assert_not_null(text);
  json_t *a = json_loads(doc, 0, NULL);
  json_t *b = json_loads(text, 0, NULL);
  cr_assert(json_equal(a, b), "round trip changed the document:\n%s", text);
  json_decref(a);
  json_decref(b);
  hcs_free(text);
  hcs_process_params_free(p);
}

static const reject_t params_rejects[] = {
    {"{\"CommandLine\":1}", "CommandLine: must be a string"},
    {"{\"ConsoleSize\":[24]}", "ConsoleSize: must have 2 items"},
    {"{\"ConsoleSize\":[24,70000]}", "ConsoleSize: item 1 must be an integer"},
    {"{\"ConsoleSize\":\"24x80\"}", "ConsoleSize: must be an array"},
    {"{\"Environment\":[\"A=1\"]}", "Environment: must be an object"},
    {"{\"Environment\":{\"A\":1}}", "Environment: \"A\" must be a string"},
    {"{\"EmulateConsole\":\"true\"}", "EmulateConsole: must be a boolean"},
    {"{\"Args\":\"sh\"}", "Args: must be an array of strings"},
    {"{\"DrainTimeoutMs\":-5}", "DrainTimeoutMs: must be within"},
    {"{\"Commandline\":\"x\"}", "Commandline: unknown field"},
    {"nope", "not JSON"},
};

Test(params, rejections_name_the_field) {
  for (size_t i = 0; i < sizeof(params_rejects) / sizeof(params_rejects[0]);
       i++) {
    hcs_process_params_t *p = (hcs_process_params_t *)1;
    hcs_error_t *err = NULL;
    hcs_result_t want = want_code(&params_rejects[i]);
    hcs_result_t r =
        hcs_process_params_from_json(params_rejects[i].doc, &p, &err);
    cr_assert_eq(r, want, "case %zu: got 0x%x", i, (unsigned)r);
    cr_assert_null(p, "case %zu: half a result came back", i);
    cr_assert_not_null(strstr(hcs_error_cause(err), params_rejects[i].needle),
                       "case %zu: cause \"%s\" lacks \"%s\"", i,
                       hcs_error_cause(err), params_rejects[i].needle);
    hcs_error_free(err);
  }
}
