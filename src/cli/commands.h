// The berth command line: parses argv and runs the chosen command.
#pragma once

namespace berth::cli {

int Main(int argc, char** argv);

}  // namespace berth::cli
