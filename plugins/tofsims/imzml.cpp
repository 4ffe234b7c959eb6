#include "tofsims/imzml.hpp"

#include <expat.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::tofsims {
namespace {

// Controlled-vocabulary accessions used below.
constexpr const char* kUuid = "IMS:1000080";
constexpr const char* kSha1 = "IMS:1000091";
constexpr const char* kMd5 = "IMS:1000090";
constexpr const char* kContinuous = "IMS:1000030";
constexpr const char* kProcessed = "IMS:1000031";
constexpr const char* kMaxPixelsX = "IMS:1000042";
constexpr const char* kMaxPixelsY = "IMS:1000043";
constexpr const char* kPixelSizeX = "IMS:1000046";
constexpr const char* kPixelSizeY = "IMS:1000047";
constexpr const char* kPositionX = "IMS:1000050";
constexpr const char* kPositionY = "IMS:1000051";
constexpr const char* kExtOffset = "IMS:1000102";
constexpr const char* kExtLength = "IMS:1000103";
constexpr const char* kExtEncoded = "IMS:1000104";
constexpr const char* kMzArray = "MS:1000514";
constexpr const char* kIntensityArray = "MS:1000515";
constexpr const char* kZlib = "MS:1000574";
constexpr const char* kNoCompression = "MS:1000576";

struct TypeAcc {
  const char* acc;
  BinaryType type;
};
constexpr TypeAcc kTypes[] = {
    {"MS:1000521", BinaryType::kFloat32}, {"MS:1000523", BinaryType::kFloat64},
    {"MS:1000519", BinaryType::kInt32},   {"MS:1000522", BinaryType::kInt64},
    {"IMS:1000141", BinaryType::kInt32},  {"IMS:1000142", BinaryType::kInt64}};

// The cvParams that apply to an element: its own and those of the param groups it references
// (accession → value, in document order).
class CvParams {
 public:
  const char* value(const char* acc) const {
    for (const auto& [a, v] : params_) {
      if (a == acc) return v.c_str();
    }
    return nullptr;
  }
  bool has(const char* acc) const { return value(acc) != nullptr; }
  void add(std::string acc, std::string value) {
    params_.emplace_back(std::move(acc), std::move(value));
  }
  void addAll(const CvParams& other) {
    params_.insert(params_.end(), other.params_.begin(), other.params_.end());
  }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

std::uint64_t toU64(const char* v, const std::string& file, const std::string& what) {
  if (!v || !*v) throw InputError(file, what + " is missing");
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(v, &end, 10);
  if (*end || errno || v[0] == '-')
    throw InputError(file, fmt::format("{}: '{}' is not a non-negative integer", what, v));
  return x;
}

double toDouble(const char* v) {
  if (!v || !*v) return 0;
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  return *end ? 0 : x;
}

std::string normaliseUuid(std::string s) {
  std::string out;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string hexOf(const unsigned char* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

std::string digestFile(const std::filesystem::path& file, const EVP_MD* md) {
  std::ifstream in(file, std::ios::binary);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0)
      EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return hexOf(out, len);
}

std::filesystem::path siblingWithExtension(const std::filesystem::path& p,
                                           std::initializer_list<const char*> exts) {
  for (const char* e : exts) {
    auto q = p;
    q.replace_extension(e);
    std::error_code ec;
    if (std::filesystem::exists(q, ec)) return q;
  }
  return {};
}

ArrayLocation arrayLocation(const CvParams& cv, const std::string& file, const std::string& where) {
  ArrayLocation a;
  a.offset = toU64(cv.value(kExtOffset), file, where + ": external offset (IMS:1000102)");
  a.length = toU64(cv.value(kExtLength), file, where + ": external array length (IMS:1000103)");
  bool typed = false;
  for (const auto& t : kTypes) {
    if (cv.has(t.acc)) a.type = t.type, typed = true;
  }
  if (!typed)
    throw InputError(file, where + ": no supported binary data type (32/64-bit float or integer)");
  const std::uint64_t encoded =
      toU64(cv.value(kExtEncoded), file, where + ": external encoded length (IMS:1000104)");
  if (cv.has(kZlib)) {
    a.compressed_bytes = encoded;
    if (encoded == 0 && a.length > 0)
      throw InputError(file, where + ": zlib array with zero encoded length");
  } else {
    if (!cv.has(kNoCompression)) {
      throw InputError(file,
                       where + ": unsupported compression (only none and zlib are supported)");
    }
    if (encoded != a.length * binaryTypeSize(a.type)) {
      throw InputError(
          file, fmt::format("{}: encoded length {} bytes disagrees with {} values of {} bytes",
                            where, encoded, a.length, binaryTypeSize(a.type)));
    }
  }
  return a;
}

class ImzmlReader : public Reader {
 public:
  std::string name() const override { return "imzml"; }
  std::string description() const override {
    return "imzML 1.1 imaging mass spectra (.imzML + .ibd; continuous and processed; float/int; "
           "zlib), streamed";
  }
  int score(const std::filesystem::path& path,
            const std::vector<std::uint8_t>& head) const override {
    const std::string ext = lowerExtension(path);
    const std::string text(head.begin(), head.end());
    if (ext == "imzml") return text.find("<mzML") != std::string::npos ? 100 : 50;
    if (ext == "ibd" && !siblingWithExtension(path, {".imzML", ".imzml"}).empty()) return 90;
    return 0;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    std::filesystem::path xml = path;
    if (lowerExtension(path) == "ibd") xml = siblingWithExtension(path, {".imzML", ".imzml"});
    Dataset ds;
    ds.format = name();
    ds.spectra = std::make_shared<SpectrumImage>(readImzml(xml, options.verify_checksums));
    if (options.pixel_x > 0) {
      ds.spectra->grid.pixel_x = options.pixel_x;
      ds.spectra->grid.pixel_y = options.pixel_y > 0 ? options.pixel_y : options.pixel_x;
      ds.spectra->grid.calibrated = true;
    }
    ds.metadata = ds.spectra->metadata;
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeImzmlReader() {
  return std::make_unique<ImzmlReader>();
}

// What readImzml needs from one <spectrum>: its id, the cvParams of its (first) scan and of
// each binary data array.
struct XmlSpectrum {
  std::string id;
  CvParams scan;
  std::vector<CvParams> arrays;
};

struct XmlHeader {
  bool mzml_root = false, spectrum_list = false;
  CvParams content, settings;
};

// One streaming pass over the XML (expat): the header's cvParams are kept, each spectrum is
// handed to `on_spectrum` as soon as it ends and then forgotten, so memory does not grow with
// the XML (108 MB of XML for 65 536 spectra). Exceptions from `on_spectrum` stop the parse and
// are rethrown; malformed XML is an InputError with its byte offset and line.
class XmlStream {
 public:
  using Callback = std::function<void(const XmlSpectrum&, std::size_t index)>;
  XmlStream(const std::string& file, Callback on_spectrum)
      : file_(file), on_spectrum_(std::move(on_spectrum)) {}

  XmlHeader parse() {
    std::ifstream in(file_, std::ios::binary);
    if (!in) throw InputError(file_, "cannot open");
    std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> p(XML_ParserCreate(nullptr),
                                                                   XML_ParserFree);
    if (!p) throw ProcessingError("cannot create an XML parser");
    parser_ = p.get();
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &XmlStream::start, &XmlStream::end);
    std::vector<char> buf(1 << 20);
    bool done = false;
    while (!done) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const auto n = static_cast<int>(in.gcount());
      done = n < static_cast<int>(buf.size());
      if (XML_Parse(parser_, buf.data(), n, done ? XML_TRUE : XML_FALSE) != XML_STATUS_OK) {
        if (error_) std::rethrow_exception(error_);
        throw InputError(file_, static_cast<std::uint64_t>(XML_GetCurrentByteIndex(parser_)),
                         fmt::format("not well-formed imzML XML (line {}): {}",
                                     XML_GetCurrentLineNumber(parser_),
                                     XML_ErrorString(XML_GetErrorCode(parser_))));
      }
    }
    return header_;
  }

 private:
  static const char* attr(const XML_Char** a, const char* name) {
    for (; a && a[0]; a += 2) {
      if (std::strcmp(a[0], name) == 0) return a[1];
    }
    return "";
  }
  bool parentIs(const char* name) const {
    return path_.size() >= 2 && path_[path_.size() - 2] == name;
  }
  // Where the cvParams of the element just opened at depth `d` go.
  void collectInto(CvParams* target) {
    target_ = target;
    target_depth_ = path_.size();
  }

  static void start(void* self, const XML_Char* name, const XML_Char** a) {
    auto& s = *static_cast<XmlStream*>(self);
    s.path_.emplace_back(name);
    const std::size_t depth = s.path_.size();
    const std::string& n = s.path_.back();
    if (depth == 1) s.header_.mzml_root = n == "mzML";
    if ((n == "cvParam" || n == "referenceableParamGroupRef") && s.target_ &&
        depth == s.target_depth_ + 1) {
      if (n == "cvParam") {
        s.target_->add(attr(a, "accession"), attr(a, "value"));
      } else if (auto it = s.groups_.find(attr(a, "ref")); it != s.groups_.end()) {
        s.target_->addAll(it->second);
      }
    } else if (n == "referenceableParamGroup" && s.parentIs("referenceableParamGroupList")) {
      s.collectInto(&s.groups_[attr(a, "id")]);
    } else if (n == "fileContent" && s.parentIs("fileDescription")) {
      s.collectInto(&s.header_.content);
    } else if (n == "scanSettings" && s.parentIs("scanSettingsList") && !s.settings_seen_) {
      s.settings_seen_ = true;
      s.collectInto(&s.header_.settings);
    } else if (n == "spectrumList" && s.parentIs("run")) {
      s.header_.spectrum_list = true;
    } else if (n == "spectrum" && s.parentIs("spectrumList")) {
      s.spectrum_ = XmlSpectrum{};
      s.spectrum_.id = attr(a, "id");
      s.spectrum_depth_ = depth;
      s.scan_seen_ = false;
    } else if (n == "scan" && s.parentIs("scanList") && s.spectrum_depth_ && !s.scan_seen_) {
      s.scan_seen_ = true;
      s.collectInto(&s.spectrum_.scan);
    } else if (n == "binaryDataArray" && s.parentIs("binaryDataArrayList") && s.spectrum_depth_) {
      s.spectrum_.arrays.emplace_back();
      s.collectInto(&s.spectrum_.arrays.back());
    }
  }

  static void end(void* self, const XML_Char*) {
    auto& s = *static_cast<XmlStream*>(self);
    const std::size_t depth = s.path_.size();
    if (depth == s.target_depth_) s.target_ = nullptr, s.target_depth_ = 0;
    if (depth == s.spectrum_depth_) {
      s.spectrum_depth_ = 0;
      try {
        s.on_spectrum_(s.spectrum_, s.index_++);
      } catch (...) {
        s.error_ = std::current_exception();
        XML_StopParser(s.parser_, XML_FALSE);
      }
    }
    s.path_.pop_back();
  }

  std::string file_;
  Callback on_spectrum_;
  XML_Parser parser_ = nullptr;
  XmlHeader header_;
  std::map<std::string, CvParams> groups_;
  std::vector<std::string> path_;
  CvParams* target_ = nullptr;
  std::size_t target_depth_ = 0, spectrum_depth_ = 0, index_ = 0;
  bool settings_seen_ = false, scan_seen_ = false;
  XmlSpectrum spectrum_;
  std::exception_ptr error_;
};

// A declared grid may hold at most this many pixels per spectrum (see readImzml).
constexpr std::uint64_t kMaxPixelsPerSpectrum = 16;

SpectrumImage readImzml(const std::filesystem::path& imzml, bool verify_checksum) {
  const std::string file = imzml.string();
  // One pass over the XML: each spectrum's position and arrays are checked and kept as it ends.
  std::vector<std::uint32_t> xs, ys;
  std::vector<SpectrumLocation> locs;
  std::uint64_t seen_x = 0, seen_y = 0;
  XmlStream stream(file, [&](const XmlSpectrum& sp, std::size_t index) {
    const std::string where = fmt::format("spectrum {} (id '{}')", index, sp.id);
    const std::uint64_t x =
        toU64(sp.scan.value(kPositionX), file, where + ": position x (IMS:1000050)");
    const std::uint64_t y =
        toU64(sp.scan.value(kPositionY), file, where + ": position y (IMS:1000051)");
    if (x == 0 || y == 0) throw InputError(file, where + ": positions are 1-based; got 0");
    if (x > (1u << 16) || y > (1u << 16)) {
      throw InputError(
          file, fmt::format("{}: position ({}, {}) is beyond 65536 pixels a side", where, x, y));
    }
    SpectrumLocation loc;
    bool have_mz = false, have_int = false;
    for (const CvParams& cv : sp.arrays) {
      if (cv.has(kMzArray)) {
        loc.mz = arrayLocation(cv, file, where + " m/z array");
        have_mz = true;
      } else if (cv.has(kIntensityArray)) {
        loc.intensity = arrayLocation(cv, file, where + " intensity array");
        have_int = true;
      }
    }
    if (!have_mz || !have_int)
      throw InputError(file, where + ": needs an m/z array and an intensity array");
    if (loc.mz.length != loc.intensity.length) {
      throw InputError(file, fmt::format("{}: m/z array has {} values, intensity array {}", where,
                                         loc.mz.length, loc.intensity.length));
    }
    seen_x = std::max(seen_x, x);
    seen_y = std::max(seen_y, y);
    xs.push_back(static_cast<std::uint32_t>(x));
    ys.push_back(static_cast<std::uint32_t>(y));
    locs.push_back(loc);
  });
  const XmlHeader head = stream.parse();
  if (!head.mzml_root) throw InputError(file, "no <mzML> root element; not an imzML file");
  const std::filesystem::path ibd = siblingWithExtension(imzml, {".ibd", ".IBD"});
  if (ibd.empty())
    throw InputError(file,
                     "the binary file " + imzml.stem().string() + ".ibd is missing beside it");
  const std::string ibd_file = ibd.string();

  const CvParams& content = head.content;
  const bool continuous = content.has(kContinuous);
  if (!continuous && !content.has(kProcessed)) {
    throw InputError(
        file,
        "fileContent declares neither continuous (IMS:1000030) nor processed (IMS:1000031) mode");
  }
  // UUID: the XML's value must equal the .ibd's first 16 bytes.
  const char* uuid_text = content.value(kUuid);
  if (!uuid_text)
    throw InputError(file, "no universally unique identifier (IMS:1000080) in fileContent");
  const std::string uuid = normaliseUuid(uuid_text);
  if (uuid.size() != 32)
    throw InputError(file, fmt::format("UUID '{}' does not have 32 hex digits", uuid_text));
  {
    std::ifstream in(ibd, std::ios::binary);
    unsigned char head[16] = {};
    in.read(reinterpret_cast<char*>(head), 16);
    if (in.gcount() != 16) throw InputError(ibd_file, 0, "shorter than the 16-byte UUID header");
    if (hexOf(head, 16) != uuid) {
      throw InputError(
          ibd_file, 0,
          fmt::format("UUID {} does not match the imzML's {} (the .ibd belongs to another file)",
                      hexOf(head, 16), uuid));
    }
  }
  SpectrumImage si;
  si.name = imzml.stem().string();
  si.metadata.emplace_back("mode", continuous ? "continuous" : "processed");
  si.metadata.emplace_back("uuid", uuid);
  for (auto [acc, md, label] : {std::tuple{kSha1, EVP_sha1(), "SHA-1"}, {kMd5, EVP_md5(), "MD5"}}) {
    const char* want = content.value(acc);
    if (!want || !*want) continue;
    if (!verify_checksum) {
      si.metadata.emplace_back("checksum", std::string(label) + " not verified (disabled)");
      continue;
    }
    const std::string got = digestFile(ibd, md);
    if (got != normaliseUuid(want)) {
      throw InputError(ibd_file,
                       fmt::format("{} is {}, the imzML says {}: the .ibd is corrupt or incomplete",
                                   label, got, want));
    }
    si.metadata.emplace_back("checksum", std::string(label) + " verified");
  }

  // Grid from scan settings; positions are 1-based.
  const CvParams& settings = head.settings;
  const double px = toDouble(settings.value(kPixelSizeX));
  const double py = toDouble(settings.value(kPixelSizeY));
  std::uint64_t max_x = settings.has(kMaxPixelsX)
                            ? toU64(settings.value(kMaxPixelsX), file, "max count of pixels x")
                            : 0;
  std::uint64_t max_y = settings.has(kMaxPixelsY)
                            ? toU64(settings.value(kMaxPixelsY), file, "max count of pixels y")
                            : 0;
  if (!head.spectrum_list) throw InputError(file, "no <run><spectrumList>");
  if (locs.empty()) throw InputError(file, "the spectrum list is empty");
  if (max_x == 0) max_x = seen_x;
  if (max_y == 0) max_y = seen_y;
  if (seen_x > max_x || seen_y > max_y) {
    throw InputError(file,
                     fmt::format("a spectrum sits at ({}, {}), outside the declared {} x {} pixels",
                                 seen_x, seen_y, max_x, max_y));
  }
  if (max_x > (1u << 16) || max_y > (1u << 16)) {
    throw InputError(
        file,
        fmt::format("implausible image size {} x {} pixels (at most 65536 a side)", max_x, max_y));
  }
  // The pixel index holds one entry per pixel of the declared grid: before allocating it, the
  // grid must fit the spectra (sparse regions of interest leave at most a few empty pixels per
  // spectrum in their bounding box; thousands are a corrupt header) and the memory budget.
  const std::uint64_t pixels = max_x * max_y;
  if (pixels > kMaxPixelsPerSpectrum * locs.size() && pixels > (1u << 16)) {
    throw InputError(
        file, fmt::format("declares {} x {} pixels for {} spectra ({:.0f} pixels per "
                          "spectrum; at most {}): a corrupt or mistaken grid size",
                          max_x, max_y, locs.size(), static_cast<double>(pixels) / locs.size(),
                          kMaxPixelsPerSpectrum));
  }
  checkMemory(imzml, pixels * sizeof(std::int64_t),
              fmt::format("the index of {} x {} pixels", max_x, max_y));

  si.grid.width = static_cast<int>(max_x);
  si.grid.height = static_cast<int>(max_y);
  si.grid.calibrated = px > 0 && py > 0;
  if (si.grid.calibrated) si.grid.pixel_x = px, si.grid.pixel_y = py;
  si.pixel_spectrum.assign(static_cast<std::size_t>(max_x * max_y), -1);
  std::size_t duplicates = 0;
  for (std::size_t i = 0; i < locs.size(); ++i) {
    auto& slot = si.pixel_spectrum[(ys[i] - 1) * max_x + (xs[i] - 1)];
    if (slot >= 0) ++duplicates;
    slot = static_cast<std::int64_t>(i);
  }
  if (duplicates) si.metadata.emplace_back("duplicate_positions", std::to_string(duplicates));
  si.metadata.emplace_back("spectra", std::to_string(locs.size()));
  si.metadata.emplace_back("ibd", ibd_file);
  locs.shrink_to_fit();  // kept for the whole run: no growth slack (up to 2x)
  si.source = std::make_shared<RawFileSpectra>(ibd_file, std::move(locs));
  return si;
}

namespace {

class IbdWriter {
 public:
  IbdWriter(const std::filesystem::path& p, bool zlib)
      : out_(p, std::ios::binary), zlib_(zlib), path_(p) {
    if (!out_) throw InputError(p.string(), "cannot create");
    ctx_.reset(EVP_MD_CTX_new());
    EVP_DigestInit_ex(ctx_.get(), EVP_sha1(), nullptr);
  }
  void raw(const void* p, std::size_t n) {
    out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    EVP_DigestUpdate(ctx_.get(), p, n);
    offset_ += n;
  }
  // Writes an array and returns where it went.
  ArrayLocation array(const std::vector<double>& v, BinaryType type) {
    std::vector<unsigned char> bytes(v.size() * binaryTypeSize(type));
    for (std::size_t i = 0; i < v.size(); ++i) {
      unsigned char* d = bytes.data() + i * binaryTypeSize(type);
      switch (type) {
        case BinaryType::kFloat32: {
          const float f = static_cast<float>(v[i]);
          std::memcpy(d, &f, 4);
          break;
        }
        case BinaryType::kFloat64:
          std::memcpy(d, &v[i], 8);
          break;
        case BinaryType::kInt32: {
          const auto x = static_cast<std::int32_t>(v[i]);
          std::memcpy(d, &x, 4);
          break;
        }
        case BinaryType::kInt64: {
          const auto x = static_cast<std::int64_t>(v[i]);
          std::memcpy(d, &x, 8);
          break;
        }
        case BinaryType::kUInt32: {
          const auto x = static_cast<std::uint32_t>(v[i]);
          std::memcpy(d, &x, 4);
          break;
        }
        case BinaryType::kUInt64: {
          const auto x = static_cast<std::uint64_t>(v[i]);
          std::memcpy(d, &x, 8);
          break;
        }
      }
    }
    ArrayLocation a;
    a.offset = offset_;
    a.length = v.size();
    a.type = type;
    if (zlib_) {
      uLongf n = compressBound(static_cast<uLong>(bytes.size()));
      std::vector<unsigned char> z(n);
      compress2(z.data(), &n, bytes.data(), static_cast<uLong>(bytes.size()), 6);
      a.compressed_bytes = n;
      raw(z.data(), n);
    } else {
      raw(bytes.data(), bytes.size());
    }
    return a;
  }
  std::string finish() {
    out_.flush();
    if (!out_) throw InputError(path_.string(), "write failed (disk full?)");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    return hexOf(md, len);
  }

 private:
  std::ofstream out_;
  bool zlib_;
  std::filesystem::path path_;
  std::uint64_t offset_ = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_{nullptr, EVP_MD_CTX_free};
};

const char* typeAccession(BinaryType t) {
  switch (t) {
    case BinaryType::kFloat32:
      return "MS:1000521\" name=\"32-bit float";
    case BinaryType::kFloat64:
      return "MS:1000523\" name=\"64-bit float";
    case BinaryType::kInt32:
      return "MS:1000519\" name=\"32-bit integer";
    case BinaryType::kInt64:
      return "MS:1000522\" name=\"64-bit integer";
    default:
      throw ProcessingError("imzML cannot store unsigned arrays");
  }
}

std::string arrayXml(const ArrayLocation& a, const char* group) {
  return fmt::format(
      "          <binaryDataArray encodedLength=\"0\">\n"
      "            <referenceableParamGroupRef ref=\"{}\"/>\n"
      "            <cvParam cvRef=\"IMS\" accession=\"IMS:1000103\" name=\"external array length\" "
      "value=\"{}\"/>\n"
      "            <cvParam cvRef=\"IMS\" accession=\"IMS:1000102\" name=\"external offset\" "
      "value=\"{}\"/>\n"
      "            <cvParam cvRef=\"IMS\" accession=\"IMS:1000104\" name=\"external encoded "
      "length\" value=\"{}\"/>\n"
      "            <binary/>\n"
      "          </binaryDataArray>\n",
      group, a.length, a.offset, a.storedBytes());
}

}  // namespace

void writeImzml(const std::filesystem::path& imzml, const ImzmlWriteOptions& o,
                const std::function<void(int, int, Spectrum&)>& spectrum) {
  auto ibd = imzml;
  ibd.replace_extension(".ibd");
  // A deterministic UUID (version-4 layout) from the seed.
  unsigned char uuid[16];
  std::uint64_t s = o.uuid_seed * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < 16; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    uuid[i] = static_cast<unsigned char>(s >> 24);
  }
  uuid[6] = static_cast<unsigned char>((uuid[6] & 0x0f) | 0x40);
  uuid[8] = static_cast<unsigned char>((uuid[8] & 0x3f) | 0x80);

  IbdWriter w(ibd, o.zlib);
  w.raw(uuid, 16);
  std::string spectra_xml;
  Spectrum sp;
  ArrayLocation shared_mz;
  std::vector<double> first_mz;
  std::size_t count = 0;
  for (int y = 0; y < o.height; ++y) {
    for (int x = 0; x < o.width; ++x) {
      sp.mz.clear();
      sp.intensity.clear();
      spectrum(x, y, sp);
      if (sp.mz.empty()) continue;
      if (sp.mz.size() != sp.intensity.size())
        throw ProcessingError("writeImzml: m/z and intensity lengths differ");
      ArrayLocation mz;
      if (o.continuous) {
        if (count == 0) {
          first_mz = sp.mz;
          shared_mz = w.array(sp.mz, o.mz_type);
        } else if (sp.mz != first_mz) {
          throw ProcessingError("writeImzml: continuous mode needs one m/z array for all spectra");
        }
        mz = shared_mz;
      } else {
        mz = w.array(sp.mz, o.mz_type);
      }
      const ArrayLocation in = w.array(sp.intensity, o.intensity_type);
      spectra_xml += fmt::format(
          "      <spectrum id=\"Scan={}\" defaultArrayLength=\"0\" index=\"{}\">\n"
          "        <referenceableParamGroupRef ref=\"spectrum1\"/>\n"
          "        <scanList count=\"1\">\n"
          "          <cvParam cvRef=\"MS\" accession=\"MS:1000795\" name=\"no combination\"/>\n"
          "          <scan>\n"
          "            <cvParam cvRef=\"IMS\" accession=\"IMS:1000050\" name=\"position x\" "
          "value=\"{}\"/>\n"
          "            <cvParam cvRef=\"IMS\" accession=\"IMS:1000051\" name=\"position y\" "
          "value=\"{}\"/>\n"
          "          </scan>\n"
          "        </scanList>\n"
          "        <binaryDataArrayList count=\"2\">\n{}{}"
          "        </binaryDataArrayList>\n"
          "      </spectrum>\n",
          count + 1, count, x + 1, y + 1, arrayXml(mz, "mzArray"), arrayXml(in, "intensityArray"));
      ++count;
    }
  }
  const std::string sha1 = w.finish();
  const char* comp =
      o.zlib ? "MS:1000574\" name=\"zlib compression" : "MS:1000576\" name=\"no compression";
  std::ofstream x(imzml, std::ios::binary);
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<mzML xmlns=\"http://psi.hupo.org/ms/mzml\" version=\"1.1\">\n"
    << "  <cvList count=\"3\">\n"
    << "    <cv id=\"MS\" fullName=\"Proteomics Standards Initiative Mass Spectrometry Ontology\" "
       "version=\"4.1.0\" "
       "URI=\"https://raw.githubusercontent.com/hupo-psi/psi-ms-cv/master/psi-ms.obo\"/>\n"
    << "    <cv id=\"UO\" fullName=\"Units of Measurement Ontology\" "
       "version=\"releases/2017-09-25\" URI=\"http://ontologies.berkeleybop.org/uo.obo\"/>\n"
    << "    <cv id=\"IMS\" fullName=\"Mass Spectrometry Imaging Ontology\" version=\"1.1.0\" "
       "URI=\"https://raw.githubusercontent.com/imzML/imzML/master/imagingMS.obo\"/>\n"
    << "  </cvList>\n  <fileDescription>\n    <fileContent>\n"
    << "      <cvParam cvRef=\"MS\" accession=\"MS:1000579\" name=\"MS1 spectrum\"/>\n"
    << fmt::format(
           "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000080\" name=\"universally unique "
           "identifier\" value=\"{{{}}}\"/>\n",
           hexOf(uuid, 16))
    << (o.write_sha1 ? fmt::format("      <cvParam cvRef=\"IMS\" accession=\"IMS:1000091\" "
                                   "name=\"ibd SHA-1\" value=\"{}\"/>\n",
                                   sha1)
                     : "")
    << (o.continuous
            ? "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000030\" name=\"continuous\"/>\n"
            : "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000031\" name=\"processed\"/>\n")
    << "    </fileContent>\n  </fileDescription>\n"
    << "  <referenceableParamGroupList count=\"3\">\n"
    << "    <referenceableParamGroup id=\"mzArray\">\n"
    << fmt::format("      <cvParam cvRef=\"MS\" accession=\"{}\"/>\n", comp)
    << "      <cvParam cvRef=\"MS\" accession=\"MS:1000514\" name=\"m/z array\" unitCvRef=\"MS\" "
       "unitAccession=\"MS:1000040\" unitName=\"m/z\"/>\n"
    << "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000101\" name=\"external data\" "
       "value=\"true\"/>\n"
    << fmt::format("      <cvParam cvRef=\"MS\" accession=\"{}\"/>\n", typeAccession(o.mz_type))
    << "    </referenceableParamGroup>\n"
    << "    <referenceableParamGroup id=\"intensityArray\">\n"
    << fmt::format("      <cvParam cvRef=\"MS\" accession=\"{}\"/>\n", comp)
    << "      <cvParam cvRef=\"MS\" accession=\"MS:1000515\" name=\"intensity array\" "
       "unitCvRef=\"MS\" unitAccession=\"MS:1000131\" unitName=\"number of detector counts\"/>\n"
    << "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000101\" name=\"external data\" "
       "value=\"true\"/>\n"
    << fmt::format("      <cvParam cvRef=\"MS\" accession=\"{}\"/>\n",
                   typeAccession(o.intensity_type))
    << "    </referenceableParamGroup>\n"
    << "    <referenceableParamGroup id=\"spectrum1\">\n"
    << "      <cvParam cvRef=\"MS\" accession=\"MS:1000579\" name=\"MS1 spectrum\"/>\n"
    << "      <cvParam cvRef=\"MS\" accession=\"MS:1000130\" name=\"positive scan\"/>\n"
    << "    </referenceableParamGroup>\n  </referenceableParamGroupList>\n"
    << "  <softwareList count=\"1\">\n    <software id=\"ionmap\" version=\"0.1.0\">\n"
    << "      <cvParam cvRef=\"MS\" accession=\"MS:1000799\" name=\"custom unreleased software "
       "tool\" value=\"ionmap\"/>\n"
    << "    </software>\n  </softwareList>\n"
    << "  <scanSettingsList count=\"1\">\n    <scanSettings id=\"scansettings1\">\n"
    << fmt::format(
           "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000042\" name=\"max count of pixels x\" "
           "value=\"{}\"/>\n",
           o.width)
    << fmt::format(
           "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000043\" name=\"max count of pixels y\" "
           "value=\"{}\"/>\n",
           o.height)
    << fmt::format(
           "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000046\" name=\"pixel size (x)\" "
           "value=\"{}\" unitCvRef=\"UO\" unitAccession=\"UO:0000017\" unitName=\"micrometer\"/>\n",
           o.pixel_x_um)
    << fmt::format(
           "      <cvParam cvRef=\"IMS\" accession=\"IMS:1000047\" name=\"pixel size y\" "
           "value=\"{}\" unitCvRef=\"UO\" unitAccession=\"UO:0000017\" unitName=\"micrometer\"/>\n",
           o.pixel_y_um)
    << "    </scanSettings>\n  </scanSettingsList>\n"
    << "  <run id=\"ionmap\">\n"
    << fmt::format("    <spectrumList count=\"{}\">\n", count) << spectra_xml
    << "    </spectrumList>\n  </run>\n</mzML>\n";
  if (!x) throw InputError(imzml.string(), "write failed");
}

}  // namespace ionmap::tofsims
