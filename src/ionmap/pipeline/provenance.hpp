// Provenance facts recorded with every result: program version and git commit (captured at
// build time), times, and the sha256 of input files.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "ionmap/io/results_store.hpp"

namespace ionmap::provenance {

const char* programVersion();  // "0.1.0"
const char* gitCommit();       // full hash, "+dirty" when built from a modified tree
const char* buildType();       // "Release", "Debug", ...
std::string compiler();        // "GCC 12.2.0"
std::string hostName();

std::string isoTime(std::chrono::system_clock::time_point t);  // 2026-11-22T01:02:03.456Z
inline std::string isoTimeNow() {
  return isoTime(std::chrono::system_clock::now());
}

// Streams the file through SHA-256 (OpenSSL); throws InputError when it can't be read.
std::string sha256File(const std::filesystem::path& file);
// The program's own part of a run record: version, commit, build type, compiler, host.
void describeProgram(RunRecord& run);
// The sha256 (hex) of a text.
std::string sha256Text(const std::string& text);

}  // namespace ionmap::provenance
