// NI TDMS files (LabVIEW's Technical Data Management Streaming format), as described in NI's
// "TDMS File Format Internal Structure": a sequence of segments, each a 28-byte lead-in
// ("TDSm", the table-of-contents mask, version 4712 or 4713, the offsets of the next segment and
// of the raw data), optional metadata (objects by path — "/" the file, "/'group'",
// "/'group'/'channel'" — each with a raw-data index and typed properties) and raw data, contiguous
// or interleaved, in either byte order. Later segments may keep the previous segment's object
// list and indices, add objects, or change an object's index. Every size and offset is checked
// against the file; DAQmx raw data is refused by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ionmap::seccm {

// tdsDataType codes of the types this reader knows.
enum TdsType : std::uint32_t {
  kTdsVoid = 0,
  kTdsI8 = 1,
  kTdsI16 = 2,
  kTdsI32 = 3,
  kTdsI64 = 4,
  kTdsU8 = 5,
  kTdsU16 = 6,
  kTdsU32 = 7,
  kTdsU64 = 8,
  kTdsSingle = 9,
  kTdsDouble = 10,
  kTdsSingleWithUnit = 0x19,
  kTdsDoubleWithUnit = 0x1A,
  kTdsString = 0x20,
  kTdsBool = 0x21,
  kTdsTimestamp = 0x44,
  kTdsDaqmxRaw = 0xFFFFFFFF,
};
// "float64", "string", … ("type 0x…" for others).
std::string tdsTypeName(std::uint32_t type);

struct TdmsProperty {
  std::string name;
  std::uint32_t type = kTdsString;
  std::string text;   // strings as stored; numbers in full precision; timestamps ISO 8601 UTC
  double number = 0;  // numeric, bool and timestamp (Unix seconds) properties
};

struct TdmsChannel {
  std::string name;  // as stored (trailing spaces kept)
  std::uint32_t type = kTdsDouble;
  std::vector<double> numbers;     // numeric, bool (0/1) and timestamp (Unix seconds) channels
  std::vector<std::string> texts;  // string channels
  std::vector<TdmsProperty> properties;
  bool isText() const { return type == kTdsString; }
  std::size_t size() const { return isText() ? texts.size() : numbers.size(); }
  const TdmsProperty* property(const std::string& name) const;
};

struct TdmsGroup {
  std::string name;
  std::vector<TdmsProperty> properties;
  std::vector<TdmsChannel> channels;
};

struct TdmsFile {
  std::vector<TdmsProperty> properties;  // of the file object "/"
  std::vector<TdmsGroup> groups;
  int segments = 0;
  // The last segment was not closed (next-segment offset all ones): its raw data run to the end
  // of the file, and a last partial chunk is read as far as whole values go.
  bool incomplete = false;
};

// Throws InputError naming `file` and the byte offset for anything that disagrees with the
// format or the file's size.
TdmsFile parseTdms(const std::vector<std::uint8_t>& bytes, const std::string& file);

// How writeTdms lays a file out (to test readers on every layout the format allows).
struct TdmsLayout {
  bool big_endian = false;
  bool interleaved = false;            // numeric channels of one group only, equal lengths
  std::size_t values_per_segment = 0;  // 0 = all raw data in one segment
  // Later segments: omit the metadata when nothing changed (else repeat each index as "same
  // as the previous segment").
  bool omit_unchanged_metadata = true;
  bool version_4712 = false;
};

// The file as LabVIEW would write it: a first segment with every object's metadata, then as
// many segments as values_per_segment asks for (channels of unequal lengths get their own index
// in the segments where their count changes).
std::vector<std::uint8_t> writeTdms(const TdmsFile& f, const TdmsLayout& layout = {});

}  // namespace ionmap::seccm
