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
  // Where it happened, when a caller added it (e.g. "stage 'fit' (#8, job.yaml:48)").
  const std::string& context() const { return context_; }
  // Throws the same error — same type, same fields — with `context` before its message.
  [[noreturn]] virtual void rethrowIn(const std::string& context) const;

 protected:
  // A copy of `other` (kind, fields) whose message starts with `context`.
  Error(const Error& other, const std::string& context)
      : std::runtime_error(context + ": " + other.what()),
        kind_(other.kind_),
        context_(other.context_.empty() ? context : context + ": " + other.context_) {}

 private:
  ErrorKind kind_;
  std::string context_;
};

// A pipeline, parameter or command-line problem, found before any data is processed.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ErrorKind::kUsage, message) {}
  [[noreturn]] void rethrowIn(const std::string& context) const override;

 private:
  UsageError(const UsageError& other, const std::string& context) : Error(other, context) {}
};

// A problem with the contents of an input file. The message names the file and, when known,
// the byte offset (or line) and what was expected there; file() and offset() hold them.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ErrorKind::kInput, message) {}
  InputError(const std::string& file, const std::string& what);
  InputError(const std::string& file, std::uint64_t offset, const std::string& what);
  const std::string& file() const { return file_; }  // "" when only the message names it
  bool hasOffset() const { return has_offset_; }
  std::uint64_t offset() const { return offset_; }
  [[noreturn]] void rethrowIn(const std::string& context) const override;

 private:
  InputError(const InputError& other, const std::string& context)
      : Error(other, context),
        file_(other.file_),
        offset_(other.offset_),
        has_offset_(other.has_offset_) {}
  std::string file_;
  std::uint64_t offset_ = 0;
  bool has_offset_ = false;
};

// Valid input that a computation cannot handle (singular fit, empty overlap, ...).
class ProcessingError : public Error {
 public:
  explicit ProcessingError(const std::string& message) : Error(ErrorKind::kProcessing, message) {}
  [[noreturn]] void rethrowIn(const std::string& context) const override;

 private:
  ProcessingError(const ProcessingError& other, const std::string& context)
      : Error(other, context) {}
};

}  // namespace ionmap
