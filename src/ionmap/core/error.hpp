// Errors that reach a user. Every error carries one paragraph of plain text that names what
// went wrong and where (file, byte offset, stage, parameter); the CLI prints it and maps the
// category to an exit code. Algorithms throw these; nothing else in ionmap prints internals.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace ionmap {

// How an error is reported to the shell.
enum class ErrorKind {
  kUsage,       // bad command line, bad pipeline, bad parameter: exit code 2
  kInput,       // an input file is missing, unreadable, truncated or corrupt: exit code 1
  kProcessing,  // a computation could not be done on valid input: exit code 1
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  // 2 for usage/validation errors, 1 for everything that went wrong while processing.
  int exitCode() const { return kind_ == ErrorKind::kUsage ? 2 : 1; }

 private:
  ErrorKind kind_;
};

// A pipeline, parameter or command-line problem, found before any data is processed.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ErrorKind::kUsage, message) {}
};

// A problem with the contents of an input file. The message names the file and, when known,
// the byte offset (or line) and what was expected there.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ErrorKind::kInput, message) {}
  InputError(const std::string& file, const std::string& what);
  InputError(const std::string& file, std::uint64_t offset, const std::string& what);
};

// Valid input that a computation cannot handle (singular fit, empty overlap, ...).
class ProcessingError : public Error {
 public:
  explicit ProcessingError(const std::string& message) : Error(ErrorKind::kProcessing, message) {}
};

}  // namespace ionmap
