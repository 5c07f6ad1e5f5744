/* hcsd: placeholder until the server lands. */
#include <stdio.h>

int main(void) {
  fprintf(stderr, "hcsd: not built yet\n");
  return 1;
}
