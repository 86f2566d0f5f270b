/* main.c: placeholder until the daemon is wired (walking skeleton). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if(argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("streamkpi_exporter %s (revision %s)\n", SKPI_VERSION, SKPI_REVISION);
    return 0;
  }
  return 0;
}
