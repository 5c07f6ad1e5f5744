/* SPDX-License-Identifier: MIT */
/* libFuzzer target: hcsd's image references, which come straight from
 * clients (docker run X, docker load's RepoTags). A reference either is
 * refused or normalises to a fixed point (normalising twice changes
 * nothing), and its short form can be made. (The short form is for
 * display only: as in docker, "docker.io/er.io/x" shows as "er.io/x",
 * which names another registry, so it is not required to round-trip.) */
#include "hcsd/model/imgint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *ref = malloc(size + 1);
  if (ref == NULL) {
    return 0;
  }
  memcpy(ref, data, size);
  ref[size] = '\0';
  char *norm = hcsd__img_normalise(ref);
  if (norm != NULL) {
    char *again = hcsd__img_normalise(norm);
    if (again == NULL || strcmp(again, norm) != 0) {
      abort(); /* normalising is not idempotent */
    }
    char *fam = hcsd__img_familiar(norm);
    if (fam == NULL || fam[0] == '\0' || strlen(fam) > strlen(norm)) {
      abort(); /* no short form, or a longer one */
    }
    free(fam);
    free(again);
    free(norm);
  }
  free(ref);
  return 0;
}
