/* SPDX-License-Identifier: MIT */
/* hcsd driven by the Python docker SDK (Debian's python3-docker, issue
 * 17): tests/clients/sdk.py runs containers foreground and detached,
 * exec_run with demux and stream, logs, wait, attach_socket, images,
 * networks, volumes and label filters against a fresh hcsd, each step
 * asserting what dockerd answers. The script runs under Debian's
 * /usr/bin/python3, where scripts/deps.sh installs the SDK. */
#include "hcsd_e2e.h"

TestSuite(hcsd_sdk, .init = he_setup, .fini = he_teardown, .timeout = 240);

#define SDK_PYTHON "/usr/bin/python3"
#define SDK_SCRIPT HCS_SOURCE_DIR "/tests/clients/sdk.py"

Test(hcsd_sdk, script_passes) {
  he_cmd_t c;
  he_run_argv(&c, NULL, 0,
              HE_ARGV(SDK_PYTHON, "-c", "import docker, requests"));
  cr_assert_eq(c.code, 0,
               "the Python docker SDK is missing (scripts/deps.sh installs "
               "python3-docker): %s",
               c.e.p);
  he_cmd_free(&c);
  he_run_argv(&c, NULL, 0, HE_ARGV(SDK_PYTHON, SDK_SCRIPT));
  he_expect_code(&c, 0);
  he_expect_has(c.o.p, "sdk.py: all steps passed");
  he_cmd_free(&c);
  /* The script removed what it made; the daemon agrees. */
  he_docker_ok(&c, "ps", "-aq");
  cr_assert_str_eq(c.o.p, "", "containers left: %s", c.o.p);
  he_cmd_free(&c);
  he_end();
}
