#include "appliance/cli/cli.h"

int main(int argc, char** argv) {
  return tandem::appliance::runCli(argc, argv);
}
