// berth: control plane, registry, node agent and command line in one binary.
#include "cli/commands.h"

int main(int argc, char** argv) { return berth::cli::Main(argc, argv); }
