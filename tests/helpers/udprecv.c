/* SPDX-License-Identifier: MIT */
/* udprecv PORT: receives UDP datagrams on 0.0.0.0:PORT and writes each to
 * stdout, one a line, until killed (busybox's nc has no UDP). Exits 2 if
 * it cannot bind. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    return 2;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)atoi(argv[1])),
                           .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    return 2;
  }
  char buf[512];
  for (;;) {
    ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
    if (n > 0) {
      buf[n] = '\0';
      printf("%s\n", buf);
      fflush(stdout);
    }
  }
}
